"""Target segments ranked by attractiveness (step 6)."""

from __future__ import annotations

from salesplan_nb.core.formats import pct
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.sections.where import to_decide
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
    region = ctx.region
    mine = [c for c in chosen if region is None or str(c.get("region", region)) == region]
    mine = [c for c in mine if ctx.scope.level in ("company", "region")
            or str(c.get("segment")) in ctx.segments]
    if mine:
        s.add(f"Chosen target segments{' in ' + region if region else ''}: " + "; ".join(
            " ".join(str(v) for v in c.values()) for c in mine) + ".")
    elif chosen:
        s.add(f"None of the {len(chosen)} company target segments lies in {ctx.unit_label}"
              f"{' (region ' + region + ')' if region else ''}; the ranking below is "
              "data-driven.")
    else:
        s.add(to_decide("target segments", "segments"))
    if weights:
        s.add("Attractiveness weights (ICP): " + ", ".join(
            f"{k.replace('_', ' ')} {pct(float(v), 0)}" for k, v in weights.items()) + ".")
    else:
        s.add(to_decide("ICP attractiveness weights (defaults used)", "segments"))
    cols = [c for c in ["rank", "segment", "region", "potential", "bookings", "win_rate",
                        "avg_deal", "cycle_days", "score"] if c in r.columns]
    s.add(Table(r[cols].head(12), {"potential": "money", "bookings": "money",
                                   "win_rate": "pct", "avg_deal": "money",
                                   "cycle_days": "int", "score": "num"}))
    s.add(seg.chart_segments(r.head(12)))
    return s
