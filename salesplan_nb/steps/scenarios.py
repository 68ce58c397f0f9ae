"""What-if scenarios: a driver-based model of the plan, recomputed in milliseconds.

Build a :class:`ScenarioModel` once (baseline arrays per rep x month, the rep -> territory ->
region hierarchy as one-hot matrices); then :meth:`ScenarioModel.recompute` turns a
:class:`Scenario` (a list of driver :class:`Change` s) into bookings, capacity, quota coverage
and KPIs for every region, territory and rep and every month, with numpy only.

Model, per rep ``r`` (a seat) and plan month ``m`` (units in brackets):

- capacity ``RRE[r,m]`` [ramped rep equivalents] = ``ramp(tenure) x S(m)`` + backfill of the
  expected leavers (each starts ``backfill_months`` after leaving, ramping from 0) + added
  headcount (new seats ramping from their start month); ``S(m) = (1 - attrition)^(m/12)``;
  ramp default 0-3 months 25%, 3-6 60%, 6-9 85%, then 100% (capacity.py's when present).
- pipeline created ``N[r,m]`` [deals that reach a decision] = ``productivity[r] x
  season_create[moy] x RRE[r,m] x pipeline_mult x (1 + spend)^spend_elasticity``.
  ``productivity`` = decided (won + lost) deals per season-weighted ramped rep-month over the
  last 12 months the data covers, shrunk toward the territory's with 3 pseudo rep-months;
  ``season_close`` = month-of-year index of decisions, ``season_create`` = it shifted back by
  the company's median cycle. Counting decided deals (not all created ones) keeps stale open
  deals out, so the base reproduces the last 12 months' run rate adjusted for capacity.
- won deals ``W[r,m] = D(m) x win_rate`` where the deals created in month ``j`` are decided
  ``L(j) = cycle_days x (1 + cycle change at j) / 30.44`` months later (at most 12; a
  fractional lag splits them between two months): each created deal is decided exactly once,
  so a longer cycle moves decisions past the period end (fewer bookings in the period) and a
  shorter one pulls them in; no month is counted twice or skipped when the cycle changes.
- bookings [USD] ``= W x deal_size x (1 + price)``; ``win_rate x (1 + price_elasticity x
  price)`` (capped to 0..1).
- quota [USD]: given quotas, else the period's targets (rep level, else the finest level split
  to reps by base bookings share), else 110% of the last 12 months' bookings; monthly by the
  base bookings profile. ``attainment = bookings / quota``, ``coverage = pipeline value /
  quota``.

Drivers (:data:`DRIVERS`), each a relative change (0.1 = +10%), changes on the same driver
compound: ``pipeline, win_rate, deal_size, cycle, headcount, ramp`` (speed: +10% = each ramp
step 10% sooner), ``attrition`` (annual rate x (1 + change)), ``price``, ``spend``.
A change may be limited to a scope (region / territory / rep) and to months (``start`` ..
``end``, inclusive, ``YYYY-MM``); tactics' expected effects are such dated changes.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.core.periods import trailing_12_whole_months
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.core.seats import (
    DEFAULT_ATTRITION,
    DEFAULT_BACKFILL_LAG,
    DEFAULT_GROWTH,
    DEFAULT_RAMP,
    RampCurve,
    observed_attrition,
    quota_seat_mask,
)
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps import quotas as quota_step
from salesplan_nb.steps import strategy
from salesplan_nb.steps.forecast import history_end, parse_period, parse_scope
from salesplan_nb.steps.kpis import coverage_ratio  # the KPI step's definition

DRIVERS = ("pipeline", "win_rate", "deal_size", "cycle", "headcount", "ramp", "attrition",
           "price", "spend")
METRICS = ("bookings", "won_deals", "pipeline_created", "pipeline_value", "open_pipeline",
           "capacity", "quota", "attainment", "coverage", "win_rate", "deal_size")
DAYS_PER_MONTH = 365.25 / 12
Z90 = 1.2815515655446004  # standard normal 90th percentile
#: pipeline ceiling (x the base scenario's pipeline) when the data has no account potential
PIPELINE_CEILING = 2.0
#: a tactic's effect in Monte Carlo: triangular(1 - spread, 1, 1 + spread) x the recorded effect
TACTIC_SPREAD = 0.5


@dataclass
class Assumptions:
    """Parameters not learned from data (edit them; each is documented in the step doc).

    ``price_elasticity``: relative win-rate change per relative price change (-0.5: +10% price
    -> -5% win rate). ``spend_elasticity``: pipeline ~ spend^e (diminishing returns).
    ``backfill_months``: months from a leaver to the backfill's start (None: the planning
    core's default, :data:`salesplan_nb.core.seats.DEFAULT_BACKFILL_LAG`). ``growth``: default
    quota = growth x last 12 months' bookings when the data has no targets. ``ramp``:
    ``((up_to_month, share), ...)`` (None: :data:`salesplan_nb.core.seats.DEFAULT_RAMP`).
    ``attrition``: annual rate (None: the plan default
    :data:`salesplan_nb.core.seats.DEFAULT_ATTRITION`; the rate observed in the data is
    noted). ``pipeline_ceiling``: the most pipeline a territory can create, as a multiple of
    its base pipeline (None: its accounts' potential / its base bookings, else
    :data:`PIPELINE_CEILING`). ``tactic_spread``: a tactic's realised effect is triangular
    between ``(1 - spread)`` and ``(1 + spread)`` x its recorded effect in Monte Carlo."""

    price_elasticity: float = -0.5
    spend_elasticity: float = 0.3
    backfill_months: int | None = None
    growth: float = DEFAULT_GROWTH
    ramp: tuple | None = None
    attrition: float | None = None
    pipeline_ceiling: float | None = None
    tactic_spread: float = TACTIC_SPREAD


@dataclass(frozen=True)
class Change:
    """One driver change: ``value`` relative (0.1 = +10%), limited to ``scope`` and to months
    ``start``..``end`` (``YYYY-MM``, inclusive; ``None`` = the whole period)."""

    driver: str
    value: float
    scope: str = "company"
    start: str | None = None
    end: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.driver not in DRIVERS:
            raise ConfigError(f"unknown driver {self.driver!r}; use one of {', '.join(DRIVERS)}")
        if not isinstance(self.value, int | float) or not math.isfinite(self.value):
            raise ConfigError(f"driver {self.driver}: value {self.value!r} must be a number")
        if self.value <= -1:
            raise ConfigError(f"driver {self.driver}: change {self.value:+.0%} would make it "
                              "zero or negative; use a value above -1 (-100%)")


@dataclass
class Scenario:
    """A named set of driver changes on top of the base plan."""

    name: str = "base"
    changes: list[Change] = field(default_factory=list)
    description: str = ""

    def clone(self, name: str, description: str = "") -> Scenario:
        return Scenario(name, list(self.changes), description or self.description)

    def with_change(self, driver: str, value: float, scope: str | Scope = "company",
                    start: str | None = None, end: str | None = None,
                    name: str | None = None) -> Scenario:
        """A copy with one more change (the original is unchanged)."""
        c = Change(driver, float(value), str(parse_scope(scope)), start, end)
        return Scenario(name or self.name, [*self.changes, c], self.description)

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description,
                "changes": [asdict(c) for c in self.changes]}

    @classmethod
    def from_dict(cls, d: dict) -> Scenario:
        try:
            return cls(str(d["name"]), [Change(**c) for c in d.get("changes", [])],
                       str(d.get("description", "")))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"scenario record {d!r} is malformed ({exc}); re-save it") from exc


def _ramp_curve(assumptions: Assumptions) -> tuple[RampCurve, str]:
    """The assumptions' ramp, else the planning core's :data:`DEFAULT_RAMP`."""
    if assumptions.ramp is not None:
        curve = RampCurve.parse(assumptions.ramp)
        return curve, "ramp " + curve.label() + " (given)"
    return DEFAULT_RAMP, "ramp " + DEFAULT_RAMP.label() + " (default)"


def _backfill_months(assumptions: Assumptions) -> tuple[int, str]:
    if assumptions.backfill_months is not None:
        return int(assumptions.backfill_months), "given"
    return DEFAULT_BACKFILL_LAG, "default"


def _group_sum(x: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    """Sum the seat axis of ``x`` (seats x ... , or k x seats x ...) into ``n`` groups by
    ``idx`` (seat -> group) with one ``np.bincount`` (O(size), no dense one-hot product)."""
    if x.ndim == 3:  # k x R x H -> k x n x H
        k, r, h = x.shape
        flat = _group_sum(x.transpose(1, 0, 2).reshape(r, k * h), idx, n)
        return flat.reshape(n, k, h).transpose(1, 0, 2)
    r, w = x.shape
    keys = (idx[:, None] * w + np.arange(w)[None, :]).ravel()
    return np.bincount(keys, weights=x.ravel(), minlength=n * w).reshape(n, w)


def _shrink(num: np.ndarray, den: np.ndarray, prior: np.ndarray, k: float) -> np.ndarray:
    """(num + k x prior) / (den + k): a rate pulled toward ``prior`` when ``den`` is small."""
    return (num + k * prior) / (den + k)


@dataclass
class ScenarioResult:
    """Metrics (:data:`METRICS`) per scope and month. ``levels[level] = (ids, {metric: array
    (n_scopes, n_months)})`` for company, region, territory, rep."""

    name: str
    months: pd.PeriodIndex
    levels: dict[str, tuple[list, dict[str, np.ndarray]]]
    names: dict[str, list] = field(default_factory=dict)

    def series(self, scope: Scope | str = "company", metric: str = "bookings") -> pd.Series:
        """One scope's metric by month (empty when the scope has no seat)."""
        scope = parse_scope(scope)
        if metric not in METRICS:
            raise ConfigError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
        if scope.level not in self.levels:
            raise ConfigError(f"scenarios cover company, region, territory and rep, not "
                              f"{scope.level}")
        ids, m = self.levels[scope.level]
        key = None if scope.level == "company" else scope.id
        if key not in ids:
            return pd.Series(np.zeros(len(self.months)), index=self.months, name=metric)
        return pd.Series(m[metric][ids.index(key)], index=self.months, name=metric)

    def total(self, scope: Scope | str = "company", metric: str = "bookings") -> float:
        """Period total of an additive metric, or the period ratio for a ratio metric."""
        scope = parse_scope(scope)
        get = lambda k: float(self.series(scope, k).sum())  # noqa: E731
        if metric == "attainment":
            q = get("quota")
            return get("bookings") / q if q else float("nan")
        if metric == "coverage":  # at the period start (the KPI step's definition)
            return float(self.series(scope, "coverage").iloc[0])
        if metric == "open_pipeline":  # at the period start
            return float(self.series(scope, "open_pipeline").iloc[0])
        if metric == "win_rate":
            return float(self.series(scope, "win_rate").mean())
        if metric == "deal_size":
            w = get("won_deals")
            return get("bookings") / w if w else float("nan")
        if metric == "capacity":
            return float(self.series(scope, "capacity").mean())
        return get(metric)

    def scope_table(self, scope: Scope | str = "company") -> pd.DataFrame:
        """The rows of :meth:`table` for one scope (zero rows when it has no seat)."""
        scope = parse_scope(scope)
        t = self.table(scope.level if scope.level in self.levels else "company")
        if scope.level not in self.levels:
            return t.iloc[0:0]
        return (t if scope.level == "company" else t[t["scope_id"] == scope.id]).reset_index(
            drop=True)

    def table(self, level: str | None = None) -> pd.DataFrame:
        """Long frame: scope_level, scope_id, scope_name, month, one column per metric."""
        frames = []
        for lvl, (ids, m) in self.levels.items():
            if level is not None and lvl != level:
                continue
            n, h = len(ids), len(self.months)
            cols = {"scope_level": np.repeat(lvl, n * h),
                    "scope_id": np.repeat(np.array(ids, dtype=object), h),
                    "scope_name": np.repeat(np.array(self.names.get(lvl, ids), dtype=object), h),
                    "month": np.tile(self.months.astype(str), n)}
            cols.update({k: m[k].reshape(-1) for k in METRICS})
            frames.append(pd.DataFrame(cols))
        if not frames:
            return pd.DataFrame(columns=["scope_level", "scope_id", "scope_name", "month",
                                         *METRICS])
        out = pd.concat(frames, ignore_index=True)
        return out.astype({"scope_level": "string", "scope_id": "string",
                           "scope_name": "string", "month": "string"})


