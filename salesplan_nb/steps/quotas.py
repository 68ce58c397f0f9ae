"""Step 9 - quotas: split a top-down target down company -> region -> territory -> rep.

Every unit's quota is ``parent quota x (1 + over-assignment of the child level) x weight``,
then ramp-adjusted (reps), overridden (locked units) and redistributed, and rounded to cents so
that **each parent's children sum exactly to the parent x (1 + factor)** (largest remainder).

Weights (``method``), all shares within the parent:

* ``history`` - trailing-12-month bookings (USD, won ``amount`` by ``close_date`` in the 12
  months to ``data.as_of``). A rep's history is annualised over the months employed in the
  window (``bookings x 12 / months``); reps with under 3 months get their territory peers' mean.
* ``potential`` - account potential (USD/year, :func:`salesplan_nb.steps.market.account_potential`)
  summed by the account's region / territory / owner; reps owning none get their peers' mean.
* ``blend`` - ``sum_k weights[k] x share_k`` over ``{"history": .., "potential": ..}``.
* ``growth`` - ``target = growth x trailing-12-month bookings`` of the scope (e.g. 1.10 = 110%)
  split by history shares (so every unit gets ``growth x`` its own prior bookings before
  over-assignment).

Ramp (reps): ``quota x ramp`` where ``ramp`` is the planning core's ramp factor
(:func:`salesplan_nb.core.seats.ramp_factors`: the mean over the period's months of the share
of the month employed x the ramp curve at whole months since the hire month; 0 before it).
``redistribute_ramp=True`` (default) hands the removed quota to the other unlocked reps of
the territory in proportion to their ramped quotas; ``False`` leaves it uncovered (the
territory's reps then sum to less than its quota; the gap is reported as ``ramp_gap``).

Overrides ``{"rep:R-0001": 250000, "region:EMEA": 4e6}`` lock a unit's quota; the rest of the
parent's total is redistributed proportionally among the unlocked siblings.

Drivers: every unit's quota = ``base_share + over_assignment + ramp_adjustment + override +
redistribution + rounding`` exactly (USD, cents). ``base_share`` is the top target x the
product of the weights down the path; the other drivers accumulate each level's effect
(a parent's drivers pass to its children in proportion to their weights).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import trailing_12_months
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.core.seats import DEFAULT_GROWTH, quota_seat_mask, ramp_factors
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.dataset import resolve as _resolve

LEVELS = ("company", "region", "territory", "rep")
METHODS = ("history", "potential", "blend", "growth")
DRIVERS = ("base_share", "over_assignment", "ramp_adjustment", "override", "redistribution",
           "rounding")
DEFAULT_OVER_ASSIGNMENT = {"region": 0.05, "territory": 0.10, "rep": 0.10}
MIN_HISTORY_MONTHS = 3.0
TABLE_COLUMNS = ["level", "unit_id", "name", "parent", "history", "potential", "weight",
                 "ramp", "locked", *DRIVERS, "quota"]


# ---- small helpers ---------------------------------------------------------------------------
def resolve(data: Dataset, scope, period) -> tuple[Scope, Period]:
    """:func:`salesplan_nb.data.dataset.resolve`; the default period is the year after ``as_of``."""
    return _resolve(data, scope, period, plan_year=True)


def history_window(data: Dataset) -> Period:
    """The trailing 12 months to ``data.as_of``
    (:func:`salesplan_nb.core.periods.trailing_12_months`)."""
    return trailing_12_months(data.as_of, "trailing 12 months")


def round_groups(values: np.ndarray, groups: np.ndarray, totals_cents: np.ndarray) -> np.ndarray:
    """Round ``values`` (USD) to cents so each group sums exactly to ``totals_cents[group]``
    (largest-remainder method). Returns integer cents."""
    cents = np.asarray(values, dtype=float) * 100.0
    fl = np.floor(cents + 1e-9)
    frac = cents - fl
    fl = fl.astype(np.int64)
    n_groups = len(totals_cents)
    short = totals_cents - np.bincount(groups, weights=fl, minlength=n_groups).round().astype(
        np.int64)
    order = np.lexsort((-frac, groups))
    g_sorted = groups[order]
    first = np.searchsorted(g_sorted, np.arange(n_groups))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first[g_sorted]
    size = np.bincount(groups, minlength=n_groups)
    # short may exceed the group size only through float noise; spread whole cents evenly
    whole = np.where(size > 0, short // np.maximum(size, 1), 0)
    rest = short - whole * size
    return fl + whole[groups] + (rank < rest[groups]).astype(np.int64)


def _shares(basis: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    basis = np.nan_to_num(np.clip(basis, 0.0, None))
    tot = np.bincount(groups, weights=basis, minlength=n_groups)
    cnt = np.bincount(groups, minlength=n_groups)
    return np.where(tot[groups] > 0, basis / np.where(tot[groups] > 0, tot[groups], 1.0),
                    1.0 / np.maximum(cnt[groups], 1))


def _fill_peer_mean(values: pd.Series, groups: pd.Series) -> pd.Series:
    """NaN -> mean of the group's known values -> overall mean -> 0."""
    out = values.fillna(values.groupby(groups).transform("mean"))
    return out.fillna(values.mean()).fillna(0.0)


