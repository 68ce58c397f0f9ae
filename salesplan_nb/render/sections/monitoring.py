"""Monitoring reviews (step 14) and the evaluation's lessons and next-plan figures (step 15)."""

from __future__ import annotations

import pandas as pd

from salesplan_nb.render.blocks import Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import evaluate as evaluate_step
from salesplan_nb.steps import monitor as monitor_step


def reviews_lessons(ctx: PlanContext) -> Section:
    """Recorded plan-vs-actual reviews of this unit (company reviews as context), the lessons
    learned and the figures they carry into the next plan."""
    s = Section("reviews_lessons", "Reviews & lessons")
    r = monitor_step.reviews(ctx.ws)
    r = r[r["scope"].isin([str(ctx.scope), "company"])]
    if len(r):
        shown = r.assign(actions=[", ".join(a) if isinstance(a, list) else (a or "")
                                  for a in r["actions"]],
                         scope=["company (context)" if x == "company" and
                                ctx.scope.level != "company" else x for x in r["scope"]])
        s.add(Table(shown[["scope", "period", "as_of", "plan_to_date", "actual_to_date",
                           "projection", "notes", "actions"]],
                    {"as_of": "date", "plan_to_date": "money", "actual_to_date": "money",
                     "projection": "money"}, caption="Plan-vs-actual reviews"))
    else:
        s.add(to_decide("a plan-vs-actual review", "monitor"))
    les = evaluate_step.lessons(ctx.ws)
    if len(les):
        s.add(Table(les[["text", "evidence", "by", "at"]], {"at": "date"},
                    labels={"text": "Lesson", "by": "Recorded by", "at": "Recorded on"},
                    caption="Lessons learned (company)"))
    else:
        s.add(to_decide("lessons learned from the last period", "evaluate"))
    nxt = ctx.ws.get("next_plan", default={}) or {}
    if nxt:
        rows = []
        for k, e in nxt.items():
            e = e if isinstance(e, dict) else {"value": e}
            unit = str(e.get("unit", ""))
            rows.append({"figure": k.replace("_", " "), "value": _shown(e.get("value"), unit),
                         "unit": unit, "basis": str(e.get("basis", ""))})
        s.add(Table(pd.DataFrame(rows), caption="Next-plan figures (company)"))
    return s


def _shown(v, unit: str) -> str:
    from salesplan_nb.core.formats import amount, number, pct

    if v is None:
        return "n/a"
    if unit.startswith("fraction"):
        return pct(v)
    if unit == "USD":
        return amount(v)
    return number(v)
