"""Step 2 - SMART goals: define, check and save them.

A :class:`Goal` names a KPI (see :mod:`salesplan_nb.steps.kpis`), a scope, a baseline, a target, a
deadline, an owner and the company objective it serves. :func:`smart_check` rates each letter
``pass`` / ``warn`` / ``fail`` with the reason:

* **S**pecific - a known metric, a valid scope and a numeric target;
* **M**easurable - the metric can be computed from the data for that scope;
* **A**chievable - implied growth ``target / baseline - 1`` against the historical YoY growth of
  comparable scopes (same level, same period length; its percentile: <= 75% pass, <= 95% warn,
  above fail) and, for USD metrics, against a capacity figure (<= capacity pass, <= 110% warn);
* **R**elevant - linked to a company objective;
* **T**ime-bound - a deadline inside the plan period, not already past.

Goals live in the plan workspace's ``goals`` list section (:func:`save_goals` /
:func:`load_goals`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import baseline_period, day_after, trailing_12_months
from salesplan_nb.core.scope import SCOPE_COLUMN, Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps import capacity as capacity_step
from salesplan_nb.steps import kpis
from salesplan_nb.steps.market import data_start, resolve

SECTION = "goals"
RANK = {"pass": 0, "warn": 1, "fail": 2}
PASS_PERCENTILE = 0.75
WARN_PERCENTILE = 0.95
MAX_SCOPES = 30  # comparable scopes evaluated for non-bookings metrics


@dataclass
class Goal:
    """A sales goal. ``metric`` is a KPI name (e.g. ``bookings``, ``new_logos``, ``nrr``,
    ``win_rate``); ``baseline`` and ``target`` are in that KPI's unit; ``deadline`` a date;
    ``objective`` the company objective it serves."""

    metric: str
    target: float
    scope: str = "company"
    baseline: float | None = None
    deadline: str | None = None
    owner: str = ""
    objective: str = ""
    name: str = ""
    id: str | None = None

    def __post_init__(self) -> None:
        self.scope = str(self.scope) if self.scope else "company"
        if self.deadline is not None and not isinstance(self.deadline, str):
            self.deadline = pd.Timestamp(self.deadline).date().isoformat()
        if self.target is not None and not isinstance(self.target, int | float):
            try:
                self.target = float(self.target)
            except (TypeError, ValueError):
                pass  # reported by smart_check (S)

    @property
    def implied_growth(self) -> float:
        """``target / baseline - 1`` (NaN without a positive baseline)."""
        if not isinstance(self.target, int | float) or not isinstance(self.baseline, int | float) \
                or not self.baseline > 0:
            return float("nan")
        return float(self.target) / float(self.baseline) - 1

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not (k == "id" and v is None)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Goal:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class SmartCheck:
    """Result of :func:`smart_check`: one row per letter plus the numbers behind "A"."""

    goal: Goal
    table: pd.DataFrame  # letter, criterion, status, reason
    baseline: float | None = None
    implied_growth: float = float("nan")
    percentile: float = float("nan")
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    annual_growth: float = float("nan")  # implied growth per year
    baseline_period: Period | None = None

    @property
    def overall(self) -> str:
        return max(self.table["status"], key=RANK.__getitem__)

    def status(self, letter: str) -> str:
        return str(self.table.set_index("letter").loc[letter, "status"])

    def reason(self, letter: str) -> str:
        return str(self.table.set_index("letter").loc[letter, "reason"])


# ---- history ---------------------------------------------------------------------------------
def _month_aligned(period: Period) -> bool:
    return period.start.day == 1 and period.end.day == 1 and period.n_months > 0


def growth_windows(data: Dataset, period: Period, step_months: int = 3
                   ) -> list[tuple[Period, Period]]:
    """(window, same window a year before) pairs like ``period`` (same length), the latest
    ending at ``as_of`` (month-aligned), stepping back ``step_months`` while the data covers
    the earlier window. Day-range periods step back whole years."""
    start = data_start(data)
    if start is None:
        return []
    start = start.to_period("M").to_timestamp()
    to_date = day_after(data.as_of)
    out = []
    if _month_aligned(period):
        end0 = to_date.to_period("M").to_timestamp() if to_date.day != 1 else to_date
        n = period.n_months
        for k in range(400):
            end = end0 - pd.DateOffset(months=k * step_months)
            cur = Period(end - pd.DateOffset(months=n), end,
                         f"{(end - pd.DateOffset(months=n)).date()}.."
                         f"{(end - pd.Timedelta(days=1)).date()}")
            pri = cur.prior_year()
            if pri.start < start:
                break
            out.append((cur, pri))
    else:
        cur = period
        while cur.prior_year().start >= start:
            if cur.end <= to_date:
                out.append((cur, cur.prior_year()))
            cur = cur.prior_year()
    return out


def historical_growth(data: Dataset, metric: str, level: str,
                      period: Period | str | None = None,
                      step_months: int | None = None) -> pd.DataFrame:
    """YoY growth ``value / prior - 1`` of ``metric`` for every scope at ``level`` over rolling
    windows as long as ``period`` (see :func:`growth_windows`; step 3 months for bookings, 12
    for other metrics, which are computed for the :data:`MAX_SCOPES` largest scopes).
    Columns: ``scope, start, end, period, value, prior, growth`` (rows with prior <= 0
    dropped)."""
    _, period = resolve(data, None, period)
    kpis.get(metric)
    step = step_months or (3 if metric == "bookings" else 12)
    # the same table for every goal of this metric and level (every unit plan checks the
    # company goals): memoised on the Dataset, a copy handed out
    key = (metric, level, period.start, period.end, step)
    return data.memo("_salesplan_goal_growth", key,
                     lambda: _historical_growth(data, metric, level, period, step),
                     with_deals=True).copy()


def _historical_growth(data: Dataset, metric: str, level: str, period: Period,
                       step: int) -> pd.DataFrame:
    windows = growth_windows(data, period, step)
    rows = []
    d = data.deals
    if metric == "bookings":
        won = d[d["status"] == "won"]
        key = won[SCOPE_COLUMN[level]] if level != "company" else pd.Series("all", won.index)
        for cur, pri in windows:
            a = won[cur.contains(won["close_date"])].groupby(key)["amount"].sum()
            b = won[pri.contains(won["close_date"])].groupby(key)["amount"].sum()
            both = pd.concat([a.rename("value"), b.rename("prior")], axis=1).fillna(0.0)
            scopes = (["company"] * len(both) if level == "company"
                      else [f"{level}:{sid}" for sid in both.index])
            rows.extend({"scope": sc, "start": cur.start, "end": cur.end, "period": cur.label,
                         "value": v, "prior": p}
                        for sc, v, p in zip(scopes, both["value"].tolist(),
                                            both["prior"].tolist()))
    else:
        if level == "company":
            ids: list[str | None] = [None]
        else:
            won = d[(d["status"] == "won")]
            ids = list(won.groupby(SCOPE_COLUMN[level])["amount"].sum()
                       .nlargest(MAX_SCOPES).index)
        for cur, pri in windows:
            for sid in ids:
                sc = Scope() if sid is None else Scope(level, str(sid))
                rows.append({"scope": str(sc), "start": cur.start, "end": cur.end,
                             "period": cur.label,
                             "value": kpis.kpi_value(data, metric, sc, cur),
                             "prior": kpis.kpi_value(data, metric, sc, pri)})
    out = pd.DataFrame(rows, columns=["scope", "start", "end", "period", "value", "prior"])
    out = out[out["prior"] > 0].reset_index(drop=True)
    out["growth"] = out["value"] / out["prior"] - 1
    return out


def find_baseline_period(period: Period, as_of: pd.Timestamp | None) -> Period:
    """The latest period like ``period``, whole years earlier, that is over by ``as_of``
    (:func:`salesplan_nb.core.periods.baseline_period`)."""
    return baseline_period(period, as_of)


def years_between(earlier: Period, later: Period) -> float:
    """Years from the start of ``earlier`` to the start of ``later`` (months / 12)."""
    return ((later.start.year - earlier.start.year) * 12
            + later.start.month - earlier.start.month) / 12


def percentile_of(value: float, rates: pd.Series) -> float:
    """Share of ``rates`` at or below ``value`` (0..1)."""
    rates = pd.Series(rates, dtype=float).dropna()
    return float((rates <= value).mean()) if len(rates) else float("nan")


# ---- the check ---------------------------------------------------------------------------------
def smart_check(goal: Goal, data: Dataset | None = None, period: Period | str | None = None,
                capacity: float | None = None, objectives: list[str] | None = None,
                history: pd.DataFrame | None = None,
                baseline_period: Period | str | None = None,
                forecast: float | None = None) -> SmartCheck:
    """Check ``goal`` letter by letter (see the module doc). ``period`` is the plan period
    (default: the year after ``data.as_of``); ``capacity`` (USD per period) is what the sales
    team can deliver, e.g. from :func:`capacity_from_plan`; ``history`` overrides the
    historical growth table; ``baseline_period`` is the period the baseline describes
    (default: the latest period like the plan period, whole years earlier, that is over); the
    goal's recorded baseline is used only with an explicit ``baseline_period`` (the window it
    describes), else the baseline is measured on the default window. A target above ``capacity`` fails with the gap; ``forecast`` (USD, no plan
    change) is compared too (above it: warn, hires and tactics must close the rest).
    Implied growth is annualised over the years between baseline and plan period before it is
    compared with historical YoY growth."""
    rows: list[tuple[str, str, str, str]] = []
    known = goal.metric in kpis.REGISTRY
    kpi = kpis.REGISTRY.get(goal.metric)
    if period is None:
        period = Period.year(data.as_of.year + 1) if data is not None else None
    else:
        try:
            period = Period.parse(period)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    try:
        scope = Scope.parse(goal.scope)
    except ValueError as exc:
        scope = None
        scope_err = str(exc)

    # S
    target_ok = isinstance(goal.target, int | float) and np.isfinite(goal.target)
    if not goal.metric:
        rows.append(("S", "Specific", "fail", "no metric: name a KPI, e.g. bookings"))
    elif not known:
        rows.append(("S", "Specific", "fail", f"unknown metric {goal.metric!r}; use one of "
                     f"{', '.join(kpis.REGISTRY)}"))
    elif scope is None:
        rows.append(("S", "Specific", "fail", f"bad scope: {scope_err}"))
    elif not target_ok:
        rows.append(("S", "Specific", "fail", "the target must be a number"))
    elif data is not None and scope.level != "company" and not len(scope.filter(data.deals)):
        rows.append(("S", "Specific", "warn", f"{scope.label} has no deals in the data"))
    else:
        rows.append(("S", "Specific", "pass",
                     f"{kpi.label} for {scope.label}: target {kpis.format_value(goal.target, kpi.unit)}"))

    # M
    baseline = goal.baseline
    if baseline_period is not None:
        try:
            base_period = Period.parse(baseline_period)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    elif period is not None:
        base_period = find_baseline_period(period, data.as_of if data is not None else None)
    else:
        base_period = None
    if not known or scope is None:
        rows.append(("M", "Measurable", "fail", "not measurable without a known metric and scope"))
    elif data is None:
        rows.append(("M", "Measurable", "warn", f"{kpi.label} is a library KPI; not checked "
                     "against data (no data given)"))
    else:
        ctx = kpis.Context(data, scope, base_period)
        try:
            measured = float(kpi.compute(ctx))
            rows.append(("M", "Measurable", "pass", f"{base_period.label} actual "
                         f"{kpis.format_value(measured, kpi.unit)} computed from the data"))
            # growth is judged on the window the years are counted from: a recorded baseline
            # counts only with the window it describes (baseline_period=), else the value
            # measured on the baseline period (issue 10)
            if baseline is None or baseline_period is None:
                baseline = measured
        except kpis.NotAvailable as exc:
            rows.append(("M", "Measurable", "fail", f"cannot compute {kpi.label} for "
                         f"{scope.label} in {base_period.label}: {exc}"))

    # A
    g = Goal(**{**asdict(goal), "baseline": baseline}).implied_growth
    years = years_between(base_period, period) if base_period is not None and \
        period is not None else 1.0
    years = years if years > 0 else 1.0
    g_year = (1 + g) ** (1 / years) - 1 if np.isfinite(g) and g > -1 else g
    pct = float("nan")
    hist = history if history is not None else pd.DataFrame()
    if known and scope is not None and data is not None and history is None \
            and period is not None:
        hist = historical_growth(data, goal.metric, scope.level, period)
    checks: list[tuple[str, str]] = []
    if not np.isfinite(g):
        checks.append(("warn", "no positive baseline: implied growth unknown"))
    else:
        rates = hist["growth"] if len(hist) else pd.Series(dtype=float)
        pct = percentile_of(g_year, rates)
        what = f"implied growth {g:+.1%}" + (
            f" over {years:g} years ({g_year:+.1%}/year)" if years != 1 else "")
        if len(rates) < 3:
            checks.append(("warn", f"{what}; only {len(rates)} historical growth rates of "
                           "comparable scopes to compare with"))
        else:
            st = "pass" if pct <= PASS_PERCENTILE else "warn" if pct <= WARN_PERCENTILE \
                else "fail"
            checks.append((st, f"{what} is at the {pct:.0%} percentile of {len(rates)} "
                           f"historical YoY growth rates (median {rates.median():+.1%}, max "
                           f"{rates.max():+.1%})"))
    if capacity is not None:
        if kpi is None or kpi.unit != "USD":
            checks.append(("warn", "capacity given but the metric is not in USD: not compared"))
        elif not target_ok:
            checks.append(("fail", "no numeric target to compare with capacity"))
        elif capacity <= 0:
            checks.append(("fail", f"capacity is {capacity:,.0f} USD"))
        else:
            ratio = goal.target / capacity
            st = "pass" if ratio <= 1 else "fail"
            gap = goal.target - capacity
            checks.append((st, f"target is {ratio:.0%} of capacity ({capacity:,.0f} USD)"
                           + (f": {gap:,.0f} USD above what the seats can deliver; add hires "
                              "or lower the target" if gap > 0 else "")))
    if forecast is not None and kpi is not None and kpi.unit == "USD" and target_ok:
        ratio = goal.target / forecast if forecast > 0 else float("inf")
        checks.append(("pass" if ratio <= 1 else "warn",
                       f"target is {ratio:.0%} of the forecast ({forecast:,.0f} USD)"
                       + ("; hires and tactics must close the rest" if ratio > 1 else "")))
    a_status = max((c[0] for c in checks), key=RANK.__getitem__)
    rows.append(("A", "Achievable", a_status, "; ".join(c[1] for c in checks)))

    # R
    if not goal.objective:
        rows.append(("R", "Relevant", "fail", "not linked to a company objective"))
    elif objectives and goal.objective not in objectives:
        rows.append(("R", "Relevant", "warn", f"objective {goal.objective!r} is not one of "
                     f"the company objectives: {', '.join(objectives)}"))
    else:
        rows.append(("R", "Relevant", "pass", f"serves: {goal.objective}"))

    # T
    if not goal.deadline:
        rows.append(("T", "Time-bound", "fail", "no deadline"))
    else:
        try:
            dl = pd.Timestamp(goal.deadline).normalize()
        except (ValueError, TypeError):
            dl = None
        if dl is None or pd.isna(dl):
            rows.append(("T", "Time-bound", "fail", f"cannot read deadline {goal.deadline!r}; "
                         "use YYYY-MM-DD"))
        elif data is not None and dl <= data.as_of:
            rows.append(("T", "Time-bound", "fail", f"deadline {dl.date()} has passed (data "
                         f"as of {data.as_of.date()})"))
        elif period is not None and not (period.start <= dl < period.end):
            rows.append(("T", "Time-bound", "warn", f"deadline {dl.date()} is outside the plan "
                         f"period {period.label}"))
        else:
            rows.append(("T", "Time-bound", "pass", f"due {dl.date()}"))

    table = pd.DataFrame(rows, columns=["letter", "criterion", "status", "reason"])
    return SmartCheck(goal, table, baseline, g, pct, hist, g_year, base_period)


def check_goals(goals: list[Goal], data: Dataset | None = None,
                period: Period | str | None = None, capacity: dict[str, float] | None = None,
                objectives: list[str] | None = None,
                forecast: dict[str, float] | None = None) -> pd.DataFrame:
    """SMART status of many goals as one table (``capacity`` / ``forecast`` map scope ->
    USD):
    ``name, metric, scope, baseline, target, implied_growth, S, M, A, R, T, overall``."""
    rows = []
    for goal in goals:
        cap = (capacity or {}).get(goal.scope)
        r = smart_check(goal, data, period, cap, objectives,
                        forecast=(forecast or {}).get(goal.scope))
        rows.append({"name": goal.name, "metric": goal.metric, "scope": goal.scope,
                     "baseline": r.baseline, "target": goal.target,
                     "implied_growth": r.implied_growth,
                     **dict(zip(r.table["letter"], r.table["status"])),
                     "overall": r.overall})
    return pd.DataFrame(rows, columns=["name", "metric", "scope", "baseline", "target",
                                       "implied_growth", "S", "M", "A", "R", "T", "overall"])


def capacity_from_plan(data: Dataset, scope: Scope | str | None = None,
                       period: Period | str | None = None, **options) -> float:
    """Sales capacity (USD) for the scope and period from :mod:`salesplan_nb.steps.capacity`
    (engineer D's step 5), for the ``capacity=`` argument of :func:`smart_check`."""
    cap = capacity_step
    for name in ("capacity_usd", "capacity_total", "plan_capacity"):
        fn = getattr(cap, name, None)
        if fn is not None:
            return float(fn(data, scope, period, **options))
    fn = getattr(cap, "capacity", None)
    if fn is None:
        raise ConfigError("salesplan_nb.steps.capacity has no capacity function: pass capacity= "
                          "in USD instead")
    res = fn(data, scope, period, **options)
    for attr in ("capacity", "total_capacity", "capacity_usd"):
        v = getattr(res, attr, None)
        if isinstance(v, int | float):
            return float(v)
    if isinstance(res, int | float):
        return float(res)
    raise ConfigError("could not read a USD capacity from salesplan_nb.steps.capacity.capacity(); "
                      "pass capacity= in USD instead")


# ---- workspace ---------------------------------------------------------------------------------
def save_goal(ws, goal: Goal, by: str | None = None) -> Goal:
    """Add ``goal`` to the workspace (or update it when its ``id`` is stored); returns the
    goal with its ``id``."""
    return Goal.from_dict(ws.upsert_item(SECTION, goal.to_dict(), by=by))


def save_goals(ws, goals: list[Goal], by: str | None = None) -> list[Goal]:
    """Save several goals (see :func:`save_goal`)."""
    return [save_goal(ws, g, by=by) for g in goals]


def load_goals(ws) -> list[Goal]:
    """The goals stored in the workspace."""
    return [Goal.from_dict(i) for i in ws.items(SECTION)]


def remove_goal(ws, goal: Goal | str) -> None:
    """Delete a stored goal (by Goal or id)."""
    ws.remove_item(SECTION, goal.id if isinstance(goal, Goal) else goal)


def plan_kpi_targets(ws, scope: Scope | str | None = None,
                     period: Period | None = None) -> tuple[dict[str, float], dict[str, str]]:
    """The plan period's KPI targets of ``scope``: the KPI step's recorded targets, with a
    SMART goal of the same scope and metric taking precedence (the goal is the decision of
    record; one number per KPI in the plan). A goal counts when it has no deadline or its
    deadline falls in ``period`` (when given). Returns ``(targets, source)`` with source
    ``"goal"`` or ``"kpi step"`` per KPI."""
    key = str(Scope.parse(scope)) if scope is not None else "company"
    targets = {k: float(v) for k, v in kpis.load_kpi_targets(ws, key).items()}
    source = dict.fromkeys(targets, "kpi step")
    for g in load_goals(ws):
        if g.scope != key or g.metric not in kpis.REGISTRY \
                or not isinstance(g.target, int | float):
            continue
        if period is not None and g.deadline:
            if not period.start <= pd.Timestamp(g.deadline) < period.end:
                continue
        targets[g.metric] = float(g.target)
        source[g.metric] = "goal"
    return targets, source


# ---- the demo's default decision ------------------------------------------------------------
KEY_ACCOUNTS = 3  # accounts with their own bookings goal in the demo


def demo_decision(ws, by: str = "demo") -> str:
    """Step 2 in ``salesplan demo``: company, region and key-account goals, checked and saved.

    Bookings: +15% on the run-rate of the last 12 months (the latest evidence); win rate +2
    points and new logos +10% on the plan's baseline year. Every goal stores the value of its
    metric in the plan's one baseline period (the year the document reports as baseline) and
    its name states the growth on that baseline, so a reader never sees "+15%" beside a 22.8%
    implied growth."""
    data, period = ws.data, ws.period
    ttm = trailing_12_months(data.as_of, "last 12 months")
    base_period = baseline_period(period, data.as_of)
    deadline = (period.end - pd.Timedelta(days=1)).date().isoformat()
    growth = 1.15  # ~10%/year over the 1.5 years from the middle of the last 12 months

    def goal(metric: str, target: float, scope: str, objective: str, owner: str, name: str):
        base = float(kpis.kpi_value(data, metric, scope, base_period))
        g = Goal(metric, float(target), scope, baseline=base, deadline=deadline, owner=owner,
                 objective=objective)
        if not g.implied_growth == g.implied_growth:  # no baseline: name the target instead
            name = name.replace("{growth:+.0%} on {base}", f"{target:,.0f}")
        name = name.format(growth=g.implied_growth, base=base_period.label)
        g.name = name[:1].upper() + name[1:]
        return g

    def bookings(scope: str, objective: str, owner: str, who: str) -> Goal:
        run_rate = float(kpis.kpi_value(data, "bookings", scope, ttm))
        return goal("bookings", round(run_rate * growth, -3), scope, objective, owner,
                    f"{who}bookings {{growth:+.0%}} on {{base}}")

    base_of = {m: float(kpis.kpi_value(data, m, "company", base_period))
               for m in ("win_rate", "new_logos")}
    chosen = [
        bookings("company", "Grow revenue", "VP Sales", ""),
        goal("win_rate", round(base_of["win_rate"] + 0.02, 3), "company",
             "Sell more efficiently", "Sales Ops", "Win rate +2 points on {base}"),
        goal("new_logos", round(base_of["new_logos"] * 1.10), "company",
             "Expand the customer base", "VP Sales", "New logos {growth:+.0%} on {base}"),
    ]
    for region in sorted(data.accounts["region"].dropna().unique()):
        chosen.append(bookings(f"region:{region}", "Grow revenue", f"{region} director",
                               f"{region} "))
    # the company goal is the sum of the region goals (each rounded to $1k), so the quota
    # split's goal-weighted regions carry exactly their goals
    regional = [g for g in chosen if g.metric == "bookings" and str(g.scope) != "company"]
    total = float(sum(g.target for g in regional))
    if regional and abs(total - chosen[0].target) <= 1000 * len(regional):
        chosen[0] = goal("bookings", total, "company", "Grow revenue", "VP Sales",
                         "bookings {growth:+.0%} on {base}")
    # key accounts: the KEY_ACCOUNTS accounts with the most bookings in the last 12 months
    deals = data.deals
    won = deals[(deals["status"] == "won") & ttm.contains(deals["close_date"])]
    top = won.groupby("account_id")["amount"].sum().nlargest(KEY_ACCOUNTS)
    for account_id in top.index:
        chosen.append(bookings(f"account:{account_id}", "Grow key accounts",
                               "Key account manager", f"Key account {account_id} "))
    save_goals(ws, chosen, by=by)
    table = check_goals(chosen, data, period,
                        objectives=["Grow revenue", "Sell more efficiently",
                                    "Expand the customer base", "Grow key accounts"])
    ws.save_output("goals", "smart_check", table)
    counts = table["overall"].value_counts().to_dict()
    return (f"{len(chosen)} goals (baseline {base_period.label}), SMART overall: "
            + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
