"""Step 9 - quotas: split a top-down target down company -> region -> territory -> rep.

Over-assignment is stated as **one total per level**: ``over_assignment[level] = F`` means the
units of that level sum to the plan target x (1 + F) (region 5%, territory 10%, rep 15% ->
reps carry 115% of the target, never 1.05 x 1.10 x 1.15). Each child level's factor relative
to its parent is ``f = (1 + F_child) / (1 + F_parent) - 1`` (the root's ``F`` is its own
level's total, 0 for the company). ``compound=True`` reads the figures as per-level factors
instead (``f = F``), which multiplies them down the levels.

Every unit's quota is ``parent quota x (1 + f) x weight``, then ramp-adjusted (reps),
overridden (locked units) and redistributed, and rounded to cents so that **each parent's
children sum exactly to the parent x (1 + f)** (largest remainder).

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

import dataclasses
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import trailing_12_months
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.core.seats import (
    DEFAULT_ATTRITION,
    DEFAULT_BACKFILL_LAG,
    DEFAULT_GROWTH,
    RampCurve,
    quota_seat_mask,
    ramp_factors,
)
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.dataset import resolve as _resolve
from salesplan_nb.steps import capacity
from salesplan_nb.steps.kpis import goal_target

LEVELS = ("company", "region", "territory", "rep")
METHODS = ("history", "potential", "blend", "growth")
DRIVERS = ("base_share", "over_assignment", "ramp_adjustment", "override", "redistribution",
           "rounding")
#: total over-assignment per level vs the plan target (not compounding): reps carry 115%
DEFAULT_OVER_ASSIGNMENT = {"region": 0.05, "territory": 0.10, "rep": 0.15}
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


def books_key(data: Dataset, moves) -> tuple:
    """Accepted territory moves (``[{account_id, from, to, level?}]``, the territories step's
    ``accepted_moves``) as a canonical, hashable ``((account_id, level, to), ...)``; ``level``
    (territory or rep) is read from the move, else from ``to`` (a territory id or a rep id).
    A move to an unknown unit is a ConfigError naming it."""
    out = {}
    terrs = None
    for m in moves or ():
        acc, to, lvl = str(m.get("account_id")), str(m.get("to")), m.get("level")
        if lvl is None:
            if terrs is None:
                terrs = set(data.territories["territory_id"].dropna().astype(str)) | set(
                    data.accounts["territory"].dropna().astype(str))
                rep_ids = set(data.reps["rep_id"].astype(str))
            lvl = "territory" if to in terrs else "rep" if to in rep_ids else None
        if lvl not in ("territory", "rep"):
            raise ConfigError(f"plan.yaml decisions.territories.accepted_moves: account {acc} "
                              f"moves to {to!r}, not a territory or rep of the data; accept "
                              "the moves again in the territories step")
        out[acc] = (acc, lvl, to)
    return tuple(sorted(out.values()))


def _apply_books(data: Dataset, frame: pd.DataFrame, books: tuple, *, owner: bool
                 ) -> pd.DataFrame:
    """Accounts (``owner=True``) or trailing won deals (``owner=False``) on the books after
    the moves: a territory move sets the account's (and its deals') territory and region to
    the receiving territory's and clears the account's owner (a rep of the new territory
    takes it); a rep move sets the account's owner. Deals keep their owner rep (a rep's own
    record stays the rep's)."""
    if not books:
        return frame
    t = data.territories.dropna(subset=["territory_id"])
    reg = dict(zip(t["territory_id"].astype(str), t["region"]))
    r = data.reps.dropna(subset=["territory"])
    for k, v in zip(r["territory"].astype(str), r["region"]):
        reg.setdefault(k, v)
    terr = {a: to for a, lvl, to in books if lvl == "territory"}
    rep = {a: to for a, lvl, to in books if lvl == "rep"}
    frame = frame.copy()
    ids = frame["account_id"].astype(str)
    m = ids.isin(terr.keys()).to_numpy()
    if m.any():
        to = ids[m].map(terr)
        frame.loc[m, "territory"] = to.to_numpy()
        frame.loc[m, "region"] = to.map(reg).to_numpy()
        if owner:
            frame.loc[m, "owner_id"] = None
    m = ids.isin(rep.keys()).to_numpy()
    if owner and m.any():
        frame.loc[m, "owner_id"] = ids[m].map(rep).to_numpy()
    return frame


