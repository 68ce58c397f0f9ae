"""Monitor & adjust: plan vs actual, run-rate projection, variance explained, alerts, reviews.

- **plan** (USD per month) for a scope and period: an explicit ``plan`` (period total or a
  Series by month), else the ``targets`` table (the period's own row, else the calendar year's
  row pro-rated), else 110% of the same period last year (growth on prior year). A total is
  split by month with the scope's prior-year monthly bookings profile (the company's when the
  scope has none; equal months when there is no prior year).
- **actual** = won bookings (USD) by close month, up to ``Dataset.as_of`` (later months: NaN).
- **run rate**: ``linear = actual_to_date / elapsed share of the period (by days)``;
  ``seasonal = actual_to_date / prior-year share of bookings in the elapsed part``.
- **variance explained**: bookings = closed deals ``N`` x win rate ``w`` x average won deal
  ``s``. The plan to date uses the prior-year ``w`` and ``s`` of the scope (``N`` so that the
  product equals the plan); actual uses this period's. ``actual - plan`` is split into volume
  (N), win rate (w) and price (s: average won deal size, price and mix) with the Shapley
  average over the 6 orders of substitution, so the three parts sum exactly to the total.
- **alerts**: a scope is ``behind`` when actual to date < (1 - threshold) x plan to date.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import day_after, to_date
from salesplan_nb.core.scope import SCOPE_COLUMN, Period, Scope
from salesplan_nb.core.seats import DEFAULT_GROWTH
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps.forecast import parse_period, parse_scope

GROWTH = DEFAULT_GROWTH  # default plan = 110% of prior-year bookings (planning core)
SECTION = "reviews"


# --------------------------------------------------------------------------- helpers
def _won(data: Dataset) -> pd.DataFrame:
    d = data.deals
    return d[(d["status"] == "won") & d["close_date"].notna()]


def _monthly(deals: pd.DataFrame, months: pd.PeriodIndex) -> pd.Series:
    s = deals.groupby(deals["close_date"].dt.to_period("M"))["amount"].sum()
    return s.reindex(months, fill_value=0.0).astype(float)


def _elapsed_fraction(period: Period, as_of: pd.Timestamp) -> np.ndarray:
    """Share (0..1) of each month of ``period`` elapsed at the end of ``as_of``."""
    out = []
    cut = day_after(as_of)
    for m in period.months():
        a, b = max(m.start_time, period.start), min(m.end_time.normalize()
                                                    + pd.Timedelta(days=1), period.end)
        out.append(float(np.clip((cut - a) / (b - a), 0, 1)))
    return np.array(out)


def _profile(data: Dataset, scope: Scope, period: Period) -> tuple[np.ndarray, str]:
    """Monthly weights (sum 1) from the prior-year bookings of the scope / company."""
    prior = period.prior_year()
    pm = prior.months()
    won = _won(data)
    for who, deals in (("scope", scope.filter(won)), ("company", won)):
        s = _monthly(deals, pm).to_numpy()
        if s.sum() > 0:
            return s / s.sum(), f"{who} prior-year profile"
    n = len(pm)
    return np.full(n, 1 / n), "equal months (no prior-year bookings)"


def _target(data: Dataset, scope: Scope, period: Period) -> tuple[float | None, str]:
    t = data.targets
    t = t[(t["scope_level"] == scope.level) & (t["metric"].fillna("bookings") == "bookings")]
    sid = t["scope_id"].fillna("").astype(str)
    t = t[sid == ("" if scope.id is None else str(scope.id))]
    own = t[t["period"].astype(str) == period.label]
    if len(own):
        return float(own["amount"].sum()), f"target {period.label}"
    year = str(period.start.year)
    yr = t[t["period"].astype(str) == year]
    if len(yr) and period.end <= pd.Timestamp(period.start.year + 1, 1, 1):
        full = parse_period(year)
        w, _ = _profile(data, scope, full)
        share = float(w[[m in set(period.months()) for m in full.months()]].sum())
        return float(yr["amount"].sum()) * share, f"target {year} pro-rated ({share:.0%})"
    return None, ""


def plan_series(data: Dataset, scope: Scope | str = "company", period: Period | str = "2025",
                plan: float | pd.Series | None = None) -> tuple[pd.Series, str]:
    """Monthly plan (USD) for ``scope`` over ``period`` and a note on its source. ``plan``: a
    total, a Series by month, or a ``quotas.QuotaPlan`` (the scope's quota)."""
    scope, period = parse_scope(scope), parse_period(period)
    months = period.months()
    given = "given plan total"
    if plan is not None and hasattr(plan, "level") and hasattr(plan, "table"):
        plan = _quota_of(plan, scope)  # a quotas.QuotaPlan (engineer E)
        given = "quota from quotas.py plan"
    if isinstance(plan, pd.Series):
        s = plan.copy()
        s.index = pd.PeriodIndex([pd.Period(m, "M") for m in s.index])
        missing = [str(m) for m in months if m not in s.index]
        if missing:
            raise ConfigError(f"plan series lacks months {missing}; give one value per month")
        return s.reindex(months).astype(float).rename("plan"), "given monthly plan"
    w, how = _profile(data, scope, period)
    if plan is not None:
        total, src = float(plan), given
    else:
        total, src = _target(data, scope, period)
        if total is None:
            prior = float(_monthly(scope.filter(_won(data)), period.prior_year().months()).sum())
            total, src = GROWTH * prior, f"{GROWTH:.0%} of prior-year bookings (no target)"
    return pd.Series(total * w, index=months, name="plan"), f"{src}; split by {how}"


def _quota_of(plan, scope: Scope) -> float:
    """The quota (USD) of ``scope`` in a quotas.QuotaPlan (its target for the plan's root)."""
    t = plan.table
    rows = t[(t["level"] == scope.level) &
             (t["unit_id"].astype(str) == ("Company" if scope.id is None else str(scope.id)))]
    if len(rows):
        return float(rows["quota"].sum())
    if scope.level == "company" or str(scope) == str(getattr(plan, "scope", "")):
        return float(plan.target)
    raise ConfigError(f"the quota plan has no {scope.label}; pick a scope it covers")


# --------------------------------------------------------------------------- plan vs actual
@dataclass
class PlanVsActual:
    """``table``: month, plan, actual, variance, variance_pct, cum_plan, cum_actual,
    cum_attainment, elapsed (share of the month passed at as_of). USD."""

    scope: Scope
    period: Period
    table: pd.DataFrame
    plan_source: str
    note: str = ""

    @property
    def plan_to_date(self) -> float:
        t = self.table
        return float((t["plan"] * t["elapsed"]).sum())

    @property
    def actual_to_date(self) -> float:
        return float(self.table["actual"].fillna(0).sum())


def plan_vs_actual(data: Dataset, scope: Scope | str = "company", period: Period | str = "2025",
                   plan: float | pd.Series | None = None) -> PlanVsActual:
    """Plan vs actual by month for ``scope`` over ``period`` (see module doc)."""
    scope, period = parse_scope(scope), parse_period(period)
    months = period.months()
    ps, src = plan_series(data, scope, period, plan)
    won = scope.filter(_won(data))
    won = won[won["close_date"] <= data.as_of]
    act = _monthly(won, months)
    el = _elapsed_fraction(period, data.as_of)
    act = act.where(el > 0)
    t = pd.DataFrame({"month": months, "plan": ps.to_numpy(), "actual": act.to_numpy(),
                      "elapsed": el})
    t["variance"] = t["actual"] - t["plan"] * t["elapsed"]
    with np.errstate(divide="ignore", invalid="ignore"):
        t["variance_pct"] = t["variance"] / (t["plan"] * t["elapsed"]).where(lambda x: x > 0)
    t["cum_plan"] = (t["plan"] * t["elapsed"]).cumsum()
    t["cum_actual"] = t["actual"].fillna(0).cumsum().where(t["elapsed"] > 0)
    t["cum_attainment"] = (t["cum_actual"] / t["cum_plan"]).where(t["cum_plan"] > 0)
    note = "" if len(scope.filter(data.deals)) else f"no deals in {scope.label} for {period}"
    return PlanVsActual(scope, period, t, src, note)


# --------------------------------------------------------------------------- run rate
@dataclass
class RunRate:
    """Period projections (USD) from actual to date."""

    scope: Scope
    period: Period
    actual_to_date: float
    elapsed_share: float
    prior_share: float
    linear: float
    seasonal: float
    plan_total: float
    note: str = ""

    @property
    def gap_linear(self) -> float:
        return self.linear - self.plan_total

    @property
    def gap_seasonal(self) -> float:
        return self.seasonal - self.plan_total


def run_rate(data: Dataset, scope: Scope | str = "company", period: Period | str = "2025",
             plan: float | pd.Series | None = None) -> RunRate:
    """YTD run-rate projection, linear and seasonality-adjusted (see module doc)."""
    return _run_rate(data, plan_vs_actual(data, scope, period, plan))


def _run_rate(data: Dataset, pva: PlanVsActual) -> RunRate:
    scope, period = pva.scope, pva.period
    el = pva.table["elapsed"].to_numpy()
    days = np.array([(min(m.end_time.normalize() + pd.Timedelta(days=1), period.end) -
                      max(m.start_time, period.start)).days for m in period.months()], float)
    share = float((el * days).sum() / days.sum())
    prior = _monthly(scope.filter(_won(data)), period.prior_year().months()).to_numpy()
    prior_share = float((prior * el).sum() / prior.sum()) if prior.sum() > 0 else share
    ytd = pva.actual_to_date
    notes = []
    if share == 0:
        notes.append(f"{period} has not started at {data.as_of.date()}")
    if prior.sum() == 0:
        notes.append("no prior-year bookings: seasonal projection = linear")
    lin = ytd / share if share > 0 else float("nan")
    sea = ytd / prior_share if prior_share > 0 else float("nan")
    return RunRate(scope, period, ytd, share, prior_share, lin, sea,
                   float(pva.table["plan"].sum()), "; ".join(notes))


# --------------------------------------------------------------------------- variance
def _drivers(deals: pd.DataFrame) -> tuple[float, float, float]:
    closed = deals[deals["status"].isin(["won", "lost"])]
    won = closed[closed["status"] == "won"]
    n = float(len(closed))
    w = len(won) / n if n else 0.0
    s = float(won["amount"].sum() / len(won)) if len(won) else 0.0
    return n, w, s


def shapley3(x0: tuple[float, float, float], x1: tuple[float, float, float]) -> np.ndarray:
    """Shapley split of ``prod(x1) - prod(x0)`` among the three factors: the average, over the
    6 orders, of each factor's change when it is switched from x0 to x1. Sums exactly."""
    out = np.zeros(3)
    for order in itertools.permutations(range(3)):
        cur = list(x0)
        for i in order:
            before = cur[0] * cur[1] * cur[2]
            cur[i] = x1[i]
            out[i] += cur[0] * cur[1] * cur[2] - before
    return out / 6


@dataclass
class VarianceExplained:
    """``table``: component (volume, win_rate, price, total), amount (USD); ``drivers``: plan
    and actual closed deals, win rate, average won deal (USD)."""

    scope: Scope
    period: Period
    table: pd.DataFrame
    drivers: pd.DataFrame
    note: str = ""


def variance_explained(data: Dataset, scope: Scope | str = "company",
                       period: Period | str = "2025",
                       plan: float | pd.Series | None = None) -> VarianceExplained:
    """Split actual - plan (to date) into volume, win rate and price (see module doc)."""
    pva = plan_vs_actual(data, scope, period, plan)
    scope, period = pva.scope, pva.period
    d = scope.filter(data.deals)
    cut = to_date(period, data.as_of).end
    cur = d[(d["close_date"] >= period.start) & (d["close_date"] < cut)]
    py = period.prior_year()
    prev = d[py.contains(d["close_date"])]
    n1, w1, s1 = _drivers(cur)
    _, w0, s0 = _drivers(prev)
    note = ""
    if w0 * s0 == 0:
        _, w0, s0 = _drivers(data.deals[py.contains(data.deals["close_date"])])
        note = f"no prior-year wins in {scope.label}: plan win rate and deal size are the company's"
    plan_td = pva.plan_to_date
    if w0 * s0 > 0:
        n0 = plan_td / (w0 * s0)
    else:
        n0, w0, s0 = plan_td, 1.0, 1.0
        note = "no prior-year wins at all: the whole variance is volume (plan in USD units)"
    actual = n1 * w1 * s1
    total = actual - plan_td
    if plan_td > 0 or n0 > 0:
        parts = shapley3((n0, w0, s0), (n1, w1, s1))
    else:  # no plan drivers to compare against
        parts = np.array([total, 0.0, 0.0])
    table = pd.DataFrame({"component": ["volume", "win_rate", "price", "total"],
                          "amount": [*parts, total]})
    drivers = pd.DataFrame({"driver": ["closed_deals", "win_rate", "avg_won_deal", "bookings"],
                            "plan": [n0, w0, s0, plan_td], "actual": [n1, w1, s1, actual]})
    if not len(d):
        note = f"no deals in {scope.label} for {period}"
    return VarianceExplained(scope, period, table, drivers, note)


# --------------------------------------------------------------------------- alerts
def scope_ids(data: Dataset, level: str) -> list[str]:
    """The ids of every scope at ``level`` found in the deals and reps."""
    if level == "company":
        return [None]
    if level not in SCOPE_COLUMN:
        raise ConfigError(f"unknown scope level {level!r}")
    col = SCOPE_COLUMN[level]
    ids = set(data.deals[col].dropna().astype(str))
    if level in ("region", "territory"):
        ids |= set(data.reps[level].dropna().astype(str))
    return sorted(ids)


def _matrix(deals: pd.DataFrame, level: str, ids: list, months: pd.PeriodIndex) -> np.ndarray:
    """Won amount per scope id (rows, in ``ids`` order) and month (columns), USD."""
    if not len(ids) or not len(months):
        return np.zeros((len(ids), len(months)))
    d = deals[(deals["close_date"] >= months[0].start_time) &
              (deals["close_date"] <= months[-1].end_time)]
    key = (pd.Series("", index=d.index) if level == "company"
           else d[SCOPE_COLUMN[level]].astype(str))
    g = d.groupby([key, d["close_date"].dt.to_period("M")])["amount"].sum().unstack()
    rows = ["" if i is None else str(i) for i in ids]
    return g.reindex(index=rows, columns=months).fillna(0.0).to_numpy(dtype=float)


def _profiles(prior: np.ndarray, company: np.ndarray) -> np.ndarray:
    """Row-normalised prior-year profiles; company profile (else equal months) for rows
    without prior-year bookings - the same rule as :func:`plan_series`."""
    n = prior.shape[1]
    fall = company / company.sum() if company.sum() > 0 else np.full(n, 1 / max(n, 1))
    tot = prior.sum(axis=1, keepdims=True)
    return np.where(tot > 0, prior / np.where(tot > 0, tot, 1), fall[None, :])


def status_by_scope(data: Dataset, level: str = "region", period: Period | str = "2025",
                    threshold: float = 0.10) -> pd.DataFrame:
    """Plan to date, actual to date and projections for every scope at ``level``.

    The same rules as :func:`plan_vs_actual` and :func:`run_rate` (default plan, targets,
    profiles), computed for all scopes at once. Columns: scope_level, scope_id, plan_total,
    plan_to_date, actual_to_date, attainment, projection (seasonal run rate),
    projected_attainment, status (behind / ok / no plan), message."""
    if not 0 <= threshold < 1:
        raise ConfigError(f"threshold={threshold}: use a fraction such as 0.1 (10% behind)")
    period = parse_period(period)
    ids = scope_ids(data, level)
    months = period.months()
    el = _elapsed_fraction(period, data.as_of)
    won = _won(data)
    act = _matrix(won[won["close_date"] <= data.as_of], level, ids, months) * (el > 0)
    py = period.prior_year().months()
    prior = _matrix(won, level, ids, py)
    co_prior = _matrix(won, "company", [None], py)[0]
    prof = _profiles(prior, co_prior)
    # plan totals: own-period target, else the year's target pro-rated, else 110% prior year
    t = data.targets
    t = t[(t["scope_level"] == level) & (t["metric"].fillna("bookings") == "bookings")]
    sid = t["scope_id"].fillna("").astype(str)
    keys = ["" if i is None else str(i) for i in ids]
    own = t[t["period"].astype(str) == period.label].groupby(sid)["amount"].sum()
    total = pd.Series(keys).map(own).to_numpy(dtype=float)
    year = str(period.start.year)
    yr = t[t["period"].astype(str) == year].groupby(sid)["amount"].sum()
    if len(yr) and period.end <= pd.Timestamp(period.start.year + 1, 1, 1):
        full = Period.parse(year)
        fm = full.months()
        fp = _profiles(_matrix(won, level, ids, full.prior_year().months()),
                       _matrix(won, "company", [None], full.prior_year().months())[0])
        share = fp[:, np.isin(fm, months)].sum(axis=1)
        yv = pd.Series(keys).map(yr).to_numpy(dtype=float) * share
        total = np.where(np.isnan(total), yv, total)
    total = np.where(np.isnan(total), GROWTH * prior.sum(axis=1), total)
    plan = total[:, None] * prof
    ptd = (plan * el).sum(axis=1)
    atd = act.sum(axis=1)
    days = np.array([(min(m.end_time.normalize() + pd.Timedelta(days=1), period.end) -
                      max(m.start_time, period.start)).days for m in months], float)
    share_days = float((el * days).sum() / days.sum()) if len(days) else 0.0
    psum = prior.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pshare = np.where(psum > 0, (prior * el).sum(axis=1) / np.where(psum > 0, psum, 1),
                          share_days)
        proj = np.where(pshare > 0, atd / np.where(pshare > 0, pshare, 1), np.nan)
        att = np.where(ptd > 0, atd / np.where(ptd > 0, ptd, 1), np.nan)
        patt = np.where(total > 0, proj / np.where(total > 0, total, 1), np.nan)
    rows = []
    for i, sid_ in enumerate(ids):
        label = Scope(level, sid_).label
        if ptd[i] <= 0:
            status, msg = "no plan", f"{label}: no plan to date"
        elif atd[i] < (1 - threshold) * ptd[i]:
            status = "behind"
            msg = (f"{label} is {1 - att[i]:.0%} behind plan to date "
                   f"({atd[i]:,.0f} of {ptd[i]:,.0f} USD); projected "
                   f"{proj[i]:,.0f} vs plan {total[i]:,.0f}")
        else:
            status, msg = "ok", f"{label}: {att[i]:.0%} of plan to date"
        rows.append((status, msg))
    out = pd.DataFrame({"scope_level": level, "scope_id": ids, "plan_total": total,
                        "plan_to_date": ptd, "actual_to_date": atd, "attainment": att,
                        "projection": proj, "projected_attainment": patt,
                        "status": [r[0] for r in rows], "message": [r[1] for r in rows]})
    return out.astype({"scope_level": "string", "scope_id": "string", "status": "string",
                       "message": "string"})


def alerts(data: Dataset, level: str = "region", period: Period | str = "2025",
           threshold: float = 0.10) -> pd.DataFrame:
    """The scopes at ``level`` behind plan to date by more than ``threshold`` (worst first)."""
    s = status_by_scope(data, level, period, threshold)
    return s[s["status"] == "behind"].sort_values("attainment", ignore_index=True)


# --------------------------------------------------------------------------- reviews
def record_review(ws, scope: Scope | str, period: Period | str, notes: str,
                  actions: list[str] | None = None, by: str | None = None,
                  data: Dataset | None = None) -> dict:
    """Store a periodic review in the workspace (section ``reviews``) with a snapshot of plan
    and actual to date and the seasonal projection; returns the stored item."""
    scope, period = parse_scope(scope), parse_period(period)
    data = data if data is not None else ws.data
    pva = plan_vs_actual(data, scope, period)
    rr = _run_rate(data, pva)
    item = {"scope": str(scope), "period": period.label, "as_of": str(data.as_of.date()),
            "plan_to_date": round(pva.plan_to_date, 2),
            "actual_to_date": round(rr.actual_to_date, 2),
            "projection": round(rr.seasonal, 2) if np.isfinite(rr.seasonal) else None,
            "plan_total": round(rr.plan_total, 2), "notes": str(notes),
            "actions": [str(a) for a in (actions or [])]}
    return ws.add_item(SECTION, item, by=by)


def reviews(ws, scope: Scope | str | None = None) -> pd.DataFrame:
    """The recorded reviews (all, or of one scope), oldest first."""
    items = ws.items(SECTION)
    if scope is not None:
        items = [i for i in items if i.get("scope") == str(parse_scope(scope))]
    cols = ["id", "scope", "period", "as_of", "plan_to_date", "actual_to_date", "projection",
            "plan_total", "notes", "actions", "by", "at"]
    return pd.DataFrame(items, columns=cols)


# --------------------------------------------------------------------------- charts
def chart_plan_vs_actual(result: PlanVsActual):
    """Monthly actual bars with the monthly plan as a line (USD)."""
    import altair as alt

    t = result.table.assign(month=result.table["month"].astype(str))
    base = alt.Chart(t).encode(x=alt.X("month:O", title="Month"))
    bars = base.mark_bar(opacity=0.7).encode(
        y=alt.Y("actual:Q", title="USD"),
        tooltip=["month", alt.Tooltip("actual:Q", format=",.0f"),
                 alt.Tooltip("plan:Q", format=",.0f"), alt.Tooltip("variance_pct:Q", format=".0%")])
    line = base.mark_line(color="black", point=True).encode(y="plan:Q")
    return (bars + line).properties(title=f"Plan vs actual - {result.scope.label} {result.period}")


def chart_variance(result: VarianceExplained):
    """Bars of the volume / win rate / price parts and the total variance (USD)."""
    import altair as alt

    return (alt.Chart(result.table).mark_bar()
            .encode(x=alt.X("component:N", sort=["volume", "win_rate", "price", "total"]),
                    y=alt.Y("amount:Q", title="USD vs plan"),
                    color=alt.condition("datum.amount < 0", alt.value("#c0392b"),
                                        alt.value("#27ae60")),
                    tooltip=["component", alt.Tooltip("amount:Q", format=",.0f")])
            .properties(title=f"Variance explained - {result.scope.label} {result.period}"))


__all__ = ["plan_series", "plan_vs_actual", "PlanVsActual", "run_rate", "RunRate",
           "variance_explained", "VarianceExplained", "shapley3", "status_by_scope", "alerts",
           "scope_ids", "record_review", "reviews", "chart_plan_vs_actual", "chart_variance"]
