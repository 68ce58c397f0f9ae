"""The planning process as data: one :class:`Step` per step of the method (1-15) plus the
modules that serve every step (forecast, scenarios), and one :class:`PlanSection` per section of
the plan document.

Everything that lists steps or sections derives from here: ``salesplan steps``, the demo's
default decisions (:mod:`salesplan_nb.batch.demo`), the modules the batch kernels pre-import
(:mod:`salesplan_nb.batch.runner`), the section lists of each plan type
(:mod:`salesplan_nb.render.report`, hence the plan notebooks), the widget classes
(``salesplan_nb.ui.widget_classes``) and the index table of ``docs/steps.md``
(``scripts/gen_steps_index.py``).

Declarations are data: modules, functions, widgets and section builders are named by
``"package.module:attribute"`` references, resolved (imported) only by the layer that uses them,
so this module imports nothing above ``core``.

Third-party steps and sections: a package declares an entry point in the group
``salesplan_nb.steps`` whose object is a :class:`Step`, a :class:`PlanSection`, a list of them,
or a function returning one of those::

    [project.entry-points."salesplan_nb.steps"]
    churn = "salesplan_churn:declarations"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.registry import Registry, resolve
from salesplan_nb.core.resources import notebook_dir
from salesplan_nb.core.scope import DOCUMENT_TYPES, PLAN_TYPES  # noqa: F401 - re-exported

GROUP = "salesplan_nb.steps"
METHOD_STEPS = 15  # the method's numbered steps


@dataclass(frozen=True)
class Step:
    """One step of the planning process.

    - ``key``: short name (``quotas``); ``number``: the method's step 1-15, ``None`` for a
      module that serves every step (forecast, scenarios) or a plug-in outside the method;
    - ``module``: the package module that holds the step's logic;
    - ``notebook``: the notebook to open, relative to ``notebooks/`` (or an absolute path);
    - ``sections``: keys of the plan-document sections built from this step;
    - ``widgets``: ``"module:Class"`` references of the step's widgets;
    - ``demo``: ``"module:function"`` reference of the demo's default decision,
      ``function(ws) -> str`` (records decisions as ``by="demo"``, returns a one-line summary);
    - ``order``: position in the process (default: ``number``); a plug-in step placed after
      step 10 uses e.g. ``10.5``;
    - ``reads``: keys of the steps whose decisions this step reads (a newer decision there, or
      in what those read, makes this one outdated: :mod:`salesplan_nb.steps.status`).
    """

    key: str
    number: int | None
    title: str
    module: str
    notebook: str
    summary: str = ""
    sections: tuple[str, ...] = ()
    widgets: tuple[str, ...] = ()
    demo: str | None = None
    order: float | None = None
    reads: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.number is not None and not 1 <= self.number <= METHOD_STEPS:
            raise ConfigError(f"step {self.key!r}: number {self.number} is not a step of the "
                              f"method (1-{METHOD_STEPS}); use None for a step outside it")
        if self.order is None:
            if self.number is None:
                raise ConfigError(f"step {self.key!r}: give order= (its place in the process)")
            object.__setattr__(self, "order", float(self.number))

    @property
    def label(self) -> str:
        """``"9"`` or ``"across steps"``."""
        return str(self.number) if self.number is not None else "across steps"

    @property
    def widget_names(self) -> list[str]:
        return [w.rpartition(":")[2].rpartition(".")[2] for w in self.widgets]

    def notebook_path(self) -> Path:
        """The notebook file: absolute as given, else under the install's ``notebooks/``
        (the checkout's, or the wheel's package data: :func:`core.resources.notebook_dir`)."""
        p = Path(self.notebook)
        return p if p.is_absolute() else notebook_dir() / p

    def demo_decision(self) -> Callable[[Any], str] | None:
        return resolve(self.demo) if self.demo else None

    def as_dict(self) -> dict:
        """Plain data for ``salesplan steps --json``."""
        d = asdict(self)
        d.update(sections=list(self.sections), widgets=self.widget_names,
                 notebook=str(self.notebook_path()), notebook_exists=self.notebook_path().exists())
        return d


@dataclass(frozen=True)
class PlanSection:
    """One section of the plan document: ``build`` is the ``"module:function"`` reference of
    ``function(ctx: PlanContext) -> Section``; ``placement`` maps each plan type that shows it
    to its position in that document (sections are sorted by position)."""

    key: str
    title: str
    build: str
    placement: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.placement) - set(DOCUMENT_TYPES)
        if unknown:
            raise ConfigError(f"plan section {self.key!r}: unknown plan type(s) "
                              f"{', '.join(sorted(unknown))}; use {', '.join(DOCUMENT_TYPES)}")

    def builder(self) -> Callable:
        return resolve(self.build)


def _plugin(reg: Registry, name: str, obj: Any) -> None:
    """Register what a ``salesplan_nb.steps`` entry point provides."""
    if callable(obj) and not isinstance(obj, Step | PlanSection):
        obj = obj()
    for item in obj if isinstance(obj, Iterable) else [obj]:
        if isinstance(item, Step):
            STEPS.register(item.key, item)
        elif isinstance(item, PlanSection):
            SECTIONS.register(item.key, item)
        else:
            raise TypeError(f"{type(item).__name__} is neither a Step nor a PlanSection")


STEPS: Registry[Step] = Registry("planning steps", GROUP, _plugin)
SECTIONS: Registry[PlanSection] = Registry("plan sections", loads_with=STEPS)


def steps() -> list[Step]:
    """Every step in process order (built-ins and plug-ins)."""
    return sorted(STEPS.values(), key=lambda s: s.order)


def step(key: str) -> Step:
    return STEPS.get(key)


def plan_sections(plan_type: str) -> list[str]:
    """Section keys of a plan type's document, in order."""
    if plan_type not in DOCUMENT_TYPES:
        raise ConfigError(f"plan type {plan_type!r} is not one of {', '.join(DOCUMENT_TYPES)}")
    chosen = [s for s in SECTIONS.values() if plan_type in s.placement]
    return [s.key for s in sorted(chosen, key=lambda s: s.placement[plan_type])]