def _dataset_bases(data: Dataset, books: tuple = ()) -> tuple[dict[str, pd.Series],
                                                             dict[str, pd.Series], float,
                                                             pd.DataFrame]:
    """Trailing-12-month won bookings and account potential (USD/year) summed by region /
    territory / owner, the company's trailing bookings (USD) and :func:`_won_trailing`, on
    the books after the accepted moves ``books`` (:func:`books_key`, :func:`_apply_books`);
    memoised on the Dataset."""
    def build():
        won = _apply_books(data, _won_trailing(data), books, owner=False)
        amt = won["amount"].fillna(0.0)
        hist = {lvl: amt.groupby(won[col]).sum() for lvl, col in
                (("region", "region"), ("territory", "territory"), ("rep", "owner_id"))}
        company = float(won["amount"].sum())
        try:
            from salesplan_nb.steps.market import account_potential

            acc = _apply_books(data, account_potential(data).table, books, owner=True)
        except Exception:  # noqa: BLE001 - potential unavailable: history-only plans still work
            acc = pd.DataFrame({"region": [], "territory": [], "owner_id": [], "potential": []})
        pot = {lvl: acc["potential"].groupby(acc[col]).sum() for lvl, col in
               (("region", "region"), ("territory", "territory"), ("rep", "owner_id"))}
        return hist, pot, company, won

    return _memo(data, ("dataset bases", books), build)


def _bases(data: Dataset, reps: pd.DataFrame, books: tuple = ()
           ) -> dict[str, dict[str, pd.Series]]:
    """History and potential per region / territory / rep (USD/year), on the books after
    the accepted moves ``books``."""
    win = history_window(data)
    hist, pot, *_ = _dataset_bases(data, books)
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
    redistribute_ramp: bool = False
    target: float | None = None
    compound: bool = False


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
    planned: pd.Series | None = None  # reps: planned bookings in seat (USD) by unit_id
    sigma: float = float("nan")  # log sd of a seat's bookings around its plan
    #: reps: expected bookings of the seat over the period (USD) with attrition, vacancy and
    #: backfill (capacity's model, seat by seat): what the team books, not a rep's odds
    planned_team: pd.Series | None = None

    @property
    def tbh_seats(self) -> int:
        """To-be-hired seats in the plan (rep units from the hiring plan)."""
        r = self.level("rep")
        return int(r["unit_id"].astype(str).str.startswith(TBH_PREFIX).sum())

    def quota_total(self, level: str = "rep") -> float:
        """Sum of the ``level`` units' quotas (USD)."""
        return float(self.level(level)["quota"].sum())

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
def level_factor(dec: QuotaDecisions, level: str, above: float) -> float:
    """The factor a ``level``'s units add to their parent (see the module doc): ``(1 + F) /
    (1 + F_above) - 1`` for totals, ``F`` itself with ``compound``."""
    total = float(dec.over_assignment.get(level, 0.0))
    return total if dec.compound else (1 + total) / (1 + above) - 1


def total_over_assignment(dec: QuotaDecisions, level: str = "rep") -> float:
    """Total over-assignment of ``level`` vs the plan target (fraction): ``F`` itself, or the
    product of the per-level factors down to ``level`` with ``compound``."""
    if not dec.compound:
        return float(dec.over_assignment.get(level, 0.0))
    out = 1.0
    for lvl in LEVELS[1:LEVELS.index(level) + 1]:
        out *= 1 + float(dec.over_assignment.get(lvl, 0.0))
    return out - 1



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
    planned: np.ndarray | None = None  # reps: planned bookings (USD) = productivity x RRE
    planned_team: np.ndarray | None = None  # the same with attrition and backfill


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
    sigma: float = float("nan")  # spread (log sd) of a seat's productivity around its plan


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


TBH_PREFIX = "TBH-"  # unit ids of to-be-hired seats
SHRINK_RRE_MONTHS = 6.0  # pseudo RRE-months of territory productivity in a seat's plan


def _hire_key(hires) -> tuple:
    """A hashable, canonical form of capacity hires (month, count, region, territory)."""
    out = []
    for h in hires or ():
        h = h if isinstance(h, dict) else dict(vars(h))
        out.append((str(pd.Period(str(h["month"]), "M")), float(h.get("count") or 0),
                    h.get("region"), h.get("territory")))
    return tuple(out)


