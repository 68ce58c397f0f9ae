"""Step 5 - sales capacity: ramped rep equivalents, attrition, hiring and the gap to target.

Units: RRE in ramped rep equivalents (1.0 = one fully productive rep for a month), RRE-months
summed over months, money in USD, attrition as an annual fraction, lags in months.

Model (per rep seat, per calendar month ``m`` of the period):

- tenure ``t(m)`` = whole calendar months from the hire month to ``m`` (hire month = 0); reps
  without a ``hire_date`` count as fully ramped.
- ramp share ``ramp(t)`` from a :class:`RampCurve` (default 0-3 months 25%, 3-6 60%, 6-9 85%,
  then 100%; 0 before the hire month).
- months up to ``as_of`` (history): headcount ``hc(m)`` = share of the month's days employed
  (``[hire_date, end_date)``); ``RRE(m) = sum_r hc_r(m) x ramp(t_r(m))``.
- months after ``as_of`` (plan): each employed rep survives with ``q^(m - s)``, ``q = (1 -
  attrition)^(1/12)``, ``s`` = the as_of month (or the hire month when later); a leaver's seat
  is backfilled ``backfill_lag`` months later by a new hire ramping from 0, who may leave and
  be backfilled in turn (renewal). Expected RRE of a seat ``j`` months after a fresh start:
  ``h(j) = q^j ramp(j) + sum_{k=1..j} (q^(k-1) - q^k) h(j - k - lag)``. A known future
  ``end_date`` ends the rep then (no random attrition); the backfill starts ``lag`` months
  after the first fully vacant month.
- planned hires (:class:`Hire`: month, count) are fresh seats from their month: ``count x h``.
- productivity [USD per RRE-month] = won bookings in the basis window / RRE-months of the
  scope's reps in that window (basis = the 12 months ending at ``as_of``).
- capacity [USD] = RRE(m) x productivity; gap = target - capacity; hires needed = ceil(gap /
  (productivity x sum of a new seat's expected RRE from its start month to period end)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import day_after, history_basis
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.core.seats import (  # noqa: F401 - re-exported for notebooks
    DEFAULT_ATTRITION,
    DEFAULT_BACKFILL_LAG,
    DEFAULT_RAMP,
    RampCurve,
    employed_share,
    is_manager_role,
    ramp_factors,
    tenure_months,
)
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.dataset import resolve as _resolve
from salesplan_nb.steps.kpis import goal_target, target_for

T = TypeVar("T")

SECTION = "capacity"


# ---- shared helpers (also used by segments and strategy) ------------------------------------
def resolve(data: Dataset, scope: Scope | str | None = None,
            period: Period | str | int | None = None) -> tuple[Scope, Period]:
    """:func:`salesplan_nb.data.dataset.resolve`; the default period is the plan year (the
    calendar year after ``data.as_of``)."""
    return _resolve(data, scope, period, plan_year=True)


def basis_period(data: Dataset, period: Period) -> Period:
    """The history a result is measured on (:func:`salesplan_nb.core.periods.history_basis`):
    ``period`` to date when it has started by ``as_of``, else the trailing 12 months."""
    return history_basis(period, data.as_of)


def month_label(m: pd.Period) -> str:
    return f"{m.year:04d}-{m.month:02d}"


_MEMO = "_salesplan_capacity_memo"


def dataset_memo(data: Dataset, store: str, key: tuple, build: Callable[[], T]) -> T:
    """``data.memo(store, key, build, with_deals=True)`` (see :meth:`Dataset.memo`)."""
    return data.memo(store, key, build, with_deals=True)


def vega_records(df: pd.DataFrame) -> list[dict]:
    """Rows of ``df`` as JSON-ready dicts for a Vega-Lite named dataset (NaN, +-inf and NA ->
    ``None``, timestamps -> ISO text), so a chart's data can be swapped without Altair."""
    def clean(v):
        if v is None or v is pd.NA or v is pd.NaT:
            return None
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, np.generic):
            return clean(v.item())
        if isinstance(v, pd.Timestamp):
            return v.isoformat()
        return v

    return [{str(k): clean(v) for k, v in r.items()} for r in df.to_dict("records")]


# ---- ramp (the planning core's: salesplan_nb.core.seats) ------------------------------------
RAMP = DEFAULT_RAMP


def ramp_pct(tenure_months: float | np.ndarray, ramp: RampCurve | None = None) -> np.ndarray:
    """Ramp share (0..1) at tenure in months (negative -> 0), default curve unless given."""
    return RampCurve.parse(ramp).share(tenure_months)


@dataclass(frozen=True)
class Hire:
    """Planned hires: ``count`` reps starting in ``month`` (``YYYY-MM``), optionally for a
    ``region`` / ``territory`` (blank = counted in company scope only)."""

    month: str
    count: float = 1
    region: str | None = None
    territory: str | None = None
    role: str = "AE"

    def __post_init__(self) -> None:
        try:
            p = pd.Period(str(self.month), "M")
        except (ValueError, TypeError):
            raise ConfigError(f"hire month {self.month!r} is not a month; use YYYY-MM") from None
        object.__setattr__(self, "month", month_label(p))
        try:
            c = float(self.count)
        except (TypeError, ValueError):
            raise ConfigError(f"hire count {self.count!r} is not a number") from None
        if c < 0 or math.isnan(c):
            raise ConfigError(f"hire count must be >= 0, got {self.count!r}")
        object.__setattr__(self, "count", c)

    @classmethod
    def parse(cls, value: Hire | dict) -> Hire:
        if isinstance(value, Hire):
            return value
        if not isinstance(value, dict) or "month" not in value:
            raise ConfigError(f"a hire needs a month and a count, got {value!r}")
        keys = ("month", "count", "region", "territory", "role")
        return cls(**{k: value[k] for k in keys if k in value and value[k] is not None})

    def in_scope(self, scope: Scope, territory_region: dict) -> bool:
        if scope.level == "company":
            return True
        if scope.level == "region":
            return self.region == scope.id or (
                self.territory is not None and territory_region.get(self.territory) == scope.id)
        if scope.level == "territory":
            return self.territory == scope.id
        return False