def step_modules() -> list[str]:
    """The modules of every step, once each, in process order."""
    return list(dict.fromkeys(s.module for s in steps()))


def widget_refs() -> dict[str, str]:
    """Widget class name -> ``"module:Class"`` reference, over every step."""
    return {name: ref for s in steps() for name, ref in zip(s.widget_names, s.widgets)}


def section_owner(key: str) -> Step | None:
    """The step whose ``sections`` list ``key``."""
    return next((s for s in steps() if key in s.sections), None)


# ---- the method -------------------------------------------------------------------------------
_S = "salesplan_nb.steps."
_UI = "salesplan_nb.ui."
_R = "salesplan_nb.render.sections."

_DECLARED = [
    Step("market", 1, "Market & customer insights", _S + "market", "steps/01_market_customers.ipynb",
         "bookings over time, growth, seasonality, market size, concentration, coverage gaps",
         ("market_potential", "market_trends", "account_profile", "account_history",
          "whitespace"), (_UI + "data:DataSourceMapper",), _S + "market:demo_decision"),
    Step("goals", 2, "SMART goals", _S + "goals", "steps/02_goals.ipynb",
         "goals checked letter by letter against history and capacity",
         ("sales_goals",), (_UI + "goals:SmartGoalBuilder",), _S + "goals:demo_decision"),
    Step("kpis", 3, "Metrics & KPIs", _S + "kpis", "steps/03_kpis.ipynb",
         "the KPI library and a dashboard against targets",
         ("metrics_kpis",), (_UI + "goals:KpiDashboard",), _S + "kpis:demo_decision"),
    Step("swot", 4, "SWOT", _S + "swot", "steps/04_swot.ipynb",
         "data-driven strengths, weaknesses, opportunities, threats with evidence",
         ("swot_section",), (_UI + "swot:SwotBoard",), _S + "swot:demo_decision"),
    Step("capacity", 5, "Sales capacity", _S + "capacity", "steps/05_capacity.ipynb",
         "ramped rep equivalents, attrition, hiring plan, capacity vs target",
         (), (_UI + "plan:CapacitySliders",), _S + "capacity:demo_decision"),
    Step("segments", 6, "Ideal customer profile & segments", _S + "segments",
         "steps/06_segments_icp.ipynb", "ICP from won deals, fit scores, ranked target segments",
         ("target_segments",), (_UI + "plan:IcpSegments",), _S + "segments:demo_decision"),
    Step("stakeholders", 7, "Stakeholders", _S + "stakeholders", "steps/07_stakeholders.ipynb",
         "owners and sign-off per plan section",
         ("stakeholders_section",), (_UI + "actions:SignOffTracker",),
         _S + "stakeholders:demo_decision"),
    Step("strategy", 8, "Strategy & tactics", _S + "strategy", "steps/08_strategy_tactics.ipynb",
         "tactics with segment, owner, budget, dates and the driver they move",
         ("strategy_tactics",), (_UI + "plan:TacticsEditor",), _S + "strategy:demo_decision"),
    Step("quotas", 9, "Quotas", _S + "quotas", "steps/09_quotas.ipynb",
         "top-down split, over-assignment, ramp, seasonality, fairness",
         ("quotas_section",), (_UI + "quotas:QuotaAllocator",), _S + "quotas:demo_decision"),
    Step("territories", 10, "Territories", _S + "territories", "steps/10_territories.ipynb",
         "balance potential and workload, keep locked accounts, few moves",
         (), (_UI + "quotas:TerritoryBalancer",), _S + "territories:demo_decision"),
    Step("resources", 11, "Resources", _S + "resources", "steps/11_resources.ipynb",
         "budget across investments with diminishing returns, marginal ROI",
         ("resource_allocation",), (_UI + "quotas:BudgetAllocator",),
         _S + "resources:demo_decision"),
    Step("forecast", None, "Forecast", _S + "forecast", "steps/scenarios_forecast.ipynb",
         "time-series and pipeline-weighted forecasts with backtested accuracy",
         ("growth_forecast",), (), _S + "forecast:demo_decision", order=11.5),
    Step("scenarios", None, "What-if scenarios", _S + "scenarios",
         "steps/scenarios_forecast.ipynb",
         "change a driver and see every number move; base / best / worst; P(target)",
         ("scenarios_section",), (_UI + "scenarios:ScenarioManager",),
         _S + "scenarios:demo_decision", order=11.6),
    Step("plan_document", 12, "The plan document", _S + "timeline",
         "steps/12_plan_document.ipynb",
         "executive summary, timeline & milestones, the document previewed per scope",
         ("executive_summary", "year_by_year", "timeline", "account_risks"),
         (_UI + "timeline:MilestoneEditor",)),
    Step("rollout", 13, "Roll-out", _S + "rollout", "steps/13_rollout.ipynb",
         "per-rep quota letters and their acceptance; key-account actions with owners and "
         "due dates",
         ("account_actions", "rep_quota", "rep_accounts", "rep_drivers", "rep_terms",
          "rep_acceptance", "rollout_status"),
         (_UI + "actions:AccountActionsEditor", _UI + "actions:QuotaLetterAcceptance"),
         _S + "rollout:demo_decision"),
    Step("monitor", 14, "Monitor & adjust", _S + "monitor", "steps/14_monitor.ipynb",
         "plan vs actual, run rate, variance explained, alerts, reviews",
         ("reviews_lessons",), (_UI + "scenarios:ReviewTracker",), _S + "monitor:demo_decision"),
    Step("evaluate", 15, "Evaluate", _S + "evaluate", "steps/15_evaluate.ipynb",
         "attainment distribution, forecast accuracy, tactic ROI, lessons",
         (), (), _S + "evaluate:demo_decision"),
]