# ---- the hierarchy and its bases -------------------------------------------------------------
def quota_reps(data: Dataset, period: Period) -> pd.DataFrame:
    """Quota-carrying seats in the period (:func:`salesplan_nb.core.seats.quota_seat_mask`:
    not a manager role, employed for part of the period). Region/territory fall back to the
    rep's latest deal."""
    r = data.reps
    r = r[quota_seat_mask(r, period).to_numpy()].copy()
    if r["territory"].isna().any() or r["region"].isna().any():
        d = data.deals
        last = (d[d["owner_id"].notna()].sort_values("created_date")
                .groupby("owner_id")[["region", "territory"]].last())
        for col in ("region", "territory"):
            # cast back: a lookup with no matches maps to double[pyarrow], not strings
            r[col] = r[col].fillna(r["rep_id"].map(last[col]).astype(r[col].dtype))
    r["region"] = r["region"].fillna("(no region)")
    r["territory"] = r["territory"].fillna("(no territory)")
    # a territory belongs to one region: its reps' most common
    treg = r.groupby("territory")["region"].agg(lambda s: s.mode().iloc[0])
    r["region"] = r["territory"].map(treg)
    return r.reset_index(drop=True)


_CACHE_KEY = "_salesplan_quota_cache"


def _memo(data: Dataset, key: tuple, build):
    """``data.memo`` in the quotas store (see :meth:`Dataset.memo`)."""
    return data.memo(_CACHE_KEY, key, build)


def _won_trailing(data: Dataset) -> pd.DataFrame:
    """Won deals closed in :func:`history_window`: ``account_id, owner_id, product_id,
    amount`` (USD) and the deal's ``region`` / ``territory`` (the owner rep's, else the
    account's), in ``Dataset.deals`` row order. Built from the raw tables: filtering before
    the same left joins gives the rows of filtered ``Dataset.deals`` without enriching every
    deal (the slow part of a first call on a large Dataset)."""
    win = history_window(data)
    cols = ["account_id", "owner_id", "product_id", "amount"]
    o = data.opportunities
    won = o.loc[(o["status"] == "won") & win.contains(o["close_date"]), cols]
    if len(data.orders):
        r = data.orders
        won = pd.concat([won, r.loc[win.contains(r["order_date"]), cols]], ignore_index=True)
    acc = data.accounts[["account_id", "region", "territory"]]
    reps = data.reps[["rep_id", "region", "territory"]].rename(columns={"rep_id": "owner_id"})
    d = (won.merge(acc, on="account_id", how="left")
         .merge(reps, on="owner_id", how="left", suffixes=("_acc", ""))
         .merge(data.products[["product_id"]], on="product_id", how="left"))  # same joins
    for col in ("region", "territory"):
        d[col] = d[col].fillna(d[f"{col}_acc"])
    return d[[*cols, "region", "territory"]]


def _dataset_bases(data: Dataset) -> tuple[dict[str, pd.Series], dict[str, pd.Series], float,
                                          pd.DataFrame]:
    """Trailing-12-month won bookings and account potential (USD/year) summed by region /
    territory / owner, the company's trailing bookings (USD) and :func:`_won_trailing`;
    memoised on the Dataset."""
    def build():
        won = _won_trailing(data)
        amt = won["amount"].fillna(0.0)
        hist = {lvl: amt.groupby(won[col]).sum() for lvl, col in
                (("region", "region"), ("territory", "territory"), ("rep", "owner_id"))}
        company = float(won["amount"].sum())
        try:
            from salesplan_nb.steps.market import account_potential

            acc = account_potential(data).table
        except Exception:  # noqa: BLE001 - potential unavailable: history-only plans still work
            acc = pd.DataFrame({"region": [], "territory": [], "owner_id": [], "potential": []})
        pot = {lvl: acc["potential"].groupby(acc[col]).sum() for lvl, col in
               (("region", "region"), ("territory", "territory"), ("rep", "owner_id"))}
        return hist, pot, company, won

    return _memo(data, ("dataset bases",), build)


def _bases(data: Dataset, reps: pd.DataFrame) -> dict[str, dict[str, pd.Series]]:
    """History and potential per region / territory / rep (USD/year)."""
    win = history_window(data)
    hist, pot, *_ = _dataset_bases(data)
    # rep history: annualised over months employed in the window; short tenure -> peers' mean
    start = reps["hire_date"].where(reps["hire_date"] > win.start, win.start).fillna(win.start)
    end = reps["end_date"].where(reps["end_date"] < win.end, win.end).fillna(win.end)
    win_days = (win.end - win.start).days
    months = ((end - start).dt.days / win_days * 12).clip(lower=0, upper=12).astype(float)
    raw = reps["rep_id"].map(hist["rep"]).astype(float).fillna(0.0)
    ann = (raw * 12 / months.where(months > 0)).where(months >= MIN_HISTORY_MONTHS)
    rep_hist = pd.Series(_fill_peer_mean(ann, reps["territory"]).to_numpy(), index=reps["rep_id"])
    rep_pot = reps["rep_id"].map(pot["rep"]).astype(float)
    rep_pot = pd.Series(_fill_peer_mean(rep_pot.where(rep_pot > 0), reps["territory"]).to_numpy(),
                        index=reps["rep_id"])
    return {"history": {"region": hist["region"], "territory": hist["territory"],
                        "rep": rep_hist, "rep_raw": pd.Series(ann.to_numpy(), index=reps["rep_id"])},
            "potential": {"region": pot["region"], "territory": pot["territory"], "rep": rep_pot}}