# ---- seats -------------------------------------------------------------------------------------
def _check_rates(attrition: float, backfill_lag: int) -> tuple[float, int]:
    try:
        a = float(attrition)
    except (TypeError, ValueError):
        raise ConfigError(f"attrition {attrition!r} is not a number") from None
    if not 0 <= a < 1:
        raise ConfigError(f"attrition must be an annual fraction 0..1 (14% = 0.14), got {a!r}")
    if backfill_lag is None or int(backfill_lag) != backfill_lag or backfill_lag < 0:
        raise ConfigError(f"backfill_lag must be whole months >= 0, got {backfill_lag!r}")
    return a, int(backfill_lag)


def fresh_seat(n: int, ramp: RampCurve, attrition: float, backfill_lag: int,
               shares: bool = True) -> np.ndarray:
    """Expected RRE (``shares=False``: heads) of a seat ``j = 0..n-1`` months after a new rep
    starts, with attrition and backfill renewal: ``h(j) = q^j ramp(j) + sum_k (q^(k-1) - q^k)
    h(j - k - lag)``."""
    q = (1 - attrition) ** (1 / 12)
    j = np.arange(n)
    own = q ** j * (ramp.share(j) if shares else np.ones(n))
    h = np.zeros(n)
    for i in range(n):
        v = own[i]
        for k in range(1, i - backfill_lag + 1):
            v += (q ** (k - 1) - q ** k) * h[i - k - backfill_lag]
        h[i] = v
    return h


@lru_cache(maxsize=256)
def _seat_curve(n: int, ramp: RampCurve, attrition: float, backfill_lag: int,
                shares: bool) -> np.ndarray:
    """:func:`fresh_seat`, cached per curve (read-only)."""
    h = fresh_seat(n, ramp, attrition, backfill_lag, shares)
    h.setflags(write=False)
    return h


def _month_days(months: pd.PeriodIndex) -> tuple[np.ndarray, np.ndarray]:
    starts = months.to_timestamp(how="start").values.astype("datetime64[D]")
    ends = (months + 1).to_timestamp(how="start").values.astype("datetime64[D]")
    return starts, ends


def _seat_after(j: np.ndarray, h: np.ndarray) -> np.ndarray:
    """h(j) with 0 for j < 0."""
    return np.where(j >= 0, h[np.clip(j, 0, len(h) - 1)], 0.0)


GONE, LEAVER, EMPLOYED = 0, 1, 2  # a rep seat after as_of (see _Seats.kind)


@dataclass(frozen=True)
class _Seats:
    """The decision-independent part of :func:`rre_by_month` for some reps over some months
    (rows = reps in order, columns = months): ``share`` of each month's days employed,
    ``tenure`` [months since the hire month; 1e6 without a hire date], ``kind`` per rep
    (GONE by ``as_of``, known future LEAVER, EMPLOYED at ``as_of`` or hired later), ``vacant``
    = month - first fully vacant month (leavers), ``since`` = month - start of survival
    (employed). Ramp, attrition, lag and hires are applied by :func:`_rre`."""

    months: pd.PeriodIndex
    m_ord: np.ndarray
    m_idx: np.ndarray
    hist: np.ndarray
    share: np.ndarray
    tenure: np.ndarray
    kind: np.ndarray
    vacant: np.ndarray
    since: np.ndarray


def _seats(reps: pd.DataFrame, months: pd.PeriodIndex,
           as_of: pd.Timestamp | None) -> _Seats:
    """Per-rep day shares, tenures and seat kinds (one pass over the reps)."""
    n = len(months)
    asof_m = pd.Period(as_of, "M") if as_of is not None else months[-1] + 1 if n else None
    m_idx = np.array([(m - asof_m).n for m in months]) if n else np.zeros(0, int)
    hist = m_idx <= 0
    m_ord = np.array([m.year * 12 + m.month - 1 for m in months])
    rows = len(reps)
    share, tenure = np.zeros((rows, n)), np.zeros((rows, n))
    vacant, since = np.zeros((rows, n), int), np.zeros((rows, n), int)
    kind = np.full(rows, GONE)
    if rows and n:  # the planning core's employment and tenure rules
        share = employed_share(reps["hire_date"], reps["end_date"], months)
        tenure = tenure_months(reps["hire_date"], months)
    for i, (hire, end) in enumerate(zip(reps["hire_date"], reps["end_date"])):
        hire = None if pd.isna(hire) else pd.Timestamp(hire)
        end = None if pd.isna(end) else pd.Timestamp(end)
        if hist.all() or (end is not None and end <= as_of):
            continue  # history only / gone before the plan starts (backfill in the actuals)
        if end is not None:
            last = end - pd.Timedelta(days=1)  # last day employed
            vacant[i] = m_ord - (last.year * 12 + last.month)  # first month fully vacant
            kind[i] = LEAVER
            continue
        s_ord = asof_m.year * 12 + asof_m.month - 1
        if hire is not None:
            s_ord = max(s_ord, hire.year * 12 + hire.month - 1)
        since[i] = m_ord - s_ord
        kind[i] = EMPLOYED
    out = _Seats(months, m_ord, m_idx, hist, share, tenure, kind, vacant, since)
    for a in (m_ord, m_idx, hist, share, tenure, kind, vacant, since):
        a.setflags(write=False)
    return out


