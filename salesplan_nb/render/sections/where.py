"""Where each decision is taken: the step notebook that records it in plan.yaml, from the step
registry (so the path is always a notebook that exists). A section without its decision says
in one line what to decide and where (:func:`to_decide`)."""

from __future__ import annotations

from salesplan_nb.render.blocks import ToDecide
from salesplan_nb.steps import registry as step_registry

#: decision kind -> the step (registry key) whose notebook records it
STEP_OF = {"timeline": "plan_document", "actions": "rollout"}


def notebook_of(step: str) -> str:
    """``notebooks/<path>`` of the step that records decision kind ``step``."""
    return "notebooks/" + step_registry.step(STEP_OF.get(step, step)).notebook


def to_decide(what: str, step: str) -> ToDecide:
    """One line: 'To decide: <what> - in <notebook of the step>.'"""
    return ToDecide(what, notebook_of(step))
