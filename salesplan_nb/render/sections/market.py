"""Market size, potential and trends (step 1)."""

from __future__ import annotations

import altair as alt

from salesplan_nb.core.formats import pct
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.steps import market as market_step


def market_potential(ctx: PlanContext) -> Section:
    """Market size (TAM/SAM/SOM), bookings by segment and coverage gaps (market.py)."""
    s = Section("market_potential", "Market size & potential")
    m = market_step
    ms = m.market_size(ctx.data, ctx.scope, ctx.baseline)
    s.add(Table(m.market_size_table(ms)))
    if ms.note:
        s.add(ms.note)
    b = m.bookings(ctx.data, ctx.scope, ctx.baseline, by="segment")
    if len(b):
        s.add(Table(b, {"bookings": "money", "deals": "int", "share": "pct"},
                    caption=f"Bookings by segment, {ctx.baseline.label}"))
    gaps = m.coverage_gaps(ctx.data, ctx.scope, ctx.baseline)
    if len(gaps):
        s.add(Table(gaps.head(10), {"gap_score": "num"}, caption="Coverage gaps"))
    return s


def market_trends(ctx: PlanContext) -> Section:
    """Annual bookings and growth (CAGR) for the long-term view."""
    s = Section("market_trends", "Market trends")
    m = market_step
    a = m.annual_bookings(ctx.data, ctx.scope)
    if not len(a):
        return s.add(Missing(f"bookings history for {ctx.unit_label}"))
    g = m.bookings_cagr(ctx.data, ctx.scope)
    s.add(f"Bookings CAGR over full years: {pct(getattr(g, 'cagr', float('nan')))}"
          + (f" ({g.note})" if getattr(g, "note", "") else "") + ".")
    s.add(Table(a, {"bookings": "money", "yoy_growth": "pct"}))
    s.add(alt.Chart(a.assign(year=a["year"].astype(str))).mark_bar().encode(
        x=alt.X("year:N", title=None), y=alt.Y("bookings:Q", title="Bookings (USD)"),
        opacity=alt.Opacity("full_year:N", title="full year"),
        tooltip=["year", alt.Tooltip("bookings:Q", format=",.0f"),
                 alt.Tooltip("yoy_growth:Q", format=".1%")]).properties(width=420))
    return s
