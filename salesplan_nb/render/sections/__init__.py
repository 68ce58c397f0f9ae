"""Section builders of the plan document, one module per step, and which sections each plan
type shows.

A builder is ``function(ctx: PlanContext) -> Section``. :data:`SECTION_BUILDERS` names them;
:data:`PLAN_SECTIONS` (plan type -> section keys in order) is the one list the step registry
replaces. :func:`build` runs them for a context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from salesplan_nb.core.errors import SalesplanError
from salesplan_nb.render.blocks import Missing, Section
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.sections.account import (
    account_actions,
    account_history,
    account_profile,
    account_risks,
    whitespace,
)
from salesplan_nb.render.sections.forecast import growth_forecast
from salesplan_nb.render.sections.goals import sales_goals
from salesplan_nb.render.sections.kpis import metrics_kpis
from salesplan_nb.render.sections.market import market_potential, market_trends
from salesplan_nb.render.sections.quotas import quotas_section
from salesplan_nb.render.sections.resources import resource_allocation
from salesplan_nb.render.sections.scenarios import scenarios_section
from salesplan_nb.render.sections.segments import target_segments
from salesplan_nb.render.sections.strategy import strategy_tactics
from salesplan_nb.render.sections.summary import executive_summary
from salesplan_nb.render.sections.timeline import timeline

__all__ = ["SECTION_BUILDERS", "PLAN_SECTIONS", "build", "builder"]

SECTION_BUILDERS: dict[str, Callable[[PlanContext], Section]] = {
    f.__name__: f for f in (
        executive_summary, sales_goals, target_segments, strategy_tactics, resource_allocation,
        metrics_kpis, quotas_section, growth_forecast, timeline, market_potential,
        market_trends, scenarios_section, account_profile, account_history, whitespace,
        account_actions, account_risks)}

PLAN_SECTIONS: Mapping[str, list[str]] = {
    "annual": ["executive_summary", "sales_goals", "target_segments", "strategy_tactics",
               "resource_allocation", "metrics_kpis", "quotas_section", "growth_forecast",
               "timeline"],
    "territory": ["executive_summary", "market_potential", "sales_goals", "target_segments",
                  "strategy_tactics", "quotas_section", "resource_allocation", "metrics_kpis",
                  "timeline"],
    "account": ["executive_summary", "account_profile", "account_history", "whitespace",
                "growth_forecast", "account_actions", "account_risks", "timeline"],
    "long-term": ["executive_summary", "sales_goals", "market_trends", "scenarios_section",
                  "target_segments", "strategy_tactics", "resource_allocation", "metrics_kpis",
                  "timeline"],
}


def builder(name: str) -> Callable[[PlanContext], Section]:
    """The builder of section ``name``."""
    try:
        return SECTION_BUILDERS[name]
    except KeyError:
        raise KeyError(f"no plan section {name!r}; known: {', '.join(SECTION_BUILDERS)}") \
            from None


def build(ctx: PlanContext, sections: list[str] | None = None) -> list[Section]:
    """All sections of the context's plan type (or ``sections``). A section whose step module
    rejects the data or decisions (a SalesplanError) becomes a Missing note quoting it; other
    errors propagate, so the batch run reports the unit as failed."""
    out = []
    for name in sections or PLAN_SECTIONS[ctx.plan_type]:
        try:
            out.append(builder(name)(ctx))
        except SalesplanError as exc:
            out.append(Section(name, name.replace("_", " ").capitalize(),
                               [Missing(f"{name.replace('_', ' ')}: {exc}")]))
    return out