# ---- result types ----------------------------------------------------------------------------
@dataclass
class QuotaDecisions:
    """The analyst's quota choices (stored in the workspace section ``quotas``)."""

    method: str = "history"
    weights: dict[str, float] = field(default_factory=lambda: {"history": 0.5, "potential": 0.5})
    growth: float = DEFAULT_GROWTH
    over_assignment: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_OVER_ASSIGNMENT))
    overrides: dict[str, float] = field(default_factory=dict)
    redistribute_ramp: bool = True
    target: float | None = None


@dataclass
class QuotaPlan:
    """Quotas for every unit below ``scope``; ``table`` has one row per unit (``level``,
    ``unit_id``, ``name``, ``parent``, ``history``/``potential`` bases in USD/year, ``weight``
    within the parent, ``ramp`` 0..1, ``locked``, the drivers and ``quota`` in USD)."""

    table: pd.DataFrame
    target: float
    decisions: QuotaDecisions
    scope: str
    period: str
    ramp_gap: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        return "; ".join(self.notes)

    @property
    def leaf_level(self) -> str | None:
        return None if self.table.empty else str(self.table["level"].iloc[-1])

    def level(self, level: str) -> pd.DataFrame:
        return self.table[self.table["level"] == level].reset_index(drop=True)

    def drivers(self, level: str | None = None) -> pd.DataFrame:
        """Per unit: the drivers and the quota (they sum to it exactly, in cents)."""
        lvl = level or self.leaf_level
        cols = ["unit_id", "name", "parent", *DRIVERS, "quota"]
        return self.level(lvl)[cols] if lvl else self.table[cols]


def _empty_table() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=float) for c in TABLE_COLUMNS})
    for c in ("level", "unit_id", "name", "parent"):
        df[c] = df[c].astype("string")
    df["locked"] = df["locked"].astype(bool)
    return df


def _check_decisions(dec: QuotaDecisions) -> None:
    if dec.method not in METHODS:
        raise ConfigError(f"unknown quota method {dec.method!r}; use one of {', '.join(METHODS)}")
    for k, v in dec.over_assignment.items():
        if k not in LEVELS[1:]:
            raise ConfigError(f"over_assignment level {k!r} is not one of region, territory, rep")
        if not (isinstance(v, int | float) and -0.5 < v <= 2.0):
            raise ConfigError(f"over_assignment[{k!r}] = {v!r}: use a fraction such as 0.10")
    if dec.method == "blend":
        bad = set(dec.weights) - {"history", "potential"}
        if bad or not dec.weights or any(v < 0 for v in dec.weights.values()) \
                or sum(dec.weights.values()) <= 0:
            raise ConfigError(f"blend weights {dec.weights!r}: give non-negative weights for "
                              "'history' and 'potential', e.g. {'history': 0.6, 'potential': 0.4}")
    if not (isinstance(dec.growth, int | float) and dec.growth > 0):
        raise ConfigError(f"growth {dec.growth!r}: use a factor such as 1.10 (110%)")
    if dec.target is not None and not (np.isfinite(dec.target) and dec.target >= 0):
        raise ConfigError(f"target {dec.target!r} must be a non-negative amount in USD")
    for k, v in dec.overrides.items():
        if not (isinstance(v, int | float) and np.isfinite(v) and v >= 0):
            raise ConfigError(f"override {k!r} = {v!r} must be a non-negative amount in USD")


# ---- the split -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Level:
    """One level's units below the root, everything the split needs that no decision changes:
    ``g`` indexes each unit's parent among the previous level's units."""

    level: str
    unit_id: np.ndarray
    name: np.ndarray
    parent: np.ndarray
    g: np.ndarray
    n_parents: int
    hist_b: np.ndarray  # history basis (USD/year), 0 when unknown
    pot_b: np.ndarray  # potential basis (USD/year), 0 when unknown
    history: np.ndarray  # the table's history column (reps: annualised, NaN under 3 months)
    ramp: np.ndarray  # mean ramp over the period (1.0 above rep level)
    okey: np.ndarray  # override keys "level:id"


@dataclass(frozen=True)
class _Prep:
    """The decision-independent part of :func:`quotas` for one (Dataset, scope, period)."""

    empty_note: str | None
    root_level: str
    root_id: str
    root_name: str
    root_hist: float
    table_target: float | None
    levels: tuple[_Level, ...]
    known: frozenset[str]
    orphans: str | None


def _readonly(a) -> np.ndarray:
    a = np.array(a)  # a copy: results never alias the memo
    a.flags.writeable = False
    return a


def _table_target(data: Dataset, scope: Scope, period: Period) -> float | None:
    """The bookings target of ``scope`` for ``period`` from the data's targets table (USD), at
    any grain (:func:`salesplan_nb.steps.kpis.target_for`: quarters roll up to the year)."""
    from salesplan_nb.steps.kpis import target_for

    return target_for(data, scope, period)


def given_rep_targets(data: Dataset, period: Period, known: frozenset[str]) -> dict[str, float]:
    """``{"rep:<id>": USD}``: the rep-level bookings targets the data gives for ``period``
    (any grain), for the reps in ``known``. :func:`quotas` locks these reps' quotas to them,
    so a plan shows one target per rep."""
    from salesplan_nb.steps.kpis import target_for

    t = data.targets
    if not len(t):
        return {}
    rows = t[(t["scope_level"] == "rep").fillna(False) & t["scope_id"].notna()
             & (t["metric"].fillna("bookings") == "bookings")]
    out = {}
    for rid in rows["scope_id"].unique():
        key = f"rep:{rid}"
        if key in known:
            v = target_for(data, Scope("rep", str(rid)), period)
            if v is not None:
                out[key] = float(v)
    return out