def _rre(seats: _Seats, ramp: RampCurve, attrition: float, lag: int,
         hires: Sequence[Hire | dict] = ()) -> dict[str, np.ndarray]:
    """RRE and headcount by month from the seats: per rep ``share x ramp(tenure)`` (history),
    times survival ``q^since`` (employed) plus the renewal backfill of leavers (see the
    module docstring); reps are summed in order, so the figures match a rep-by-rep loop
    exactly."""
    n = len(seats.months)
    hist, fut = seats.hist, ~seats.hist
    m_ord = seats.m_ord
    q = (1 - attrition) ** (1 / 12)
    horizon = int(max(seats.m_idx.max(initial=0), 0)) + 1
    h_rre = _seat_curve(horizon + 1, ramp, attrition, lag, True)
    h_hc = _seat_curve(horizon + 1, ramp, attrition, lag, False)
    kind = seats.kind[:, None]
    sd = seats.share
    r = ramp.share(seats.tenure)
    jj = seats.since
    surv = np.where(jj >= 0, q ** np.clip(jj, 0, None), 1.0)
    emp, leaver = (kind == EMPLOYED) & fut, (kind == LEAVER) & fut
    ex_rre_r = np.where(hist, sd * r, np.where(leaver, sd * r, np.where(emp, sd * r * surv,
                                                                         0.0)))
    ex_hc_r = np.where(hist, sd, np.where(leaver, sd, np.where(emp, sd * surv, 0.0)))
    # backfill of a seat vacated with survival: B(j) = sum_k (q^(k-1) - q^k) h(j - k - lag)
    top = int(jj[emp].max(initial=0))
    b_rre, b_hc = np.zeros(top + 1), np.zeros(top + 1)
    for j in range(1, top + 1):
        ks = np.arange(1, j + 1)
        w = q ** (ks - 1) - q ** ks
        back = j - ks - lag
        b_rre[j] = float(np.sum(w * _seat_after(back, h_rre)))
        b_hc[j] = float(np.sum(w * _seat_after(back, h_hc)))
    jv = seats.vacant - lag
    later = emp & (jj > 0)
    jc = np.clip(jj, 0, top)
    bf_rre_r = np.where(leaver, _seat_after(jv, h_rre), np.where(later, b_rre[jc], 0.0))
    bf_hc_r = np.where(leaver, _seat_after(jv, h_hc), np.where(later, b_hc[jc], 0.0))
    ex_rre, ex_hc, bf_rre, bf_hc = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(len(sd)):  # rep by rep: the same sums (and rounding) as one loop per rep
        ex_rre += ex_rre_r[i]
        ex_hc += ex_hc_r[i]
        bf_rre += bf_rre_r[i]
        bf_hc += bf_hc_r[i]
    hi_rre, hi_hc = np.zeros(n), np.zeros(n)
    if hires:
        full = _seat_curve(max(n, 1) + 1, ramp, attrition, lag, True)
        full_hc = _seat_curve(max(n, 1) + 1, ramp, attrition, lag, False)
    for hire in hires:
        hire = Hire.parse(hire)
        p = pd.Period(hire.month, "M")
        j = m_ord - (p.year * 12 + p.month - 1)
        hi_rre += hire.count * _seat_after(j, full)
        hi_hc += hire.count * _seat_after(j, full_hc)
    return {"headcount": ex_hc + bf_hc + hi_hc, "rre_existing": ex_rre, "rre_backfill": bf_rre,
            "rre_hires": hi_rre, "rre": ex_rre + bf_rre + hi_rre}


def _rre_frame(seats: _Seats, ramp: RampCurve, attrition: float, lag: int,
               hires: Sequence[Hire | dict] = ()) -> pd.DataFrame:
    v = _rre(seats, ramp, attrition, lag, hires)
    return pd.DataFrame({"month": [month_label(m) for m in seats.months], **v,
                         "actual": np.array(seats.hist)})


def rre_by_month(reps: pd.DataFrame, months: Period | pd.PeriodIndex | str,
                 ramp: RampCurve | None = None, *, as_of: pd.Timestamp | None = None,
                 attrition: float = DEFAULT_ATTRITION,
                 backfill_lag: int = DEFAULT_BACKFILL_LAG,
                 hires: Sequence[Hire | dict] = ()) -> pd.DataFrame:
    """Ramped rep equivalents by month for ``reps`` (canonical reps rows).

    Returns one row per month: ``month`` (YYYY-MM), ``headcount`` (expected heads),
    ``rre_existing``, ``rre_backfill``, ``rre_hires``, ``rre`` (sum), ``actual`` (True for
    months up to ``as_of``). Without ``as_of`` every month is history (no attrition)."""
    ramp = RampCurve.parse(ramp)
    attrition, lag = _check_rates(attrition, backfill_lag)
    if isinstance(months, str | Period):
        months = Period.parse(months).months()
    return _rre_frame(_seats(reps, months, as_of), ramp, attrition, lag, hires)


