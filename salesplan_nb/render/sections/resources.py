"""Resource allocation: sales capacity (step 5) and the budget split (step 11)."""

from __future__ import annotations

from salesplan_nb.core.formats import money, pct
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import company_share, headline_of
from salesplan_nb.render.sections.where import to_decide
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
    hires = [h if isinstance(h, dict) else dict(vars(h))
             for h in (settings.get("hires") or [])]
    hires = [h for h in hires if h.get("count")]
    if hires:
        mine = [h for h in hires if _hire_in(ctx, h)]
        company = [h for h in hires if not h.get("region") and not h.get("territory")]
        parts = [f"{h['count']:g} {h.get('role') or 'reps'} from {h['month']}"
                 for h in (mine or company)]
        if mine or ctx.scope.level == "company":
            s.add("Hiring plan: " + "; ".join(parts) + ".")
        else:
            n = sum(float(h["count"]) for h in company) * company_share(ctx)
            s.add(f"Hiring plan (company): {'; '.join(parts)}; about {n:.1f} of them for "
                  f"{ctx.unit_label} at its {pct(company_share(ctx))} share of company "
                  "bookings (context: no hires recorded for this unit).")
    else:
        s.add(to_decide("the hiring plan (hires by month and role)", "capacity"))
    res = resources_step
    saved = res.load_resources(ctx.ws)
    if not saved.get("budget") or not saved.get("investments"):
        return s.add(to_decide("the investment budget and its split (decisions.resources)",
                               "resources"))
    alloc = res.allocate(float(saved["budget"]), saved["investments"],
                         method=saved.get("method") or "kkt")
    t = alloc.table
    cols = [c for c in ["name", "kind", "current", "spend", "change", "return", "marginal_roi",
                        "avg_roi", "bound"] if c in t.columns]
    for i in saved["investments"]:
        if i.kind == "headcount" and i.fit and i.fit != "configured":
            s.add(f"Headcount: {i.fit}.")
    if any("elasticity" in (i.fit or "") for i in saved["investments"]):
        s.add("Channels follow saturating response curves (return = a (1 - exp(-spend / b)), "
              "set at each channel's committed tactic spend and the bookings its tactics add, "
              "with a stated spend elasticity); no channel gets less than its committed "
              "spend (bound 'min').")
    share = company_share(ctx)
    money_cols = [c for c in ("current", "spend", "change", "return") if c in cols]
    if ctx.scope.level != "company":
        t = t.assign(**{c: t[c] * share for c in money_cols})
        s.add(f"This unit's part of the company budget: {money(alloc.budget * share)} for an "
              f"expected return of {money(alloc.total_return * share)} - the company "
              f"allocation apportioned at {pct(share)}, {ctx.unit_label}'s share of "
              f"{ctx.baseline.label} company bookings. Company budget {money(alloc.budget)} "
              "(context, not this unit's).")
        caption = f"Investments apportioned to {ctx.unit_label} (USD)"
    else:
        s.add(f"Budget {money(alloc.budget)} allocated for an expected return of "
              f"{money(alloc.total_return)} (now {money(alloc.current_return)}).")
        caption = ""
    s.add(Table(t[cols], {**{c: "money" for c in money_cols}, "marginal_roi": "num",
                          "avg_roi": "num"}, caption=caption))
    if ctx.scope.level == "company":
        s.add(res.chart_allocation(alloc))
    return s


def _hire_in(ctx: PlanContext, hire: dict) -> bool:
    """A recorded hire placed in this unit (its region or territory)."""
    if ctx.scope.level == "region":
        return str(hire.get("region") or "") == str(ctx.scope.id)
    if ctx.scope.level == "territory":
        return str(hire.get("territory") or "") == str(ctx.scope.id)
    return False
