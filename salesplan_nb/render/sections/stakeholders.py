"""Stakeholders and sign-off (step 7): who owns each plan section and who agreed."""

from __future__ import annotations

from salesplan_nb.render.blocks import Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import stakeholders as stakeholders_step


def stakeholders_section(ctx: PlanContext) -> Section:
    """Owner, sign-off status, approvers and decision per plan section (the unit's own
    entries, else the company's)."""
    s = Section("stakeholders", "Stakeholders & sign-off")
    t = stakeholders_step.status_table(ctx.ws)
    mine = t[t["scope"] == str(ctx.scope)]
    rows = mine if len(mine) else t[t["scope"] == "company"]
    rows = rows[rows["status"] != "unassigned"]
    if not len(rows):
        return s.add(to_decide("section owners and sign-off requests", "stakeholders"))
    counts = rows["status"].value_counts()
    s.add(f"{len(rows)} plan sections with owners"
          + ("" if len(mine) else " (company sign-off, which covers this unit)") + ": "
          + ", ".join(f"{n} {k}" for k, n in counts.items()) + ".")
    s.add(Table(rows[["section", "owner", "status", "approvers", "decided_by", "decided_at",
                      "comment"]], {"decided_at": "date"},
                labels={"decided_by": "Signed off by", "decided_at": "Signed off on"}))
    return s