def tbh_seats(data: Dataset, reps: pd.DataFrame, hires: tuple, period: Period) -> pd.DataFrame:
    """To-be-hired seats for the capacity step's hiring plan: ``ceil(count)`` seats per hire,
    ``rep_id`` ``TBH-<month>-<n>``, ``hire_date`` the first day of the hire month. A hire with a
    territory goes there; with a region (or none) its seats go, one by one, to the territory of
    that region (or company) with the most potential per seat at that point (a new seat goes
    where coverage is thinnest). Hires starting after the period are left out."""
    rows = []
    if not hires or reps.empty:
        return reps.iloc[0:0]
    _, pot, *_ = _dataset_bases(data)
    terr = reps.groupby("territory").agg(region=("region", "first"), n=("rep_id", "size"))
    terr["potential"] = terr.index.map(pot["territory"]).astype(float)
    terr["potential"] = terr["potential"].fillna(0.0)
    k = 0
    for month, count, region, territory in hires:
        start = pd.Period(month, "M").start_time
        if start >= period.end or count <= 0:
            continue
        for _ in range(int(np.ceil(count - 1e-9))):
            if territory is not None and territory in terr.index:
                t = territory
            else:
                cand = terr if region is None else terr[terr["region"] == region]
                if cand.empty:
                    continue
                t = (cand["potential"] / cand["n"]).idxmax()
            terr.loc[t, "n"] += 1
            k += 1
            rows.append({"rep_id": f"{TBH_PREFIX}{month}-{k}",
                         "name": f"To be hired {k} ({t}, from {month})",
                         "region": terr.loc[t, "region"], "territory": t, "role": "AE",
                         "hire_date": start, "end_date": pd.NaT})
    if not rows:
        return reps.iloc[0:0]
    out = pd.DataFrame(rows)
    return out.astype({c: reps[c].dtype for c in out.columns if c in reps.columns})


def _planned_rre(data: Dataset, reps: pd.DataFrame, period: Period, cap: tuple,
                 in_seat: bool = True) -> np.ndarray:
    """Ramped RRE-months of each seat over ``period`` while its rep is in the seat (capacity's
    ramp curve; known end dates; a to-be-hired seat from its start month): the denominator of
    a seat's planned bookings. Attrition is left out on purpose: attainment is judged on the
    quota of the time in seat (a leaver's quota leaves with them, the backfill gets its own
    ramped quota), so the share of reps expected at 100% is conditional on staying; the
    team-level attrition loss is in the capacity figure and is what over-assignment covers.
    ``in_seat=False``: with capacity's attrition and backfill (the seat's expected RRE-months,
    summing to the capacity figure's)."""
    ramp, attrition, lag = cap
    if in_seat:
        attrition = 0.0
    out = np.zeros(len(reps))
    months = period.months()
    for i, r in enumerate(reps.itertuples()):
        if str(r.rep_id).startswith(TBH_PREFIX):
            out[i] = capacity.hire_yield(period, f"{pd.Timestamp(r.hire_date):%Y-%m}",
                                         ramp=ramp, attrition=attrition, backfill_lag=lag)
        else:
            df = capacity.rre_by_month(reps.iloc[[i]], months, ramp, as_of=data.as_of,
                                       attrition=attrition, backfill_lag=lag)
            out[i] = float(df["rre"].sum())
    return out