# ---- scoping -----------------------------------------------------------------------------------
def scope_reps(data: Dataset, scope: Scope | str | None = None,
               roles: Sequence[str] | None = None) -> pd.DataFrame:
    """Quota-carrying seats of a scope (:func:`salesplan_nb.core.seats.quota_seat_mask`: not a
    manager role): rows of ``data.reps`` by region / territory; for an account, its owner
    (``accounts.owner_id``) else the reps who own its deals. A rep scope is that rep, whatever
    the role. ``roles`` instead keeps exactly the listed roles (case-insensitive)."""
    sc = Scope.parse(scope)
    reps = data.reps
    if sc.level == "region":
        reps = reps[(reps["region"] == sc.id).fillna(False)]
    elif sc.level == "territory":
        reps = reps[(reps["territory"] == sc.id).fillna(False)]
    elif sc.level == "rep":
        reps = reps[(reps["rep_id"] == sc.id).fillna(False)]
    elif sc.level == "account":
        acc = data.accounts[(data.accounts["account_id"] == sc.id).fillna(False)]
        owners = set(acc["owner_id"].dropna())
        if not owners:
            opp = data.opportunities
            owners = set(opp.loc[(opp["account_id"] == sc.id).fillna(False), "owner_id"].dropna())
        reps = reps[reps["rep_id"].isin(list(owners))]
    if roles is not None:
        keep = [r.lower() for r in roles]
        role = reps["role"].fillna("").str.lower()
        return reps[role.isin(keep).fillna(False).to_numpy()]
    if sc.level == "rep":
        return reps
    return reps[~is_manager_role(reps["role"]).to_numpy()]


def _territory_region(data: Dataset) -> dict:
    t = data.territories.dropna(subset=["territory_id"])
    out = dict(zip(t["territory_id"], t["region"]))
    r = data.reps.dropna(subset=["territory"])
    for k, v in zip(r["territory"], r["region"]):
        out.setdefault(k, v)
    return out


# ---- productivity ------------------------------------------------------------------------------
@dataclass
class Productivity:
    """Bookings per fully-ramped rep-month [USD / RRE-month] measured on ``basis``."""

    value: float
    bookings: float
    rre_months: float
    basis: str
    note: str = ""


def _roles_key(roles: Sequence[str] | None) -> tuple | None:
    return None if roles is None else tuple(roles)


def _productivity_basis(data: Dataset, sc: Scope, per: Period,
                        roles: Sequence[str] | None) -> dict:
    """Ramp-independent part of :func:`productivity`: window, bookings, the reps' seats over
    the window's months and each month's share inside the window (memoised per scope)."""
    basis = basis_period(data, per)
    basis = Period(basis.start, min(basis.end, day_after(data.as_of)), basis.label)
    deals = sc.filter(data.deals)
    won = deals[(deals["status"] == "won").fillna(False) & basis.contains(deals["close_date"])]
    bookings = float(won["amount"].fillna(0).sum())
    out = {"basis": basis, "bookings": bookings, "seats": None, "weight": None}
    if basis.end <= basis.start:
        return out
    reps = scope_reps(data, sc, roles)
    months = basis.months()
    # partial first/last months: weight by the share of the month inside the window
    starts, ends = _month_days(months)
    lo = np.maximum(starts, np.datetime64(basis.start.date(), "D"))
    hi = np.minimum(ends, np.datetime64(basis.end.date(), "D"))
    out["weight"] = (hi - lo).astype(float) / (ends - starts).astype(float)
    out["seats"] = _seats(reps, months, None)
    return out


def productivity(data: Dataset, scope: Scope | str | None = None,
                 period: Period | str | None = None, ramp: RampCurve | None = None,
                 roles: Sequence[str] | None = None) -> Productivity:
    """Historical productivity = won bookings of the scope in the basis window / the scope's
    RRE-months there (basis: :func:`basis_period` of ``period``, clipped to ``as_of``).
    ``value`` is NaN (with a ``note``) when the scope has no rep time in the window. The
    window, bookings and rep seats are memoised on ``data`` (:func:`dataset_memo`)."""
    sc, per = resolve(data, scope, period)
    b = dataset_memo(data, _MEMO, ("productivity", sc, per, _roles_key(roles)),
                     lambda: _productivity_basis(data, sc, per, roles))
    basis, bookings = b["basis"], b["bookings"]
    if b["seats"] is None:
        return Productivity(math.nan, bookings, 0.0, basis.label, "empty basis window")
    rre = _rre(b["seats"], RampCurve.parse(ramp), DEFAULT_ATTRITION, DEFAULT_BACKFILL_LAG)
    rre_months = float((rre["rre"] * b["weight"]).sum())
    if rre_months <= 0:
        return Productivity(math.nan, bookings, 0.0, basis.label,
                            f"no rep time in {sc.label} for {basis.label}")
    note = "" if bookings else f"no won deals in {sc.label} for {basis.label}"
    return Productivity(bookings / rre_months, bookings, rre_months, basis.label, note)


