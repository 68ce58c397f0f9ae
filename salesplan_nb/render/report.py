"""The plan document, as the plan notebooks use it: ``from salesplan_nb.render import report``,
``ctx = report.context(...)``, ``report.show(report.executive_summary(ctx))``,
``report.show_plan(ctx)``, ``report.preview(...)``.

A facade over the render package, one module per concern:

- :mod:`~salesplan_nb.render.blocks` - the content model (Section, Text, Table, Missing);
- :mod:`~salesplan_nb.render.context` - workspace, scope, plan and baseline periods;
- :mod:`~salesplan_nb.render.figures` - headline numbers and the company quota split;
- :mod:`~salesplan_nb.render.sections` - one builder per section, fed by its step module,
  and ``PLAN_SECTIONS`` (plan type -> sections);
- :mod:`~salesplan_nb.render.html` - blocks as HTML through Jinja templates (autoescape);
- :mod:`~salesplan_nb.render.display` - showing sections in a notebook;
- number formats: :mod:`salesplan_nb.core.formats`; the table renderer:
  :mod:`salesplan_nb.core.tables`.
"""

from __future__ import annotations

from salesplan_nb.core.formats import infer_format, money, pct
from salesplan_nb.render.blocks import Missing, Section, Table, Text, is_chart
from salesplan_nb.render.context import (
                                         PlanContext,
                                         context,
                                         default_plan_type,
                                         open_workspace,
                                         unit_label,
)
from salesplan_nb.render.display import (
                                         CHART_MIME,
                                         HEADLINE_MIME,
                                         SECTION_MIME,
                                         chart_spec,
                                         preview,
                                         show,
                                         show_headline,
                                         show_plan,
)
from salesplan_nb.render.figures import (
                                         _quota_plan,
                                         account_share_target,
                                         company_quota_plan,
                                         headline,
                                         headline_of,
)
from salesplan_nb.render.html import block_html, contents, table_html
from salesplan_nb.render.sections import PLAN_SECTIONS, SECTION_BUILDERS, build
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

__all__ = [
    "CHART_MIME", "HEADLINE_MIME", "SECTION_MIME", "PLAN_SECTIONS", "SECTION_BUILDERS",
    "Missing", "PlanContext", "Section", "Table", "Text", "account_actions", "account_history",
    "account_profile", "account_risks", "account_share_target", "block_html", "build",
    "chart_spec", "company_quota_plan", "contents", "context", "default_plan_type",
    "executive_summary", "growth_forecast", "headline", "headline_of", "infer_format",
    "is_chart", "market_potential", "market_trends", "metrics_kpis", "money",
    "open_workspace", "pct", "preview", "quotas_section", "resource_allocation",
    "sales_goals", "scenarios_section", "show", "show_headline", "show_plan",
    "strategy_tactics", "table_html", "target_segments", "timeline", "unit_label",
    "whitespace", "_quota_plan"]
