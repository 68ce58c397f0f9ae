"""What-if scenarios side by side (scenarios module)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesplan_nb.core.formats import money, pct
from salesplan_nb.core.scope import Period
from salesplan_nb.data import resultcache
from salesplan_nb.render import figures
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import company_quota_plan, fig, forecast_of, headline_of
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import forecast as forecast_step
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
    model = figures.scenario_model(ctx)
    fc = forecast_of(ctx)
    base_total = float(fc.total["point"]) if len(fc.table) else None
    figs = headline_of(ctx).get("figures") or {}
    qp = company_quota_plan(ctx) if ctx.scope.level == "company" else None
    if figs.get("quota_total") is not None and qp is not None and not isinstance(
            qp, Exception) and abs(model.recompute().total(ctx.scope, "quota")
                                   - figs["quota_total"]) > 1.0:
        model = sc.from_workspace(ctx.ws, ctx.period, quota_plan=qp)  # own: the shared stays
        model.set_quotas(ctx.data, qp)  # the plan's quota total (as the plan figures)
    fmodel = sc.calibrate_to_forecast(model, ctx.scope, base_total)
    presets = sc.presets(fmodel)
    saved = sc.load_scenarios(ctx.ws)
    if not saved:
        s.add(to_decide("scenarios to keep beside base / best / worst", "scenarios"))
    metrics = ("bookings", "quota", "attainment", "coverage", "win_rate", "deal_size")
    df = sc.compare(fmodel, {**presets, **saved}, scope=ctx.scope, metrics=metrics)
    if "plan" in saved and figs.get("plan_scenario") is not None:
        # the plan: the quota plan's seats at planned productivity + tactics (plan figures)
        pm = model.calibrated(ctx.scope, float(figs["plan_scenario"]), saved["plan"])
        df["plan"] = sc.compare(pm, [saved["plan"]], scope=ctx.scope, metrics=metrics)["plan"]
    if base_total is not None:
        s.add(f"Base = the forecast of {ctx.unit_label} ({fig('forecast', base_total)}: no plan "
              "change);"
              " best / worst and saved scenarios change drivers from it"
              + ("; plan = the quota plan's seats at planned productivity with the hiring "
                 "plan and the tactics" if "plan" in df.columns else "")
              + ". Coverage = open pipeline expected to close in the period / quota still to "
              "book, at the period start.")
    names = [c for c in df.columns if " vs " not in c]
    fmt = {"attainment": pct, "win_rate": pct,
           "coverage": lambda v: f"{v:.2f}x"}  # the rest is USD
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
    the scope, each year modelled on its own (scenarios.from_workspace for that year, its
    base calibrated to that year's forecast)."""
    def build() -> pd.DataFrame:
        rows = []
        for y in range(ctx.period.start.year, ctx.period.end.year):
            per = Period.year(y)
            fc = resultcache.cached(  # the same cache entry as forecast_of for that year
                ctx.ws, "forecast", lambda p=per: forecast_step.forecast(ctx.data, ctx.scope, p),
                args=(ctx.scope, per.label, "default"))
            model = scenarios_step.calibrate_to_forecast(  # base = that year's forecast
                scenarios_step.from_workspace(ctx.ws, per), ctx.scope,
                float(fc.total["point"]) if len(fc.table) else None)
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