# ---- the plan ----------------------------------------------------------------------------------
@dataclass
class CapacityPlan:
    """Capacity of a scope over a period. ``monthly`` columns: month, headcount, rre_existing,
    rre_backfill, rre_hires, rre, actual, capacity (USD), target (USD, monthly share)."""

    scope: Scope
    period: Period
    monthly: pd.DataFrame
    productivity: float
    rre_months: float
    capacity: float
    target: float | None
    gap: float | None
    hires_needed: int | None
    settings: dict = field(default_factory=dict)
    note: str = ""

    def summary(self) -> pd.DataFrame:
        """One-row-per-figure table (figure, value, unit)."""
        rows = [("RRE-months", self.rre_months, "RRE-months"),
                ("productivity", self.productivity, "USD / RRE-month"),
                ("capacity", self.capacity, "USD"),
                ("target", self.target, "USD"),
                ("gap (target - capacity)", self.gap, "USD"),
                ("hires needed", self.hires_needed, "reps")]
        return pd.DataFrame(rows, columns=["figure", "value", "unit"])


def _target(data: Dataset, scope: Scope, period: Period) -> float | None:
    return target_for(data, scope, period)


def _plan_basis(data: Dataset, sc: Scope, per: Period, roles: Sequence[str] | None) -> dict:
    """Decision-independent part of :func:`capacity_plan` (memoised per scope and period):
    the scope's rep seats over the period's months, the territory -> region map for hires,
    the first plan month."""
    reps = scope_reps(data, sc, roles)
    return {"seats": _seats(reps, per.months(), data.as_of), "reps": len(reps),
            "territory_region": _territory_region(data),
            "first_month": _first_plan_month(data, per)}


def placed_hires(data: Dataset, period: Period, hires: Sequence[Hire | dict]) -> list[Hire]:
    """The hiring plan with every hire that names no territory placed seat by seat in a
    territory by the quotas step's rule (:func:`salesplan_nb.steps.quotas.tbh_seats`: the
    territory of its region, or of the company, with the most potential per seat on today's
    books), so the to-be-hired seats that carry quota there count in that territory's and
    region's capacity. A fractional count's last seat keeps the fraction (``count`` 2.5 ->
    1, 1, 0.5); a hire that cannot be placed (no territory in its region) stays as given."""
    hs = [Hire.parse(h) for h in hires]
    if not any(h.territory is None for h in hs):
        return hs
    return list(dataset_memo(data, _MEMO, ("placed hires", period, tuple(hs)),
                             lambda: tuple(_place(data, period, hs))))


def _place(data: Dataset, period: Period, hs: list[Hire]) -> list[Hire]:
    from salesplan_nb.steps.quotas import _hire_key, quota_reps, tbh_seats

    reps = quota_reps(data, period)
    out: list[Hire] = []
    for h in hs:
        if h.territory is not None:
            out.append(h)
            continue
        seats = tbh_seats(data, reps, _hire_key([h]), period)
        if seats.empty:
            out.append(h)
            continue
        for k, r in enumerate(seats.itertuples()):
            out.append(Hire(h.month, min(1.0, h.count - k), str(r.region), str(r.territory),
                            h.role))
        reps = pd.concat([reps, seats], ignore_index=True)  # the next hire sees these seats
    return out


def _own(data: Dataset, sc: Scope, per: Period, ramp: RampCurve, attrition: float,
         backfill_lag: int, hires: list[Hire], roles) -> tuple[pd.DataFrame, Productivity,
                                                               int, list[Hire]]:
    """The scope's own RRE by month (its seats and the hires in it), measured productivity,
    seat count and hires."""
    b = dataset_memo(data, _MEMO, ("plan", sc, per, _roles_key(roles)),
                     lambda: _plan_basis(data, sc, per, roles))
    mine = [h for h in hires if h.in_scope(sc, b["territory_region"])]
    monthly = _rre_frame(b["seats"], ramp, attrition, backfill_lag, mine)
    return monthly, productivity(data, sc, per, ramp, roles), b["reps"], mine


def _children(data: Dataset, sc: Scope, hires: list[Hire]) -> list[Scope]:
    """The regions of the company, or the territories of a region: those of its quota seats
    (``reps.region`` / ``reps.territory``) and of its placed hires."""
    reps = scope_reps(data, sc)
    if sc.level == "company":
        ids = set(reps["region"].dropna().astype(str)) | {h.region for h in hires if h.region}
        tr = _territory_region(data)
        ids |= {str(tr[h.territory]) for h in hires if h.territory in tr and tr[h.territory]}
        return [Scope("region", i) for i in sorted(ids)]
    tr = _territory_region(data)
    ids = set(reps["territory"].dropna().astype(str)) | {
        h.territory for h in hires if h.territory and tr.get(h.territory) == sc.id}
    return [Scope("territory", i) for i in sorted(ids)]


def _parent(data: Dataset, sc: Scope) -> Scope | None:
    if sc.level == "region":
        return Scope()
    if sc.level == "territory":
        reg = _territory_region(data).get(sc.id)
        return Scope("region", str(reg)) if reg is not None and not pd.isna(reg) else None
    return None


def _raw(monthly: pd.DataFrame, prod: float, fallback: float) -> float:
    """A unit's own capacity (USD): its RRE-months x its measured productivity (the
    parent's when it has none)."""
    p = prod if np.isfinite(prod) and prod > 0 else fallback
    return float(monthly["rre"].sum()) * (p if np.isfinite(p) else 0.0)


