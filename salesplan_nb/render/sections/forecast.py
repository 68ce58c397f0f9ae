"""Bookings forecast for the plan period (forecast module)."""

from __future__ import annotations

import math

from salesplan_nb.core.formats import money, pct
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext, period_label
from salesplan_nb.render.figures import fig, forecast_of, headline_of
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import forecast as forecast_step


def growth_forecast(ctx: PlanContext) -> Section:
    """Bookings forecast for the plan period: ``forecast()`` with its defaults (the method its
    backtest chose, bias-corrected, with an 80% range) and its track record; kept in the
    workspace's results cache."""
    s = Section("growth_forecast", "Growth forecast")
    fc = forecast_step
    r = forecast_of(ctx)  # the one default forecast, shared with the plan figures
    t = r.table
    if not len(t) or t["forecast"].fillna(0).sum() == 0:
        return s.add(Missing(f"enough bookings history in {ctx.unit_label} to forecast"
                             + (f" ({r.note})" if r.note else "")))
    total = r.total["point"]
    h = headline_of(ctx)
    lo, hi = r.total.get("lo80"), r.total.get("hi80")
    if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
        txt = (f"Forecast bookings for {period_label(ctx.period)}: {fig('forecast', total)} (80% range "
               f"{money(lo)} to {money(hi)}; {r.selected} chosen by backtest)")
    else:
        txt = (f"Forecast bookings for {period_label(ctx.period)}: {fig('forecast', total)} (no range: "
               f"{r.methods.get('forecast', 'no backtest')})")
    if h["target"]:
        txt += f", {pct(total / h['target'])} of the target"
    s.add(txt + "." + (f" {r.note}" if r.note else ""))
    rec = r.reconciliation
    if rec.get("method") and "base_total" in rec:
        s.add(f"Reconciled with the other regions and territories ({rec['method']}): "
              f"{money(rec['base_total'])} before reconciliation; backtest WAPE "
              f"{pct(rec['wape_base'])} before, {pct(rec['wape_reconciled'])} after.")
    method = ctx.ws.get("forecast", "method")
    if method:
        s.add(f"Forecast method chosen for the plan: {method} (decisions.forecast).")
    else:
        s.add(to_decide("the forecast method for the plan", "forecast"))
    s.add(fc.chart_forecast(r))
    acc = r.accuracy().reindex(columns=["method", "wape", "bias", "vs_baseline", "cover80",
                                        "cover95", "n"])
    if not len(r.backtest.rows):
        s.add("No track record of its own: too little history for a backtest "
              "(the forecast borrows the company's method).")
    else:
        s.add(Table(acc, {"wape": "pct", "bias": "pct", "vs_baseline": "num", "cover80": "pct",
                          "cover95": "pct", "n": "int"},
                    caption="How good has this forecast been: backtest by method beside "
                            "seasonal naive (baseline)"))
    cats = fc.forecast_categories(ctx.data, ctx.scope)
    if len(cats):
        s.add(Table(cats[["category", "deals", "value", "expected"]],
                    {"deals": "int", "value": "money", "expected": "money"},
                    caption="Open pipeline by forecast category (" + str(cats["basis"].iloc[0])
                            + "); expected = P(won) x value"))
    return s
