"""Timeline and milestones (step 12) with the tactics' dates, as a Gantt chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.steps import strategy as strategy_step


def timeline(ctx: PlanContext) -> Section:
    """Milestones (decisions.milestones) and tactics as a Gantt chart."""
    s = Section("timeline", "Timeline & milestones")
    rows = [{"name": m.get("name", ""), "kind": "milestone", "owner": m.get("owner", ""),
             "start": m.get("start"), "end": m.get("end"), "status": m.get("status", "")}
            for m in ctx.ws.items("milestones")
            if str(m.get("scope", "company")) in (str(ctx.scope), "company")]
    source = "recorded milestones"
    if not rows:
        try:
            from salesplan_nb.ui.timeline import standard_milestones
            rows = [dict(r, kind="milestone", owner="", status="planned")
                    for r in standard_milestones(ctx.period)]
            source = "standard plan cycle (no milestones recorded in plan.yaml)"
        except ImportError:
            pass
    for t in strategy_step.load_tactics(ctx.ws):
        if str(t.scope) in (str(ctx.scope), "company"):
            rows.append({"name": t.name, "kind": "tactic", "owner": t.owner,
                         "start": t.start, "end": t.end, "status": "tactic"})
    if not rows:
        return s.add(Missing("milestones and tactics", "Add them in the timeline step."))
    df = pd.DataFrame(rows)
    df["start"] = pd.to_datetime(df["start"])
    df["end"] = pd.to_datetime(df["end"])
    df = df.sort_values(["start", "end"], ignore_index=True)
    s.add(f"{len(df)} items ({source}).")
    s.add(Table(df[["name", "kind", "owner", "start", "end", "status"]],
                {"start": "date", "end": "date"}))
    g = df.assign(end=df["end"] + pd.Timedelta(days=1),
                  label=[f"{i + 1}. {n}" for i, n in enumerate(df["name"])])
    s.add(alt.Chart(g).mark_bar(cornerRadius=2).encode(
        x=alt.X("start:T", title=None), x2="end:T",
        y=alt.Y("label:N", sort=list(g["label"]), title=None),
        color=alt.Color("kind:N", title="type"),
        tooltip=["name", "kind", "owner", alt.Tooltip("start:T"), alt.Tooltip("end:T"),
                 "status"],
    ).properties(title="Timeline", width=560))
    return s