def reconciled_capacity(data: Dataset, sc: Scope, per: Period, ramp: RampCurve,
                        attrition: float, backfill_lag: int, hires: list[Hire]) -> float:
    """Capacity (USD) of a scope such that regions sum to the company and territories to
    their region. Existing seats: the company's is ``sum RRE x productivity`` (its own
    measure); a child's is its parent's x ``raw_child / (sum of the siblings' raw + the
    parent's seats in no child x the parent's productivity)`` with ``raw`` = the child's
    RRE-months x its measured productivity (the parent's when it has none). Hires (``hires``
    placed by :func:`placed_hires`): their RRE-months in the scope x the company's
    productivity (a new seat has no record: the capacity step's hiring maths and the quotas
    step's planned bookings of a to-be-hired seat), so a hire adds the same dollars at every
    level and never moves another unit's capacity."""
    key = ("reconciled", sc, per, ramp, attrition, backfill_lag, tuple(hires))

    def build() -> float:
        own, _, _, _ = _own(data, sc, per, ramp, attrition, backfill_lag, hires, None)
        p_co = productivity(data, Scope(), per, ramp).value
        p_co = 0.0 if not np.isfinite(p_co) else p_co
        return (_reconcile(data, sc, per, ramp, attrition, backfill_lag)
                + float(own["rre_hires"].sum()) * p_co)

    return dataset_memo(data, _MEMO, key, build)


def _reconcile(data, sc, per, ramp, attrition, lag) -> float:
    """The existing seats' reconciled capacity (USD, no hires; see
    :func:`reconciled_capacity`), memoised."""
    return dataset_memo(data, _MEMO, ("reconciled seats", sc, per, ramp, attrition, lag),
                        lambda: _reconcile_seats(data, sc, per, ramp, attrition, lag))


def _reconcile_seats(data, sc, per, ramp, attrition, lag) -> float:
    own, prod, _, _ = _own(data, sc, per, ramp, attrition, lag, [], None)
    parent = _parent(data, sc)
    if parent is None:  # the company (or a territory without a region): its own measure
        p = prod.value
        return float(own["rre"].sum()) * (0.0 if math.isnan(p) else p)
    cap_parent = _reconcile(data, parent, per, ramp, attrition, lag)
    p_own, p_prod, _, _ = _own(data, parent, per, ramp, attrition, lag, [], None)
    fb = p_prod.value
    raws, rre_children, me = [], 0.0, 0.0
    for child in _children(data, parent, []):
        m, pr, _, _ = _own(data, child, per, ramp, attrition, lag, [], None)
        r = _raw(m, pr.value, fb)
        raws.append(r)
        rre_children += float(m["rre"].sum())
        if child == sc:
            me = r
    rest = max(0.0, float(p_own["rre"].sum()) - rre_children)  # seats in no child
    denom = sum(raws) + rest * (fb if np.isfinite(fb) and fb > 0 else 0.0)
    return cap_parent * me / denom if denom > 0 else 0.0


def capacity_plan(data: Dataset, scope: Scope | str | None = None,
                  period: Period | str | None = None, *, ramp: RampCurve | None = None,
                  attrition: float = DEFAULT_ATTRITION, backfill_lag: int = DEFAULT_BACKFILL_LAG,
                  hires: Sequence[Hire | dict] = (), target: float | None = None,
                  productivity_usd: float | None = None, hire_month: str | None = None,
                  roles: Sequence[str] | None = None) -> CapacityPlan:
    """Capacity vs target for ``scope`` over ``period`` (default: the year after ``as_of``).

    ``target`` defaults to ``data.targets`` (bookings) for the scope and period;
    ``productivity_usd`` overrides the measured productivity; ``hire_month`` is when extra
    hires to close the gap would start (default: first plan month after ``as_of``).

    Hires without a territory are placed in territories by the quotas step's rule
    (:func:`placed_hires`), so a region's and a territory's capacity include the
    to-be-hired seats that carry quota there. Regions and territories are reconciled to
    their parent (:func:`reconciled_capacity`): regions sum to the company, territories to
    their region; their ``productivity`` is then the effective one (capacity / RRE-months).

    The decision-independent work (the scope's reps, their day shares and tenures, the
    productivity window's bookings, the target) is memoised on ``data``
    (:func:`dataset_memo`), so a change of ramp, attrition, lag or hires only redoes the
    RRE arithmetic (a few ms for 60 reps)."""
    sc, per = resolve(data, scope, period)
    ramp = RampCurve.parse(ramp)
    attrition, backfill_lag = _check_rates(attrition, backfill_lag)
    all_hires = [Hire.parse(x) for x in hires]
    if sc.level in ("region", "territory") and roles is None:
        all_hires = placed_hires(data, per, all_hires)
    monthly, prod, n_reps, hires = _own(data, sc, per, ramp, attrition, backfill_lag,
                                        all_hires, roles)
    b = dataset_memo(data, _MEMO, ("plan", sc, per, _roles_key(roles)),
                     lambda: _plan_basis(data, sc, per, roles))
    p = prod.value if productivity_usd is None else float(productivity_usd)
    notes = [prod.note] if prod.note and productivity_usd is None else []
    basis = prod.basis
    if productivity_usd is None and roles is None and sc.level in ("region", "territory"):
        rre_m = float(monthly["rre"].sum())
        cap_r = reconciled_capacity(data, sc, per, ramp, attrition, backfill_lag, all_hires)
        if rre_m > 0:
            eff = cap_r / rre_m
            if np.isfinite(p) and p > 0 and abs(eff / p - 1) > 1e-9:
                whole = "company" if sc.level == "region" else "region"
                notes.append(f"productivity {p:,.0f} USD/RRE-month measured, {eff:,.0f} "
                             f"effective: existing seats reconciled so the {sc.level}s sum to "
                             f"the {whole}"
                             + (", hires at the company's productivity" if hires else ""))
            p = eff
            basis = f"{prod.basis}, reconciled to the {'company' if sc.level == 'region' else 'region'}"
    if not n_reps and not hires:
        notes.insert(0, f"no reps in {sc.label} for {per.label}")
    pz = 0.0 if math.isnan(p) else p
    monthly["capacity"] = monthly["rre"] * pz
    tgt = dataset_memo(data, _MEMO, ("target", sc, per), lambda: _target(data, sc, per)) \
        if target is None else float(target)
    monthly["target"] = tgt / per.n_months if tgt is not None else math.nan
    cap = float(monthly["capacity"].sum())
    gap = None if tgt is None else tgt - cap
    need = None
    if gap is not None:
        hn = hires_needed(gap, pz, per, ramp=ramp, attrition=attrition,
                          backfill_lag=backfill_lag,
                          start_month=hire_month or b["first_month"])
        need = hn
    settings = {"ramp": [list(s) for s in ramp.steps], "attrition": attrition,
                "backfill_lag": backfill_lag, "hires": [h.__dict__ for h in hires],
                "productivity_basis": basis}
    return CapacityPlan(sc, per, monthly, p, float(monthly["rre"].sum()), cap, tgt, gap, need,
                        settings, "; ".join(n for n in notes if n))


