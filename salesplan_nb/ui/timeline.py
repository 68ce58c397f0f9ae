"""Milestone / timeline editor with a Gantt chart (workspace list section ``milestones``).

Each milestone: ``name, owner, start, end`` (ISO dates, ``start <= end``), ``status`` (planned,
in progress, done, late) and ``scope``.
"""

from __future__ import annotations

import html

import altair as alt
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period
from salesplan_nb.ui import StepWidget

__all__ = ["MilestoneEditor", "add_milestone", "milestones_table", "standard_milestones",
           "chart_gantt"]

SECTION = "milestones"
STATUSES = ("planned", "in progress", "done", "late")
COLUMNS = ["id", "name", "owner", "start", "end", "status", "scope"]


def _date(value, what: str) -> str:
    try:
        return pd.Timestamp(value).date().isoformat()
    except (ValueError, TypeError):
        raise ConfigError(f"milestone {what} {value!r} is not a date; use YYYY-MM-DD") from None


def add_milestone(ws, name: str, start, end, owner: str = "", status: str = "planned",
                  scope: str = "company", by: str | None = None) -> dict:
    """Validate and store one milestone; returns the stored item (with id, by, at)."""
    name = str(name or "").strip()
    if not name:
        raise ConfigError("a milestone needs a name")
    if status not in STATUSES:
        raise ConfigError(f"milestone status {status!r}: use one of {', '.join(STATUSES)}")
    s, e = _date(start, "start"), _date(end, "end")
    if e < s:
        raise ConfigError(f"milestone {name!r} ends ({e}) before it starts ({s})")
    return ws.add_item(SECTION, {"name": name, "owner": str(owner or ""), "start": s, "end": e,
                                 "status": status, "scope": str(scope)}, by=by)


def standard_milestones(period: Period) -> list[dict]:
    """The usual plan cycle for ``period``: plan sign-off and quota letters in the month before
    it starts, territory go-live on day one, a review at the end of each quarter (or of the
    period when shorter) and the evaluation in the month after it ends."""
    day = pd.Timedelta(days=1)
    start, end = period.start, period.end - day
    out = [("Plan sign-off", start - pd.DateOffset(months=1), start - day * 10),
           ("Quota letters to reps", start - day * 10, start - day),
           ("Territories go live", start, start + day * 6)]
    q = pd.period_range(start, end, freq="Q")
    for p in q:
        qend = min(p.end_time.normalize(), end)
        out.append((f"Review {p}", qend - day * 6, qend))
    out.append(("Evaluate and carry lessons", end + day, end + pd.DateOffset(months=1)))
    return [{"name": n, "start": a.date().isoformat(), "end": b.date().isoformat()}
            for n, a, b in out]


def milestones_table(ws, scope: str | None = None) -> pd.DataFrame:
    """Stored milestones (all, or one scope's) sorted by start."""
    items = ws.items(SECTION)
    if scope is not None:
        items = [i for i in items if i.get("scope", "company") == str(scope)]
    df = pd.DataFrame(items, columns=COLUMNS + ["by", "at"])
    return df.sort_values(["start", "end"], ignore_index=True, kind="stable")


def chart_gantt(df: pd.DataFrame, title: str = "Timeline") -> alt.Chart:
    """Gantt chart: one bar per milestone from start to end (inclusive), coloured by status."""
    d = df.assign(start=pd.to_datetime(df["start"]),
                  end=pd.to_datetime(df["end"]) + pd.Timedelta(days=1))
    return alt.Chart(d).mark_bar().encode(
        x=alt.X("start:T", title=None), x2="end:T",
        y=alt.Y("name:N", sort=list(d["name"]), title=None),
        color=alt.Color("status:N", scale=alt.Scale(domain=list(STATUSES))),
        tooltip=["name", "owner", alt.Tooltip("start:T"), alt.Tooltip("end:T"), "status"],
    ).properties(title=title, width=520)


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
