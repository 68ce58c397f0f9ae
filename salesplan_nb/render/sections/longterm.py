"""Long-term plans year by year: each year's recorded target, the capacity the seats carry
into it (ramp, attrition with backfill and the hiring plan, carried forward from the data's
``as_of``), the quota, the coverage of the target by capacity and the base / best / worst
scenario bookings over the same span."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from salesplan_nb.core.formats import money
from salesplan_nb.core.scope import Period
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext, period_label
from salesplan_nb.render.sections.scenarios import scenarios_by_year
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import capacity as capacity_step
from salesplan_nb.steps import goals as goals_step

__all__ = ["year_by_year", "capacity_by_year", "plan_years"]


def plan_years(ctx: PlanContext) -> list[int]:
    """The calendar years the plan period covers (2027..2029 -> 2027, 2028, 2029)."""
    last = (ctx.period.end - pd.Timedelta(days=1)).year
    return list(range(ctx.period.start.year, last + 1))


def capacity_by_year(ctx: PlanContext) -> pd.DataFrame:
    """Per calendar year of the plan: the scope's sales capacity with the saved capacity
    settings (:func:`salesplan_nb.steps.capacity.capacity_plan` for that year - the call the
    annual plan's resource section makes, so year 1 is the annual plan's capacity). The
    seats are carried forward from ``as_of``: tenure keeps ramping, attrition compounds with
    backfill after the lag, and hires (the hiring plan) count from their start month in every
    later year. Columns: ``year``, ``capacity`` (USD), ``rre`` (mean ramped rep equivalents),
    ``headcount`` (expected seats at the year's end), ``hires`` (planned hires starting in the
    year), ``productivity`` (USD per RRE-month, measured once on the trailing history)."""
    def build() -> pd.DataFrame:
        settings = capacity_step.load_capacity_settings(ctx.ws) or {}
        kw = {k: settings[k] for k in ("ramp", "attrition", "backfill_lag", "hires")
              if settings.get(k) is not None}
        rows = []
        for y in plan_years(ctx):
            plan = capacity_step.capacity_plan(ctx.data, ctx.scope, Period.year(y), **kw)
            m = plan.monthly
            hires = sum(float(h["count"]) for h in plan.settings.get("hires") or []
                        if str(h["month"]).startswith(str(y)))
            rows.append({"year": str(y), "capacity": float(plan.capacity),
                         "rre": float(m["rre"].mean()) if len(m) else math.nan,
                         "headcount": float(m["headcount"].iloc[-1]) if len(m) else math.nan,
                         "hires": hires, "productivity": float(plan.productivity)})
        return pd.DataFrame(rows, columns=["year", "capacity", "rre", "headcount", "hires",
                                           "productivity"])
    return ctx.once("capacity_by_year", build)


def _goals_by_year(ctx: PlanContext, years: list[int]) -> dict[int, float]:
    """Bookings goals recorded for exactly this scope, by their deadline's year."""
    out = {}
    for g in goals_step.load_goals(ctx.ws):
        if g.metric == "bookings" and str(g.scope) == str(ctx.scope) and g.deadline:
            y = pd.Timestamp(g.deadline).year
            if y in years and isinstance(g.target, int | float):
                out[y] = float(g.target)
    return out


def year_by_year(ctx: PlanContext) -> Section:
    """One row per year of the plan period: the bookings goal recorded for this unit with its
    deadline in that year, the capacity the seats carry (:func:`capacity_by_year`), the
    coverage of the goal by capacity, the base-scenario quota and the base / best / worst
    scenario bookings of that year (each year modelled on its own)."""
    s = Section("year_by_year", f"Year by year {period_label(ctx.period)}")
    years = plan_years(ctx)
    goals = _goals_by_year(ctx, years)
    cap = capacity_by_year(ctx).set_index("year")
    t = scenarios_by_year(ctx)
    rows = []
    for y in years:
        yr = t[t["year"] == str(y)].set_index("scenario") if len(t) else pd.DataFrame()

        def get(name: str, col: str, yr: pd.DataFrame = yr) -> float:
            return float(yr.loc[name, col]) if name in yr.index else float("nan")

        c = cap.loc[str(y)] if str(y) in cap.index else None
        target = goals.get(y, float("nan"))
        capacity = float(c["capacity"]) if c is not None else float("nan")
        rows.append({"year": str(y), "target": target, "capacity": capacity,
                     "coverage": capacity / target if target and target == target
                     else float("nan"),
                     "rre": float(c["rre"]) if c is not None else float("nan"),
                     "headcount": float(c["headcount"]) if c is not None else float("nan"),
                     "hires": float(c["hires"]) if c is not None else float("nan"),
                     "base quota": get("base", "quota"),
                     "base bookings": get("base", "bookings"),
                     "best bookings": get("best", "bookings"),
                     "worst bookings": get("worst", "bookings")})
    df = pd.DataFrame(rows)
    if not goals:
        s.add(to_decide("a bookings goal for each year of the plan", "goals"))
    if len(cap) and cap["capacity"].sum() > 0:
        first, last = cap.iloc[0], cap.iloc[-1]
        s.add(f"Capacity carried forward year by year (ramp, attrition with backfill, the "
              f"hiring plan): {money(first['capacity'])} in {cap.index[0]} with "
              f"{first['rre']:.1f} ramped rep equivalents on average, "
              f"{money(last['capacity'])} in {cap.index[-1]} with {last['rre']:.1f}; "
              f"productivity {money(first['productivity'])} per RRE-month (trailing "
              "history). Coverage = capacity / that year's target.")
    else:
        s.add(Missing(f"reps or bookings history in {ctx.unit_label} to compute capacity"))
    s.add(Table(df, {"target": "money", "capacity": "money", "coverage": "pct", "rre": "num",
                     "headcount": "num", "hires": "num", "base quota": "money",
                     "base bookings": "money", "best bookings": "money",
                     "worst bookings": "money"},
                labels={"target": "Target (USD)", "capacity": "Capacity (USD)",
                        "coverage": "Coverage (capacity / target)",
                        "rre": "Ramped reps (avg)", "headcount": "Seats at year end",
                        "hires": "Hires starting", "base quota": "Quota, base (USD)",
                        "base bookings": "Bookings, base (USD)",
                        "best bookings": "Bookings, best (USD)",
                        "worst bookings": "Bookings, worst (USD)"}))
    long = df.melt(id_vars=["year"], value_vars=["target", "capacity", "base bookings"],
                   var_name="figure", value_name="usd").dropna()
    if len(long):
        s.add(alt.Chart(long).mark_bar().encode(
            x=alt.X("year:N", title=None), xOffset="figure:N",
            y=alt.Y("usd:Q", title="USD"), color=alt.Color("figure:N", title=None),
            tooltip=["year", "figure", alt.Tooltip("usd:Q", format=",.0f")],
        ).properties(title="Target, capacity and base bookings by year", width=420))
    return s
