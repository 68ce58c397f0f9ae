"""Target segments ranked by attractiveness (step 6)."""

from __future__ import annotations

from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.steps import segments as segments_step


def target_segments(ctx: PlanContext) -> Section:
    """Segments ranked by attractiveness (segments.segment_ranking) and the chosen targets."""
    s = Section("target_segments", "Target segments")
    seg = segments_step
    weights = seg.load_weights(ctx.ws) or None
    r = seg.segment_ranking(ctx.data, ctx.scope, ctx.baseline, weights=weights)
    if not len(r):
        return s.add(Missing(f"no closed deals in {ctx.unit_label} for {ctx.baseline.label} "
                             "to rank segments"))
    chosen = seg.load_targets(ctx.ws)
    if chosen:
        s.add("Chosen target segments: " + "; ".join(
            ", ".join(f"{k} {v}" for k, v in c.items()) for c in chosen) + ".")
    else:
        s.add("No target segments are chosen yet; the ranking below is data-driven.")
    cols = [c for c in ["rank", "segment", "region", "potential", "bookings", "win_rate",
                        "avg_deal", "cycle_days", "score"] if c in r.columns]
    s.add(Table(r[cols].head(12), {"potential": "money", "bookings": "money",
                                   "win_rate": "pct", "avg_deal": "money",
                                   "cycle_days": "int", "score": "num"}))
    s.add(seg.chart_segments(r.head(12)))
    return s
