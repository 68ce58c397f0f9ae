"""The executive summary, written from the headline numbers."""

from __future__ import annotations

import pandas as pd

from salesplan_nb.core.formats import money, pct
from salesplan_nb.data.schema import NO_PIPELINE
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext, period_label
from salesplan_nb.render.figures import fig, headline_of
from salesplan_nb.steps import stakeholders as stakeholders_step


def executive_summary(ctx: PlanContext) -> Section:
    """Summary paragraphs written from the headline numbers."""
    h = headline_of(ctx)
    f = h.get("figures") or {}
    s = Section("executive_summary", "Executive summary")
    lines = [f"This {ctx.plan_type} plan covers {ctx.unit_label} for {period_label(ctx.period)} "
             f"(data as of {ctx.data.as_of.date()})."]
    if h["baseline_bookings"] > 0:
        g = h["baseline_growth"]
        lines.append(
            f"Bookings in {h['baseline_period']} were {fig('baseline', h['baseline_bookings'])}"
            + (f", {'up' if g >= 0 else 'down'} {pct(abs(g))} on the year before "
               f"({money(h['prior_bookings'])})." if g is not None else "."))
    else:
        lines.append(f"There were no won bookings in {h['baseline_period']}.")
    if h["target"] is not None:
        ig = h["implied_growth"]
        lines.append(f"The plan target is {fig('target', h['target'])} ({h['target_source']})"
                     + (f", growth of {pct(ig)} on {h['baseline_period']} bookings."
                        if ig is not None else "."))
    else:
        lines.append("No bookings target is recorded or derivable for this unit yet"
                     + (f" ({h['target_note']})." if h.get("target_note") else "."))
    if h["win_rate"] is not None:
        lines.append(f"{h['closed_deals']} deals closed in {h['baseline_period']} with a win "
                     f"rate of {pct(h['win_rate'])}; open pipeline stands at "
                     f"{money(h['open_pipeline'])}, of which "
                     f"{money(h['pipeline_in_period'])} is expected to close in "
                     f"{period_label(ctx.period)}.")
    elif not h.get("pipeline", True):
        lines.append(f"Win rate and pipeline coverage: {NO_PIPELINE}.")
    if h["coverage"] is not None and h.get("pipeline", True):
        need = 1 / h["win_rate"] if h["win_rate"] else None
        lines.append(f"Pipeline coverage {fig('coverage', h['coverage'])}: open pipeline "
                     "expected to close "
                     f"in {period_label(ctx.period)} / remaining target "
                     f"{money(h['remaining_target'])}"
                     + (f" (about {need:.1f}x is needed at the {h['baseline_period']} win "
                        "rate)." if need else "."))
    s.add(" ".join(lines))
    _add_figures(s, f)
    asks = decisions_asked(ctx) if ctx.scope.level != "account" else []
    if asks:
        s.add("Decisions asked of the reader: " + "; ".join(asks) + ".")
    return s


#: the plan figures shown in the executive summary (key, label, format)
FIGURES = [("target", "Target (USD)", "money"),
           ("baseline", "Last year's bookings (USD)", "money"),
           ("forecast", "Forecast (USD)", "money"), ("capacity", "Capacity (USD)", "money"),
           ("quota_total", "Sum of quotas (USD)", "money"),
           ("tbh_seats", "To-be-hired seats", "int"), ("hires", "Hires in this unit", "int"),
           ("reps_expected_at_100", "Reps expected at 100%+", "pct"),
           ("base_scenario", "Base scenario (USD)", "money"),
           ("plan_scenario", "Plan scenario (USD)", "money"),
           ("p_reach_target", "P(reach target)", "pct"),
           ("coverage", "Pipeline coverage (x)", "x"), ("budget", "Budget (USD)", "money")]


def _add_figures(s: Section, f: dict) -> Section:
    """The plan figures (steps.plan_model), the bridge (summing to the target) and the
    biggest gap."""
    if f.get("error"):
        return s.add(Missing(f"the plan figures ({f['error']})"))
    rows = [(label, fig(k, f[k], "cell")) for k, label, _ in FIGURES if f.get(k) is not None]
    if rows:
        s.add(Table(pd.DataFrame({"figure": [r[0] for r in rows],
                                  "value": [r[1] for r in rows]}),
                    caption="Plan figures (one plan model: every section reads these)",
                    labels={"figure": "Figure", "value": "Value"}))
    if f.get("bridge"):
        b = pd.DataFrame(f["bridge"])
        s.add(Table(b, {"amount": "money"},
                    caption=f"Plan bridge: last year's bookings to the target "
                            f"({fig('target', f['target'])})",
                    labels={"step": "Step", "amount": "Amount (USD)"}))
    if f.get("biggest_gap"):
        g = next(x for x in f["gaps"] if x["figure"] == f["biggest_gap"])
        s.add(f"Biggest gap: target vs {g['figure']}, {money(g['gap'])}: {g['reason']}; "
              f"closed by {g['closes_it']}.")
    if f.get("flag"):
        s.add(f"Warning: {f['flag']}.")
    return s


def decisions_asked(ctx: PlanContext) -> list[str]:
    """Plan sections of this unit (or the company) whose sign-off is requested and not yet
    given, with their approvers (stakeholders step)."""
    t = stakeholders_step.status_table(ctx.ws)
    mine = t[t["scope"].isin([str(ctx.scope), "company"]) & (t["status"] == "requested")]
    return [f"sign off {r.section} ({r.approvers or 'no approver named'})"
            for r in mine.itertuples()]