def _prepare(data: Dataset, scope: Scope, period: Period) -> _Prep:
    """The units, their parents, history / potential bases, ramp and root figures of
    ``scope`` in ``period``; memoised on the Dataset, so a change of over-assignment, weights,
    growth, target or overrides only redoes the split."""
    return _memo(data, ("split", scope.level, scope.id, period),
                 lambda: _build_prep(data, scope, period))


def _build_prep(data: Dataset, scope: Scope, period: Period) -> _Prep:
    reps = quota_reps(data, period)
    if scope.level in ("region", "territory", "rep"):
        col = {"region": "region", "territory": "territory", "rep": "rep_id"}[scope.level]
        reps = reps[reps[col] == scope.id].reset_index(drop=True)
    if scope.level == "account":
        reps = reps.iloc[0:0]
    bases = _bases(data, reps)
    root_level = scope.level
    # root history (USD/year): the scope's trailing-12-month bookings
    if scope.level == "company":
        root_hist = _dataset_bases(data)[2]
    elif scope.level == "account":
        won = _dataset_bases(data)[3]
        m = (won["account_id"] == scope.id).fillna(False).astype(bool)
        root_hist = float(won.loc[m, "amount"].sum())
    else:
        key = "rep_raw" if scope.level == "rep" else scope.level
        root_hist = float(np.nansum(bases["history"][key].get(scope.id, 0.0)))
    root_id = scope.id if scope.level != "company" else "Company"

    def empty(note: str) -> _Prep:
        return _Prep(note, root_level, root_id, scope.label, root_hist, None, (), frozenset(),
                     None)

    if scope.level in ("region", "territory", "rep") and reps.empty:
        return empty(f"no quota-carrying reps in {scope.label} for {period.label}")
    if scope.level == "account":
        has = (data.accounts["account_id"] == scope.id).any() or root_hist > 0
        if not has:
            return empty(f"no account {scope.id} in the data")
    if scope.level == "company" and reps.empty:
        return empty(f"no quota-carrying reps in the data for {period.label}")
    root_name = str(reps["name"].iloc[0]) if scope.level == "rep" else scope.label

    # the levels below the root and their units
    below = list(LEVELS[LEVELS.index(root_level) + 1:]) if root_level in LEVELS else []
    levels: list[_Level] = []
    parent_ids = np.array([root_id], dtype=object)
    orphans = None
    for lvl in below:
        if lvl == "region":
            u = reps.groupby("region", sort=True).size().reset_index()[["region"]]
            u = u.assign(unit_id=u["region"], name=u["region"], parent=root_id)
        elif lvl == "territory":
            u = reps.groupby(["region", "territory"], sort=True).size().reset_index()
            tt = data.territories.dropna(subset=["territory_id", "name"])
            tn = dict(zip(tt["territory_id"].astype(str), tt["name"].astype(str), strict=True))
            # a territory missing from the territories table is named by its id
            u = u.assign(unit_id=u["territory"],
                         name=[tn.get(str(x), str(x)) for x in u["territory"]],
                         parent=u["region"] if "region" in below else root_id)
        else:
            u = reps.sort_values(["region", "territory", "rep_id"]).assign(
                unit_id=lambda f: f["rep_id"], parent=lambda f: f["territory"]
                if "territory" in below else root_id)
        u = u.reset_index(drop=True)
        g = pd.Index(parent_ids).get_indexer(u["parent"].to_numpy())
        if (g < 0).any() and orphans is None:
            orphans = f"{lvl} units without a parent in {scope.label}"
        hist_b = u["unit_id"].map(bases["history"][lvl]).astype(float).fillna(0.0).to_numpy()
        levels.append(_Level(
            level=lvl, unit_id=_readonly(u["unit_id"].to_numpy()),
            name=_readonly(u["name"].to_numpy()), parent=_readonly(u["parent"].to_numpy()),
            g=_readonly(g), n_parents=len(parent_ids), hist_b=_readonly(hist_b),
            pot_b=_readonly(u["unit_id"].map(bases["potential"][lvl]).astype(float)
                            .fillna(0.0).to_numpy()),
            history=_readonly(bases["history"]["rep_raw"].reindex(u["unit_id"])
                              .to_numpy(dtype=float) if lvl == "rep" else hist_b),
            ramp=_readonly(ramp_factors(u["hire_date"], period) if lvl == "rep"
                           else np.ones(len(u))),
            okey=_readonly((lvl + ":" + u["unit_id"].astype(str)).to_numpy())))
        parent_ids = levels[-1].unit_id
    known = frozenset({f"{root_level}:{root_id}"} | {f"{lv.level}:{i}" for lv in levels
                                                     for i in lv.unit_id})
    return _Prep(None, root_level, root_id, root_name, root_hist,
                 _table_target(data, scope, period), tuple(levels), known, orphans)


