"""The planning steps of a plan workspace, with each step's status from ``plan.yaml``.

:func:`step_list` is the steps in process order: from the step registry
(``salesplan_nb.steps.registry``) when it is installed, else derived from the step notebooks
(``NN_name.ipynb``: number from the prefix, title from the first heading).

A step's *decision sections* are the ``plan.yaml`` sections its notebook writes: the
``section`` of every widget class the notebook shows (``ui.ClassName(...)``) and the
``SECTION`` of every step module it imports (``from salesplan_nb.steps import x``), less the
sections another step writes with its own widgets or module (those it reads; a step left with
none keeps them: forecast shares the scenarios notebook).

:func:`step_status` gives each step its status from the decisions of its sections, by
:func:`salesplan_nb.steps.status.step_status` (the one rule): ``decided`` (``by`` and ``at`` of
the latest decision), ``outdated`` (a step it reads, directly or through others, has a decision
recorded after it; ``because`` names that step and when: ``"capacity changed 2026-12-02
10:14"``) or ``not yet``.
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from salesplan_nb.core.resources import notebook_dir
from salesplan_nb.steps import status as status_rule

_NUMBERED = re.compile(r"^(\d+)_(.+)\.ipynb$")
_WIDGET = re.compile(r"\bui\.([A-Z]\w+)\s*\(")
_IMPORT = re.compile(r"from\s+salesplan_nb\.steps\s+import\s+\(?([\w\s,]+)\)?")


@dataclass
class StepInfo:
    """One step as the panel shows it. ``notebook`` is the file name (the copy in a plan
    folder has the same name); ``number`` None for a module that serves every step."""

    key: str
    number: int | None
    title: str
    module: str
    notebook: str
    order: float
    sections: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    status: str = "not yet"
    by: str | None = None
    at: str | None = None
    because: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _notebook_text(path: Path) -> tuple[str, str]:
    """(first heading, all code) of a notebook file."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    title, code = "", []
    for cell in nb.get("cells", []):
        src = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown" and not title:
            head = next((ln for ln in src.splitlines() if ln.startswith("#")), "")
            title = head.lstrip("# ").strip()
        elif cell.get("cell_type") == "code":
            code.append(src)
    return title, "\n".join(code)


@lru_cache(maxsize=1)
def _widget_sections() -> dict[str, str]:
    from salesplan_nb.ui.base import widget_classes

    return {name: cls.section for name, cls in widget_classes().items()
            if getattr(cls, "section", "")}


def _module_section(module: str) -> str | None:
    try:
        return getattr(importlib.import_module(module), "SECTION", None)
    except ImportError:
        return None


def decision_sections(notebook: Path, modules: list[str] = ()) -> list[str]:
    """plan.yaml sections written by the widgets and step modules of ``notebook``."""
    code = _notebook_text(notebook)[1] if notebook.exists() else ""
    widgets = _widget_sections()
    found = [widgets[w] for w in _WIDGET.findall(code) if w in widgets]
    mods = list(modules)
    for group in _IMPORT.findall(code):
        mods += [f"salesplan_nb.steps.{m.strip()}" for m in group.split(",") if m.strip()]
    found += [s for s in map(_module_section, mods) if s]
    return list(dict.fromkeys(found))


def _from_registry() -> list[StepInfo] | None:
    try:
        registry = importlib.import_module("salesplan_nb.steps.registry")
    except ModuleNotFoundError:
        return None
    widgets = _widget_sections()
    declared = registry.steps()
    # the sections a step writes itself: its widgets' and its module's
    own = {s.key: {widgets.get(w) for w in s.widget_names} | {_module_section(s.module)}
           for s in declared}
    out = []
    for s in declared:
        # the registry names notebooks relative to notebooks/: resolve them where this install
        # keeps its notebooks (checkout or package data)
        path = Path(s.notebook) if Path(s.notebook).is_absolute() else notebook_dir() / s.notebook
        found = decision_sections(path, [s.module])
        # a section another step writes is read here, not decided (rollout imports quotas)
        mine = [sec for sec in found if sec in own[s.key]
                or not any(sec in o for k, o in own.items() if k != s.key)]
        out.append(StepInfo(s.key, s.number, s.title, s.module, path.name, float(s.order),
                            mine or found, list(s.reads)))
    return out


def _from_notebooks() -> list[StepInfo]:
    out = []
    for path in sorted(notebook_dir("steps").glob("*.ipynb")):
        m = _NUMBERED.match(path.name)
        number = int(m.group(1)) if m else None
        title, _ = _notebook_text(path)
        title = re.sub(r"^Steps?\s+[\d\-–]+\s*[-–:]\s*", "", title) or path.stem
        out.append(StepInfo(m.group(2) if m else path.stem, number, title, "", path.name,
                            float(number if number is not None else 99),
                            decision_sections(path, [_guess_module(path.stem)])))
    return out


def _guess_module(stem: str) -> str:
    """``12_evaluate`` -> ``salesplan_nb.steps.evaluate`` when that module exists."""
    name = _NUMBERED.sub(r"\2", stem + ".ipynb").removesuffix(".ipynb") if _NUMBERED.match(
        stem + ".ipynb") else stem
    return f"salesplan_nb.steps.{name}"


def step_list() -> list[StepInfo]:
    """Every step in process order (registry first, else the step notebooks)."""
    steps = _from_registry()
    if steps is None:
        steps = _from_notebooks()
    return sorted(steps, key=lambda s: s.order)


def _entries(section: dict | list | None) -> list[dict]:
    if isinstance(section, dict):
        return [e for e in section.values() if isinstance(e, dict)]
    if isinstance(section, list):
        return [e for e in section if isinstance(e, dict)]
    return []


def step_status(decisions: dict, steps: list[StepInfo] | None = None) -> list[StepInfo]:
    """``steps`` (default :func:`step_list`) with status, by, at and because from
    ``decisions`` (the ``decisions`` mapping of plan.yaml): a step's latest decision is the
    newest stamped entry of its sections; the status is :func:`salesplan_nb.steps.status.
    step_status` over the steps' ``reads``."""
    steps = [StepInfo(**asdict(s)) for s in (steps if steps is not None else step_list())]
    latest = {}
    for s in steps:
        stamped = [e for sec in s.sections for e in _entries(decisions.get(sec)) if e.get("at")]
        if stamped:
            last = max(stamped, key=lambda e: str(e["at"]))
            latest[s.key] = status_rule.Decision(last.get("by"), str(last["at"]))
    found = status_rule.step_status(latest, {s.key: s.reads for s in steps})
    for s in steps:
        st = found[s.key]
        s.status, s.by, s.at, s.because = st.status, st.by, st.at, st.because
    return steps
