"""Bookings forecast for the plan period (forecast module)."""

from __future__ import annotations

from salesplan_nb.core.formats import money, pct
from salesplan_nb.render.blocks import Missing, Section
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import forecast_of, headline_of
from salesplan_nb.steps import forecast as forecast_step


def growth_forecast(ctx: PlanContext) -> Section:
    """Monthly bookings forecast for the plan period (forecast.py, backtested blend; kept in
    the workspace's results cache)."""
    s = Section("growth_forecast", "Growth forecast")
    fc = forecast_step
    r = forecast_of(ctx)
    t = r.table
    if not len(t) or t["blend"].fillna(0).sum() == 0:
        return s.add(Missing(f"enough bookings history in {ctx.unit_label} to forecast"
                             + (f" ({r.note})" if r.note else "")))
    total = float(t["blend"].sum())
    h = headline_of(ctx)
    txt = f"Forecast bookings for {ctx.period.label}: {money(total)}"
    if h["target"]:
        txt += f", {pct(total / h['target'])} of the target"
    s.add(txt + "." + (f" {r.note}" if r.note else ""))
    s.add(fc.chart_forecast(r))
    return s
