"""Metrics and KPIs (step 3)."""

from __future__ import annotations

import pandas as pd

from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.steps import kpis as kpis_step


def metrics_kpis(ctx: PlanContext) -> Section:
    """The KPI library for the baseline period (kpis.compute_kpis) with recorded targets."""
    s = Section("metrics_kpis", "Metrics & KPIs")
    k = kpis_step
    targets = k.load_kpi_targets(ctx.ws, ctx.scope) or None
    df = k.compute_kpis(ctx.data, ctx.scope, ctx.baseline, targets=targets) if targets else \
        k.compute_kpis(ctx.data, ctx.scope, ctx.baseline)
    shown = df.assign(value_text=[k.format_value(v, u) if pd.notna(v) else "n/a"
                                  for v, u in zip(df["value"], df["unit"])],
                      target_text=[k.format_value(v, u) if pd.notna(v) else ""
                                   for v, u in zip(df["target"], df["unit"])])
    s.add(f"KPIs for {ctx.baseline.label}, the baseline of this plan.")
    s.add(Table(shown[["label", "value_text", "target_text", "status", "formula", "note"]]
                .rename(columns={"label": "KPI", "value_text": "value",
                                 "target_text": "target"})))
    if df["value"].notna().any():
        try:
            s.add(k.chart_dashboard(df))
        except Exception as exc:  # noqa: BLE001 - a chart must not sink the document
            s.add(Missing(f"KPI chart ({type(exc).__name__}: {exc})"))
    return s