def seat_productivity(data: Dataset, reps: pd.DataFrame, period: Period,
                      ramp=None) -> tuple[np.ndarray, float]:
    """Planned productivity of each seat (USD per RRE-month): the rep's own measured record
    shrunk toward its territory's, ``(bookings + k x territory) / (RRE-months + k)`` with
    ``k`` = :data:`SHRINK_RRE_MONTHS` (capacity's productivity, on the history basis; the
    company's without a territory figure; to-be-hired seats: the company's, as the capacity
    step's hiring maths); and ``sigma``, the
    spread of reps' own productivity around their territory's (sd of the log ratio over reps
    with at least 6 RRE-months in the window; 0.25 when fewer than 5 such reps)."""
    co = capacity.productivity(data, "company", period, ramp).value
    terr = {}
    for t in reps["territory"].dropna().unique():
        v = capacity.productivity(data, f"territory:{t}", period, ramp).value
        terr[t] = v if np.isfinite(v) and v > 0 else co
    prod = np.array([co if str(i).startswith(TBH_PREFIX) else terr.get(t, co)
                     for i, t in zip(reps["rep_id"], reps["territory"])], dtype=float)
    logs = []
    for i, r in enumerate(reps.itertuples()):
        if str(r.rep_id).startswith(TBH_PREFIX):
            continue
        p = capacity.productivity(data, f"rep:{r.rep_id}", period, ramp)
        if p.rre_months >= 6 and p.value > 0 and prod[i] > 0:
            logs.append(np.log(p.value / prod[i]))
        if p.rre_months > 0 and np.isfinite(prod[i]):  # own record, shrunk to the territory
            prod[i] = (p.bookings + SHRINK_RRE_MONTHS * prod[i]) / (p.rre_months
                                                                   + SHRINK_RRE_MONTHS)
    sigma = float(np.std(logs, ddof=1)) if len(logs) >= 5 else 0.25
    return prod, sigma


def _planned(data: Dataset, reps: pd.DataFrame, period: Period, cap: tuple,
             in_seat: bool = True) -> np.ndarray:
    """Planned bookings of each seat (USD): :func:`seat_productivity` x :func:`_planned_rre`
    (in seat, or with attrition and backfill)."""
    prod, _ = seat_productivity(data, reps, period, cap[0])
    return prod * _planned_rre(data, reps, period, cap, in_seat)


def _prepare(data: Dataset, scope: Scope, period: Period, hires: tuple = (),
             cap: tuple | None = None, books: tuple = ()) -> _Prep:
    """The units, their parents, history / potential bases, ramp and root figures of
    ``scope`` in ``period``; memoised on the Dataset, so a change of over-assignment, weights,
    growth, target or overrides only redoes the split."""
    return _memo(data, ("split", scope.level, scope.id, period, hires, cap, books),
                 lambda: _build_prep(data, scope, period, hires, cap, books))


def _build_prep(data: Dataset, scope: Scope, period: Period, hires: tuple = (),
                cap: tuple | None = None, books: tuple = ()) -> _Prep:
    reps = quota_reps(data, period)
    if hires:  # the capacity step's hires become to-be-hired seats with ramped quota
        reps = pd.concat([reps, tbh_seats(data, reps, hires, period)], ignore_index=True)
    if scope.level in ("region", "territory", "rep"):
        col = {"region": "region", "territory": "territory", "rep": "rep_id"}[scope.level]
        reps = reps[reps[col] == scope.id].reset_index(drop=True)
    if scope.level == "account":
        reps = reps.iloc[0:0]
    bases = _bases(data, reps, books)
    root_level = scope.level
    # root history (USD/year): the scope's trailing-12-month bookings
    if scope.level == "company":
        root_hist = _dataset_bases(data, books)[2]
    elif scope.level == "account":
        won = _dataset_bases(data, books)[3]
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
    sigma = float("nan")
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
            okey=_readonly((lvl + ":" + u["unit_id"].astype(str)).to_numpy()),
            planned=_readonly(_planned(data, u, period, cap)) if lvl == "rep" and cap
            else None,
            planned_team=_readonly(_planned(data, u, period, cap, False))
            if lvl == "rep" and cap else None))
        if lvl == "rep" and cap:
            sigma = seat_productivity(data, u, period, cap[0])[1]
        parent_ids = levels[-1].unit_id
    known = frozenset({f"{root_level}:{root_id}"} | {f"{lv.level}:{i}" for lv in levels
                                                     for i in lv.unit_id})
    return _Prep(None, root_level, root_id, root_name, root_hist,
                 _table_target(data, scope, period), tuple(levels), known, orphans, sigma)


