"""Widgets for steps 2-3: the SMART goal builder and the KPI picker + dashboard."""

from __future__ import annotations

import html

import altair as alt
import pandas as pd

from salesplan_nb.core.seats import DEFAULT_GROWTH
from salesplan_nb.steps import goals, kpis
from salesplan_nb.ui import StepWidget

__all__ = ["SmartGoalBuilder", "KpiDashboard"]

STATUS_COLORS = {"pass": "#2e7d32", "warn": "#f9a825", "fail": "#c62828"}


def chart_smart(table: pd.DataFrame) -> alt.Chart:
    """One tile per SMART letter coloured by pass / warn / fail, reason in the tooltip."""
    color = alt.Color("status:N", scale=alt.Scale(domain=list(STATUS_COLORS),
                                                  range=list(STATUS_COLORS.values())))
    base = alt.Chart(table).encode(x=alt.X("letter:N", sort=list("SMART"), title=None))
    tiles = base.mark_rect(stroke="white").encode(color=color,
                                                  tooltip=["criterion", "status", "reason"])
    text = base.mark_text(fontSize=18, color="white", fontWeight="bold").encode(text="letter:N")
    return (tiles + text).properties(width=300, height=50, title="SMART check")


class SmartGoalBuilder(StepWidget):
    """Draft a goal (metric, target, baseline, deadline, owner, objective); the SMART check
    re-runs on every change and shows each letter; "Save goal" stores it in ``goals``. The
    draft itself lives in section ``goal_draft`` so a batch run shows the same check."""

    section = "goal_draft"
    title = "SMART goal builder"

    def build(self) -> None:
        import ipywidgets as W

        names = list(kpis.registry_table()["kpi"])
        default_deadline = (self.period.end - pd.Timedelta(days=1)).date().isoformat()
        self.bind("metric", W.Dropdown(options=names, value="bookings" if "bookings" in names
                                       else names[0], description="Metric"))
        self.bind("target", W.FloatText(value=0.0, description="Target"))
        self.bind("baseline", W.FloatText(value=0.0, description="Baseline (0 = actual)"))
        self.bind("deadline", W.Text(value=default_deadline, description="Deadline"))
        self.bind("owner", W.Text(value="", description="Owner"))
        self.bind("objective", W.Text(value="", description="Objective"))
        self.save_button = W.Button(description="Save goal", button_style="success")
        self.save_button.on_click(lambda _b: self.save())

    def extra(self) -> list:
        return [self.save_button]

    def goal(self) -> goals.Goal:
        v = self.values()
        target = float(v["target"])
        baseline = float(v["baseline"]) or None
        if not target:  # no target yet: propose the default growth on the baseline
            chk = goals.smart_check(goals.Goal(v["metric"], 0.0, str(self.scope)),
                                    self.ws.data, self.period)
            target = round((chk.baseline or 0.0) * DEFAULT_GROWTH, 2)
        return goals.Goal(v["metric"], target, str(self.scope), baseline=baseline,
                          deadline=v["deadline"] or None, owner=v["owner"],
                          objective=v["objective"])

    def compute(self) -> goals.SmartCheck:
        return goals.smart_check(self.goal(), self.ws.data, self.period)

    def save(self) -> goals.Goal:
        """Store the drafted goal in ``goals`` (list section)."""
        g = goals.save_goal(self.ws, self.goal(), by=self.by)
        self.refresh()
        return g

    def summary(self, result: goals.SmartCheck) -> str:
        g = result.goal
        unit = kpis.get(g.metric).unit if g.metric in kpis.REGISTRY else ""
        base = kpis.format_value(result.baseline, unit) if result.baseline is not None else "n/a"
        return html.escape(f"{g.metric} {kpis.format_value(g.target, unit)} for {self.scope.label}"
                           f" (baseline {base}): overall {result.overall}")

    def chart(self, result: goals.SmartCheck) -> alt.Chart:
        return chart_smart(result.table)

    def table(self, result: goals.SmartCheck) -> pd.DataFrame:
        saved = [g.to_dict() for g in goals.load_goals(self.ws) if g.scope == str(self.scope)]
        out = result.table[["letter", "criterion", "status", "reason"]]
        if saved:
            extra = pd.DataFrame(saved)[["metric", "target", "deadline", "owner", "objective"]]
            extra.insert(0, "letter", "saved goal")
            out = pd.concat([out, extra.astype({"target": "float64"})], ignore_index=True)
        return out


class KpiDashboard(StepWidget):
    """Pick KPIs and set targets; the dashboard (value / target, status) re-renders on every
    change. The pick is saved in ``kpis`` key ``picked``; targets via
    :func:`kpis.save_kpi_targets`. ``period`` is the measured period (default: the year of
    the data's ``as_of``)."""

    section = kpis.SECTION
    title = "KPI dashboard"
    DEFAULT = ("bookings", "win_rate", "avg_deal_size", "cycle_days", "velocity",
               "pipeline_coverage", "new_logos", "nrr")

    def __init__(self, ws, scope=None, period=None, **kwargs) -> None:
        self.measured = period
        super().__init__(ws, scope, period, **kwargs)

    def build(self) -> None:
        import ipywidgets as W

        reg = kpis.registry_table()
        options = [(f"{r.label} ({r.kpi})", r.kpi) for r in reg.itertuples()]
        default = tuple(k for k in self.DEFAULT if k in set(reg["kpi"])) or tuple(reg["kpi"][:6])
        self.bind("picked", W.SelectMultiple(options=options, value=default, rows=8,
                                             description="KPIs"), convert=list)
        targets = kpis.load_kpi_targets(self.ws, self.scope)
        self.target_box = W.FloatText(value=float(targets.get("bookings", 0.0)),
                                      description="Bookings target (USD)")
        self.target_box.observe(lambda ch: self.set_target("bookings", ch["new"]), names="value")

    def extra(self) -> list:
        return [self.target_box]

    def set_target(self, name: str, value: float) -> None:
        targets = kpis.load_kpi_targets(self.ws, self.scope)
        if value:
            targets[name] = float(value)
        else:
            targets.pop(name, None)
        kpis.save_kpi_targets(self.ws, targets, self.scope, by=self.by)
        self.refresh()

    def compute(self) -> pd.DataFrame:
        picked = list(self.values()["picked"]) or None
        return kpis.compute_kpis(self.ws.data, self.scope, self.measured, names=picked,
                                 targets=kpis.load_kpi_targets(self.ws, self.scope))

    def summary(self, result: pd.DataFrame) -> str:
        counts = result["status"].value_counts()
        return html.escape(", ".join(f"{k}: {v}" for k, v in counts.items()))

    def chart(self, result: pd.DataFrame) -> alt.Chart:
        return kpis.chart_dashboard(result)

    def table(self, result: pd.DataFrame) -> pd.DataFrame:
        df = result[["label", "value", "unit", "target", "status", "note"]].copy()
        df["value"] = [kpis.format_value(v, u) for v, u in zip(df["value"], df["unit"])]
        df["target"] = [kpis.format_value(v, u) if pd.notna(v) else ""
                        for v, u in zip(df["target"], df["unit"])]
        return df.drop(columns="unit")
