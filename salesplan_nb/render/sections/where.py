"""Where each decision is taken: the step notebook that records it in plan.yaml. A section
without its decision says in one line what to decide and where (:func:`to_decide`)."""

from __future__ import annotations

from salesplan_nb.render.blocks import ToDecide

NOTEBOOKS = {
    "market": "notebooks/steps/01_market_customers.ipynb",
    "goals": "notebooks/steps/02_goals_kpis.ipynb",
    "kpis": "notebooks/steps/02_goals_kpis.ipynb",
    "swot": "notebooks/steps/03_swot.ipynb",
    "capacity": "notebooks/steps/04_capacity.ipynb",
    "segments": "notebooks/steps/05_segments_icp.ipynb",
    "strategy": "notebooks/steps/06_strategy_tactics.ipynb",
    "quotas": "notebooks/steps/07_quotas_territories.ipynb",
    "territories": "notebooks/steps/07_quotas_territories.ipynb",
    "resources": "notebooks/steps/08_resources.ipynb",
    "scenarios": "notebooks/steps/09_scenarios_forecast.ipynb",
    "forecast": "notebooks/steps/09_scenarios_forecast.ipynb",
    "stakeholders": "notebooks/steps/10_plan_document.ipynb",
    "timeline": "notebooks/steps/10_plan_document.ipynb",
    "actions": "notebooks/steps/10_plan_document.ipynb",
    "monitor": "notebooks/steps/11_monitor.ipynb",
    "evaluate": "notebooks/steps/12_evaluate.ipynb",
}


def to_decide(what: str, step: str) -> ToDecide:
    """One line: 'To decide: <what> - in <notebook of the step>.'"""
    return ToDecide(what, NOTEBOOKS[step])
