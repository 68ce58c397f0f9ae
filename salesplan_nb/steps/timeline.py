"""Step 12 - the plan document's timeline: milestones (workspace list section ``milestones``).

Each milestone: ``name, owner, start, end`` (ISO dates, ``start <= end``), ``status`` (planned,
in progress, done, late) and ``scope``. :func:`standard_milestones` gives the usual plan cycle
for a period; the plan document's *Timeline* section shows the recorded milestones (or the
standard cycle) beside the tactics.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period

__all__ = ["SECTION", "STATUSES", "add_milestone", "milestones_table", "standard_milestones",
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
