"""The executive summary, written from the headline numbers."""

from __future__ import annotations

from salesplan_nb.core.formats import money, pct
from salesplan_nb.data.schema import NO_PIPELINE
from salesplan_nb.render.blocks import Section
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import headline_of


def executive_summary(ctx: PlanContext) -> Section:
    """Summary paragraphs written from the headline numbers."""
    h = headline_of(ctx)
    s = Section("executive_summary", "Executive summary")
    lines = [f"This {ctx.plan_type} plan covers {ctx.unit_label} for {ctx.period.label} "
             f"(data as of {ctx.data.as_of.date()})."]
    if h["baseline_bookings"] > 0:
        g = h["baseline_growth"]
        lines.append(
            f"Bookings in {h['baseline_period']} were {money(h['baseline_bookings'])}"
            + (f", {'up' if g >= 0 else 'down'} {pct(abs(g))} on the year before "
               f"({money(h['prior_bookings'])})." if g is not None else "."))
    else:
        lines.append(f"There were no won bookings in {h['baseline_period']}.")
    if h["target"] is not None:
        ig, it = h["implied_growth"], h["growth_vs_ttm"]
        growth = [f"{pct(ig)} on the {h['baseline_period']} run-rate" if ig is not None else "",
                  f"{pct(it)} on the last 12 months ({money(h['ttm_bookings'])})"
                  if it is not None else ""]
        growth = [g for g in growth if g]
        lines.append(f"The plan target is {money(h['target'])} ({h['target_source']})"
                     + (", growth of " + " and ".join(growth) + "." if growth else "."))
    else:
        lines.append("No bookings target is recorded or derivable for this unit yet"
                     + (f" ({h['target_note']})." if h.get("target_note") else "."))
    if h["win_rate"] is not None:
        lines.append(f"{h['closed_deals']} deals closed in {h['baseline_period']} with a win "
                     f"rate of {pct(h['win_rate'])}; open pipeline stands at "
                     f"{money(h['open_pipeline'])}.")
    elif not h.get("pipeline", True):
        lines.append(f"Win rate and pipeline coverage: {NO_PIPELINE}.")
    cover = None
    if h["target"] and h["open_pipeline"]:
        cover = h["open_pipeline"] / h["target"]
        need = 1 / h["win_rate"] if h["win_rate"] else None
        lines.append(f"Pipeline covers {cover:.2f}x the target"
                     + (f" (about {need:.1f}x is needed at the current win rate)." if need
                        else "."))
    s.add(" ".join(lines))
    return s