def quotas(data: Dataset, scope: Scope | str | None = None, period: Period | str | None = None,
           *, method: str = "history", target: float | None = None,
           weights: dict[str, float] | None = None, growth: float = DEFAULT_GROWTH,
           over_assignment: dict[str, float] | None = None,
           overrides: dict[str, float] | None = None,
           redistribute_ramp: bool = True) -> QuotaPlan:
    """Split ``target`` (USD for the period; default: the targets table, else ``growth`` x
    trailing-12-month bookings) of ``scope`` down to its regions, territories and reps.

    ``over_assignment`` per child level (fractions, default region 5%, territory 10%, rep 10%):
    each parent's children sum to ``parent x (1 + factor)``. See the module docstring for the
    methods, ramp, overrides and drivers. The units and their bases are memoised per
    (Dataset, scope, period): a second call with other decisions only redoes the split.
    """
    scope, period = resolve(data, scope, period)
    dec = QuotaDecisions(method=method, weights=dict(weights or {"history": 0.5, "potential": 0.5}),
                         growth=growth,
                         over_assignment={**DEFAULT_OVER_ASSIGNMENT, **(over_assignment or {})},
                         overrides={str(k): v for k, v in (overrides or {}).items()},
                         redistribute_ramp=bool(redistribute_ramp), target=target)
    _check_decisions(dec)
    if method == "growth" and target is not None:
        raise ConfigError("method 'growth' derives the target (growth x prior bookings); "
                          "drop target=, or use method 'history' with your target")
    prep = _prepare(data, scope, period)
    if prep.empty_note is not None:
        return QuotaPlan(_empty_table(), 0.0, dec, str(scope), period.label,
                         notes=[prep.empty_note])
    notes: list[str] = []
    # prior bookings for the period's length: trailing 12 months x months / 12
    prior = prep.root_hist * period.n_months / 12
    basis = ("trailing-12-month bookings" if period.n_months == 12 else
             f"trailing-12-month bookings x {period.n_months}/12")
    if method == "growth":
        tgt = dec.growth * prior
        notes.append(f"target = {dec.growth:.0%} of {basis} ({prior:,.0f} USD)")
    elif target is not None:
        tgt = float(target)
    elif prep.table_target is not None:
        tgt = prep.table_target
        notes.append(f"target from the data's targets table for {scope.label} {period.label}")
    else:
        tgt = dec.growth * prior
        notes.append(f"target = {dec.growth:.0%} of {basis} ({prior:,.0f} USD)")
    unknown = [k for k in dec.overrides if k not in prep.known]
    if unknown:
        raise ConfigError(f"override for unknown unit(s) {', '.join(unknown[:5])} in "
                          f"{scope.label}; key overrides as 'level:id', e.g. 'rep:R-0001'")
    if prep.orphans:
        raise ConfigError(prep.orphans)
    given = {k: v for k, v in given_rep_targets(data, period, prep.known).items()
             if k not in dec.overrides and k != f"{prep.root_level}:{prep.root_id}"}
    if given:
        notes.append(f"{len(given)} rep quota(s) locked to the rep targets in the data's "
                     "targets table (an override replaces them)")
    table, ramp_gap = _split(prep, replace(dec, overrides={**given, **dec.overrides}), tgt,
                             notes, frozenset(given))
    if ramp_gap > 0:
        notes.append(f"ramp not redistributed: {ramp_gap:,.2f} USD of quota left uncovered")
    return QuotaPlan(table, tgt, dec, str(scope), period.label, ramp_gap=round(ramp_gap, 2),
                     notes=notes)