def quotas(data: Dataset, scope: Scope | str | None = None, period: Period | str | None = None,
           *, method: str = "history", target: float | None = None,
           weights: dict[str, float] | None = None, growth: float = DEFAULT_GROWTH,
           over_assignment: dict[str, float] | None = None,
           overrides: dict[str, float] | None = None,
           redistribute_ramp: bool = False, compound: bool = False,
           hires=(), capacity_settings: dict | None = None, books=(),
           unit_goals: dict[str, float] | None = None) -> QuotaPlan:
    """Split ``target`` (USD for the period; default: the targets table, else ``growth`` x
    trailing-12-month bookings) of ``scope`` down to its regions, territories and reps.

    ``over_assignment``: the total over-assignment of each level vs the target (fractions,
    default region 5%, territory 10%, rep 15%; ``compound=True``: per-level factors that
    multiply). ``hires`` (capacity's hiring plan, :class:`salesplan_nb.steps.capacity.Hire`
    or dicts) add to-be-hired seats with ramped quota (:func:`tbh_seats`). ``books``: the
    territories step's accepted moves (``[{account_id, from, to, level}]``): the history and
    potential bases are those of the books after the moves (:func:`_apply_books`).
    ``capacity_settings``
    (``ramp``, ``attrition``, ``backfill_lag``: capacity's settings) adds each seat's planned
    bookings (its productivity x expected RRE-months) for :func:`fairness`. ``unit_goals``
    (``{"region:EMEA": 23.6e6, ...}``, USD: step 2's recorded bookings goals of units) weight a
    level whose every unit has one: its units split their parent's total in proportion to
    their goals (so a region's quota is its recorded goal when the goals add up to the
    company target and the level's over-assignment is 0). See the module
    docstring for the methods, ramp, overrides and drivers. The units and their bases are memoised per
    (Dataset, scope, period): a second call with other decisions only redoes the split.
    """
    scope, period = resolve(data, scope, period)
    dec = QuotaDecisions(method=method, weights=dict(weights or {"history": 0.5, "potential": 0.5}),
                         growth=growth,
                         over_assignment={**DEFAULT_OVER_ASSIGNMENT, **(over_assignment or {})},
                         overrides={str(k): v for k, v in (overrides or {}).items()},
                         redistribute_ramp=bool(redistribute_ramp), target=target,
                         compound=bool(compound))
    _check_decisions(dec)
    if method == "growth" and target is not None:
        raise ConfigError("method 'growth' derives the target (growth x prior bookings); "
                          "drop target=, or use method 'history' with your target")
    cap = None
    if capacity_settings is not None:
        cs = capacity_settings
        cap = (RampCurve.parse(cs.get("ramp")),
               float(cs.get("attrition", DEFAULT_ATTRITION)),
               int(cs.get("backfill_lag", DEFAULT_BACKFILL_LAG)))
    prep = _prepare(data, scope, period, _hire_key(hires), cap, books_key(data, books))
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
    goals = {str(k): float(v) for k, v in (unit_goals or {}).items()
             if v is not None and np.isfinite(float(v)) and float(v) > 0}
    table, ramp_gap = _split(prep, replace(dec, overrides={**given, **dec.overrides}), tgt,
                             notes, frozenset(given), goals)
    if ramp_gap > 0:
        notes.append(f"ramp not redistributed: {ramp_gap:,.2f} USD of quota left uncovered")
    planned = planned_team = None
    reps_lvl = [lv for lv in prep.levels if lv.level == "rep" and lv.planned is not None]
    if reps_lvl:
        idx = pd.Index(reps_lvl[0].unit_id, dtype="string")
        planned = pd.Series(np.asarray(reps_lvl[0].planned, dtype=float), index=idx)
        planned_team = pd.Series(np.asarray(reps_lvl[0].planned_team, dtype=float), index=idx)
    n_tbh = sum(str(i).startswith(TBH_PREFIX) for lv in prep.levels if lv.level == "rep"
                for i in lv.unit_id)
    if n_tbh:
        notes.append(f"{n_tbh} to-be-hired seat(s) from the hiring plan carry ramped quota")
    return QuotaPlan(table, tgt, dec, str(scope), period.label, ramp_gap=round(ramp_gap, 2),
                     notes=notes, planned=planned, sigma=prep.sigma,
                     planned_team=planned_team)


