"""SWOT (step 4): the accepted items of the unit, and the company's as context."""

from __future__ import annotations

from salesplan_nb.render.blocks import Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import swot as swot_step


def swot_section(ctx: PlanContext) -> Section:
    """Accepted and edited SWOT items recorded for this unit; company items follow as
    context (labelled), never as the unit's own."""
    s = Section("swot", "SWOT")
    items = [i for i in swot_step.load_swot(ctx.ws) if i.status != "rejected"]
    mine = [i for i in items if i.scope == str(ctx.scope)]
    company = [i for i in items if i.scope == "company"] if ctx.scope.level != "company" else []
    if not mine and not company:
        return s.add(to_decide("accept, edit or add SWOT items", "swot"))
    cols = ["quadrant", "text", "evidence", "status"]
    if mine:
        s.add(Table(swot_step.swot_table(mine)[cols], caption=f"SWOT of {ctx.unit_label}"))
    elif ctx.scope.level != "company":
        s.add(to_decide(f"SWOT items for {ctx.unit_label} (the company's are shown as context)",
                        "swot"))
    if company:
        s.add(Table(swot_step.swot_table(company)[cols],
                    caption="Company SWOT (context, not this unit's own)"))
    return s
