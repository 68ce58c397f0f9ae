"""Timeline and milestones (step 12) with the tactics' dates, as a Gantt chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesplan_nb.render.blocks import Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import actions as actions_step
from salesplan_nb.steps import strategy as strategy_step


def timeline(ctx: PlanContext) -> Section:
    """Milestones (decisions.milestones) and tactics as a Gantt chart."""
    s = Section("timeline", "Timeline & milestones")
    account = ctx.scope.level == "account"
    scopes = (str(ctx.scope),) if account else (str(ctx.scope), "company")
    rows = [{"name": m.get("name", ""), "kind": "milestone", "owner": m.get("owner", ""),
             "start": m.get("start"), "end": m.get("end"), "status": m.get("status", "")}
            for m in ctx.ws.items("milestones")
            if str(m.get("scope", "company")) in scopes]
    source = "recorded milestones"
    if not rows:
        source = "no milestones recorded"
        if not account:  # an account plan's dated items are its actions
            s.add(to_decide(f"milestones with owners for {ctx.unit_label}", "timeline"))
    for t in strategy_step.load_tactics(ctx.ws):
        if str(t.scope) == str(ctx.scope) or (
                not account and str(t.scope) == "company"
                and (ctx.scope.level == "company" or not t.segment
                     or t.segment in ctx.segments)):
            rows.append({"name": t.name, "kind": "tactic", "owner": t.owner,
                         "start": t.start, "end": t.end, "status": "tactic"})
    if account:
        for a in actions_step.load_actions(ctx.ws, ctx.scope.id):
            if a.due:
                rows.append({"name": a.action, "kind": "account action",
                             "owner": a.owner or "", "start": a.due, "end": a.due,
                             "status": a.status})
    if not rows:
        if account:
            s.add(to_decide(f"dated actions for {ctx.unit_label}", "actions"))
        return s
    df = pd.DataFrame(rows)
    df["start"] = pd.to_datetime(df["start"])
    df["end"] = pd.to_datetime(df["end"])
    df = df.sort_values(["start", "end"], ignore_index=True)
    s.add(f"{len(df)} items ({source}"
          + ("; account actions by due date" if account else "") + ").")
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
