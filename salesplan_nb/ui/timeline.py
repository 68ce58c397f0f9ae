"""Milestone / timeline editor with a Gantt chart (step 12; the milestone rules live in
:mod:`salesplan_nb.steps.timeline`)."""

from __future__ import annotations

import html

import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.steps.timeline import (
    SECTION,
    STATUSES,
    add_milestone,
    chart_gantt,
    milestones_table,
    standard_milestones,
)
from salesplan_nb.ui.base import StepWidget

__all__ = ["MilestoneEditor", "add_milestone", "milestones_table", "standard_milestones",
           "chart_gantt"]

class MilestoneEditor(StepWidget):
    """Add, re-status and remove milestones; the Gantt chart re-renders on every change."""

    section = SECTION
    title = "Timeline & milestones"

    def build(self) -> None:
        import ipywidgets as W

        d0 = self.period.start.date().isoformat()
        self.name = W.Text(description="Milestone")
        self.owner = W.Text(description="Owner")
        self.start = W.Text(value=d0, description="Start")
        self.end = W.Text(value=d0, description="End")
        self.status = W.Dropdown(options=STATUSES, value="planned", description="Status")
        self.add_button = W.Button(description="Add", button_style="success")
        self.add_button.on_click(lambda _b: self._add_clicked())
        self.pick = W.Dropdown(options=[], description="Milestone")
        self.pick_status = W.Dropdown(options=STATUSES, description="Set status")
        self.set_button = W.Button(description="Update")
        self.set_button.on_click(lambda _b: self.set_status(self.pick.value,
                                                            self.pick_status.value))
        self.remove_button = W.Button(description="Remove", button_style="danger")
        self.remove_button.on_click(lambda _b: self.remove(self.pick.value))
        self.standard_button = W.Button(description="Add standard milestones")
        self.standard_button.on_click(lambda _b: self.add_standard())

    def extra(self) -> list:
        import ipywidgets as W

        return [W.HBox([self.name, self.owner]), W.HBox([self.start, self.end, self.status]),
                W.HBox([self.add_button, self.standard_button]),
                W.HBox([self.pick, self.pick_status, self.set_button, self.remove_button])]

    def _add_clicked(self) -> None:
        try:
            self.add(self.name.value, self.start.value, self.end.value, self.owner.value,
                     self.status.value)
            self.name.value = ""
        except ConfigError as exc:
            self.error(str(exc))

    def add(self, name: str, start, end, owner: str = "", status: str = "planned") -> dict:
        item = add_milestone(self.ws, name, start, end, owner, status, str(self.scope),
                             by=self.by)
        self.refresh()
        return item

    def add_standard(self) -> None:
        """Add :func:`standard_milestones` for the plan period (skipping names present)."""
        have = set(milestones_table(self.ws, str(self.scope))["name"])
        for m in standard_milestones(self.period):
            if m["name"] not in have:
                add_milestone(self.ws, m["name"], m["start"], m["end"], scope=str(self.scope),
                              by=self.by)
        self.refresh()

    def set_status(self, item_id: str | None, status: str) -> None:
        if item_id:
            self.ws.update_item(SECTION, item_id, {"status": status}, by=self.by)
            self.refresh()

    def remove(self, item_id: str | None) -> None:
        if item_id:
            self.ws.remove_item(SECTION, item_id)
            self.refresh()

    def compute(self) -> pd.DataFrame:
        df = milestones_table(self.ws, str(self.scope))
        if self.interactive and hasattr(self, "pick"):
            self.pick.options = [(f"{r.name} ({r.start})", r.id) for r in df.itertuples()]
        return df

    def summary(self, result: pd.DataFrame) -> str:
        counts = result["status"].value_counts()
        return html.escape(f"{len(result)} milestone(s): " + ", ".join(
            f"{k} {v}" for k, v in counts.items()))

    def chart(self, result: pd.DataFrame):
        return chart_gantt(result, f"Timeline - {self.scope.label}") if len(result) else None

    def table(self, result: pd.DataFrame) -> pd.DataFrame:
        return result[["name", "owner", "start", "end", "status"]]
