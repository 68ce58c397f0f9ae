"""One reconciled plan: the figures every section, widget and run record reads for a scope.

The plan model sits between the steps and the plan document (render/ and batch/ read it; it
reads the workspace's recorded decisions through the steps). For a scope (company, region,
territory, rep) and the plan period it computes, in USD for the period unless stated:

- ``target``: the plan target (given by the caller: the recorded goal, the data's targets or
  the unit's quota in the company split, see the report's headline);
- ``baseline``: won bookings of the baseline window (:func:`plan_baseline`, the same window
  the target's growth is measured on and the plan document's context uses);
- ``forecast``: the forecast step's backtested blend for the period (no plan change);
- ``capacity``: the capacity step with the hiring plan (ramped seats x measured
  productivity, attrition, backfill): the company counts every recorded hire, a unit the
  to-be-hired seats the quota split placed in it (:func:`placed_hires`, also ``hires``);
  ``capacity_no_hires`` without any;
- ``quota_total``: the sum of the scope's seat quotas (existing reps and to-be-hired seats),
  ``tbh_seats`` the to-be-hired seats among them; ``over_assignment`` the rep level's total;
- ``reps_expected_at_100``: share (0..1) of seats expected to reach 100% of quota from their
  planned productivity with its spread (:func:`salesplan_nb.steps.quotas.fairness`);
  ``flag`` a sentence when outside the healthy 50-75% band;
- ``base_scenario``: the workspace's scenario model (same quotas, seats, ramp and attrition
  as the plan) calibrated to the forecast: bookings with no change = ``forecast``;
- ``plan_scenario``: the quota plan's seats (existing reps and to-be-hired seats, the seats
  behind ``quota_total``) at their planned productivity (the quotas step's planned bookings,
  the basis of ``reps_expected_at_100``) with the tactics' expected effects; ``plan_scenario
  / quota_total`` is the plan's expected attainment; ``p_reach_target``: Monte Carlo
  P(plan-scenario bookings >= target), tactic effects uncertain;
- ``bridge``: last year's bookings -> forecast -> hires -> tactics -> target, a list of
  ``{step, amount}`` that sums to the target exactly (to the cent): ``last year's bookings``
  (the baseline), ``forecast change`` (forecast - baseline), ``hires`` (hires-only scenario
  - no-change scenario), ``tactics`` (plan scenario - hires only), both at the plan's
  planned productivity, and
  ``not yet covered`` (target - forecast - hires - tactics: the gap no decision closes yet;
  named ``cushion above the target`` when negative: the plan overshoots the target);
- ``gaps``: target vs capacity, vs the quota total and vs the forecast, each with its amount
  (target - figure), reason and the decision that closes it; ``biggest_gap`` names the
  largest.

Reconciliation rules (checked by tests/test_plan.py): the bridge sums to the target; the quota
total is at most target x (1 + over-assignment) (the over-assignment is one total per level,
to-be-hired seats carry ramped quota, ramp gaps are not loaded onto peers); the plan scenario
is priced against the plan target.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from salesplan_nb.core.periods import baseline_period
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.steps import capacity, forecast, quotas, scenarios

#: scope levels with seats (quota, capacity, scenarios)
SEAT_LEVELS = ("company", "region", "territory", "rep")


@dataclass
class PlanFigures:
    """The reconciled figures of one scope (see the module doc); ``None`` = not applicable."""

    scope: str
    period: str
    target: float | None
    baseline: float
    baseline_period: str
    forecast: float | None
    capacity: float | None
    capacity_no_hires: float | None
    quota_total: float | None
    over_assignment: float | None
    tbh_seats: int | None
    hires: float | None
    reps_expected_at_100: float | None
    flag: str
    base_scenario: float | None
    plan_scenario: float | None
    p_reach_target: float | None
    bridge: list[dict] = field(default_factory=list)
    gaps: list[dict] = field(default_factory=list)
    biggest_gap: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready figures (floats, ints, strings, lists; NaN -> None)."""
        def clean(v):
            if isinstance(v, float | np.floating):
                return float(v) if math.isfinite(v) else None
            if isinstance(v, np.integer):
                return int(v)
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v
        return clean(asdict(self))


