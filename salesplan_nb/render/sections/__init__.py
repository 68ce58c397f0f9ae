"""Section builders of the plan document, one module per step, and which sections each plan
type shows.

A builder is ``function(ctx: PlanContext) -> Section``. :data:`SECTION_BUILDERS` (key -> builder) and
:data:`PLAN_SECTIONS` (plan type -> section keys in order) are read from the step registry
(:mod:`salesplan_nb.steps.registry`: each ``PlanSection`` names its builder here and its
position per plan type; plug-ins add theirs). :func:`build` runs them for a context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from salesplan_nb.core.errors import SalesplanError
from salesplan_nb.render.blocks import Missing, Section
from salesplan_nb.render.context import PlanContext
from salesplan_nb.steps import registry as step_registry

__all__ = ["SECTION_BUILDERS", "PLAN_SECTIONS", "build", "builder"]

class _PlanSections(Mapping):
    """Plan type -> its section keys in order, from the step registry
    (:func:`salesplan_nb.steps.registry.plan_sections`; plug-in sections included)."""

    def __getitem__(self, plan_type: str) -> list[str]:
        if plan_type not in step_registry.DOCUMENT_TYPES:
            raise KeyError(plan_type)
        return step_registry.plan_sections(plan_type)

    def __iter__(self) -> Iterator[str]:
        return iter(step_registry.DOCUMENT_TYPES)

    def __len__(self) -> int:
        return len(step_registry.DOCUMENT_TYPES)


class _Builders(Mapping):
    """Section key -> its builder, resolved from the step registry's :class:`PlanSection`."""

    def __getitem__(self, name: str) -> Callable[[PlanContext], Section]:
        if name not in step_registry.SECTIONS:
            raise KeyError(name)
        return step_registry.SECTIONS.get(name).builder()

    def __iter__(self) -> Iterator[str]:
        return iter(step_registry.SECTIONS.keys())

    def __len__(self) -> int:
        return len(step_registry.SECTIONS)


SECTION_BUILDERS: Mapping[str, Callable[[PlanContext], Section]] = _Builders()
PLAN_SECTIONS: Mapping[str, list[str]] = _PlanSections()


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
