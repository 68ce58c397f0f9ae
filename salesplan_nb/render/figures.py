"""Headline maths shared by sections: the company quota split and a unit's share of it, an
account's derived target, and the headline numbers (baseline bookings, target, win rate, open
pipeline). Money is USD, rates are fractions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.core.formats import money, pct
from salesplan_nb.core.periods import trailing_12_months
from salesplan_nb.core.scope import Period
from salesplan_nb.data import resultcache
from salesplan_nb.render.context import PlanContext, _stamp, period_label
from salesplan_nb.steps import forecast as forecast_step
from salesplan_nb.steps import goals as goals_step
from salesplan_nb.steps import kpis as kpis_step
from salesplan_nb.steps import plan_model
from salesplan_nb.steps import quotas as quotas_step
from salesplan_nb.steps import scenarios as scenarios_step

__all__ = ["company_quota_plan", "account_share_target", "headline", "headline_of",
           "plan_figures", "forecast_of", "cached_forecast", "company_share"]


_COMPANY_PLANS: dict[tuple[str, str], tuple[tuple, Any]] = {}


def company_quota_plan(ctx: PlanContext):
    """The company quota split for the plan period with the saved decisions
    (``quotas.quotas_from_workspace``: the saved decisions, the hiring plan's to-be-hired
    seats; the saved ``target`` is the company's), or the SalesplanError the
    decisions raise. Cached per plan folder and period while plan.yaml and the snapshot are
    unchanged (a batch run renders many units from one split), and in the workspace's results
    cache (:mod:`salesplan_nb.data.resultcache`) across runs."""
    q = quotas_step

    def build():
        key = (str(Path(ctx.ws.path).resolve()), ctx.period.label)
        stamp = _stamp(Path(key[0]))
        hit = _COMPANY_PLANS.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
        try:
            plan = resultcache.cached(  # with the hiring plan's to-be-hired seats
                ctx.ws, "company_quota_plan", lambda: q.quotas_from_workspace(
                    ctx.ws, None, ctx.period),
                args=(ctx.period.label,), sections=(q.SECTION, "capacity"))
        except SalesplanError as exc:
            plan = exc
        _COMPANY_PLANS[key] = (stamp, plan)
        return plan
    return ctx.once("company_quota_plan", build)


def _quota_plan(ctx: PlanContext):
    """The quota plan of the context's scope: the company split itself, or for a region,
    territory or rep its subtree of the company split (its quota as target, its territories
    and reps below), so every plan shows the quotas the company plan assigns. Accounts carry
    no quota: a SalesplanError says so. ``None`` without the quotas module."""
    q = quotas_step
    company = company_quota_plan(ctx)
    if ctx.scope.level == "company" or isinstance(company, SalesplanError):
        return company

    def build():
        if ctx.scope.level not in q.LEVELS:
            return ConfigError(f"{ctx.scope.level} plans carry no quota (quotas are split to "
                               "regions, territories and reps)")
        notes = [f"the quota of {ctx.unit_label} in the company split (company target "
                 f"{money(company.target)}" + (f": {company.note}" if company.note else "")
                 + ")"]
        sub = q.subtree(company, ctx.scope.level, ctx.scope.id, notes)
        if sub is None:
            return ConfigError(f"{ctx.unit_label} has no quota in the company split for "
                               f"{ctx.period.label} (no quota-carrying reps there)")
        sub.scope = str(ctx.scope)
        return sub
    return ctx.once("quota_plan", build)


def forecast_of(ctx: PlanContext):
    """The scope's forecast for the plan period, computed once per context (the growth
    forecast section and the plan figures print the same number)."""
    return ctx.once("forecast", lambda: cached_forecast(ctx.ws, ctx.scope, ctx.period))


def cached_forecast(ws, scope, period: Period, build=None):
    """``forecast(scope, period)`` (default options) through the workspace's results cache;
    ``build()`` computes it on a miss (default ``forecast_step.forecast``: a batch run passes
    the result it computed for many scopes at once, so the units find it cached)."""
    return resultcache.cached(
        ws, "forecast", build or (lambda: forecast_step.forecast(ws.data, scope, period)),
        args=(scope, period.label, "default"))


_MODELS: dict[tuple[str, str], tuple[tuple, Any]] = {}


def plan_figures(ctx: PlanContext, target: float | None) -> dict:
    """The reconciled plan figures of the context's scope (:mod:`salesplan_nb.steps.
    plan_model`), JSON-ready; the scenario model is built once per plan folder and period."""
    def model():
        key = (str(Path(ctx.ws.path).resolve()), ctx.period.label)
        stamp = _stamp(Path(key[0]))
        hit = _MODELS.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
        m = scenarios_step.from_workspace(ctx.ws, ctx.period)
        _MODELS[key] = (stamp, m)
        return m

    seats = ctx.scope.level in plan_model.SEAT_LEVELS
    qp = _quota_plan(ctx) if seats else None
    r = forecast_of(ctx)
    total = float(r.total["point"]) if len(r.table) else None  # the chosen method's point
    try:
        f = plan_model.plan_figures(
            ctx.ws, ctx.scope, ctx.period, target=target,
            quota_plan=None if isinstance(qp, Exception) else qp,
            model=model() if seats else None, forecast_total=total)
    except SalesplanError as exc:
        return {"error": str(exc)}
    return f.as_dict()


def _won(ctx: PlanContext, period: Period) -> pd.DataFrame:
    d = ctx.deals
    return d[(d["status"] == "won") & period.contains(d["close_date"])]


def account_share_target(ctx: PlanContext) -> tuple[float | None, str]:
    """Derived bookings target of an account: its share of the quotas of the territories it
    buys in, by trailing bookings. For each territory T (the owner rep's, else the
    account's) where the account has won bookings in the trailing 12 months
    (``quotas.history_window``): share_T = the account's won bookings in T / all won bookings
    in T over those months; target = sum over T of share_T x T's quota in the company split.
    Returns ``(target, label)``, or ``(None, reason)`` when it cannot be derived."""
    q = quotas_step
    company = company_quota_plan(ctx)
    if isinstance(company, SalesplanError):
        return None, f"the quota split fails: {company}"
    win = q.history_window(ctx.data)
    d = ctx.data.deals
    won = d[(d["status"] == "won") & win.contains(d["close_date"])]
    mine = won[(won["account_id"] == ctx.scope.id).fillna(False).astype(bool)]
    by_t = mine.groupby("territory")["amount"].sum()
    by_t = by_t[by_t > 0]
    if not len(by_t):
        return None, f"{ctx.unit_label} has no won bookings in the {win.label}"
    totals = won.groupby("territory")["amount"].sum()
    t = company.table
    terr_rows = t[t["level"] == "territory"].set_index("unit_id")
    parts = []  # (contribution, name, share, quota)
    for terr, amount in by_t.items():
        if terr in terr_rows.index and totals.get(terr, 0) > 0:
            share = float(amount) / float(totals[terr])
            quota = float(terr_rows.loc[terr, "quota"])
            parts.append((share * quota, str(terr_rows.loc[terr, "name"]), share, quota))
    if not parts:
        return None, (f"the territories {ctx.unit_label} buys in have no quota in the company "
                      "split")
    parts.sort(key=lambda x: -x[0])
    shown = "; ".join(f"{pct(sh)} of territory {n}'s quota {money(qu)}"
                      for _, n, sh, qu in parts[:3])
    n_more = len(parts) - 3
    more = f"; and {n_more} more territor{'y' if n_more == 1 else 'ies'}" if n_more > 0 else ""
    return sum(x[0] for x in parts), (
        f"derived: {shown}{more} - the account's share of each territory's won bookings in "
        f"the {win.label}")


def _ends_period(goal, period: Period) -> bool:
    """A goal is the plan's target when it has no deadline or its deadline falls in the plan
    period's last 12 months (a 2027 goal is an interim milestone of a 2027..2029 plan)."""
    if not goal.deadline:
        return True
    try:
        d = pd.Timestamp(goal.deadline)
    except (ValueError, TypeError):
        return False
    return period.end - pd.DateOffset(years=1) <= d < period.end


def headline(ctx: PlanContext) -> dict:
    """Headline numbers: baseline bookings, growth on the year before, plan target, implied
    growth, win rate (won / closed in the baseline), open pipeline (open amount at
    ``as_of``), reps in scope (for an account: reps owning its open deals).

    Target, first found: a recorded bookings goal for exactly this scope, the given target for
    it (``kpis.target_for``: the data's targets table), then for regions, territories and reps
    their quota in the company split, for an account :func:`account_share_target` (labelled
    "derived"). A company-level goal, target or quota is never shown as a unit's own."""
    d = ctx.deals
    base = float(_won(ctx, ctx.baseline)["amount"].sum())
    prior = float(_won(ctx, ctx.baseline.previous())["amount"].sum())
    closed = d[d["status"].isin(["won", "lost"]) & ctx.baseline.contains(d["close_date"])]
    won_n = int((closed["status"] == "won").sum())
    target, source, note = None, "", ""
    for goal in goals_step.load_goals(ctx.ws):
        if goal.metric == "bookings" and str(goal.scope) == str(ctx.scope) \
                and isinstance(goal.target, int | float) and _ends_period(goal, ctx.period):
            target, source = float(goal.target), "recorded goal"
            break
    if target is None:
        t = kpis_step.target_for(ctx.data, ctx.scope, ctx.period)
        if t is not None and not math.isnan(t):
            target, source = float(t), "given target"
    if target is None and ctx.scope.level == "account":
        target, note = account_share_target(ctx)
        source = note if target is not None else ""
    elif target is None and ctx.period.n_months > 12:  # a quota target is for one year
        note = ("quota targets are annual: record a bookings goal for this unit with its "
                f"deadline in the last year of {ctx.period.label}")
    elif target is None:
        qp = _quota_plan(ctx)
        if qp is not None and not isinstance(qp, Exception) and qp.target:
            target, source = float(qp.target), (
                "quota plan" if ctx.scope.level == "company" else "quota in the company split")
    reps = d.loc[d["status"] == "open", "owner_id"].nunique() if ctx.scope.level == "account" \
        else int(d["owner_id"].nunique())
    years = ctx.period.n_months / 12
    ttm = float(_won(ctx, trailing_12_months(ctx.data.as_of))["amount"].sum())
    return {
        "unit": ctx.unit_label, "scope": str(ctx.scope), "period": ctx.period.label,
        "baseline_period": ctx.baseline.label, "baseline_bookings": base,
        "prior_bookings": prior,
        "baseline_growth": (base / prior - 1) if prior > 0 else None,
        "target": target, "target_source": source,
        "target_note": "" if target is not None else note,
        "implied_growth": ((target / (base * years)) - 1) if (target and base > 0) else None,
        "ttm_bookings": ttm,
        "growth_label": f"{ctx.baseline.label} vs {ctx.baseline.previous().label}",
        "target_growth_label": f"{period_label(ctx.period)} target vs {ctx.baseline.label}",
        **_coverage(ctx, target),
        "growth_vs_ttm": ((target / (ttm * years)) - 1) if (target and ttm > 0) else None,
        "win_rate": (won_n / len(closed)) if len(closed) and ctx.data.has_pipeline else None,
        "pipeline": ctx.data.has_pipeline,
        "closed_deals": int(len(closed)),
        "open_pipeline": float(d.loc[d["status"] == "open", "amount"].sum()),
        "reps": int(reps),
        "figures": plan_figures(ctx, target),
    }


def _coverage(ctx: PlanContext, target: float | None) -> dict:
    """Pipeline coverage of the plan period: open pipeline expected to close in the period
    (open deals whose expected close date falls in it, USD) / remaining target (target minus
    bookings already won in the period up to as_of). ``None`` without a target or when the
    target is already met."""
    d = ctx.deals
    in_period = d[(d["status"] == "open") & ctx.period.contains(d["close_date"])]
    pipe = float(in_period["amount"].sum())
    won = float(_won(ctx, ctx.period)["amount"].sum())
    remaining = (target - won) if target else None
    cov = kpis_step.coverage_ratio(pipe, target, won) if target else math.nan  # one rule
    return {"pipeline_in_period": pipe, "won_in_period": won, "remaining_target": remaining,
            "coverage": cov if math.isfinite(cov) else None}


def company_share(ctx: PlanContext) -> float:
    """The unit's share of the company, used to apportion company-wide figures (tactic and
    investment budgets, hires): unit won bookings / company won bookings in the baseline
    period (1 for the company; 0 when the company booked nothing)."""
    if ctx.scope.level == "company":
        return 1.0

    def build() -> float:
        d = ctx.data.deals
        total = float(d.loc[(d["status"] == "won") & ctx.baseline.contains(d["close_date"]),
                            "amount"].sum())
        mine = float(_won(ctx, ctx.baseline)["amount"].sum())
        return mine / total if total > 0 else 0.0
    return ctx.once("company_share", build)


def headline_of(ctx: PlanContext) -> dict:
    """:func:`headline` computed once per context (every section reads the same numbers)."""
    return ctx.once("headline", lambda: headline(ctx))