def placed_hires(quota_plan, recorded: list, level: str) -> list[dict]:
    """The hires of the scope (the ``hires`` figure): the company counts every recorded hire;
    a region, territory or rep the to-be-hired seats the quota split placed in it (one hire
    per seat, in its territory and start month; :func:`salesplan_nb.steps.quotas.tbh_seats`,
    the rule the capacity step places unplaced hires by), so a unit's capacity, hires and
    quota rest on the same seats."""
    if level == "company" or quota_plan is None or isinstance(quota_plan, Exception):
        return list(recorded or [])
    t = quota_plan.table
    rows = t[(t["level"] == "rep") & t["unit_id"].astype(str).str.startswith(quotas.TBH_PREFIX)]
    return [{"month": str(r.unit_id)[len(quotas.TBH_PREFIX):len(quotas.TBH_PREFIX) + 7],
             "count": 1.0, "territory": str(r.parent)} for r in rows.itertuples()]


def plan_baseline(period: Period, as_of) -> Period:
    """The baseline window of a plan: the latest period like the plan's that is over by
    ``as_of`` (:func:`salesplan_nb.core.periods.baseline_period`); for a plan longer than a
    year (long-term), the last complete calendar year (its targets are read year by year)."""
    if period.n_months > 12:
        return baseline_period(Period.parse(str(pd.Timestamp(as_of).year + 1)), as_of)
    return baseline_period(period, as_of)


def _bookings(data, scope: Scope, period: Period) -> float:
    d = scope.filter(data.deals)
    won = d[(d["status"] == "won") & period.contains(d["close_date"])]
    return float(won["amount"].fillna(0).sum())


def bridge(baseline: float, forecast_: float, hires: float, tactics: float,
           target: float) -> list[dict]:
    """The plan bridge (see the module doc): amounts rounded to cents, the last step absorbing
    the rounding so the list sums to ``round(target, 2)`` exactly."""
    steps = [("last year's bookings", baseline), ("forecast change", forecast_ - baseline),
             ("hires", hires), ("tactics", tactics)]
    cents = [int(round(a * 100)) for _, a in steps]
    rest = int(round(target * 100)) - sum(cents)
    out = [{"step": s, "amount": c / 100} for (s, _), c in zip(steps, cents)]
    # the last step closes the bridge: a gap no decision closes yet, or (negative) the amount
    # by which the forecast and the decisions overshoot the target
    out.append({"step": "not yet covered" if rest >= 0 else "cushion above the target",
                "amount": rest / 100})
    return out


def _gaps(target: float | None, f: dict) -> list[dict]:
    """Target minus capacity / quota total / forecast, with the reason and the decision."""
    if not target:
        return []
    rows = []
    if f.get("capacity") is not None:
        g = target - f["capacity"]
        rows.append({"figure": "capacity", "gap": g,
                     "reason": ("the seats with the hiring plan cannot deliver the target at "
                                "measured productivity" if g > 0 else
                                "capacity with the hiring plan exceeds the target"),
                     "closes_it": ("more or earlier hires (capacity step) or a lower target"
                                   if g > 0 else "none needed")})
    if f.get("quota_total") is not None:
        g = target - f["quota_total"]
        rows.append({"figure": "sum of quotas", "gap": g,
                     "reason": ("quotas carry over-assignment above the target"
                                if g < 0 else "ramped and to-be-hired seats carry less than "
                                "the target"),
                     "closes_it": "the over-assignment and ramp decisions (quotas step)"})
    if f.get("forecast") is not None:
        g = target - f["forecast"]
        rows.append({"figure": "forecast", "gap": g,
                     "reason": ("without a change, bookings fall short of the target"
                                if g > 0 else "the forecast already meets the target"),
                     "closes_it": ("hires (capacity step) and tactics (strategy step)"
                                   if g > 0 else "none needed")})
    return rows