def _split(prep: _Prep, dec: QuotaDecisions, tgt: float,
           notes: list[str], given: frozenset[str] = frozenset(),
           goals: dict[str, float] | None = None) -> tuple[pd.DataFrame, float]:
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
    above = float(dec.over_assignment.get(prep.root_level, 0.0))  # the root's own total
    for u in prep.levels:
        lvl, g, ng = u.level, u.g, u.n_parents
        f = level_factor(dec, lvl, above)
        above = float(dec.over_assignment.get(lvl, 0.0))
        P = par_q.astype(float)[g] / 100.0
        if goals and len(u.okey) and all(k in goals for k in u.okey):
            # step 2's recorded goals of every unit of this level weight the split
            w = _shares(np.array([goals[k] for k in u.okey], dtype=float), g, ng)
            notes.append(f"{lvl} shares from the recorded bookings goals (decisions.goals)")
        elif dec.method in ("history", "growth"):
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


#: a healthy plan expects this share of reps to reach 100% of quota (PRODUCT.md)
HEALTHY_BAND = (0.50, 0.75)


@dataclass
class Fairness:
    """Spread of quota vs potential and the share of reps expected to reach 100% / 80%.

    ``table`` per unit: quota, potential, ``quota_per_potential``, ``history`` (annualised
    trailing-12-month bookings), ``planned`` and ``expected_attainment``.

    With the seats' planned bookings (a plan built with ``capacity_settings``; rep level):
    ``planned`` = the seat's productivity (its territory's USD per RRE-month) x its expected
    RRE-months in the period (ramp, attrition and backfill; to-be-hired seats from their start
    month), ``expected_attainment = planned / quota``, and each seat's bookings are lognormal
    around ``planned`` with log sd ``sigma`` (reps' measured spread around their territory):
    ``P_i(>= x) = 1 - Phi((ln(x / a_i) + sigma^2 / 2) / sigma)``; ``share_100_normal`` /
    ``share_80_normal`` are the means of ``P_i``, ``share_100`` / ``share_80`` the shares of
    seats whose expected attainment is at least 100% / 80%. ``basis = "planned productivity"``.

    Without them (``basis = "trailing bookings"``) the old proxy: ``expected_attainment =
    history / quota`` with a normal fit (it assumes no productivity growth, so any growth
    target reads as failure). ``flag`` is a sentence when ``share_100_normal`` is outside
    :data:`HEALTHY_BAND` (else empty)."""

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
    basis: str = "trailing bookings"
    flag: str = ""


def _cv(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.std() / x.mean()) if len(x) > 1 and x.mean() else float("nan")


def band_flag(share: float, over_assignment: float | None = None) -> str:
    """A loud sentence when ``share`` (reps expected at 100%+) is outside
    :data:`HEALTHY_BAND`, naming what closes it; empty inside it."""
    lo, hi = HEALTHY_BAND
    if not np.isfinite(share) or lo <= share <= hi:
        return ""
    oa = f" (rep over-assignment now {over_assignment:.0%})" if over_assignment is not None \
        else ""
    if share < lo:
        return (f"only {share:.1%} of reps are expected to reach 100% of quota, below the "
                f"healthy {lo:.0%}-{hi:.0%}: quotas exceed planned productivity; lower the "
                f"target or the over-assignment{oa}, or add hires")
    return (f"{share:.1%} of reps are expected to reach 100% of quota, above the healthy "
            f"{lo:.0%}-{hi:.0%}: quotas are below planned productivity; raise the target or "
            f"the over-assignment{oa}")


