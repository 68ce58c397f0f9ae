"""Headline maths shared by sections: the company quota split and a unit's share of it, an
account's derived target, and the headline numbers (baseline bookings, target, win rate, open
pipeline). Money is USD, rates are fractions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.core.formats import cell, money, pct, tag
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

__all__ = ["company_quota_plan", "scenario_model", "account_share_target", "headline",
           "headline_of", "plan_figures", "forecast_of", "cached_forecast", "company_share", "fig",
           "FIGURE_KINDS"]

#: the named plan figures a section may print (key in the run record's ``figures`` -> how it
#: is shown in text); every section prints them through :func:`fig`, so the plan document
#: tags each (``<span data-figure="target">``) and tests/test_plan_consistency.py checks that
#: every tag of a name shows the run record's value
FIGURE_KINDS = {"target": "money", "baseline": "money", "forecast": "money",
                "capacity": "money", "quota_total": "money", "tbh_seats": "int",
                "hires": "int", "reps_expected_at_100": "pct", "base_scenario": "money",
                "plan_scenario": "money", "p_reach_target": "pct", "coverage": "x",
                "budget": "money"}


def fig(name: str, value: float | None, where: str = "text") -> str:
    """The plan figure ``name`` formatted (:mod:`salesplan_nb.core.formats`: ``money`` in
    text, whole dollars in a table ``cell``; ``pct``; ``int``; coverage as ``1.34x``) and
    tagged as that figure (:func:`salesplan_nb.core.formats.tag`)."""
    kind = FIGURE_KINDS[name]
    if kind == "x":
        text = "n/a" if value is None else f"{float(value):.2f}x"
    elif where == "cell":
        text = cell(value, kind)
    elif kind == "money":
        text = money(value)
    elif kind == "pct":
        text = pct(value)
    else:
        text = "n/a" if value is None else f"{float(value):,.0f}"
    return tag(name, text)


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
        try:
            return resultcache.cached(  # with the hiring plan's to-be-hired seats
                ctx.ws, "company_quota_plan", lambda: q.quotas_from_workspace(
                    ctx.ws, None, ctx.period),
                args=(ctx.period.label,), sections=(q.SECTION, "capacity", "goals"))
        except SalesplanError as exc:
            return exc
    return ctx.once("company_quota_plan", lambda: _per_plan(_COMPANY_PLANS, ctx, build))


def _per_plan(store: dict, ctx: PlanContext, build: Callable[[], Any]) -> Any:
    """``build()`` cached in ``store`` per plan folder and period while plan.yaml and the
    data snapshot are unchanged (:func:`salesplan_nb.render.context._stamp`)."""
    key = (str(Path(ctx.ws.path).resolve()), ctx.period.label)
    stamp = _stamp(Path(key[0]))
    hit = store.get(key)
    if hit and hit[0] == stamp:
        return hit[1]
    value = build()
    store[key] = (stamp, value)
    return value


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


def scenario_model(ctx: PlanContext):
    """The workspace's scenario model for the plan period (``scenarios.from_workspace`` on
    the company quota split :func:`company_quota_plan` already holds, so the split is not
    computed again), built once per plan folder and period: the plan figures and the
    scenarios section price the same model. Shared: a caller that changes it copies it."""
    return ctx.once("scenario_model", lambda: _per_plan(
        _MODELS, ctx, lambda: scenarios_step.from_workspace(
            ctx.ws, ctx.period, quota_plan=company_quota_plan(ctx))))


def plan_figures(ctx: PlanContext, target: float | None, coverage: float | None = None
                 ) -> dict:
    """The reconciled plan figures of the context's scope (:mod:`salesplan_nb.steps.
    plan_model`), JSON-ready, with the headline's pipeline ``coverage`` and the unit's
    ``budget`` (the resources step's budget, apportioned by :func:`company_share` below the
    company); the scenario model is built once per plan folder and period."""
    seats = ctx.scope.level in plan_model.SEAT_LEVELS
    qp = _quota_plan(ctx) if seats else None
    r = forecast_of(ctx)
    total = float(r.total["point"]) if len(r.table) else None  # the chosen method's point
    try:
        f = plan_model.plan_figures(
            ctx.ws, ctx.scope, ctx.period, target=target,
            quota_plan=None if isinstance(qp, Exception) else qp,
            model=scenario_model(ctx) if seats else None, forecast_total=total)
    except SalesplanError as exc:
        return {"error": str(exc)}
    return {**f.as_dict(), "coverage": coverage, "budget": unit_budget(ctx)}


def unit_budget(ctx: PlanContext) -> float | None:
    """The unit's investment budget (USD): the resources step's recorded budget, apportioned
    by :func:`company_share` below the company; ``None`` when none is recorded."""
    from salesplan_nb.steps import resources as resources_step

    saved = resources_step.load_resources(ctx.ws)
    if not saved.get("budget"):
        return None
    return float(saved["budget"]) * company_share(ctx)


def _won(ctx: PlanContext, period: Period) -> pd.DataFrame:
    d = ctx.deals
    return d[(d["status"] == "won") & period.contains(d["close_date"])]


#: an account's derived target is at most (1 + this) x its reference bookings (the larger of
#: its baseline-year bookings and its average annual bookings over the last 24 months)
ACCOUNT_GROWTH_CAP = 0.50


def account_targets(ws, data, company) -> pd.DataFrame:
    """Derived bookings targets of every account with won bookings in the last 24 months, as
    shares of the territory quotas of ``company`` (the company quota split), by the quota
    step's own weights, capped. Per account ``a`` and territory ``T`` it buys in (USD):

    - ``hist_share`` = a's won bookings in T / all won bookings in T over the quota step's
      history window (trailing 12 months, :func:`quotas.history_window`: the basis T's quota
      was split on);
    - ``pot_share`` = a's potential / T's potential (:func:`market.account_potential`), in its
      home territory only;
    - ``share`` = the quota decisions' method weights (history / potential / blend) over the
      two; ``uncapped = share x quota_T`` summed over T;
    - ``reference`` = max(bookings in the baseline year, won bookings of the last 24 months /
      2) and ``cap = (1 + ACCOUNT_GROWTH_CAP) x reference``; ``target = min(uncapped, cap)``
      (``capped`` says when the cap binds: one lumpy deal cannot set next year's target).

    Each territory's account targets sum to at most its quota (the rest is new business).
    Columns: account_id, territory (largest contribution), quota, hist_share, pot_share,
    uncapped, reference, cap, target, capped."""
    q = quotas_step
    from salesplan_nb.core.periods import baseline_period
    from salesplan_nb.steps import market as market_step

    win = q.history_window(data)
    t24_start = win.start - pd.DateOffset(years=1)
    d = data.deals
    won = d[d["status"] == "won"]
    w12 = won[win.contains(won["close_date"])]
    by = w12.groupby(["account_id", "territory"])["amount"].sum()
    tot = w12.groupby("territory")["amount"].sum()
    t = company.table
    terr = t[t["level"] == "territory"].set_index("unit_id")
    hist = by.reset_index().rename(columns={"amount": "hist"})
    try:
        pot = market_step.account_potential(data).table[["account_id", "territory",
                                                         "potential"]].dropna()
    except Exception:  # noqa: BLE001 - no potential: history only
        pot = pd.DataFrame({"account_id": [], "territory": [], "potential": []})
    pot_tot = pot.groupby("territory")["potential"].sum()
    rows = hist.merge(pot, on=["account_id", "territory"], how="outer")
    rows = rows[rows["territory"].isin(terr.index)]
    rows["hist_share"] = (rows["hist"].fillna(0) / rows["territory"].map(tot)).fillna(0.0)
    rows["pot_share"] = (rows["potential"].fillna(0) / rows["territory"].map(pot_tot)
                         ).fillna(0.0)
    dec = company.decisions
    wh, wp = {"history": (1.0, 0.0), "growth": (1.0, 0.0), "potential": (0.0, 1.0)}.get(
        dec.method, (float(dec.weights.get("history", 0)), float(dec.weights.get("potential",
                                                                                    0))))
    wsum = (wh + wp) or 1.0
    rows["quota"] = rows["territory"].map(terr["quota"]).astype(float)
    rows["part"] = (wh * rows["hist_share"] + wp * rows["pot_share"]) / wsum * rows["quota"]
    base_p = baseline_period(Period.parse(str(data.as_of.year + 1)), data.as_of)
    in24 = won[(won["close_date"] >= t24_start) & (won["close_date"] < win.end)]
    a24 = in24.groupby("account_id")["amount"].sum() / 2.0
    abase = won[base_p.contains(won["close_date"])].groupby("account_id")["amount"].sum()
    top = rows.sort_values("part", ascending=False).drop_duplicates("account_id")
    out = rows.groupby("account_id").agg(uncapped=("part", "sum"),
                                         hist_share=("hist_share", "sum"),
                                         pot_share=("pot_share", "sum")).reset_index()
    out = out.merge(top[["account_id", "territory", "quota"]], on="account_id")
    out["reference"] = np.maximum(out["account_id"].map(a24).fillna(0.0).to_numpy(),
                                  out["account_id"].map(abase).fillna(0.0).to_numpy())
    out = out[out["reference"] > 0].reset_index(drop=True)
    out["cap"] = (1 + ACCOUNT_GROWTH_CAP) * out["reference"]
    out["target"] = np.minimum(out["uncapped"], out["cap"])
    out["capped"] = out["uncapped"] > out["cap"]
    return out


def account_share_target(ctx: PlanContext) -> tuple[float | None, str]:
    """Derived bookings target of an account (:func:`account_targets`): its share of its
    territory's quota in the company split, by the quota step's weights of history and
    potential, capped at (1 + :data:`ACCOUNT_GROWTH_CAP`) x its reference bookings. Returns
    ``(target, label)`` with the reason shown, or ``(None, reason)``."""
    company = company_quota_plan(ctx)
    if isinstance(company, SalesplanError):
        return None, f"the quota split fails: {company}"
    table = ctx.once("account_targets", lambda: resultcache.cached(
        ctx.ws, "account_targets", lambda: account_targets(ctx.ws, ctx.data, company),
        args=(ctx.period.label,), sections=(quotas_step.SECTION, "capacity", "goals")))
    row = table[table["account_id"] == ctx.scope.id]
    if not len(row):
        return None, (f"{ctx.unit_label} has no won bookings in the last 24 months in a "
                      "territory with a quota")
    r = row.iloc[0]
    terr = company.table
    name = terr.loc[(terr["level"] == "territory") & (terr["unit_id"] == r["territory"]),
                    "name"]
    tname = str(name.iloc[0]) if len(name) else str(r["territory"])
    dec = company.decisions
    basis = {"history": "history", "growth": "history", "potential": "potential"}.get(
        dec.method, f"blend of history {pct(dec.weights.get('history', 0), 0)} and potential "
                    f"{pct(dec.weights.get('potential', 0), 0)}")
    why = (f"derived: the account's share of territory {tname}'s quota {money(r['quota'])} "
           f"by {basis} (history {pct(r['hist_share'])} of the territory's last-12-month "
           f"bookings, potential {pct(r['pot_share'])}) = {money(r['uncapped'])}")
    if r["capped"]:
        why += (f", capped at {pct(1 + ACCOUNT_GROWTH_CAP, 0)} of its reference bookings "
                f"{money(r['reference'])} (the larger of its {ctx.baseline.label} bookings "
                "and its average year over the last 24 months)")
    return float(r["target"]), why


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
        "figures": plan_figures(ctx, target, _coverage(ctx, target)["coverage"]),
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