class ScenarioModel:
    """Baseline arrays of one plan; :meth:`recompute` applies a :class:`Scenario`."""

    def __init__(self, data: Dataset, period: Period | str | None = None,
                 quotas: pd.DataFrame | None = None,
                 assumptions: Assumptions | None = None) -> None:
        self.assumptions = a = assumptions or Assumptions()
        self.notes: list[str] = []
        h_end = history_end(data)
        if period is None:
            period = Period(h_end.end_time.normalize() + pd.Timedelta(days=1),
                            (h_end + 13).start_time, f"{h_end + 1}..{h_end + 12}")
        self.period = period = parse_period(period)
        self.months = months = period.months()
        H = len(months)
        if H == 0:
            raise ConfigError(f"period {period.label} has no whole month")
        self._ramp, ramp_note = _ramp_curve(a)
        self.ramp_curve = self._ramp.steps
        self.backfill, how = _backfill_months(a)
        self.notes.append(f"{ramp_note}; backfill starts {self.backfill} months after a "
                          f"leaver ({how})")
        # timeline: the 12 months before the plan (lagged closes) and the rates window (the 12
        # months to the end of the data), through the plan's last month
        tl = pd.period_range(min(months[0] - 12, h_end - 11), months[-1], freq="M")
        self.timeline = tl
        J = len(tl)

        # ---- seats (active reps) and hierarchy ------------------------------------------
        reps = data.reps
        opps = data.opportunities
        start = period.start
        owners = set(opps.loc[opps["created_date"] >= start - pd.DateOffset(months=12),
                              "owner_id"].dropna())
        in_plan = quota_seat_mask(reps, period).to_numpy()  # the planning core's seat rule
        seats = reps[in_plan].reset_index(drop=True)
        R = len(seats)
        self.rep_ids = seats["rep_id"].astype(str).tolist()
        self.rep_names = seats["name"].fillna(seats["rep_id"]).astype(str).tolist()
        terr_region = dict(zip(data.territories["territory_id"].astype(str),
                               data.territories["region"]))
        terr = seats["territory"].fillna("(no territory)").astype(str)
        reg = seats["region"].fillna(terr.map(terr_region)).fillna("(no region)").astype(str)
        self.terr_ids = list(dict.fromkeys(terr))
        self.reg_ids = list(dict.fromkeys(reg))
        tname = dict(zip(data.territories["territory_id"].astype(str),
                         data.territories["name"].fillna(data.territories["territory_id"])))
        self.terr_names = [str(tname.get(t, t)) for t in self.terr_ids]
        self.rep_terr = np.array([self.terr_ids.index(t) for t in terr], dtype=int)
        self.rep_reg = np.array([self.reg_ids.index(g) for g in reg], dtype=int)
        self.A_terr = np.zeros((len(self.terr_ids), R))
        self.A_terr[self.rep_terr, np.arange(R)] = 1.0
        self.A_reg = np.zeros((len(self.reg_ids), R))
        self.A_reg[self.rep_reg, np.arange(R)] = 1.0
        if R == 0:
            self.notes.append("no active reps: every figure is 0")
        has_deals = reps["rep_id"].isin(owners).to_numpy()
        n_out = int((has_deals & ~in_plan).sum())
        if n_out:
            self.notes.append(f"{n_out} rep(s) with recent deals are not quota seats in "
                              f"{period.label} (left, or a manager role): their deals count "
                              "in the history, not in the plan's seats")

        # ---- deal arrays (numpy, no pandas groupby: built once at 1M deals) ----------------
        ridx = pd.Index(self.rep_ids).get_indexer(opps["owner_id"].astype(object))
        ok = ridx >= 0
        ridx = ridx[ok]
        status = opps["status"].to_numpy(dtype=object)[ok]
        won = status == "won"
        closed = won | (status == "lost")
        km = opps["close_date"].to_numpy()[ok].astype("datetime64[M]")
        # month ordinals: numpy datetime64[M] and pandas monthly Periods both count from 1970-01
        k_ord = np.where(np.isnat(km), -10**9, km.astype("int64"))
        amount = np.nan_to_num(opps["amount"].to_numpy(dtype=float, na_value=np.nan)[ok])
        cyc_days = (opps["close_date"].to_numpy()[ok] - opps["created_date"].to_numpy()[ok]) \
            .astype("timedelta64[D]").astype("float64")
        cyc_days = np.where(np.isnat(opps["close_date"].to_numpy()[ok]) |
                            np.isnat(opps["created_date"].to_numpy()[ok]), np.nan, cyc_days)
        h_ord = h_end.ordinal
        st_all = data.opportunities["status"].to_numpy(dtype=object)
        k_all = data.opportunities["close_date"].to_numpy()[(st_all == "won") | (st_all == "lost")]
        first_ord = int(k_all.astype("datetime64[M]").astype("int64").min()) if len(k_all) \
            and not np.isnat(k_all.min()) else h_ord
        # rates window: the last 12 complete months that the data covers (>= first close month)
        hist_lo = max(h_ord - 11, first_ord)
        self.window_months = h_ord - hist_lo + 1
        self.hist_mask = np.array([p.ordinal <= h_ord for p in tl])
        in12c = (k_ord >= hist_lo) & (k_ord <= h_ord) & closed
        n_closed = np.bincount(ridx[in12c], minlength=R).astype(float)
        n_won = np.bincount(ridx[in12c & won], minlength=R).astype(float)
        won_amt = np.bincount(ridx[in12c & won], weights=amount[in12c & won], minlength=R)
        # season of decisions (won + lost by close month; company, last <= 36 covered months)
        s_lo = max(h_ord - 35, first_ord)
        s_sel = closed & (k_ord >= s_lo) & (k_ord <= h_ord)
        moy = np.bincount((k_ord[s_sel] % 12).astype(int), minlength=12).astype(float)
        cover = np.bincount(np.arange(s_lo, h_ord + 1) % 12, minlength=12)
        moy = np.where(cover > 0, moy / np.maximum(cover, 1), np.nan)
        if np.nansum(moy) > 0:
            moy = np.where(np.isnan(moy), np.nanmean(moy), moy)
            self.season_close = moy / moy.mean()
        else:
            self.season_close = np.ones(12)
        self._tl_moy = np.array([p.ordinal % 12 for p in tl])
        # ---- hierarchy-shrunk base rates ------------------------------------------------
        def up(x: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
            return np.bincount(idx, weights=x, minlength=n)

        T = len(self.terr_ids)
        p_co = n_won.sum() / n_closed.sum() if n_closed.sum() else 0.0
        p_t = _shrink(up(n_won, self.rep_terr, T), up(n_closed, self.rep_terr, T), p_co, 20)
        self.base_win = _shrink(n_won, n_closed, p_t[self.rep_terr], 20)
        s_co = won_amt.sum() / n_won.sum() if n_won.sum() else 0.0
        s_t = _shrink(up(won_amt, self.rep_terr, T), up(n_won, self.rep_terr, T), s_co, 5)
        self.base_size = _shrink(won_amt, n_won, s_t[self.rep_terr], 5)
        cyc_ok = in12c & won & np.isfinite(cyc_days)
        co_cyc = float(np.median(cyc_days[cyc_ok])) if cyc_ok.any() else 0.0
        terr_cyc = np.full(T, co_cyc)
        if cyc_ok.any():
            tc = pd.Series(cyc_days[cyc_ok]).groupby(self.rep_terr[ridx[cyc_ok]]).median()
            terr_cyc[tc.index.to_numpy()] = tc.to_numpy()
        self.base_cycle = terr_cyc[self.rep_terr]  # days
        # creation season = decision season shifted back by the company cycle
        lag_c = int(round(co_cyc / DAYS_PER_MONTH))
        self.season = np.roll(self.season_close, -lag_c)

        # ---- capacity: tenure, history RRE, attrition ----------------------------------
        hire = seats["hire_date"].to_numpy().astype("datetime64[M]")
        hire_ord = np.where(np.isnat(hire), -10**6, hire.astype("int64"))
        end = seats["end_date"].to_numpy().astype("datetime64[M]")
        end_ord = np.where(np.isnat(end), 10**6, end.astype("int64"))
        tl_ord = np.array([p.ordinal for p in tl])
        self.tenure = tl_ord[None, :] - hire_ord[:, None]  # months, at each timeline month
        alive = (self.tenure >= 0) & (tl_ord[None, :] <= end_ord[:, None])
        self.alive = alive  # a known end date (past or notice given) empties the seat
        cap_hist = self._ramp.share(self.tenure.astype(float)) * alive
        win_ord = (tl_ord >= hist_lo) & (tl_ord <= h_ord)
        rre12 = (cap_hist * self.season_close[self._tl_moy][None, :])[:, win_ord].sum(axis=1)
        prod_co = n_closed.sum() / rre12.sum() if rre12.sum() else 0.0
        prod_t = _shrink(up(n_closed, self.rep_terr, T), up(rre12, self.rep_terr, T),
                         prod_co, 3)
        # decided deals (won + lost) per season-weighted ramped rep-month
        self.base_prod = _shrink(n_closed, rre12, prod_t[self.rep_terr], 3)
        seen = observed_attrition(reps, trailing_12_whole_months(h_end.end_time))
        seen_note = (f"; observed {seen[0]:.1%}/year ({seen[1]} leavers / {seen[2]:g} average "
                     "quota seats, last 12 months)") if seen else ""
        if a.attrition is not None:
            self.base_attrition = float(a.attrition)
            self.notes.append(f"attrition {a.attrition:.0%}/year (assumption){seen_note}")
        else:
            self.base_attrition = DEFAULT_ATTRITION
            self.notes.append(f"attrition {DEFAULT_ATTRITION:.0%}/year (plan default)"
                              f"{seen_note}")
        self.fut_mask = ~self.hist_mask
        self.fut0 = int(np.argmax(self.fut_mask)) if self.fut_mask.any() else J
        self.cap_hist = cap_hist
        self.plan0 = int(months[0].ordinal - tl[0].ordinal)
        self.H, self.J, self.R = H, J, R

        # ---- drift (parameter) uncertainty for Monte Carlo, from company quarters -----------
        nq = max(min(8, (h_ord - first_ord + 1) // 3), 1)  # complete covered quarters, <= 8
        qs = np.arange(h_ord - 3 * nq + 1, h_ord + 1)
        q = (qs - qs[0]) // 3

        def qsum(mask, w=None):
            sel = (k_ord >= qs[0]) & (k_ord <= qs[-1]) & mask
            return np.bincount(q[(k_ord[sel] - qs[0]).astype(int)], weights=None if w is None
                               else w[sel], minlength=nq).astype(float)

        qc, qw = qsum(closed), qsum(closed & won)
        qa = qsum(closed & won, amount)
        seas_q = np.array([self.season_close[(qs[q == i] % 12)].mean() for i in range(nq)])

        def logsd(x):
            x = x[np.isfinite(x) & (x > 0)]
            return float(np.std(np.log(x / x.mean()), ddof=1)) if len(x) >= 3 else 0.1

        with np.errstate(divide="ignore", invalid="ignore"):
            # < 24 covered months: the season index is fitted on the same months and would
            # absorb all variation, so measure raw quarterly variation (conservative)
            pipe = qc / seas_q if h_ord - first_ord + 1 >= 24 else qc
            self.drift_sd = {"pipeline": logsd(pipe), "win_rate": logsd(qw / qc),
                             "deal_size": logsd(qa / qw)}
        won_amounts = amount[in12c & won]
        self.amount_cv = float(won_amounts.std() / won_amounts.mean()) \
            if len(won_amounts) > 1 and won_amounts.mean() > 0 else 1.0

        # ---- calibration and the pipeline ceiling ------------------------------------------
        self.calib = np.ones(R)  # per-seat productivity factor (see :meth:`calibrated`)
        self.calibration: dict[str, float] = {}
        d0, hc0 = self._driver_arrays(Scenario("base"))
        lin0 = self._pipeline_linear(self._capacity(d0, hc0)[0])
        self._x0 = np.maximum(self.A_terr @ lin0, 0.0)  # territory x month: base decided deals
        self.ceiling, ceil_note = self._ceiling(data, a, lin0)
        self.notes.append(ceil_note)

        # ---- quotas -----------------------------------------------------------------------
        hist_book = np.bincount(ridx[in12c & won], weights=amount[in12c & won], minlength=R)
        # annualised: the window may cover fewer than 12 months of data
        self._last12_bookings = float(hist_book.sum()) * 12 / self.window_months
        base = self.recompute(Scenario("base"), _quota=np.zeros((R, H)))
        rb = base.levels["rep"][1]["bookings"]
        self.quota = self._quotas(data, quotas, rb)

    def _ceiling(self, data: Dataset, a: Assumptions, lin0: np.ndarray
                 ) -> tuple[np.ndarray, str]:
        """Per territory: the most pipeline it can create, as a multiple (>= 1) of its base
        pipeline. Bookings cannot exceed what the territory's accounts can buy, so the
        multiple is ``potential_t / base bookings_t`` (its accounts' potential in USD/year,
        market step, over the base scenario's annualised bookings), at least 1; without
        potential: :data:`PIPELINE_CEILING` (stated)."""
        T = len(self.terr_ids)
        if a.pipeline_ceiling is not None:
            c = float(a.pipeline_ceiling)
            if not c >= 1:
                raise ConfigError(f"pipeline_ceiling={c}: use a multiple >= 1 of the base "
                                  "pipeline")
            return np.full(T, c), f"pipeline ceiling {c:g}x the base pipeline (given)"
        try:
            from salesplan_nb.steps.market import account_potential

            acc = account_potential(data).table
            pot = acc["potential"].groupby(acc["territory"].astype(str)).sum()
        except Exception:  # noqa: BLE001 - no potential: the stated ceiling
            pot = pd.Series(dtype=float)
        n = min(12, self.J)
        book_t = self.A_terr @ (lin0[:, -n:].sum(axis=1) * 12 / max(n, 1)
                                * self.base_win * self.base_size)  # USD / year
        p = pd.Series(self.terr_ids).map(pot).to_numpy(dtype=float)
        ok = np.isfinite(p) & (p > 0) & (book_t > 0)
        c = np.full(T, PIPELINE_CEILING)
        c[ok] = np.maximum(p[ok] / book_t[ok], 1.0)
        if ok.any():
            return c, (f"pipeline ceiling per territory = its accounts' potential / its base "
                       f"bookings: {c[ok].min():.2f}x-{c[ok].max():.2f}x the base pipeline"
                       + (f"; {int((~ok).sum())} territories without potential at "
                          f"{PIPELINE_CEILING:g}x" if (~ok).any() else ""))
        return c, (f"pipeline ceiling {PIPELINE_CEILING:g}x the base pipeline (no account "
                   "potential in the data)")

    def calibrated(self, scope: Scope | str, total: float,
                   scenario: Scenario | None = None) -> ScenarioModel:
        """A copy whose ``scenario`` (default: base) books ``total`` USD in ``scope``: the
        productivity of the scope's seats x ``total / modelled total`` (bookings are linear in
        it, so the match is exact). The plan model calibrates the base to the forecast step's
        default forecast, so "no change" = the forecast. The factor is in ``calibration``."""
        sc = parse_scope(scope)
        now = self.recompute(scenario or Scenario("base")).total(sc, "bookings")
        out = copy.copy(self)
        out.calib = self.calib.copy()
        out.calibration = dict(self.calibration)
        if not (now > 0 and np.isfinite(total) and total >= 0):
            return out
        k = float(total) / now
        out.calib[self._rep_mask(str(sc))] *= k
        out.calibration[str(sc)] = k
        out.notes = [*self.notes, f"{sc.label}: productivity x {k:.3f} so that the "
                     f"{(scenario or Scenario('base')).name} scenario books {total:,.0f} USD"]
        return out

    # ------------------------------------------------------------------ quotas
    def set_quotas(self, data: Dataset, quotas) -> None:
        """Replace the model's quotas (a ``quotas.QuotaPlan`` or a frame ``rep_id, quota``),
        so scenarios price the plan's own quota split."""
        base = self.recompute(Scenario("base"), _quota=np.zeros((self.R, self.H)))
        self.quota = self._quotas(data, quotas, base.levels["rep"][1]["bookings"])

    def _quotas(self, data: Dataset, quotas: pd.DataFrame | None, rb: np.ndarray) -> np.ndarray:
        """Rep x month quota (USD); see module doc for the order of sources."""
        R, H = rb.shape
        prof = rb.sum(axis=0)
        prof = prof / prof.sum() if prof.sum() > 0 else np.full(H, 1 / H)
        share_in = lambda mask: (rb.sum(1) * mask) / max((rb.sum(1) * mask).sum(), 1e-12)  # noqa: E731
        annual = None
        if quotas is not None and hasattr(quotas, "level") and hasattr(quotas, "table"):
            reps_q = quotas.level("rep")  # a quotas.QuotaPlan
            ids = reps_q["unit_id"].astype(str)
            tbh = ids.str.startswith("TBH-").to_numpy()
            quotas = pd.DataFrame({"rep_id": ids[~tbh], "quota": reps_q["quota"][~tbh]
                                   .astype(float)})
            if tbh.any():  # to-be-hired seats: their quota rides on the seats of their
                # territory (the hiring plan adds headcount there), so quota = the plan's
                extra = reps_q[tbh].groupby(reps_q["parent"][tbh].astype(str))["quota"].sum()
                known = quotas.set_index("rep_id")["quota"]
                terr = pd.Series([self.terr_ids[i] for i in self.rep_terr], index=self.rep_ids)
                add = []
                for t, amt in extra.items():
                    seats = terr.index[terr == t] if (terr == t).any() else terr.index
                    w = known.reindex(seats).fillna(0.0)
                    w = w / w.sum() if w.sum() > 0 else pd.Series(1 / len(seats), index=seats)
                    add.append(pd.DataFrame({"rep_id": seats, "quota": amt * w.to_numpy()}))
                quotas = pd.concat([quotas, *add], ignore_index=True)
        if quotas is not None:
            need = {"rep_id", "quota"}
            if not need <= set(quotas.columns):
                raise ConfigError(f"quotas need columns {sorted(need)}; got {list(quotas.columns)}")
            annual = (pd.Series(self.rep_ids).map(quotas.groupby(quotas["rep_id"].astype(str))
                                                  ["quota"].sum()).fillna(0.0).to_numpy(float))
            self.notes.append("quotas: given")
        else:
            t = data.targets
            t = t[(t["period"].astype(str) == self.period.label) &
                  (t["metric"].fillna("bookings") == "bookings")]
            for level, ids, idx in (("rep", self.rep_ids, np.arange(R)),
                                    ("territory", self.terr_ids, self.rep_terr),
                                    ("region", self.reg_ids, self.rep_reg),
                                    ("company", [None], np.zeros(R, dtype=int))):
                rows = t[t["scope_level"] == level]
                if rows.empty:
                    continue
                amt = rows.groupby(rows["scope_id"].fillna("").astype(str))["amount"].sum()
                annual = np.zeros(R)
                for i, sid in enumerate(ids):
                    v = float(amt.get("" if sid is None else sid, 0.0))
                    mask = idx == i
                    annual += v * (mask.astype(float) if level == "rep" else share_in(mask))
                self.notes.append(f"quotas: {level} targets for {self.period.label}"
                                  + ("" if level == "rep" else ", split by base bookings share"))
                break
        if annual is None:
            annual = self.assumptions.growth * self._last12_bookings * share_in(np.ones(R))
            self.notes.append(f"quotas: {self.assumptions.growth:.0%} of the last 12 months' "
                              f"bookings (annualised from {self.window_months} months; no "
                              "targets for the period), split by base bookings")
        return annual[:, None] * prof[None, :]

    def base_drivers(self) -> pd.DataFrame:
        """The learned base drivers per seat: rep_id, rep_name, territory, region, win_rate
        (fraction), deal_size (USD), cycle_days, productivity (decided deals per ramped
        rep-month), tenure_months at the plan start, attrition (fraction per year)."""
        p0 = min(self.plan0, self.J - 1)
        return pd.DataFrame({
            "rep_id": self.rep_ids, "rep_name": self.rep_names,
            "territory": [self.terr_ids[i] for i in self.rep_terr],
            "region": [self.reg_ids[i] for i in self.rep_reg],
            "win_rate": self.base_win, "deal_size": self.base_size,
            "cycle_days": self.base_cycle, "productivity": self.base_prod,
            "tenure_months": self.tenure[:, p0] if self.R else np.zeros(0),
            "attrition": self.base_attrition}).astype(
            {"rep_id": "string", "rep_name": "string", "territory": "string",
             "region": "string"})

    # ------------------------------------------------------------------ drivers
    def _rep_mask(self, scope: str) -> np.ndarray:
        s = parse_scope(scope)
        if s.level == "company":
            return np.ones(self.R, dtype=bool)
        if s.level == "region":
            return np.array([self.reg_ids[i] == s.id for i in self.rep_reg], dtype=bool)
        if s.level == "territory":
            return np.array([self.terr_ids[i] == s.id for i in self.rep_terr], dtype=bool)
        if s.level == "rep":
            return np.array([r == s.id for r in self.rep_ids], dtype=bool)
        raise ConfigError(f"a driver change applies to company, region, territory or rep, not "
                          f"{s.level}")

    def _month_mask(self, c: Change) -> np.ndarray:
        tl = self.timeline
        try:
            lo = pd.Period(c.start, "M") if c.start else self.months[0]
            hi = pd.Period(c.end, "M") if c.end else self.months[-1]
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"change {c.driver}: months {c.start}..{c.end} must be YYYY-MM") \
                from exc
        return np.asarray((tl >= lo) & (tl <= hi)) & (np.arange(self.J) >= self.plan0)

    def _driver_arrays(self, scenario: Scenario) -> tuple[dict[str, np.ndarray], list]:
        """Multipliers (1 + change) per rep x timeline month (repeated changes compound) and
        the headcount changes as (rep mask, month mask, value). ``ramp`` and ``attrition``
        are per seat: their months are ignored (they hold for the whole period)."""
        R, J = self.R, self.J
        out = {d: np.ones((R, J)) for d in DRIVERS if d != "headcount"}
        hc = []
        plan = np.arange(J) >= self.plan0
        for c in scenario.changes:
            rm = self._rep_mask(c.scope)
            mm = plan if c.driver in ("ramp", "attrition") else self._month_mask(c)
            if not mm.any():
                continue
            if c.driver == "headcount":
                hc.append((rm, mm, c.value))
                continue
            out[c.driver][np.ix_(rm, mm)] *= 1.0 + c.value
        return out, hc

    # ------------------------------------------------------------------ recompute
    def _capacity(self, d: dict[str, np.ndarray], headcount: list
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Capacity RRE (seat x timeline month), ramp speed and attrition per seat."""
        J = self.J
        ramp_speed = d["ramp"][:, -1]
        attr = np.clip(self.base_attrition * d["attrition"][:, -1], 0, 1)
        fut = self.fut_mask
        nf = int(fut.sum())
        cap = self.cap_hist.copy()
        if nf:
            m = np.arange(nf, dtype=float)
            surv = (1 - attr[:, None]) ** (np.arange(nf + 1)[None, :] / 12.0)  # R x nf+1
            ten = self.tenure[:, fut].astype(float)
            cap_f = self._ramp.share(ten * ramp_speed[:, None]) * surv[:, :nf] \
                * self.alive[:, fut]
            # backfill: leavers in month i restart at i + 1 + backfill_months, ramping from 0
            dep = surv[:, :nf] - surv[:, 1:]
            lagm = m[None, :] - m[:, None] - 1 - self.backfill  # i x m
            K = self._ramp.share(lagm[None, :, :] * ramp_speed[:, None, None]) \
                * (lagm[None] >= 0)
            cap_f += np.einsum("ri,rim->rm", dep, K)
            cap[:, fut] = cap_f
        for rm, mm, v in headcount:
            if v >= 0:
                first = int(np.argmax(mm))
                age = np.arange(J, dtype=float) - first
                curve = self._ramp.share(age[None, :] * ramp_speed[:, None]) \
                    * (1 - attr[:, None]) ** (np.clip(age, 0, None)[None, :] / 12) * (age >= 0)
                cap[rm] += v * curve[rm]
            else:
                cap[np.ix_(rm, mm)] *= 1 + v
        return cap, ramp_speed, attr

    def _pipeline_linear(self, cap: np.ndarray) -> np.ndarray:
        """Decided deals created by capacity alone (seat x timeline month), before the
        ceiling: ``productivity x season_create x RRE``."""
        return self.base_prod[:, None] * self.season[self._tl_moy][None, :] * cap

    def _saturate(self, lin: np.ndarray) -> np.ndarray:
        """Per-seat factor (<= 1) bringing each territory's pipeline under its ceiling: a
        territory's capacity pipeline ``x`` (decided deals per month) beyond the base's
        ``x0`` saturates toward ``C = ceiling x x0``:
        ``f(x) = x`` for ``x <= x0``, else ``x0 + (C - x0) (1 - exp(-(x - x0) / (C - x0)))``
        (slope 1 at ``x0``, never above ``C``)."""
        X = _group_sum(lin, self.rep_terr, len(self.terr_ids))  # T x J
        x0 = self._x0
        head = (self.ceiling[:, None] - 1.0) * x0
        over = X > x0 + 1e-12
        if not over.any():
            return np.ones_like(lin)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            sat = np.where(head > 0, x0 + head * -np.expm1(-(X - x0) / np.where(
                head > 0, head, 1.0)), x0)
            ratio = np.where(over & (X > 0), sat / X, 1.0)
        return ratio[self.rep_terr]

    # ------------------------------------------------------------------ recompute
    def recompute(self, scenario: Scenario | None = None, _quota=None) -> ScenarioResult:
        """Every metric for every scope and month under ``scenario`` (numpy only)."""
        scenario = scenario or Scenario("base")
        a = self.assumptions
        J, p0 = self.J, self.plan0
        d, headcount = self._driver_arrays(scenario)
        cap = self._capacity(d, headcount)[0]
        # pipeline created: capacity-driven pipeline under the territory's ceiling, then the
        # pipeline / spend drivers (yield per account) and the calibration factor
        lin = self._pipeline_linear(cap)
        if headcount or any(c.driver in ("ramp", "attrition") for c in scenario.changes):
            lin = lin * self._saturate(lin)
        spend = d["spend"] ** a.spend_elasticity
        N = lin * self.calib[:, None] * d["pipeline"] * spend
        # lagged closes: the deals created in month j decide L(j) months later (fractional:
        # split between two months), L from the cycle when they were created. Each cohort is
        # decided exactly once: a longer cycle moves deals past the period end (never counts
        # a month twice), a shorter one pulls them in (never skips one).
        Lf = np.clip(self.base_cycle[:, None] * d["cycle"] / DAYS_PER_MONTH, 0, 11.999)
        dest = np.arange(J)[None, :] + Lf
        i0 = np.floor(dest).astype(int)
        f = dest - i0
        width = J + 13
        rows = np.arange(self.R)[:, None] * width
        dec = np.bincount((rows + i0).ravel(), weights=((1 - f) * N).ravel(),
                          minlength=self.R * width)
        dec += np.bincount((rows + i0 + 1).ravel(), weights=(f * N).ravel(),
                           minlength=self.R * width)
        Nsrc = dec.reshape(self.R, width)[:, p0:J]
        # open pipeline at the start of each plan month expected to close by the period end
        # (the KPI step's coverage numerator): cohorts created before the month, decided in
        # [month, end], valued at their deal size when created
        V = N * self.base_size[:, None] * d["deal_size"] * d["price"]
        H = J - p0
        in0 = i0 <= J - 1
        in1 = i0 + 1 <= J - 1
        openp = np.zeros((self.R, H))
        for m in range(H):
            c = p0 + m
            w = (1 - f[:, :c]) * ((i0[:, :c] >= c) & in0[:, :c]) \
                + f[:, :c] * ((i0[:, :c] + 1 >= c) & in1[:, :c])
            openp[:, m] = (V[:, :c] * w).sum(axis=1)
        price = d["price"][:, p0:]
        win = np.clip(self.base_win[:, None] * d["win_rate"][:, p0:]
                      * (1 + a.price_elasticity * (price - 1)), 0, 1)
        size = self.base_size[:, None] * d["deal_size"][:, p0:] * price
        won = Nsrc * win
        book = won * size
        created = N[:, p0:]
        value = created * self.base_size[:, None] * d["deal_size"][:, p0:] * price
        quota = self.quota if _quota is None else _quota
        add = {"bookings": book, "won_deals": won, "pipeline_created": created,
               "pipeline_value": value, "open_pipeline": openp, "capacity": cap[:, p0:],
               "quota": quota, "closed": Nsrc}
        stack = np.stack([add[k] for k in add], axis=0)  # k x R x H
        levels = {"rep": (self.rep_ids, stack)}
        levels["territory"] = (self.terr_ids, _group_sum(stack, self.rep_terr,
                                                         len(self.terr_ids)))
        levels["region"] = (self.reg_ids, _group_sum(stack, self.rep_reg, len(self.reg_ids)))
        levels["company"] = ([None], stack.sum(axis=1, keepdims=True))
        out = {}
        keys = list(add)
        for lvl in ("company", "region", "territory", "rep"):
            ids, s = levels[lvl]
            mt = dict(zip(keys, s))
            with np.errstate(divide="ignore", invalid="ignore"):
                mt["attainment"] = np.where(mt["quota"] > 0, mt["bookings"] / mt["quota"], np.nan)
                booked = np.cumsum(mt["bookings"], axis=-1) - mt["bookings"]
                mt["coverage"] = coverage_ratio(mt["open_pipeline"],
                                                mt["quota"].sum(axis=-1, keepdims=True), booked)
                mt["win_rate"] = np.where(mt["closed"] > 0, mt["won_deals"] / mt["closed"], np.nan)
                mt["deal_size"] = np.where(mt["won_deals"] > 0, mt["bookings"] / mt["won_deals"],
                                           np.nan)
            del mt["closed"]
            out[lvl] = (list(ids), mt)
        names = {"company": ["Company"], "region": self.reg_ids, "territory": self.terr_names,
                 "rep": self.rep_names}
        return ScenarioResult(scenario.name, self.months, out, names)


def build(data: Dataset, period: Period | str | None = None, **options) -> ScenarioModel:
    """Build the :class:`ScenarioModel` of ``data`` for ``period`` (12 months after the data
    by default). Options: ``quotas`` (DataFrame rep_id, quota USD/period), ``assumptions``."""
    return ScenarioModel(data, period, **options)


# ---------------------------------------------------------------------- scenarios & analysis
def presets(model: ScenarioModel) -> dict[str, Scenario]:
    """Base, best and worst: best/worst move pipeline, win rate and deal size to their 90th /
    10th percentile under the drift uncertainty measured on the last 8 quarters
    (``exp(+-1.28 sd) - 1``)."""
    best, worst = Scenario("best", description="P90 of pipeline, win rate, deal size"), \
        Scenario("worst", description="P10 of pipeline, win rate, deal size")
    for drv in ("pipeline", "win_rate", "deal_size"):
        sd = model.drift_sd[drv]
        best = best.with_change(drv, math.exp(Z90 * sd) - 1)
        worst = worst.with_change(drv, math.exp(-Z90 * sd) - 1)
    return {"base": Scenario("base", description="drivers as in the last 12 months"),
            "best": best, "worst": worst}


def compare(model: ScenarioModel, scenarios: list[Scenario] | dict[str, Scenario],
            scope: Scope | str = "company",
            metrics: tuple[str, ...] = ("bookings", "quota", "attainment", "coverage",
                                        "capacity", "won_deals", "win_rate", "deal_size",
                                        "pipeline_created", "pipeline_value")) -> pd.DataFrame:
    """Scenarios side by side for ``scope``: one row per metric (period totals; capacity is
    the mean RRE, win rate the mean monthly rate), one column per scenario, plus
    ``<name> vs <first>`` differences."""
    scs = list(scenarios.values()) if isinstance(scenarios, dict) else list(scenarios)
    if not scs:
        raise ConfigError("compare needs at least one scenario")
    res = {s.name: model.recompute(s) for s in scs}
    df = pd.DataFrame({n: [r.total(scope, m) for m in metrics] for n, r in res.items()},
                      index=pd.Index(metrics, name="metric"))
    first = scs[0].name
    for n in list(res)[1:]:
        df[f"{n} vs {first}"] = df[n] - df[first]
    return df


def sensitivity(model: ScenarioModel, scenario: Scenario | None = None, pct: float = 0.10,
                scope: Scope | str = "company", metric: str = "bookings",
                drivers: tuple[str, ...] = DRIVERS) -> pd.DataFrame:
    """Tornado: ``metric`` (period total) for ``scope`` with each driver at -pct and +pct on top
    of ``scenario``. Columns: driver, low, base, high, delta_low, delta_high, swing
    (``|high - low|``), sorted by swing, largest first."""
    if not 0 < pct < 1:
        raise ConfigError(f"pct={pct}: use a fraction between 0 and 1, e.g. 0.1 for +-10%")
    scenario = scenario or Scenario("base")
    base = model.recompute(scenario).total(scope, metric)
    rows = []
    for drv in drivers:
        lo = model.recompute(scenario.with_change(drv, -pct)).total(scope, metric)
        hi = model.recompute(scenario.with_change(drv, pct)).total(scope, metric)
        rows.append({"driver": drv, "low": lo, "base": base, "high": hi,
                     "delta_low": lo - base, "delta_high": hi - base, "swing": abs(hi - lo)})
    return pd.DataFrame(rows).sort_values("swing", ascending=False, ignore_index=True)


@dataclass
class MonteCarloResult:
    """Probability that ``scope``'s period bookings reach ``target`` (USD)."""

    scope: Scope
    target: float
    probability: float
    mean: float
    p10: float
    p50: float
    p90: float
    n: int
    seed: int
    sd: dict
    totals: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    note: str = ""
    tactics: dict = field(default_factory=dict)  # group -> bookings it adds (USD, recorded)
    tactic_spread: float = 0.0


def tactic_groups(scenario: Scenario) -> dict[str, list[int]]:
    """Indexes of the scenario's tactic changes by tactic (``source`` ``tactic:<names>``;
    tactics sharing one change - same driver, scope and month - share one group)."""
    out: dict[str, list[int]] = {}
    for i, c in enumerate(scenario.changes):
        if str(c.source).startswith("tactic:"):
            out.setdefault(c.source[len("tactic:"):] or "(unnamed)", []).append(i)
    return out


def monte_carlo(model: ScenarioModel, scenario: Scenario | None = None,
                scope: Scope | str = "company", target: float | None = None, n: int = 5000,
                seed: int = 0, sd: dict | None = None,
                tactic_spread: float | None = None) -> MonteCarloResult:
    """Monte Carlo of period bookings for ``scope`` (seeded: same seed -> identical result).

    Each draw ``s``: ``total_s = sum_m b[m] x e_m x P x W x S`` with ``b`` the scenario's
    monthly bookings, ``e_m`` monthly process noise (compound Poisson: relative sd
    ``sqrt((1 + cv^2) / won_deals[m])``, cv = won-amount coefficient of variation) and ``P, W,
    S`` the pipeline, win-rate and deal-size drift multipliers (relative sd measured on the last
    8 quarters, overridable with ``sd={"pipeline": .., "win_rate": .., "deal_size": ..}``), all
    mean-1 lognormal. ``target`` defaults to the scope's quota for the period.

    Tactics are uncertain: each tactic group ``g`` (:func:`tactic_groups`) realises ``u_g``
    times its recorded effect, ``u_g ~ triangular(1 - spread, 1, 1 + spread)`` (``spread`` =
    ``tactic_spread``, default the model's ``Assumptions.tactic_spread``, 0.5), so monthly
    bookings are ``b[m] + sum_g (u_g - 1) x delta_g[m]`` with ``delta_g`` the bookings the
    group adds (scenario - scenario without it; first order in the effects)."""
    if n < 1:
        raise ConfigError(f"n={n}: run at least one draw")
    scope = parse_scope(scope)
    scenario = scenario or Scenario("base")
    res = model.recompute(scenario)
    b = res.series(scope, "bookings").to_numpy()
    spread = model.assumptions.tactic_spread if tactic_spread is None else float(tactic_spread)
    if not 0 <= spread <= 1:
        raise ConfigError(f"tactic_spread={spread}: use a fraction 0..1 (0.5 = each tactic "
                          "delivers 50%-150% of its recorded effect)")
    groups = tactic_groups(scenario) if spread > 0 else {}
    deltas = []
    for idx in groups.values():
        drop = set(idx)
        without = Scenario(scenario.name, [c for i, c in enumerate(scenario.changes)
                                           if i not in drop])
        deltas.append(b - model.recompute(without).series(scope, "bookings").to_numpy())
    w = res.series(scope, "won_deals").to_numpy()
    tgt = float(res.series(scope, "quota").sum()) if target is None else float(target)
    sds = {**model.drift_sd, **(sd or {})}
    rng = np.random.default_rng(seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        proc = np.where(w > 0, np.sqrt((1 + model.amount_cv ** 2) / w), 0.0)
    z = rng.standard_normal((n, len(b)))
    e = np.exp(proc[None, :] * z - proc[None, :] ** 2 / 2)
    drift = np.ones(n)
    for k in ("pipeline", "win_rate", "deal_size"):
        s = float(sds[k])
        drift *= np.exp(s * rng.standard_normal(n) - s * s / 2)
    bb = np.repeat(b[None, :], n, axis=0)
    if deltas:
        u = rng.triangular(1 - spread, 1, 1 + spread, size=(n, len(deltas)))
        bb = bb + (u - 1) @ np.vstack(deltas)
    totals = (e * bb).sum(axis=1) * drift
    note = f"{len(deltas)} tactic(s) at {spread:.0%} spread" if deltas else ""
    if b.sum() == 0:
        note = f"no bookings expected for {scope.label}"
    tactics = {k: float(d.sum()) for k, d in zip(groups, deltas)}
    prob = float((totals >= tgt).mean()) if tgt > 0 else float("nan")
    if tgt <= 0:
        note = (note + "; " if note else "") + f"no target for {scope.label}"
    return MonteCarloResult(scope, tgt, prob, float(totals.mean()),
                            *(float(x) for x in np.percentile(totals, [10, 50, 90])),
                            n=n, seed=seed, sd={k: float(sds[k]) for k in
                                                ("pipeline", "win_rate", "deal_size")},
                            totals=totals, note=note, tactics=tactics, tactic_spread=spread)


# ---------------------------------------------------------------------- workspace
SECTION = "scenarios"


def save_scenario(ws, scenario: Scenario, by: str | None = None) -> None:
    """Store ``scenario`` in the plan workspace (section ``scenarios``, key = its name)."""
    ws.record(SECTION, scenario.name, scenario.to_dict(), by=by)


def load_scenarios(ws) -> dict[str, Scenario]:
    """The saved scenarios by name (empty dict when none)."""
    sec = ws.get(SECTION, default={}) or {}
    return {k: Scenario.from_dict(v) for k, v in sec.items()}


def tactic_changes(ws_or_tactics, period: Period | str | None = None,
                   data: Dataset | None = None) -> list[Change]:
    """Dated driver changes from tactics.

    A workspace or engineer D's tactics (``strategy.Tactic`` or dicts with a ``category``) go
    through ``strategy.driver_effects`` (native units -> relative effects per month and scope;
    one change per month). Plain dicts ``{name, driver, effect, scope?, start?, end?}`` with a
    relative ``effect`` (0.05 = +5%) are taken as they are (also when strategy.py is absent)."""
    items = ws_or_tactics
    is_ws = hasattr(items, "items") and not isinstance(items, list | tuple | dict)
    plain = (not is_ws and all(isinstance(t, dict) and "category" not in t
                               for t in (items or [])))
    if not plain:
        if hasattr(strategy, "driver_effects"):
            return _changes_from_effects(strategy.driver_effects(ws_or_tactics, period, data))
        if is_ws:
            items = ws_or_tactics.items("tactics")
    out = []
    for t in items or []:
        t = t if isinstance(t, dict) else vars(t)
        drv, val = t.get("driver"), t.get("effect")
        if drv is None or val is None:
            continue
        start, end = t.get("start"), t.get("end")
        out.append(Change(str(drv), float(val), str(t.get("scope") or "company"),
                          None if start is None else str(start)[:7],
                          None if end is None else str(end)[:7],
                          f"tactic:{t.get('name', '')}"))
    return out


def _changes_from_effects(eff) -> list[Change]:
    """strategy.driver_effects rows (month, scope, driver, effect relative, tactic) -> one
    change per row, limited to its month."""
    if eff is None or len(eff) == 0:
        return []
    out = []
    for r in pd.DataFrame(eff).to_dict("records"):
        if r["driver"] not in DRIVERS or not r["effect"] or pd.isna(r["effect"]):
            continue
        m = str(pd.Period(str(r["month"]), "M"))
        out.append(Change(str(r["driver"]), float(r["effect"]), str(r.get("scope") or "company"),
                          m, m, f"tactic:{r.get('tactic', '')}"))
    return out


def hire_changes(model: ScenarioModel, hires) -> list[Change]:
    """Planned hires (capacity.Hire or dicts ``{month, count, region?, territory?}``) as
    headcount changes: ``count`` new seats ramping from ``month``, spread over the seats of the
    hire's territory (else region, else company): ``headcount = count / seats there``."""
    out = []
    for h in hires or []:
        h = h if isinstance(h, dict) else vars(h)
        count = float(h.get("count", 1) or 0)
        if count <= 0:
            continue
        if h.get("territory"):
            scope = f"territory:{h['territory']}"
        elif h.get("region"):
            scope = f"region:{h['region']}"
        else:
            scope = "company"
        seats = int(model._rep_mask(scope).sum())
        if seats == 0:
            raise ConfigError(f"hire of {count:g} in {scope}: that scope has no seat in the "
                              "plan; hire into a territory or region that has reps")
        month = str(pd.Period(str(h["month"]), "M"))
        out.append(Change("headcount", count / seats, scope, month, None,
                          f"hire:{count:g} in {scope} from {month}"))
    return out


def from_workspace(ws, period: Period | str | None = None, quota_plan=None) -> ScenarioModel:
    """Build the model of a plan workspace: its data and period, capacity settings (ramp,
    attrition, backfill lag recorded by capacity.py) and the quotas of the saved quota
    decisions (quotas.py); each falls back to the defaults when its module or decision is
    missing (see ``model.notes``). ``quota_plan``: the workspace's company quota split for
    ``period`` (``quotas.quotas_from_workspace(ws, None, period)``, or the SalesplanError it
    raised) when the caller already holds it (a batch run reads it from the results cache);
    default: computed here."""
    data = ws.data
    period = parse_period(period) if period is not None else ws.period
    a = Assumptions()
    cap = ws.get("capacity", default={}) or {}
    if isinstance(cap, dict):
        if cap.get("ramp"):
            a.ramp = tuple((float(x), float(y)) for x, y in cap["ramp"])
        if cap.get("attrition") is not None:
            a.attrition = float(cap["attrition"])
        if cap.get("backfill_lag") is not None:
            a.backfill_months = int(cap["backfill_lag"])
    note = ""
    if quota_plan is None:
        try:
            quota_plan = quota_step.quotas_from_workspace(ws, period=period)
        except SalesplanError as exc:
            quota_plan = exc
    if isinstance(quota_plan, SalesplanError):
        note = f"quotas.py could not split the target ({quota_plan}); default quotas used"
        quota_plan = None
    model = ScenarioModel(data, period, quotas=quota_plan, assumptions=a)
    if quota_plan is not None:
        model.notes[-1] = "quotas: quotas.py plan (saved quota decisions)"
    if note:
        model.notes.append(note)
    return model


def forecast_total(data: Dataset, scope: Scope | str, period: Period | str) -> float | None:
    """The forecast step's default forecast of ``scope`` for ``period`` (USD; the plan
    document's and the API's number), None without one."""
    from salesplan_nb.steps import forecast as forecast_step

    r = forecast_step.forecast(data, scope, period)
    return float(r.total["point"]) if len(r.table) else None


def calibrate_to_forecast(model: ScenarioModel, scope: Scope | str = "company",
                          total: float | None = None, data: Dataset | None = None
                          ) -> ScenarioModel:
    """``model`` with its base = the forecast of ``scope`` (``total``, else computed by
    :func:`forecast_total` from ``data``); unchanged when there is no forecast."""
    if total is None and data is not None:
        total = forecast_total(data, scope, model.period)
    return model if total is None else model.calibrated(scope, total)


def at_planned_productivity(model: ScenarioModel, scope: Scope | str, planned: float,
                            plan: Scenario) -> ScenarioModel:
    """``model`` with the plan's seats at planned productivity: calibrated so the hires-only
    part of ``plan`` (its headcount changes: existing + to-be-hired seats) books ``planned``
    USD in ``scope`` (the quotas step's planned bookings of those seats); ``plan`` on it is
    the plan scenario."""
    hires = Scenario("hires", [c for c in plan.changes if c.driver == "headcount"])
    return model.calibrated(scope, planned, hires)


def planned_bookings(quota_plan) -> float | None:
    """Sum of the quota plan's seats' expected bookings (USD; ``QuotaPlan.planned_team``:
    planned productivity x the seat's RRE-months with attrition and backfill, as capacity;
    the in-seat ``planned`` is for attainment odds), None when the plan has none."""
    if quota_plan is None or isinstance(quota_plan, Exception) or quota_plan.table.empty:
        return None
    team = getattr(quota_plan, "planned_team", None)
    if team is None:
        return None
    ids = quota_plan.level("rep")["unit_id"].astype("string")
    pl = ids.map(team).astype(float).to_numpy(dtype=float)
    return float(pl.sum()) if len(pl) and np.isfinite(pl).all() else None


def plan_scenario(model: ScenarioModel, ws, name: str = "plan") -> Scenario:
    """The plan's own scenario: base + the hiring plan (capacity section ``hires``) + the
    tactics' expected effects (section ``tactics``)."""
    cap = ws.get("capacity", "hires", default=[]) or []
    changes = hire_changes(model, cap) + tactic_changes(ws, model.period)
    return Scenario(name, changes, "base + hiring plan + tactics")


# ---------------------------------------------------------------------- charts
def chart_tornado(tornado: pd.DataFrame):
    """Horizontal bars: change of the metric with each driver at -x% and +x%."""
    import altair as alt

    long = tornado.melt(id_vars=["driver", "swing"], value_vars=["delta_low", "delta_high"],
                        var_name="side", value_name="delta")
    long["side"] = long["side"].map({"delta_low": "-x%", "delta_high": "+x%"})
    return (alt.Chart(long).mark_bar()
            .encode(y=alt.Y("driver:N", sort=tornado["driver"].tolist(), title=None),
                    x=alt.X("delta:Q", title="Change vs base (USD)"),
                    color=alt.Color("side:N", title=None),
                    tooltip=["driver", "side", alt.Tooltip("delta:Q", format=",.0f")])
            .properties(title="Sensitivity (tornado)"))


def chart_compare(result_frames: dict[str, ScenarioResult], scope: Scope | str = "company",
                  metric: str = "bookings"):
    """Monthly ``metric`` per scenario for ``scope``."""
    import altair as alt

    rows = []
    for name, r in result_frames.items():
        s = r.series(scope, metric)
        rows += [{"scenario": name, "month": str(m), metric: float(v)} for m, v in s.items()]
    return (alt.Chart(pd.DataFrame(rows)).mark_line(point=True)
            .encode(x="month:O", y=alt.Y(f"{metric}:Q"), color="scenario:N",
                    tooltip=["scenario", "month", alt.Tooltip(f"{metric}:Q", format=",.2f")])
            .properties(title=f"{metric} by scenario - {parse_scope(scope).label}"))


def chart_monte_carlo(mc: MonteCarloResult):
    """Histogram of simulated period bookings with the target."""
    import altair as alt

    df = pd.DataFrame({"bookings": mc.totals})
    hist = alt.Chart(df).mark_bar().encode(
        x=alt.X("bookings:Q", bin=alt.Bin(maxbins=40), title="Period bookings (USD)"),
        y=alt.Y("count():Q", title="Draws"), tooltip=["count():Q"])
    rule = alt.Chart(pd.DataFrame({"target": [mc.target]})).mark_rule(color="red").encode(
        x="target:Q", tooltip=[alt.Tooltip("target:Q", format=",.0f")])
    return (hist + rule).properties(
        title=f"P(reach target) = {mc.probability:.0%} - {mc.scope.label}")


__all__ = ["DRIVERS", "METRICS", "Assumptions", "Change", "Scenario", "ScenarioModel",
           "ScenarioResult", "MonteCarloResult", "build", "presets", "compare", "sensitivity",
           "monte_carlo", "tactic_groups", "PIPELINE_CEILING", "TACTIC_SPREAD", "save_scenario", "load_scenarios", "tactic_changes", "hire_changes",
           "from_workspace", "plan_scenario", "forecast_total", "calibrate_to_forecast",
           "at_planned_productivity", "planned_bookings",
           "chart_tornado",
           "chart_compare", "chart_monte_carlo"]


# ---- the demo's default decision ------------------------------------------------------------
def demo_decision(ws, by: str = "demo") -> str:
    """Scenarios in ``salesplan demo``: the presets plus "plan" = base + step 5's hiring plan
    (extra headcount from its month) + step 8's tactics."""
    period = ws.period
    # the workspace's model: the plan's quotas, seats, ramp and attrition (issue 10)
    raw = from_workspace(ws, period)
    model = calibrate_to_forecast(raw, "company", data=ws.data)  # base = the forecast
    chosen = dict(presets(model))
    # "plan": the base drivers plus step 5's hiring plan and step 8's tactics
    plan = plan_scenario(model, ws)
    if plan.changes:
        chosen["plan"] = plan
    for sc in chosen.values():
        save_scenario(ws, sc, by=by)
    table = compare(model, chosen)
    planned = None
    if plan.changes:
        try:
            planned = planned_bookings(quota_step.quotas_from_workspace(ws, None, period))
        except SalesplanError:
            planned = None
    if planned is not None:  # the plan at planned productivity (the plan figures' value)
        table["plan"] = compare(at_planned_productivity(raw, "company", planned, plan),
                                [plan])["plan"]
        table["plan vs base"] = table["plan"] - table["base"]
    ws.save_output("scenarios", "compare", table.reset_index())
    b = table.loc["bookings"]
    parts = [f"{name} ${b[name]:,.0f}" for name in chosen]
    return f"{period.label} bookings: " + ", ".join(parts)