def fairness(plan: QuotaPlan, level: str | None = None) -> Fairness:
    """Fairness figures for the plan's ``level`` units (default the leaf level): coefficient of
    variation (population sd / mean) of quota / potential and of quota, and the share expected
    to reach 100% and 80% of quota (see :class:`Fairness` for the two bases)."""
    from scipy.special import ndtr  # norm.sf(z) is ndtr(-z); scipy.stats: 0.7 s to import

    lvl = level or plan.leaf_level
    u = plan.level(lvl) if lvl else plan.table
    t = u[["level", "unit_id", "name", "quota", "potential", "history"]].copy()
    t["quota_per_potential"] = t["quota"] / t["potential"].where(t["potential"] > 0)
    q = t["quota"].where(t["quota"] > 0)
    planned = plan.planned is not None and lvl == "rep"
    t["planned"] = (t["unit_id"].astype("string").map(plan.planned).astype(float) if planned
                    else np.nan)
    t["expected_attainment"] = (t["planned"] if planned else t["history"]) / q
    a = t["expected_attainment"].to_numpy(dtype=float)
    a = a[np.isfinite(a)]
    n = len(a)
    mu = float(a.mean()) if n else float("nan")
    sd = float(a.std(ddof=1)) if n > 1 else float("nan")
    over = total_over_assignment(plan.decisions, lvl) if lvl in LEVELS[1:] else None
    cvs = (_cv(t["quota_per_potential"].to_numpy(dtype=float)),
           _cv(t["quota"].to_numpy(dtype=float)))
    if planned:
        s = plan.sigma if np.isfinite(plan.sigma) and plan.sigma > 0 else 0.25
        pos = a[a > 0]

        def p_logn(x: float) -> float:
            if not n:
                return float("nan")
            p = ndtr(-((np.log(x / pos) + s * s / 2) / s)) if len(pos) else np.zeros(0)
            return float(np.concatenate([p, np.zeros(n - len(pos))]).mean())

        p100 = p_logn(1.0)
        note = "" if n else "no seats with a quota: attainment shares undefined"
        return Fairness(t, *cvs, float((a >= 1).mean()) if n else float("nan"),
                        float((a >= 0.8).mean()) if n else float("nan"), p100, p_logn(0.8),
                        mu, sd, n, note, "planned productivity", band_flag(p100, over))

    def p_norm(x: float) -> float:
        if not np.isfinite(sd):
            return float("nan")
        if sd == 0:
            return float(mu >= x)
        return float(ndtr(-((x - mu) / sd)))

    note = "" if n else "no units with history: attainment shares undefined"
    return Fairness(t, *cvs, float((a >= 1).mean()) if n else float("nan"),
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
                     notes=list(notes or []), planned=plan.planned, sigma=plan.sigma,
                     planned_team=plan.planned_team)


def quotas_from(data: Dataset, decisions: QuotaDecisions, scope=None, period=None, *,
                hires=(), capacity_settings: dict | None = None, books=(),
                unit_goals: dict[str, float] | None = None) -> QuotaPlan:
    """Re-run :func:`quotas` with saved decisions (a batch run reproduces the widget's);
    ``hires`` / ``capacity_settings`` / ``unit_goals`` as in :func:`quotas`."""
    d = asdict(decisions)
    return quotas(data, scope, period, **d, hires=hires, capacity_settings=capacity_settings,
                  books=books, unit_goals=unit_goals)


def unit_goals(ws) -> dict[str, float]:
    """Step 2's recorded bookings goals of regions and territories (``level:id`` -> USD),
    the weights of the levels whose every unit has one (:func:`quotas`)."""
    out: dict[str, float] = {}
    for item in ws.items("goals") if ws.get("goals") is not None else []:
        sc = str(item.get("scope") or "")
        if item.get("metric") == "bookings" and sc.split(":", 1)[0] in ("region", "territory"):
            try:
                out[sc] = float(item["target"])
            except (TypeError, ValueError, KeyError):
                continue
    return out


def quotas_from_workspace(ws, scope=None, period=None, target: float | None = None
                          ) -> QuotaPlan:
    """The workspace's quota plan: its saved decisions (``target`` overrides the saved
    target), the capacity step's hiring plan as to-be-hired seats, its capacity settings
    for the seats' planned bookings and the territory books after the accepted moves."""
    cs = capacity.load_capacity_settings(ws)
    dec = load_quotas(ws)
    if target is not None:
        dec = dataclasses.replace(dec, target=float(target))
    return quotas_from(ws.data, dec, scope, period or ws.period,
                       hires=cs.pop("hires"), capacity_settings=cs, books=accepted_books(ws),
                       unit_goals=unit_goals(ws))


def accepted_books(ws) -> list[dict]:
    """The territories step's accepted moves (plan.yaml ``decisions.territories.
    accepted_moves``): the books every quota split of the workspace uses."""
    return list(ws.get("territories", "accepted_moves", None) or [])


def chart_quotas(plan: QuotaPlan, level: str | None = None) -> alt.Chart:
    """Stacked bar of each unit's quota drivers (USD)."""
    d = plan.drivers(level)
    long = d.melt(id_vars=["unit_id", "name"], value_vars=list(DRIVERS), var_name="driver",
                  value_name="usd")
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("usd:Q", title="USD"), y=alt.Y("name:N", sort="-x", title=None),
        color="driver:N", tooltip=["name", "driver", alt.Tooltip("usd:Q", format=",.2f")])