def _split(prep: _Prep, dec: QuotaDecisions, tgt: float,
           notes: list[str], given: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, float]:
    """Split ``tgt`` (USD) down ``prep``'s levels; the plan table and the ramp gap (USD).
    ``given`` overrides come from the data (rep targets): when they exceed their parent's
    total they are kept, with a note, instead of an error."""
    root_override = dec.overrides.get(f"{prep.root_level}:{prep.root_id}")
    root_q = root_override if root_override is not None else tgt
    tgt_c = int(round(root_q * 100))
    cols: dict[str, list] = {
        "level": [np.array([prep.root_level], dtype=object)],
        "unit_id": [np.array([prep.root_id], dtype=object)],
        "name": [np.array([prep.root_name], dtype=object)],
        "parent": [np.array([pd.NA], dtype=object)],
        "history": [np.array([prep.root_hist])], "potential": [np.array([np.nan])],
        "weight": [np.array([1.0])], "ramp": [np.array([1.0])],
        "locked": [np.array([root_override is not None])]}
    par_drv = {"base_share": np.array([tgt]), "over_assignment": np.zeros(1),
               "ramp_adjustment": np.zeros(1),
               "override": np.array([(root_override - tgt) if root_override is not None
                                     else 0.0]),
               "redistribution": np.zeros(1), "rounding": np.array([tgt_c / 100 - root_q])}
    for d in DRIVERS:
        cols[d] = [par_drv[d]]
    par_q = np.array([tgt_c], dtype=np.int64)
    cols["quota_c"] = [par_q]
    pids = np.array([prep.root_id], dtype=object)
    ramp_gap = 0.0
    for u in prep.levels:
        lvl, g, ng = u.level, u.g, u.n_parents
        f = float(dec.over_assignment.get(lvl, 0.0))
        P = par_q.astype(float)[g] / 100.0
        if dec.method in ("history", "growth"):
            w = _shares(u.hist_b, g, ng)
        elif dec.method == "potential":
            w = _shares(u.pot_b, g, ng)
        else:
            tot = sum(dec.weights.values())
            w = (dec.weights.get("history", 0) * _shares(u.hist_b, g, ng)
                 + dec.weights.get("potential", 0) * _shares(u.pot_b, g, ng)) / tot
        pre = P * (1 + f) * w
        r = u.ramp
        ramp_adj = pre * (r - 1.0)
        ov = (np.array([dec.overrides.get(k, np.nan) for k in u.okey], dtype=float)
              if dec.overrides else np.full(len(g), np.nan))
        locked = ~np.isnan(ov)
        G = np.round(par_q.astype(float) * (1 + f)) / 100.0
        if not dec.redistribute_ramp:
            gap = np.bincount(g, weights=np.where(locked, 0.0, ramp_adj), minlength=ng)
            G = G + gap
            ramp_gap += -float(gap.sum())
        L = np.bincount(g, weights=np.nan_to_num(ov), minlength=ng)
        R = G - L
        if (R < -0.005).any():
            user = np.bincount(g, weights=np.array([k not in given for k in u.okey]) & locked,
                               minlength=ng) > 0
            bad = (R < -0.005) & user
            if bad.any():
                k = int(np.flatnonzero(bad)[np.argmin(R[bad])])
                raise ConfigError(f"overrides under {pids[k]} sum to {L[k]:,.2f} USD, more "
                                  f"than its {lvl} total {G[k]:,.2f} USD; lower an override")
            for k in np.flatnonzero(R < -0.005):
                notes.append(f"given {lvl} targets under {pids[k]} sum to {L[k]:,.2f} USD, "
                             f"more than its total {G[k]:,.2f} USD: kept as given")
            R = np.maximum(R, 0.0)
        uamt = np.where(locked, 0.0, pre + ramp_adj)
        U = np.bincount(g, weights=uamt, minlength=ng)
        nu = np.bincount(g, weights=(~locked).astype(float), minlength=ng)
        share = np.where(U[g] > 0, uamt / np.where(U[g] > 0, U[g], 1.0), 1.0 / np.maximum(nu[g], 1))
        final = np.where(locked, ov, R[g] * share)
        all_locked = (nu == 0) & (np.abs(R) > 0.005)
        for k in np.flatnonzero(all_locked):
            notes.append(f"every {lvl} under {pids[k]} is locked: they sum to {L[k]:,.2f} USD, "
                         f"not {G[k]:,.2f}")
        totals = np.round(np.bincount(g, weights=final, minlength=ng) * 100).astype(np.int64)
        q_c = round_groups(final, g, totals)
        inherited = {d: par_drv[d][g] * w for d in DRIVERS}
        par_drv = {
            "base_share": inherited["base_share"],
            "over_assignment": inherited["over_assignment"] + P * f * w,
            "ramp_adjustment": inherited["ramp_adjustment"] + ramp_adj,
            "override": inherited["override"] + np.where(locked, ov - pre - ramp_adj, 0.0),
            "redistribution": inherited["redistribution"] + np.where(locked, 0.0,
                                                                     final - pre - ramp_adj),
            "rounding": inherited["rounding"] + (q_c / 100.0 - final),
        }
        for c, v in (("level", np.full(len(g), lvl, dtype=object)), ("unit_id", u.unit_id),
                     ("name", u.name), ("parent", u.parent), ("history", u.history),
                     ("potential", u.pot_b), ("weight", w), ("ramp", r), ("locked", locked),
                     *par_drv.items(), ("quota_c", q_c)):
            cols[c].append(v)
        par_q, pids = q_c, u.unit_id
    a = {c: np.concatenate(v) for c, v in cols.items()}
    # drivers in whole cents; the rounding column absorbs the remainder so the sum is exact
    dc = {d: np.round(a[d].astype(float) * 100).astype(np.int64) for d in DRIVERS[:-1]}
    a["rounding"] = (a["quota_c"] - sum(dc.values())) / 100.0
    for d in DRIVERS[:-1]:
        a[d] = dc[d] / 100.0
    a["quota"] = a.pop("quota_c") / 100.0
    t = pd.DataFrame({c: a[c] for c in TABLE_COLUMNS})
    for c in ("level", "unit_id", "name", "parent"):
        t[c] = t[c].astype("string")
    t["locked"] = t["locked"].astype(bool)
    return t, ramp_gap


# ---- seasonality -----------------------------------------------------------------------------
def monthly_shares(data: Dataset, scope: Scope | str | None = None,
                   period: Period | str | None = None) -> pd.DataFrame:
    """Share of the year's bookings per calendar month (sums to 1 over the period's months):
    won bookings by close month over the complete calendar years of history in ``scope``
    (else every month available); equal shares without bookings. Columns ``month`` (Period),
    ``share``, ``basis`` (USD)."""
    scope, period = resolve(data, scope, period)
    d = data.deals
    won = scope.filter(d)
    won = won[(won["status"] == "won") & won["close_date"].notna()
              & (won["close_date"] <= data.as_of)]
    months = period.months()
    note = ""
    if len(won):
        first = won["close_date"].min()
        years = [y for y in range(first.year, data.as_of.year + 1)
                 if pd.Timestamp(y, 1, 1) >= first.replace(day=1, month=1)
                 and pd.Timestamp(y, 12, 31) <= data.as_of
                 and won["close_date"].min() <= pd.Timestamp(y, 1, 31)]
        if years:
            won = won[won["close_date"].dt.year.isin(years)]
            note = f"monthly shares from full years {years[0]}-{years[-1]}"
        else:
            note = "no full calendar year of history: shares from the months available"
        by_m = won["amount"].fillna(0.0).groupby(won["close_date"].dt.month).sum()
    else:
        by_m = pd.Series(dtype=float)
    basis = np.array([float(by_m.get(m.month, 0.0)) for m in months])
    if basis.sum() <= 0:
        basis = np.ones(len(months))
        note = f"no bookings history in {scope.label}: equal monthly shares"
    out = pd.DataFrame({"month": months.astype(str), "share": basis / basis.sum(),
                        "basis": basis})
    out.attrs["note"] = note
    return out


