"""What-if scenarios side by side (scenarios module)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesplan_nb.core.formats import money, pct
from salesplan_nb.core.scope import Period
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import fig
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import scenarios as scenarios_step


def scenarios_section(ctx: PlanContext) -> Section:
    """Base / best / worst scenarios side by side (scenarios.py)."""
    s = Section("scenarios", "Scenarios")
    sc = scenarios_step
    if ctx.scope.level not in ("company", "region", "territory", "rep"):
        return s.add(Missing("scenarios for this scope level"))
    if ctx.period.n_months > 12:  # each year on its own: bookings and quota of one year
        t = scenarios_by_year(ctx)
        s.add("Scenarios year by year: each year's bookings against that year's quota "
              "(never several years of bookings against one year's quota).")
        s.add(Table(t, {"bookings": "money", "quota": "money", "attainment": "pct"}))
        return s
    model = sc.from_workspace(ctx.ws, ctx.period)
    presets = sc.presets(model)
    saved = sc.load_scenarios(ctx.ws)
    if not saved:
        s.add(to_decide("scenarios to keep beside base / best / worst", "scenarios"))
    df = sc.compare(model, {**presets, **saved}, scope=ctx.scope,
                    metrics=("bookings", "quota", "attainment", "win_rate", "deal_size"))
    names = [c for c in df.columns if " vs " not in c]
    fmt = {"attainment": pct, "win_rate": pct}  # the rest is USD
    # the plan figures among them: base / plan bookings and the quota the model prices
    tags = {("bookings", "base"): "base_scenario", ("bookings", "plan"): "plan_scenario",
            ("quota", "plan"): "quota_total", ("quota", "base"): "quota_total"}

    def text(m: str, n: str, v) -> str:
        if pd.isna(v):
            return ""
        name = tags.get((m, str(n).lower()))
        return fig(name, float(v)) if name else fmt.get(m, money)(float(v))

    shown = pd.DataFrame({n: [text(m, n, v) for m, v in df[n].items()] for n in names},
                         index=df.index).reset_index()
    s.add(Table(shown, caption=f"Scenarios for {ctx.period.label} (USD, rates in %)"))
    long = df[names].loc[["bookings"]].T.reset_index()
    long.columns = ["scenario", "bookings"]
    s.add(alt.Chart(long).mark_bar().encode(
        x=alt.X("scenario:N", sort=names), y=alt.Y("bookings:Q", title="Bookings (USD)"),
        tooltip=["scenario", alt.Tooltip("bookings:Q", format=",.0f")]).properties(width=300))
    return s


def scenarios_by_year(ctx: PlanContext) -> pd.DataFrame:
    """Per calendar year of the plan period and scenario: bookings, quota and attainment of
    the scope, each year modelled on its own (scenarios.from_workspace for that year)."""
    def build() -> pd.DataFrame:
        rows = []
        for y in range(ctx.period.start.year, ctx.period.end.year):
            per = Period.year(y)
            model = scenarios_step.from_workspace(ctx.ws, per)
            chosen = {**scenarios_step.presets(model), **scenarios_step.load_scenarios(ctx.ws)}
            df = scenarios_step.compare(model, chosen, scope=ctx.scope,
                                        metrics=("bookings", "quota", "attainment"))
            for n in [c for c in df.columns if " vs " not in c]:
                rows.append({"year": str(y), "scenario": n,
                             "bookings": float(df.loc["bookings", n]),
                             "quota": float(df.loc["quota", n]),
                             "attainment": float(df.loc["attainment", n])})
        return pd.DataFrame(rows)
    return ctx.once("scenarios_by_year", build)
