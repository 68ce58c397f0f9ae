"""Metrics and KPIs (step 3)."""

from __future__ import annotations

import pandas as pd

from salesplan_nb.core.periods import year_to_date
from salesplan_nb.core.scope import Period
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext, period_label
from salesplan_nb.render.figures import headline_of
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import goals as goals_step
from salesplan_nb.steps import kpis as kpis_step


def metrics_kpis(ctx: PlanContext) -> Section:
    """KPI targets for the plan period against actuals: the unit's targets (else the
    company's, labelled as such) from :func:`goals.plan_kpi_targets` (a SMART goal of the same
    metric wins over the KPI step's target: one number per KPI), each KPI's value in the
    baseline period and in the period in progress (year to date at ``as_of``), and the status
    of the latter against the target (kpis.compute_kpis)."""
    s = Section("metrics_kpis", "Metrics & KPIs")
    k = kpis_step
    own, own_src = goals_step.plan_kpi_targets(ctx.ws, ctx.scope, ctx.period)
    company, company_src = (goals_step.plan_kpi_targets(ctx.ws, "company", ctx.period)
                            if ctx.scope.level != "company" else ({}, {}))
    # the unit's own targets first; the company's rate targets as context for the others (a
    # company target of an additive KPI - bookings, new logos - is not a unit's target)
    company = {m: v for m, v in company.items()
               if not (m in k.REGISTRY and k.REGISTRY[m].additive) and m not in own}
    targets = {**company, **own}
    source = {**{m: f"company {company_src[m]}" for m in company}, **own_src}
    as_of = ctx.data.as_of
    ytd = year_to_date(as_of)
    ytd = Period(ytd.start, ytd.end, f"{as_of.year} to {as_of.date()}")
    # the status of the year in progress: against rate targets only (a plan-period bookings
    # goal pro-rated onto this year's months would read as "off track" for the wrong year)
    rates = {m: v for m, v in targets.items() if not (m in k.REGISTRY and k.REGISTRY[m].additive)}
    now = k.compute_kpis(ctx.data, ctx.scope, ytd, targets=rates or None)
    base = k.compute_kpis(ctx.data, ctx.scope, ctx.baseline).set_index("kpi")["value"]
    fmt = [(v, u) for v, u in zip(now["value"], now["unit"])]
    plan_target = headline_of(ctx)["target"]

    def target_text(kpi: str, unit: str) -> str:
        # the recorded KPI targets; bookings: the plan's own bookings target for its period
        if kpi in targets:
            return k.format_value(float(targets[kpi]), unit)
        if kpi == "bookings" and plan_target is not None:
            return k.format_value(float(plan_target), unit)
        return ""

    shown = pd.DataFrame({
        "KPI": now["label"],
        f"{ctx.baseline.label} actual": [k.format_value(base.get(kk), u)
                                         if pd.notna(base.get(kk)) else "n/a"
                                         for kk, u in zip(now["kpi"], now["unit"])],
        f"{as_of.year} to date": [k.format_value(v, u) if pd.notna(v) else "n/a"
                                  for v, u in fmt],
        f"{period_label(ctx.period)} target": [target_text(kk, u)
                                               for kk, u in zip(now["kpi"], now["unit"])],
        f"Status {as_of.year} to date": [st if kk in rates else ""
                                         for kk, st in zip(now["kpi"], now["status"])],
        "Target from": [source.get(kk, "plan target" if kk == "bookings" and plan_target
                                   is not None else "") for kk in now["kpi"]],
        "Formula": now["formula"]})
    src = ("targets recorded for this unit" if own and not company else
           "the unit's targets, else the company's" if own else
           "company targets (no unit targets recorded)" if company else "")
    s.add(f"KPIs of {ctx.unit_label}: {ctx.baseline.label} actuals, {ytd.label} and the "
          f"{period_label(ctx.period)} targets" + (f" ({src})." if src else "."))
    if not targets:
        s.add(to_decide("KPI targets for the plan period", "kpis"))
    s.add(Table(shown))
    if now["value"].notna().any():
        try:
            s.add(k.chart_dashboard(now))
        except Exception as exc:  # noqa: BLE001 - a chart must not sink the document
            s.add(Missing(f"KPI chart ({type(exc).__name__}: {exc})"))
    return s