def seasonality(plan: QuotaPlan, data: Dataset, level: str | None = None) -> pd.DataFrame:
    """Each unit's quota by month of the plan period (USD), from :func:`monthly_shares` of the
    plan's scope; rounded so each unit's months sum exactly to its quota. Long frame:
    ``level, unit_id, name, month, quarter, quota``."""
    units = plan.level(level or plan.leaf_level) if plan.leaf_level else plan.table
    shares = monthly_shares(data, plan.scope, plan.period)
    cols = {"level": "string", "unit_id": "string", "name": "string", "month": "string",
            "quarter": "string", "quota": float}
    if units.empty:
        out = pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})
        out.attrs["note"] = plan.note or "no units"
        return out
    s = shares["share"].to_numpy()
    n, m = len(units), len(s)
    vals = (units["quota"].to_numpy()[:, None] * s[None, :]).ravel()
    grp = np.repeat(np.arange(n), m)
    tot = np.round(units["quota"].to_numpy() * 100).astype(np.int64)
    q = round_groups(vals, grp, tot) / 100.0
    months = pd.PeriodIndex(shares["month"], freq="M")
    out = pd.DataFrame({
        "level": np.repeat(units["level"].to_numpy(), m),
        "unit_id": np.repeat(units["unit_id"].to_numpy(), m),
        "name": np.repeat(units["name"].to_numpy(), m),
        "month": np.tile(shares["month"].to_numpy(), n),
        "quarter": np.tile(np.array([f"{p.year}-Q{p.quarter}" for p in months]), n),
        "quota": q})
    out = out.astype(cols)
    out.attrs["note"] = shares.attrs.get("note", "")
    return out


def quarterly(monthly: pd.DataFrame) -> pd.DataFrame:
    """Sum a :func:`seasonality` frame by quarter (exact in cents)."""
    g = monthly.groupby(["level", "unit_id", "name", "quarter"], sort=False)["quota"]
    out = (g.sum().round(2)).reset_index()
    out.attrs["note"] = monthly.attrs.get("note", "")
    return out


# ---- reconciliation and fairness -------------------------------------------------------------
def reconcile(plan: QuotaPlan, commits: dict | pd.Series | pd.DataFrame) -> pd.DataFrame:
    """Top-down quota vs bottom-up commits per unit. ``commits``: ``{unit_id: USD}`` (or
    ``{"level:id": USD}``), a Series indexed by unit id, or a frame with ``unit_id`` and
    ``commit``. Leaf commits roll up to their parents when a parent has none.
    Columns ``level, unit_id, name, quota, commit, gap`` (= commit - quota, USD) and
    ``gap_pct`` (gap / quota)."""
    if isinstance(commits, pd.DataFrame):
        if not {"unit_id", "commit"} <= set(commits.columns):
            raise ConfigError("commits frame needs columns unit_id and commit (USD)")
        commits = dict(zip(commits["unit_id"].astype(str), commits["commit"]))
    elif isinstance(commits, pd.Series):
        commits = {str(k): v for k, v in commits.items()}
    t = plan.table[["level", "unit_id", "name", "parent", "quota"]].copy()
    key = t["level"] + ":" + t["unit_id"]
    c = key.map(lambda k: commits.get(k)).astype(float)
    c = c.fillna(t["unit_id"].map(lambda k: commits.get(k)).astype(float))
    t["commit"] = c.to_numpy()
    for lvl in reversed(LEVELS):  # roll up from the leaves
        child = t[t["level"] == lvl]
        if child.empty:
            continue
        sums = child.groupby("parent")["commit"].sum(min_count=1)
        up = LEVELS[LEVELS.index(lvl) - 1] if lvl != "company" else None
        if up is None:
            continue
        m = (t["level"] == up) & t["commit"].isna()
        t.loc[m, "commit"] = t.loc[m, "unit_id"].map(sums).astype(float)
    t["gap"] = (t["commit"] - t["quota"]).round(2)
    t["gap_pct"] = t["gap"] / t["quota"].where(t["quota"] != 0)
    return t.drop(columns="parent")


@dataclass
class Fairness:
    """Spread of quota vs potential and the share of reps expected to reach 100% / 80%.

    ``table`` per unit: quota, potential, ``quota_per_potential``, ``history`` (annualised
    trailing-12-month bookings) and ``expected_attainment`` = history / quota. Empirical shares
    count units with history; the normal model fits mean/sd to those attainments and gives
    ``P(attainment >= x) = 1 - Phi((x - mean) / sd)``."""

    table: pd.DataFrame
    cv_quota_per_potential: float
    cv_quota: float
    share_100: float
    share_80: float
    share_100_normal: float
    share_80_normal: float
    mean: float
    sd: float
    n: int
    note: str = ""


