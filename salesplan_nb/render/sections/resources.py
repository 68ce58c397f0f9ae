"""Resource allocation: sales capacity (step 5) and the budget split (step 11)."""

from __future__ import annotations

from salesplan_nb.core.formats import money
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import headline_of
from salesplan_nb.steps import capacity as capacity_step
from salesplan_nb.steps import resources as resources_step


def resource_allocation(ctx: PlanContext) -> Section:
    """Budget allocation (resources.py) and sales capacity vs target (capacity.py)."""
    s = Section("resource_allocation", "Resource allocation")
    cap = capacity_step
    h = headline_of(ctx)
    settings = cap.load_capacity_settings(ctx.ws) or {}
    kw = {k: settings[k] for k in ("ramp", "attrition", "backfill_lag", "hires")
          if settings.get(k) is not None}
    plan = cap.capacity_plan(ctx.data, ctx.scope, ctx.period, target=h["target"], **kw)
    if plan.rre_months and plan.capacity:
        txt = (f"Capacity: {plan.rre_months / max(ctx.period.n_months, 1):.1f} ramped rep "
               f"equivalents on average, productivity {money(plan.productivity)} per RRE "
               f"month, capacity {money(plan.capacity)}")
        if plan.target:
            txt += f" against a target of {money(plan.target)}"
            if plan.gap and plan.gap > 0:
                txt += (f": a gap of {money(plan.gap)}"
                        + (f", about {plan.hires_needed:g} hires" if plan.hires_needed
                           else ""))
        s.add(txt + ".")
        s.add(cap.chart_capacity(plan))
    else:
        s.add(Missing(f"reps or bookings history in {ctx.unit_label} to compute capacity"))
    res = resources_step
    saved = res.load_resources(ctx.ws)
    if not saved.get("budget") or not saved.get("investments"):
        return s.add(Missing("no investment budget is recorded in plan.yaml "
                             "(decisions.resources)", "Set the budget and investments in the "
                             "resources step."))
    alloc = res.allocate(float(saved["budget"]), saved["investments"],
                         method=saved.get("method") or "kkt")
    t = alloc.table
    cols = [c for c in ["name", "kind", "current", "spend", "change", "return", "marginal_roi",
                        "avg_roi"] if c in t.columns]
    s.add(f"Budget {money(alloc.budget)} allocated for an expected return of "
          f"{money(alloc.total_return)} (now {money(alloc.current_return)}).")
    s.add(Table(t[cols], {"current": "money", "spend": "money", "change": "money",
                          "return": "money", "marginal_roi": "num", "avg_roi": "num"}))
    s.add(res.chart_allocation(alloc))
    return s
