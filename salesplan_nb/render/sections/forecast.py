"""Bookings forecast for the plan period (forecast module)."""

from __future__ import annotations

import pandas as pd

from salesplan_nb.core.formats import money, pct
from salesplan_nb.render.blocks import Missing, Section
from salesplan_nb.render.context import PlanContext, period_label
from salesplan_nb.render.figures import forecast_of, headline_of
from salesplan_nb.render.sections.where import to_decide
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
    txt = f"Forecast bookings for {period_label(ctx.period)}: {money(total)}"
    if h["target"]:
        txt += f", {pct(total / h['target'])} of the target"
    s.add(txt + "." + (f" {r.note}" if r.note else ""))
    err = r.backtest.errors
    blend = err[err["method"] == "blend"] if "method" in err.columns else err.iloc[0:0]
    if len(blend) and pd.notna(blend["wape"].iloc[0]):
        w = float(blend["wape"].iloc[0])
        s.add(f"Past accuracy: the blend missed actual monthly bookings by {pct(w)} (WAPE, "
              f"rolling backtest over {int(blend['n'].iloc[0])} months); range "
              f"{money(total * max(0.0, 1 - w))} to {money(total * (1 + w))} "
              "(forecast x (1 -/+ WAPE)).")
    method = ctx.ws.get("forecast", "method")
    if method:
        s.add(f"Forecast method chosen for the plan: {method} (decisions.forecast).")
    else:
        s.add(to_decide("the forecast method for the plan", "forecast"))
    s.add(fc.chart_forecast(r))
    return s
