"""SMART goals recorded for the scope (step 2) and the plan target."""

from __future__ import annotations

import pandas as pd

from salesplan_nb.core.formats import money
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import headline_of
from salesplan_nb.steps import goals as goals_step
from salesplan_nb.steps import kpis as kpis_step


def sales_goals(ctx: PlanContext) -> Section:
    """Recorded SMART goals for this scope (with their check), else the derived target."""
    s = Section("sales_goals", "Sales goals")
    g = goals_step
    goals = [x for x in g.load_goals(ctx.ws) if str(x.scope) in (str(ctx.scope), "company")]
    if goals:
        chk = g.check_goals(goals, ctx.data, ctx.period)
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
        s.add(Table(chk[["name", "metric", "scope", "baseline", "target", "implied_growth",
                         "deadline", "owner", "S", "M", "A", "R", "T", "overall"]],
                    {"implied_growth": "pct"},
                    caption="Goals and their SMART check"))
    else:
        s.add(Missing("no SMART goals are recorded for this scope in plan.yaml "
                      "(decisions.goals)", "Add them in the goals step notebook."))
    h = headline_of(ctx)
    if h["target"] is not None:
        s.add(f"Bookings target {ctx.period.label}: {money(h['target'])} "
              f"(source: {h['target_source']}; baseline {h['baseline_period']}: "
              f"{money(h['baseline_bookings'])}).")
    return s