def plan_figures(ws, scope: Scope | str = "company", period: Period | str | None = None, *,
                 target: float | None = None, quota_plan=None, model=None,
                 forecast_total: float | None = None, n_draws: int = 2000) -> PlanFigures:
    """The reconciled figures of ``scope`` (see the module doc). ``quota_plan``: the scope's
    quota plan (the company split or its subtree; default: built from the workspace);
    ``model``: the workspace's :class:`~salesplan_nb.steps.scenarios.ScenarioModel` (default:
    built, ~1 s); ``forecast_total``: the forecast when the caller has it."""
    data = ws.data
    sc = Scope.parse(scope)
    per = Period.parse(period) if period is not None else ws.period
    notes: list[str] = []
    base_p = plan_baseline(per, data.as_of)
    baseline = _bookings(data, sc, base_p)
    if forecast_total is None:
        r = forecast.forecast(data, sc, per)  # the one default forecast (its chosen method)
        forecast_total = float(r.total["point"]) if len(r.table) else None
    seats = sc.level in SEAT_LEVELS
    cap = cap0 = quota_total = over = tbh = share = hires = planned = None
    flag = ""
    if seats:
        cs = capacity.load_capacity_settings(ws)
        if quota_plan is None:  # the company split (of this target when it is the company's)
            quota_plan = quotas.quotas_from_workspace(
                ws, None, per, target if sc.level == "company" else None)
            if sc.level != "company":
                quota_plan = quotas.subtree(quota_plan, sc.level, sc.id)
        placed = placed_hires(quota_plan, cs["hires"], sc.level)
        hires = float(sum(float(h["count"] if isinstance(h, dict) else h.count)
                          for h in placed))
        # the capacity step places unplaced hires by the quotas step's rule itself
        cap = capacity.capacity_plan(data, sc, per, target=target or 0.0, **cs).capacity
        cap0 = capacity.capacity_plan(data, sc, per, target=target or 0.0,
                                      **{**cs, "hires": []}).capacity
        if quota_plan is not None and not isinstance(quota_plan, Exception) \
                and not quota_plan.table.empty:
            reps = quota_plan.level("rep")
            quota_total = float(reps["quota"].sum())
            tbh = quota_plan.tbh_seats
            over = quotas.total_over_assignment(quota_plan.decisions, "rep")
            fair = quotas.fairness(quota_plan, "rep")
            share = fair.share_100_normal
            flag = fair.flag
            planned = scenarios.planned_bookings(quota_plan)
    base_s = plan_s = p_reach = None
    hires_eff = tactics_eff = 0.0
    if seats:
        if model is None:
            model = scenarios.from_workspace(ws, per)
        if sc.level == "company" and quota_total is not None and abs(
                model.recompute().total(sc, "quota") - quota_total) > 1.0:
            model.set_quotas(data, quota_plan)  # price this plan's quotas (its target)
        plan_sc = scenarios.plan_scenario(model, ws)
        hires_only = scenarios.Scenario(
            "hires", [c for c in plan_sc.changes if c.driver == "headcount"])
        # base = the forecast (no change)
        fmodel = model if forecast_total is None else model.calibrated(sc, forecast_total)
        base_s = float(fmodel.recompute().total(sc, "bookings"))
        # plan = the quota plan's seats (existing + to-be-hired) at their planned
        # productivity (quotas' planned bookings) + the tactics; hires and tactics on it
        pmodel = fmodel if planned is None else scenarios.at_planned_productivity(
            model, sc, planned, plan_sc)
        if planned is None:
            notes.append("plan scenario on the forecast basis (no planned productivity)")
        tot = {name: float(pmodel.recompute(s).total(sc, "bookings")) for name, s in
               (("base", scenarios.Scenario("base")), ("hires", hires_only), ("plan", plan_sc))}
        hires_eff, tactics_eff = tot["hires"] - tot["base"], tot["plan"] - tot["hires"]
        plan_s = tot["plan"]
        if target:
            mc = scenarios.monte_carlo(pmodel, plan_sc, sc, target=target, n=n_draws)
            p_reach = float(mc.probability)
    figs = {"capacity": cap, "quota_total": quota_total, "forecast": forecast_total}
    gaps = _gaps(target, figs)
    biggest = max(gaps, key=lambda g: abs(g["gap"]))["figure"] if gaps else ""
    br: list[dict] = []
    if target is not None and per.n_months <= 12:
        br = bridge(baseline, forecast_total or 0.0, hires_eff, tactics_eff, target)
    elif target is not None:
        notes.append("the bridge is for plans of up to 12 months (a long-term plan's target "
                     "spans several years)")
    return PlanFigures(str(sc), per.label, target, baseline, base_p.label, forecast_total,
                       cap, cap0, quota_total, over, tbh, hires, share, flag, base_s, plan_s,
                       p_reach, br, gaps, biggest, notes)
