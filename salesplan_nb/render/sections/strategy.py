"""Strategy and tactics (step 8)."""

from __future__ import annotations

from salesplan_nb.core.formats import money
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.steps import strategy as strategy_step


def strategy_tactics(ctx: PlanContext) -> Section:
    """Tactics recorded for this scope (or the company) with owners, budgets and dates."""
    s = Section("strategy_tactics", "Strategy & tactics")
    st = strategy_step
    tactics = [t for t in st.load_tactics(ctx.ws) if str(t.scope) in (str(ctx.scope),
                                                                      "company")]
    if not tactics:
        return s.add(Missing("no tactics are recorded in plan.yaml (decisions.tactics)",
                             "Add acquisition, penetration and retention tactics in the "
                             "strategy step."))
    df = st.tactics_table(tactics)
    cols = [c for c in ["name", "category", "segment", "driver", "effect", "owner", "budget",
                        "start", "end", "scope"] if c in df.columns]
    s.add(Table(df[cols], {"budget": "money", "effect": "num"}))
    b = st.budget_by_category(tactics)
    total = float(sum(t.budget for t in tactics))
    s.add(f"{len(tactics)} tactics, total budget {money(total)}.")
    if len(b):
        s.add(st.chart_tactics(tactics))
    return s