def _first_plan_month(data: Dataset, period: Period) -> str:
    first = max(pd.Period(period.start, "M"), pd.Period(data.as_of, "M") + 1)
    return month_label(min(first, pd.Period(period.end - pd.Timedelta(days=1), "M")))


def hire_yield(period: Period | str, start_month: str, *, ramp: RampCurve | None = None,
               attrition: float = DEFAULT_ATTRITION,
               backfill_lag: int = DEFAULT_BACKFILL_LAG) -> float:
    """Expected RRE-months one new hire starting in ``start_month`` adds within ``period``
    (ramp, attrition and backfill included)."""
    per = Period.parse(period)
    hire = Hire(start_month)
    ramp = RampCurve.parse(ramp)
    attrition, lag = _check_rates(attrition, backfill_lag)
    return _hire_yield(per.start, per.end, hire.month, ramp, attrition, lag)


@lru_cache(maxsize=1024)
def _hire_yield(start: pd.Timestamp, end: pd.Timestamp, month: str, ramp: RampCurve,
                attrition: float, lag: int) -> float:
    per = Period(start, end, "")
    df = rre_by_month(pd.DataFrame({"hire_date": [], "end_date": []}), per.months(), ramp,
                      as_of=per.start - pd.Timedelta(days=1), attrition=attrition,
                      backfill_lag=lag, hires=[Hire(month)])
    return float(df["rre_hires"].sum())


def hires_needed(gap: float, productivity_usd: float, period: Period | str,
                 start_month: str | None = None, *, ramp: RampCurve | None = None,
                 attrition: float = DEFAULT_ATTRITION,
                 backfill_lag: int = DEFAULT_BACKFILL_LAG) -> int | None:
    """Whole hires starting ``start_month`` (default: the period's first month) needed to
    close ``gap`` USD: ``ceil(gap / (productivity x hire_yield))``; 0 when there is no gap,
    ``None`` when a hire there adds nothing (too late, or no productivity)."""
    per = Period.parse(period)
    if gap is None or gap <= 0:
        return 0
    start = start_month or month_label(pd.Period(per.start, "M"))
    y = hire_yield(per, start, ramp=ramp, attrition=attrition, backfill_lag=backfill_lag)
    if y <= 0 or not productivity_usd or math.isnan(productivity_usd) or productivity_usd <= 0:
        return None
    return int(math.ceil(gap / (productivity_usd * y) - 1e-9))


def hires_table(plan: CapacityPlan) -> pd.DataFrame:
    """Hires needed to close the plan's gap by start month: ``start_month, rre_months_per_hire,
    capacity_per_hire`` (USD), ``hires``. Later starts ramp less inside the period."""
    rows = []
    ramp = RampCurve.parse(plan.settings.get("ramp"))
    for m in plan.monthly["month"]:
        y = hire_yield(plan.period, m, ramp=ramp, attrition=plan.settings["attrition"],
                       backfill_lag=plan.settings["backfill_lag"])
        pz = 0.0 if math.isnan(plan.productivity) else plan.productivity
        hires = None
        if plan.gap is not None:
            hires = 0 if plan.gap <= 0 else (
                int(math.ceil(plan.gap / (pz * y) - 1e-9)) if pz > 0 and y > 0 else None)
        rows.append({"start_month": m, "rre_months_per_hire": y,
                     "capacity_per_hire": y * pz, "hires": hires})
    return pd.DataFrame(rows, columns=["start_month", "rre_months_per_hire",
                                       "capacity_per_hire", "hires"])


def capacity_usd(data: Dataset, scope: Scope | str | None = None,
                 period: Period | str | None = None, **options) -> float:
    """Total capacity (USD) of :func:`capacity_plan` (used by goals' Achievable check)."""
    return capacity_plan(data, scope, period, **options).capacity


def ramp_adjustment(hire_date, period: Period | str, ramp: RampCurve | None = None) -> float:
    """Average ramp share of a rep hired ``hire_date`` over ``period`` (0..1): the planning
    core's :func:`salesplan_nb.core.seats.ramp_factors`."""
    return float(ramp_factors(pd.Series([hire_date]), period, ramp)[0])


