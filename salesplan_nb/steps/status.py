"""A step's status in a plan: decided, not yet, or outdated by a decision it depends on.

Each step declares the steps whose decisions it reads (``Step.reads`` in
:mod:`salesplan_nb.steps.registry`; e.g. quotas reads goals, capacity and territories). A step
*depends on* the steps it reads and, transitively, the steps those read. Given each step's
latest decision (who, and when as an ISO-8601 UTC stamp), :func:`step_status` says

- ``decided``: the step has a decision and no step it depends on has one recorded after it;
- ``outdated``: a step it depends on has a decision recorded after the step's latest one;
  ``because`` names that step and when (the latest such change; ``via`` the step it reaches
  this one through when it is not read directly), e.g.
  ``"capacity changed 2026-12-02 10:14"`` - re-check the step;
- ``not yet``: nothing recorded.

A change to a step the step does not depend on never makes it outdated, whatever its order.
ISO-8601 UTC stamps of one format compare as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.steps import registry

DECIDED, OUTDATED, NOT_YET = "decided", "outdated", "not yet"


@dataclass(frozen=True)
class Decision:
    """The latest decision recorded for a step: ``by`` whom and ``at`` (ISO-8601 UTC)."""

    by: str | None
    at: str


@dataclass(frozen=True)
class StepStatus:
    """One step's status; ``changed`` / ``changed_at`` / ``via``: the newer dependency
    decision that makes it outdated (``via`` None when the step reads it directly)."""

    key: str
    status: str
    by: str | None = None
    at: str | None = None
    changed: str | None = None
    changed_at: str | None = None
    via: str | None = None

    @property
    def because(self) -> str | None:
        """``"capacity changed 2026-12-02 10:14"`` (+ ``" (read via quotas)"``), or None."""
        if self.changed is None:
            return None
        via = f" (read via {self.via})" if self.via else ""
        return f"{self.changed} changed {stamp_text(self.changed_at)}{via}"


def stamp_text(at: str | None) -> str:
    """``2026-12-02T10:14:05Z`` -> ``2026-12-02 10:14`` (UTC, to the minute)."""
    if not at:
        return ""
    return str(at).replace("T", " ")[:16]


def dependencies(reads: Mapping[str, Iterable[str]], key: str) -> dict[str, str | None]:
    """Every step ``key`` depends on (transitively through ``reads``) -> the step ``key``
    reads it through (None when read directly). A step name ``reads`` does not declare is a
    ConfigError naming the step and the unknown name; cycles end where they close."""
    out: dict[str, str | None] = {}
    frontier = [(dep, None) for dep in reads.get(key, ())]
    while frontier:
        dep, via = frontier.pop(0)  # breadth first: the shortest path names the "via"
        if dep == key or dep in out:
            continue
        if dep not in reads:
            raise ConfigError(f"step {key!r} (or a step it reads) reads {dep!r}, which is not "
                              f"a step; use one of {', '.join(sorted(reads))}")
        out[dep] = via
        frontier += [(d, via or dep) for d in reads[dep]]
    return out


def step_status(latest: Mapping[str, Decision | None],
                reads: Mapping[str, Iterable[str]]) -> dict[str, StepStatus]:
    """The status of every step in ``reads`` (step key -> the steps it reads) from ``latest``
    (step key -> its latest :class:`Decision`, None or absent when nothing is recorded)."""
    out = {}
    for key in reads:
        mine = latest.get(key)
        if mine is None:
            out[key] = StepStatus(key, NOT_YET)
            continue
        newer = [(latest[d].at, d, via) for d, via in dependencies(reads, key).items()
                 if latest.get(d) is not None and str(latest[d].at) > str(mine.at)]
        if not newer:
            out[key] = StepStatus(key, DECIDED, mine.by, mine.at)
            continue
        at, dep, via = max(newer, key=lambda t: (str(t[0]), t[2] is None))
        out[key] = StepStatus(key, OUTDATED, mine.by, mine.at, dep, at, via)
    return out


def registry_reads() -> dict[str, tuple[str, ...]]:
    """Step key -> the steps it reads, from the step registry (built-ins and plug-ins)."""
    return {s.key: tuple(s.reads) for s in registry.steps()}
