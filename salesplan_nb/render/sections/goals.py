"""SMART goals recorded for the scope (step 2) and the plan target."""

from __future__ import annotations

import pandas as pd

from salesplan_nb.core.formats import tag
from salesplan_nb.render.blocks import Section, Table
from salesplan_nb.render.context import PlanContext, period_label
from salesplan_nb.render.figures import _ends_period, fig, headline_of
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import goals as goals_step
from salesplan_nb.steps import kpis as kpis_step


def sales_goals(ctx: PlanContext) -> Section:
    """Recorded SMART goals for this scope (with their check), else the derived target."""
    s = Section("sales_goals", "Sales goals")
    g = goals_step
    # the unit's goals, and the company's as context (never in an account plan: the account's
    # own or derived target is its number); only the goals shown are checked
    shown_scopes = (str(ctx.scope),) if ctx.scope.level == "account" else (str(ctx.scope),
                                                                           "company")
    goals = [x for x in g.load_goals(ctx.ws) if str(x.scope) in shown_scopes]
    if goals:
        f = headline_of(ctx).get("figures") or {}
        own = str(ctx.scope)  # the unit's goals are checked against its capacity / forecast
        chk = g.check_goals(goals, ctx.data, ctx.period,
                            capacity={own: f["capacity"]} if f.get("capacity") else None,
                            forecast={own: f["forecast"]} if f.get("forecast") else None)
        chk = chk.assign(deadline=[x.deadline or "" for x in goals],
                         owner=[x.owner for x in goals],
                         name=[x.name or x.metric for x in goals])
        k = kpis_step

        def shown(col: str) -> list[str]:  # in the metric's unit: 63.2%, 1,234,567 USD ...
            units = [k.REGISTRY[m].unit if m in k.REGISTRY else ""
                     for m in chk["metric"]]
            return [k.format_value(float(v), u) if (u and pd.notna(v))
                    else ("" if pd.isna(v) else f"{v:,.2f}") for v, u in zip(chk[col], units)]

        chk = chk.assign(baseline=shown("baseline"), target=shown("target"))
        # the unit's own bookings goal is the plan target (tagged as the plan figure)
        mine = [x.metric == "bookings" and str(x.scope) == str(ctx.scope)
                and _ends_period(x, ctx.period) for x in goals]
        chk["target"] = [tag("target", t) if m else t for t, m in zip(chk["target"], mine)]
        cols = ["name", "metric", "scope", "baseline", "target", "implied_growth", "deadline",
                "owner", "S", "M", "A", "R", "T", "overall"]
        own = chk[chk["scope"].astype(str) == str(ctx.scope)]
        # company goals are context for regions, territories and reps; an account plan never
        # shows the company's target (the account's own or derived target is its number)
        company = chk[(chk["scope"].astype(str) == "company")
                      & (ctx.scope.level not in ("company", "account"))]
        if len(own):
            s.add(Table(own[cols], {"implied_growth": "pct"},
                        caption=f"Goals of {ctx.unit_label} and their SMART check"))
        else:
            s.add(to_decide(f"SMART goals for {ctx.unit_label} (decisions.goals)", "goals"))
        if len(company):
            s.add(Table(company[cols], {"implied_growth": "pct"},
                        caption="Company goals (context, not this unit's own)"))
    else:
        s.add(to_decide("SMART goals for this scope (no SMART goals are recorded in plan.yaml "
                        "decisions.goals)", "goals"))
    h = headline_of(ctx)
    if h["target"] is not None:
        s.add(f"Bookings target {period_label(ctx.period)}: {fig('target', h['target'])} "
              f"(source: {h['target_source']}; baseline {h['baseline_period']}: "
              f"{fig('baseline', h['baseline_bookings'])}).")
    return s
