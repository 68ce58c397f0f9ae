"""Long-term plans year by year: each year's recorded target and its base-scenario bookings
and quota."""

from __future__ import annotations

import pandas as pd

from salesplan_nb.render.blocks import Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.sections.scenarios import scenarios_by_year
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import goals as goals_step


def year_by_year(ctx: PlanContext) -> Section:
    """One row per year of the plan period: the bookings goal recorded for this unit with its
    deadline in that year, and the base / best / worst scenario bookings and quota of that
    year (each year modelled on its own)."""
    s = Section("year_by_year", "Year by year")
    years = list(range(ctx.period.start.year, ctx.period.end.year))
    goals = {}
    for g in goals_step.load_goals(ctx.ws):
        if g.metric == "bookings" and str(g.scope) == str(ctx.scope) and g.deadline:
            y = pd.Timestamp(g.deadline).year
            if y in years and isinstance(g.target, int | float):
                goals[y] = float(g.target)
    t = scenarios_by_year(ctx)
    rows = []
    for y in years:
        yr = t[t["year"] == str(y)].set_index("scenario") if len(t) else pd.DataFrame()
        def get(name: str, col: str, yr: pd.DataFrame = yr) -> float:
            return float(yr.loc[name, col]) if name in yr.index else float("nan")
        rows.append({"year": str(y), "target": goals.get(y, float("nan")),
                     "base bookings": get("base", "bookings"),
                     "best bookings": get("best", "bookings"),
                     "worst bookings": get("worst", "bookings"),
                     "base quota": get("base", "quota")})
    if not goals:
        s.add(to_decide("a bookings goal for each year of the plan", "goals"))
    s.add(Table(pd.DataFrame(rows), {c: "money" for c in ("target", "base bookings",
                                                           "best bookings", "worst bookings",
                                                           "base quota")}))
    return s
