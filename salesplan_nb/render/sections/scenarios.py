"""What-if scenarios side by side (scenarios module)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesplan_nb.core.formats import money, pct
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.steps import scenarios as scenarios_step


def scenarios_section(ctx: PlanContext) -> Section:
    """Base / best / worst scenarios side by side (scenarios.py)."""
    s = Section("scenarios", "Scenarios")
    sc = scenarios_step
    if ctx.scope.level not in ("company", "region", "territory", "rep"):
        return s.add(Missing("scenarios for this scope level"))
    model = sc.from_workspace(ctx.ws, ctx.period)
    presets = sc.presets(model)
    saved = sc.load_scenarios(ctx.ws)
    df = sc.compare(model, {**presets, **saved}, scope=ctx.scope,
                    metrics=("bookings", "quota", "attainment", "win_rate", "deal_size"))
    names = [c for c in df.columns if " vs " not in c]
    fmt = {"attainment": pct, "win_rate": pct}  # the rest is USD
    shown = pd.DataFrame({n: [fmt.get(m, money)(float(v)) if pd.notna(v) else ""
                              for m, v in df[n].items()] for n in names},
                         index=df.index).reset_index()
    s.add(Table(shown, caption=f"Scenarios for {ctx.period.label} (USD, rates in %)"))
    long = df[names].loc[["bookings"]].T.reset_index()
    long.columns = ["scenario", "bookings"]
    s.add(alt.Chart(long).mark_bar().encode(
        x=alt.X("scenario:N", sort=names), y=alt.Y("bookings:Q", title="Bookings (USD)"),
        tooltip=["scenario", alt.Tooltip("bookings:Q", format=",.0f")]).properties(width=300))
    return s