# ---- chart -------------------------------------------------------------------------------------
def capacity_frames(plan: CapacityPlan) -> dict[str, pd.DataFrame]:
    """The data of :func:`chart_capacity`: ``rre`` (month, source existing / backfill /
    hires, RRE) and ``usd`` (month, series capacity / target, USD per month; no target ->
    no target rows)."""
    m = plan.monthly
    month = m["month"].to_numpy(dtype=object)
    sources = ["existing", "backfill", "hires"]
    long = pd.DataFrame({
        "month": np.tile(month, len(sources)),
        "source": np.repeat(np.array(sources, dtype=object), len(m)),
        "RRE": np.concatenate([m[f"rre_{s}"].to_numpy(dtype=float) for s in sources])})
    usd = np.concatenate([m[c].to_numpy(dtype=float) for c in ("capacity", "target")])
    keep = ~np.isnan(usd)
    lines = pd.DataFrame({
        "month": np.tile(month, 2)[keep],
        "series": np.repeat(np.array(["capacity", "target"], dtype=object), len(m))[keep],
        "USD": usd[keep]})
    return {"rre": long, "usd": lines}


def capacity_title(plan: CapacityPlan) -> str:
    return f"Capacity - {plan.scope.label} {plan.period.label}"


def chart_capacity(plan: CapacityPlan) -> alt.LayerChart:
    """Bars: RRE by month (stacked existing / backfill / hires); line: capacity (USD) and the
    monthly target, on a second axis. The data are the named datasets ``rre`` and ``usd``
    (:func:`capacity_frames`), so a live update only swaps them and the title."""
    bars = alt.Chart(alt.Data(name="rre")).mark_bar(opacity=0.7).encode(
        x=alt.X("month:O", title="Month"),
        y=alt.Y("RRE:Q", title="Ramped rep equivalents"),
        color=alt.Color("source:N", title="RRE from"),
        tooltip=["month:O", "source:N", alt.Tooltip("RRE:Q", format=",.2f")])
    line = alt.Chart(alt.Data(name="usd")).mark_line(point=True).encode(
        x="month:O", y=alt.Y("USD:Q", title="USD per month"),
        strokeDash=alt.StrokeDash("series:N", title=None),
        tooltip=["month:O", "series:N", alt.Tooltip("USD:Q", format=",.0f")])
    datasets = {k: vega_records(v) for k, v in capacity_frames(plan).items()}
    return alt.layer(bars, line).resolve_scale(y="independent").properties(
        title=capacity_title(plan), datasets=datasets)


# ---- workspace ---------------------------------------------------------------------------------
def save_capacity_settings(ws, *, ramp: RampCurve | None = None,
                           attrition: float | None = None, backfill_lag: int | None = None,
                           hires: Sequence[Hire | dict] | None = None,
                           by: str | None = None) -> None:
    """Record capacity decisions (section ``capacity``): ramp steps, attrition, backfill lag,
    hiring plan. Only the given ones are written."""
    values: dict = {}
    if ramp is not None:
        values["ramp"] = [list(s) for s in RampCurve.parse(ramp).steps]
    if attrition is not None or backfill_lag is not None:
        a, lag = _check_rates(DEFAULT_ATTRITION if attrition is None else attrition,
                              DEFAULT_BACKFILL_LAG if backfill_lag is None else backfill_lag)
        if attrition is not None:
            values["attrition"] = a
        if backfill_lag is not None:
            values["backfill_lag"] = lag
    if hires is not None:
        values["hires"] = [dict(Hire.parse(h).__dict__) for h in hires]
    for k, v in values.items():
        ws.record(SECTION, k, v, by=by)


def load_capacity_settings(ws) -> dict:
    """Keyword arguments for :func:`capacity_plan` from the workspace (defaults when unset)."""
    return {"ramp": RampCurve.parse(ws.get(SECTION, "ramp")),
            "attrition": float(ws.get(SECTION, "attrition", DEFAULT_ATTRITION)),
            "backfill_lag": int(ws.get(SECTION, "backfill_lag", DEFAULT_BACKFILL_LAG)),
            "hires": [Hire.parse(h) for h in ws.get(SECTION, "hires", []) or []]}


# ---- the demo's default decision ------------------------------------------------------------
def demo_decision(ws, by: str = "demo") -> str:
    """Step 5 in ``salesplan demo``: default ramp, attrition and backfill lag; the hires that
    close the gap to the bookings goal start in the plan's first month."""
    data, period = ws.data, ws.period
    target = goal_target(ws)
    first = capacity_plan(data, period=period, target=target)
    hires = []
    if first.hires_needed:  # close the gap with hires starting in the plan's first month
        hires = [Hire(f"{period.start:%Y-%m}", first.hires_needed)]
    save_capacity_settings(ws, ramp=DEFAULT_RAMP, attrition=DEFAULT_ATTRITION,
                           backfill_lag=DEFAULT_BACKFILL_LAG, hires=hires, by=by)
    plan = capacity_plan(data, period=period, target=target, **load_capacity_settings(ws))
    ws.save_output("capacity", "monthly", plan.monthly)
    ws.save_output("capacity", "summary", plan.summary())
    gap = f", gap ${first.gap:,.0f} -> {first.hires_needed} hire(s) in " \
          f"{period.start:%Y-%m}" if first.gap is not None and first.gap > 0 else ""
    tgt = f" vs target ${plan.target:,.0f}" if plan.target is not None else ""
    return (f"capacity without new hires ${first.capacity:,.0f}{tgt}{gap}; with the "
            f"hiring plan ${plan.capacity:,.0f} ({plan.rre_months:,.0f} RRE-months)")