# ---- the demo's default decision ------------------------------------------------------------
def demo_decision(ws, by: str = "demo") -> str:
    """Step 9 in ``salesplan demo``: the bookings goal split by blend (60% history, 40%
    potential); over-assignment totals (not compounding): territories 5%, reps 10% above the
    target; the hiring plan's seats carry ramped quota."""
    rep_oa = capacity.DEMO_REP_OVER_ASSIGNMENT  # the cushion the hiring plan is sized to
    dec = QuotaDecisions(method="blend", weights={"history": 0.6, "potential": 0.4},
                         over_assignment={"region": 0.0, "territory": rep_oa / 2,
                                          "rep": rep_oa},
                         target=goal_target(ws))
    save_quotas(ws, dec, by=by)
    plan = quotas_from_workspace(ws)
    ws.save_output("quotas", "table", plan.table)
    fair = fairness(plan)
    reps = plan.level("rep")
    return (f"target ${plan.target:,.0f} split by blend (60% history, 40% potential) to "
            f"{len(reps)} seats ({plan.tbh_seats} to be hired), rep quotas total "
            f"${reps['quota'].sum():,.0f}; expected to reach 100% (planned productivity): "
            f"{fair.share_100_normal:.0%} of seats, 80%: {fair.share_80_normal:.0%}"
            + (f"; WARNING: {fair.flag}" if fair.flag else ""))


# ---- roll-out: per-rep quota letters (step 13) ------------------------------------------------
LETTER_COLUMNS = ["rep_id", "rep", "territory", "region", "period", "quota", "ramp",
                  *DRIVERS]


def quota_letters(plan: QuotaPlan, data: Dataset) -> pd.DataFrame:
    """One row per rep of ``plan``: the rep's quota (USD) for the plan period, its territory
    and region (the rep's parents in the split), the ramp factor (0..1), the drivers that sum
    to the quota (:meth:`QuotaPlan.drivers`) and the quarterly quotas (columns ``YYYY-Qn``,
    USD, from :func:`seasonality`; they sum to the quota to the cent). Empty (with
    ``attrs["note"]``) when the split has no rep level."""
    reps = plan.level("rep")
    if reps.empty:
        out = pd.DataFrame(columns=LETTER_COLUMNS)
        out.attrs["note"] = plan.note or "the quota split has no reps"
        return out
    t = plan.table
    names = dict(zip(t["unit_id"], t["name"]))
    parents = dict(zip(zip(t["level"], t["unit_id"]), t["parent"]))
    terr = reps["parent"]
    out = pd.DataFrame({
        "rep_id": reps["unit_id"], "rep": reps["name"],
        "territory": [names.get(p, p) for p in terr],
        "region": [parents.get(("territory", p)) for p in terr],
        "period": plan.period, "quota": reps["quota"], "ramp": reps["ramp"],
        **{d: reps[d] for d in DRIVERS}})
    q = quarterly(seasonality(plan, data, "rep"))
    wide = q.pivot(index="unit_id", columns="quarter", values="quota")
    for col in wide.columns:
        out[col] = out["rep_id"].map(wide[col]).astype(float)
    out.attrs["note"] = plan.note
    return out.reset_index(drop=True)


def letter_text(row: pd.Series, currency: str = "USD") -> str:
    """A plain-text quota letter of one :func:`quota_letters` row (names from data are shown
    as text, never interpreted)."""
    quarters = [c for c in row.index if len(str(c)) == 7 and str(c)[4:6] == "-Q"]
    lines = [f"Quota letter {row['period']}: {row['rep']} ({row['rep_id']})",
             f"Territory {row['territory']}, region {row['region']}",
             f"Quota: {row['quota']:,.2f} {currency}"
             + (f" (ramp-adjusted at {row['ramp']:.0%} productivity)" if row["ramp"] < 1 else ""),
             "By quarter: " + ", ".join(f"{c} {row[c]:,.2f}" for c in quarters),
             "How it is built: " + ", ".join(f"{d.replace('_', ' ')} {row[d]:+,.2f}"
                                             for d in DRIVERS if row[d])]
    return "\n".join(lines)