def _cv(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.std() / x.mean()) if len(x) > 1 and x.mean() else float("nan")


def fairness(plan: QuotaPlan, level: str | None = None) -> Fairness:
    """Fairness figures for the plan's ``level`` units (default the leaf level): coefficient of
    variation (population sd / mean) of quota / potential and of quota, and the share expected
    to reach 100% and 80% of quota (empirical and normal model)."""
    from scipy.stats import norm

    u = plan.level(level or plan.leaf_level) if plan.leaf_level else plan.table
    t = u[["level", "unit_id", "name", "quota", "potential", "history"]].copy()
    t["quota_per_potential"] = t["quota"] / t["potential"].where(t["potential"] > 0)
    t["expected_attainment"] = t["history"] / t["quota"].where(t["quota"] > 0)
    a = t["expected_attainment"].to_numpy(dtype=float)
    a = a[np.isfinite(a)]
    n = len(a)
    mu = float(a.mean()) if n else float("nan")
    sd = float(a.std(ddof=1)) if n > 1 else float("nan")

    def p_norm(x: float) -> float:
        if not np.isfinite(sd):
            return float("nan")
        if sd == 0:
            return float(mu >= x)
        return float(norm.sf((x - mu) / sd))

    note = "" if n else "no units with history: attainment shares undefined"
    return Fairness(t, _cv(t["quota_per_potential"].to_numpy(dtype=float)),
                    _cv(t["quota"].to_numpy(dtype=float)),
                    float((a >= 1).mean()) if n else float("nan"),
                    float((a >= 0.8).mean()) if n else float("nan"),
                    p_norm(1.0), p_norm(0.8), mu, sd, n, note)


# ---- workspace -------------------------------------------------------------------------------
SECTION = "quotas"


def save_quotas(ws, decisions: QuotaDecisions | QuotaPlan, by: str | None = None) -> None:
    """Record the quota decisions (method, weights, growth, over-assignment, overrides,
    ramp option, target) in the workspace section ``quotas``."""
    dec = decisions.decisions if isinstance(decisions, QuotaPlan) else decisions
    _check_decisions(dec)
    ws.record_many(SECTION, asdict(dec), by=by)


def set_override(ws, unit: str, amount: float | None, by: str | None = None
                 ) -> dict[str, float]:
    """Lock ``unit`` (``level:id``) at ``amount`` USD (``None`` unlocks it), keeping every
    other override, in one locked read-modify-write (other processes' overrides are never
    lost); returns the overrides."""
    if amount is not None and not (np.isfinite(amount) and amount >= 0):
        raise ConfigError(f"quota for {unit} must be a non-negative amount in USD")

    def change(current: Any) -> dict[str, float]:
        ov = {str(k): float(v) for k, v in dict(current or {}).items()}
        if amount is None:
            ov.pop(unit, None)
        else:
            ov[unit] = float(amount)
        return ov

    return ws.update(SECTION, "overrides", change, by=by)


def load_quotas(ws) -> QuotaDecisions:
    """The saved decisions (defaults for anything not recorded)."""
    saved = ws.get(SECTION) or {}
    if not isinstance(saved, dict):
        raise ConfigError("workspace section 'quotas' must be keyed decisions")
    known = {k: v for k, v in saved.items() if k in QuotaDecisions.__dataclass_fields__}
    dec = QuotaDecisions(**known)
    dec.overrides = {str(k): float(v) for k, v in (dec.overrides or {}).items()}
    _check_decisions(dec)
    return dec


def subtree(plan: QuotaPlan, level: str, unit_id: str,
            notes: list[str] | None = None) -> QuotaPlan | None:
    """The part of a company quota plan below (and including) unit ``level:unit_id``: a
    :class:`QuotaPlan` whose target is that unit's quota (USD) and whose table holds it and
    its descendants. ``None`` when the split has no such unit. Region, territory and rep
    plans and views use it, so every scope shows the quotas the company plan assigns."""
    t = plan.table
    root = t[((t["level"] == level) & (t["unit_id"] == unit_id)).fillna(False).to_numpy()]
    if not len(root):
        return None
    parts, ids = [root], list(root["unit_id"])
    for lvl in LEVELS[LEVELS.index(level) + 1:]:
        kids = t[((t["level"] == lvl) & t["parent"].isin(ids)).fillna(False).to_numpy()]
        parts.append(kids)
        ids = list(kids["unit_id"])
    return QuotaPlan(pd.concat(parts, ignore_index=True), float(root["quota"].iloc[0]),
                     plan.decisions, f"{level}:{unit_id}", plan.period, ramp_gap=0.0,
                     notes=list(notes or []))


def quotas_from(data: Dataset, decisions: QuotaDecisions, scope=None, period=None) -> QuotaPlan:
    """Re-run :func:`quotas` with saved decisions (a batch run reproduces the widget's)."""
    d = asdict(decisions)
    return quotas(data, scope, period, **d)


def chart_quotas(plan: QuotaPlan, level: str | None = None) -> alt.Chart:
    """Stacked bar of each unit's quota drivers (USD)."""
    d = plan.drivers(level)
    long = d.melt(id_vars=["unit_id", "name"], value_vars=list(DRIVERS), var_name="driver",
                  value_name="usd")
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("usd:Q", title="USD"), y=alt.Y("name:N", sort="-x", title=None),
        color="driver:N", tooltip=["name", "driver", alt.Tooltip("usd:Q", format=",.2f")])