# position of each section in each plan type's document (gaps leave room for plug-ins)
_SECTIONS = [
    PlanSection("executive_summary", "Executive summary", _R + "summary:executive_summary",
                {"annual": 0, "territory": 0, "account": 0, "long-term": 0}),
    PlanSection("market_potential", "Market potential", _R + "market:market_potential",
                {"territory": 5}),
    PlanSection("account_profile", "Account profile", _R + "account:account_profile", {"account": 10}),
    PlanSection("sales_goals", "Sales goals", _R + "goals:sales_goals",
                {"annual": 10, "territory": 10, "account": 15, "long-term": 10}),
    PlanSection("year_by_year", "Year by year", _R + "longterm:year_by_year", {"long-term": 12}),
    PlanSection("market_trends", "Market trends", _R + "market:market_trends", {"long-term": 15}),
    PlanSection("metrics_kpis", "Metrics & KPIs", _R + "kpis:metrics_kpis",
                {"annual": 15, "territory": 15, "long-term": 18}),
    PlanSection("scenarios_section", "Scenarios", _R + "scenarios:scenarios_section",
                {"annual": 55, "territory": 55, "long-term": 17}),
    PlanSection("swot_section", "SWOT", _R + "swot:swot_section",
                {"annual": 17, "territory": 17, "long-term": 19}),
    PlanSection("account_history", "History", _R + "account:account_history", {"account": 20}),
    PlanSection("target_segments", "Target segments", _R + "segments:target_segments",
                {"annual": 20, "territory": 20, "long-term": 20}),
    PlanSection("whitespace", "Whitespace by product", _R + "account:whitespace", {"account": 30}),
    PlanSection("strategy_tactics", "Strategy & tactics", _R + "strategy:strategy_tactics",
                {"annual": 30, "territory": 30, "long-term": 30}),
    PlanSection("quotas_section", "Quotas", _R + "quotas:quotas_section",
                {"territory": 35, "annual": 45}),
    PlanSection("resource_allocation", "Resource allocation", _R + "resources:resource_allocation",
                {"annual": 40, "territory": 40, "long-term": 40}),
    PlanSection("growth_forecast", "Growth forecast", _R + "forecast:growth_forecast",
                {"account": 40, "annual": 50, "territory": 50}),
    PlanSection("rep_quota", "Quota", _R + "rollout:rep_quota", {"rep": 10}),
    PlanSection("rep_accounts", "Territory & named accounts", _R + "rollout:rep_accounts",
                {"rep": 20}),
    PlanSection("rep_drivers", "How the number is built", _R + "rollout:rep_drivers",
                {"rep": 30}),
    PlanSection("rep_terms", "Terms", _R + "rollout:rep_terms", {"rep": 40}),
    PlanSection("rep_acceptance", "Acceptance", _R + "rollout:rep_acceptance", {"rep": 50}),
    PlanSection("rollout_status", "Roll-out: quota letters", _R + "rollout:rollout_status",
                {"annual": 47, "territory": 37}),
    PlanSection("account_actions", "Actions", _R + "account:account_actions", {"account": 50}),
    PlanSection("account_risks", "Risks", _R + "account:account_risks", {"account": 60}),
    PlanSection("stakeholders_section", "Stakeholders & sign-off",
                _R + "stakeholders:stakeholders_section",
                {"annual": 80, "territory": 80, "long-term": 80}),
    PlanSection("timeline", "Timeline & milestones", _R + "timeline:timeline",
                {"annual": 90, "territory": 90, "account": 90, "long-term": 90}),
    PlanSection("reviews_lessons", "Reviews & lessons", _R + "monitoring:reviews_lessons",
                {"annual": 95, "territory": 95, "long-term": 95}),
]

# the steps whose decisions each step reads (docs/steps.md, "What each step reads")
_READS = {
    "goals": ("market",), "kpis": ("goals",), "swot": ("market",), "capacity": ("goals",),
    "segments": ("market",), "stakeholders": (), "strategy": ("goals", "swot", "segments"),
    "quotas": ("goals", "capacity", "territories"), "territories": ("market", "capacity"),
    "resources": ("goals", "strategy"), "forecast": ("market",),
    "scenarios": ("quotas", "capacity", "strategy", "forecast"),
    "plan_document": ("goals", "strategy", "quotas", "resources", "scenarios", "stakeholders"),
    "rollout": ("quotas", "capacity", "territories", "strategy"),
    "monitor": ("goals", "quotas", "forecast"),
    "evaluate": ("monitor", "strategy", "forecast"),
}
_DECLARED = [replace(s, reads=_READS.get(s.key, s.reads)) for s in _DECLARED]

for _step in _DECLARED:
    STEPS.register(_step.key, _step)
for _sec in _SECTIONS:
    SECTIONS.register(_sec.key, _sec)
del _step, _sec
