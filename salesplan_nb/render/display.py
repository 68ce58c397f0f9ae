"""Showing the plan document in a notebook: each section's heading (with table-of-contents
metadata), its blocks as escaped HTML (:mod:`salesplan_nb.render.html`) and chart specs under
mime types that :mod:`salesplan_nb.batch.runner`'s exporter draws offline.
"""

from __future__ import annotations

import altair as alt

from salesplan_nb.core.display import clean_spec
from salesplan_nb.core.formats import untag
from salesplan_nb.render.blocks import Section
from salesplan_nb.render.context import (
    PlanContext,
    context,
    default_plan_type,
    open_workspace,
    period_label,
)
from salesplan_nb.render.figures import headline_of
from salesplan_nb.render.html import block_html, contents, heading, title_html
from salesplan_nb.render.sections import build

__all__ = ["CHART_MIME", "HEADLINE_MIME", "SECTION_MIME", "chart_spec", "show",
           "show_headline", "show_plan", "preview"]

CHART_MIME = "application/vnd.salesplan.chart+json"
HEADLINE_MIME = "application/vnd.salesplan.headline+json"
SECTION_MIME = "application/vnd.salesplan.section+json"


def chart_spec(chart) -> dict:
    """The Vega-Lite spec of an Altair chart (data inlined; charts are built from aggregated
    frames)."""
    with alt.data_transformers.enable("default", max_rows=20_000):
        return clean_spec(chart.to_dict())  # names in chart data: bounded, no bidi


def show(section: Section, static: bool = False) -> None:
    """Display ``section`` in the running notebook: heading (with TOC metadata), escaped HTML
    blocks and chart specs (mime ``application/vnd.salesplan.chart+json``, which the plan
    exporter draws, and Vega-Lite, which JupyterLab draws). ``static`` adds each chart as SVG
    (vl-convert) for headless step notebooks read without JavaScript."""
    from IPython.display import display

    anchor = f"sec-{section.key}"
    display({"text/html": heading(anchor, section.title),
             SECTION_MIME: {"id": anchor, "title": section.title},
             "text/plain": section.title}, raw=True)
    for b in section.blocks:
        if isinstance(b, alt.TopLevelMixin):
            spec = chart_spec(b)
            bundle = {CHART_MIME: spec, "application/vnd.vegalite.v5+json": spec,
                      "text/plain": "<chart>"}
            if static:
                import vl_convert

                bundle["image/svg+xml"] = vl_convert.vegalite_to_svg(spec)
            display(bundle, raw=True)
        else:
            display({"text/html": block_html(b), "text/plain": untag(str(b))[:200]}, raw=True)


def show_headline(ctx: PlanContext) -> dict:
    """Display the title and the headline numbers (kept by the runner for index.html)."""
    from IPython.display import display

    h = headline_of(ctx)
    sub = subtitle(ctx)
    display({"text/html": title_html(ctx.title, " | ".join(sub)),
             HEADLINE_MIME: {**h, "title": ctx.title, "subtitle": sub},
             "text/plain": ctx.title}, raw=True)
    return h


def subtitle(ctx: PlanContext) -> list[str]:
    """Lines under the title: what the plan covers, its baseline and data date, and how far
    sign-off has got (stakeholders step)."""
    from salesplan_nb.steps import stakeholders

    kind = {"long-term": "Long-term", "annual": "Annual", "territory": "Territory",
            "account": "Account"}.get(ctx.plan_type, "")
    lines = [f"{kind} plan for {ctx.unit_label} ({ctx.scope.level}), "
             f"{period_label(ctx.period)}",
             f"Baseline {ctx.baseline.label}; data as of {ctx.data.as_of.date()}"]
    t = stakeholders.status_table(ctx.ws)
    t = t[(t["scope"] == "company") & (t["status"] != "unassigned")]
    if len(t):
        lines.append(f"Sign-off: {int((t['status'] == 'approved').sum())} of {len(t)} plan "
                     "sections approved")
    return lines


def show_plan(ctx: PlanContext, sections: list[str] | None = None,
              static: bool = False) -> None:
    """Title, headline and every section of the plan type."""
    show_headline(ctx)
    for sec in build(ctx, sections):
        show(sec, static=static)


def preview(plan_dir, scope_level: str = "company", unit: str | None = None,
            period: str | None = None, plan_type: str | None = None, *,
            interactive: bool = True) -> PlanContext:
    """Show the plan document of a scope in the running notebook, as ``salesplan run`` would
    render it: title and headline, contents, every section. ``plan_dir`` is a folder or an
    open Workspace; ``plan_type`` defaults to :func:`default_plan_type`. Headless
    (``interactive=False``) charts are also embedded as SVG. Returns the context."""
    from IPython.display import display

    path = getattr(plan_dir, "path", plan_dir)
    level = (scope_level or "company").strip()
    if not plan_type:
        plan_type = default_plan_type(level, open_workspace(path).plan_type)
    ctx = context(path, level, unit, period or None, plan_type)
    show_headline(ctx)
    sections = build(ctx)
    display({"text/html": contents(ctx, sections), "text/plain": "contents"}, raw=True)
    for sec in sections:
        show(sec, static=not interactive)
    return ctx
