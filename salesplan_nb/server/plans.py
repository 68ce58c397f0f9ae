"""What the "New sales plan" dialog and the side panel do to plan folders.

- :func:`validate_source`: load a data source with its mapping and return the validation
  report as plain data (problems by file, row, column); nothing is written.
- :func:`create_plan`: validate first; when the data cannot be loaded raise
  :class:`InvalidData` carrying the report and create nothing; else create the workspace
  (plan.yaml + data snapshot) and copy the step notebooks into it.
- :func:`find_plans`, :func:`plan_summary`, :func:`headline_rows`, :func:`plan_figures`:
  what the panel shows.

Every path comes from the browser: it is resolved inside the server's root folder
(:func:`resolve_inside`) and a plan folder must be new or empty.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from salesplan_nb.batch.demo import headline
from salesplan_nb.batch.demo import headline_rows as demo_headline_rows
from salesplan_nb.core.errors import ConfigError, SalesplanError, WorkspaceError
from salesplan_nb.core.formats import money, untag
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.loaders import load_with_report
from salesplan_nb.data.plan_notebooks import copy_step_notebooks
from salesplan_nb.data.sample import generate, write_dataset_csv
from salesplan_nb.data.workspace import PLAN_FILE, PLAN_TYPES, Workspace
from salesplan_nb.render.context import context as plan_context
from salesplan_nb.render.figures import fig, headline_of
from salesplan_nb.render.sections.summary import FIGURES
from salesplan_nb.server.steps import step_list, step_status

SAMPLE_SEED = 42
# sample company sizes the dialog offers: full (the demo's company) or small (a quick tour)
SAMPLE_SIZES = {"full": {}, "small": {"accounts": 400, "opportunities": 6000}}
MAX_PROBLEMS = 200  # problems sent to the browser (the count says how many there are)


class InvalidData(SalesplanError):
    """The data source did not load; ``report`` holds the problems (plain data)."""

    def __init__(self, report: dict):
        super().__init__(f"{report['source']}: {report['errors']} error(s); nothing created")
        self.report = report


def resolve_inside(root: str | Path, rel: str, what: str = "path") -> Path:
    """``rel`` (relative to ``root``) resolved; a ConfigError when it leaves ``root``."""
    root_r = Path(root).resolve()
    if not isinstance(rel, str) or not rel.strip():
        raise ConfigError(f"{what} is empty; give a folder inside {root_r}")
    p = (root_r / rel.strip()).resolve()
    if p != root_r and root_r not in p.parents:
        raise ConfigError(f"{what} {rel!r} is outside the Jupyter root folder {root_r}")
    return p


def relative(root: str | Path, path: Path) -> str:
    """``path`` relative to ``root`` with forward slashes (what the browser opens)."""
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()


def report_dict(report) -> dict:
    """A :class:`salesplan_nb.data.validate.Report` as plain data for the browser."""
    problems = [asdict(p) for p in report.problems]
    for p, obj in zip(problems, report.problems):
        p["line"] = obj.line()
    errors = [p for p in problems if p["severity"] == "error"]
    warnings = [p for p in problems if p["severity"] != "error"]
    return {"source": report.source, "mapping": report.mapping, "ok": report.ok,
            "errors": len(errors), "warnings": len(warnings),
            "problems": (errors + warnings)[:MAX_PROBLEMS],
            "tables": {k: t.rows for k, t in report.tables.items()}}


def _load(kind: str, source: str | None, mapping: str | None, root: str | Path,
          size: str = "full"):
    """(Dataset or None, report dict, source record for plan.yaml)."""
    if kind == "sample":
        if size not in SAMPLE_SIZES:
            raise ConfigError(f"sample size {size!r}: use {' or '.join(SAMPLE_SIZES)}")
        generated = generate(seed=SAMPLE_SEED, **SAMPLE_SIZES[size])
        with tempfile.TemporaryDirectory(prefix="salesplan-sample-") as tmp:
            csv_dir = write_dataset_csv(generated, Path(tmp) / "sample")
            data, report = load_with_report(csv_dir, None, as_of=generated.as_of)
            rep = report_dict(report)
            rep["source"] = f"sample company (seed {SAMPLE_SEED})"
        if data is not None:
            data.name = f"sample-{SAMPLE_SEED}"
        return data, rep, {"kind": "sample", "seed": SAMPLE_SEED, **SAMPLE_SIZES[size]}
    if kind != "source":
        raise ConfigError(f"data kind {kind!r}: use sample or source")
    if not source or not str(source).strip():
        raise ConfigError("give a data source: a folder, a workbook or an SQLAlchemy URL")
    source = str(source).strip()
    if "://" not in source:  # a file or folder: inside the Jupyter root
        source = str(resolve_inside(root, source, "data source"))
    mp = (mapping or "").strip() or None
    if mp and (mp.endswith((".yaml", ".yml"))):
        mp = str(resolve_inside(root, mp, "mapping file"))
    data, report = load_with_report(source, mp)
    record = {"kind": "path" if "://" not in source else "sql", "path": source, "mapping": mp}
    if "://" in source:  # never store credentials of a URL on disk
        record["path"] = make_url(source).render_as_string(hide_password=True)
    return data, report_dict(report), record


def validate_source(root: str | Path, kind: str, source: str | None = None,
                    mapping: str | None = None, size: str = "full") -> dict:
    """The validation report of a data source (plain data); writes nothing."""
    return _load(kind, source, mapping, root, size)[1]


def create_plan(root: str | Path, folder: str, *, plan_type: str = "annual",
                period: str | None = None, scope: str | None = None, kind: str = "sample",
                source: str | None = None, mapping: str | None = None,
                name: str | None = None, size: str = "full") -> dict:
    """Validate the data, then create the plan in ``root/folder`` with its step notebooks.

    Returns ``{plan, notebooks, first, report}`` (paths relative to ``root``); raises
    :class:`InvalidData` (nothing created) when the data does not load."""
    path = resolve_inside(root, folder, "plan folder")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise WorkspaceError(f"{folder} already exists and is not empty; choose a new folder")
    if plan_type not in PLAN_TYPES:
        raise ConfigError(f"plan type {plan_type!r}: use one of {', '.join(PLAN_TYPES)}")
    if period:
        Period.parse(period)
    Scope.parse(scope or "company")
    data, report, record = _load(kind, source, mapping, root, size)
    if data is None:
        raise InvalidData(report)
    if (scope or "company") != "company":
        sc = Scope.parse(scope)
        ids = _scope_ids(data, sc.level)
        if sc.id not in ids:
            raise ConfigError(f"scope {scope!r}: no {sc.level} {sc.id!r} in the data (e.g. "
                              f"{', '.join(sorted(ids)[:5])})")
    created_dir = not path.exists()
    try:
        ws = Workspace.create(path, data=data, plan_type=plan_type, period=period or None,
                              source=record, name=name or None, scope=scope or None)
        notebooks = copy_step_notebooks(path)
    except BaseException:
        if created_dir:  # never leave half a plan behind
            shutil.rmtree(path, ignore_errors=True)
        raise
    rels = [relative(root, nb) for nb in notebooks]
    return {"plan": relative(root, ws.path), "name": ws.plan["name"], "notebooks": rels,
            "first": rels[0] if rels else None, "report": report}


def _scope_ids(data, level: str) -> set[str]:
    cols = {"region": (data.accounts, "region"), "territory": (data.accounts, "territory"),
            "account": (data.accounts, "account_id"), "rep": (data.reps, "rep_id")}
    if level not in cols:
        raise ConfigError(f"scope level {level!r}: use company, region, territory, account "
                          "or rep")
    df, col = cols[level]
    return {str(v) for v in df[col].dropna().unique()}


def find_plans(root: str | Path, depth: int = 3) -> list[dict]:
    """Plan folders (with plan.yaml) under ``root`` down to ``depth`` levels, by path."""
    root_r = Path(root).resolve()
    found = []

    def walk(folder: Path, level: int) -> None:
        if (folder / PLAN_FILE).is_file():
            found.append(folder)
        if level >= depth:
            return
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir()
                              and not p.name.startswith((".", "__")) and p.name != "node_modules")
        except OSError:
            return
        for child in children:
            walk(child, level + 1)

    walk(root_r, 0)
    out = []
    for f in found:
        try:
            ws = Workspace.open(f)
            out.append({"path": relative(root_r, f) or ".", "name": ws.plan.get("name", f.name),
                        "type": ws.plan_type, "period": ws.period.label})
        except SalesplanError as exc:
            out.append({"path": relative(root_r, f) or ".", "name": f.name, "error": str(exc)})
    return out


def plan_summary(root: str | Path, plan: str) -> dict:
    """The panel's view of a plan: name, type, period, scope and its steps with status."""
    path = resolve_inside(root, plan, "plan folder")
    ws = Workspace.open(path)
    steps = []
    for s in step_status(ws.doc["decisions"]):
        d = s.as_dict()
        nb = path / s.notebook
        d["path"] = relative(root, nb) if nb.exists() else None
        steps.append(d)
    return {"plan": relative(root, path) or ".", "name": ws.plan.get("name", ""),
            "type": ws.plan_type, "period": ws.period.label, "scope": str(ws.scope),
            "source": ws.source.get("kind", ""), "steps": steps}


def _plain(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


def headline_rows(root: str | Path, plan: str) -> dict:
    """The plan data's headline figures (``salesplan demo``'s headline) as label/value rows."""
    ws = Workspace.open(resolve_inside(root, plan, "plan folder"))
    h = headline(ws.data)
    return {"as_of": h.as_of.date().isoformat(),
            "rows": [{"label": k, "value": v} for k, v in demo_headline_rows(h)],
            "values": {k: _plain(v) for k, v in asdict(h).items() if k != "as_of"}}


_STEP_NAMED = re.compile(r"\((\w+) step\)")


def gap_step(gap: dict, keys: list[str]) -> str | None:
    """The step whose decision closes ``gap`` (a ``gaps`` row of the plan model): the first
    ``(<key> step)`` its ``closes_it`` names among ``keys``; None when no decision is needed
    (``closes_it`` names no step)."""
    return next((k for k in _STEP_NAMED.findall(gap.get("closes_it", "")) if k in keys), None)


def plan_figures(root: str | Path, plan: str) -> dict:
    """The plan's headline figures and the biggest gap, read from the plan model exactly as
    the plan document's executive summary reads them (:func:`salesplan_nb.render.figures.
    headline_of` for the plan's scope and period: the same target, forecast, quota plan and
    scenario model).

    Returns ``{scope, period, target_source, rows: [{key, label, value}], gap, notes, error}``;
    ``gap`` (None without a target) is the plan model's ``biggest_gap`` row: ``figure``,
    ``amount`` (target - figure, USD) and ``amount_text``, ``reason``, ``closes_it``, and the
    step whose decision closes it (``step``, ``title``, ``path`` of its notebook in the plan
    folder; None when no decision is needed)."""
    path = resolve_inside(root, plan, "plan folder")
    scope = Workspace.open(path).scope
    ctx = plan_context(path, scope.level, scope.id)
    h = headline_of(ctx)
    f = h.get("figures") or {}
    out = {"plan": relative(root, path) or ".", "scope": str(ctx.scope),
           "period": ctx.period.label, "target_source": h.get("target_source") or "",
           "rows": [], "gap": None, "notes": list(f.get("notes") or []),
           "error": f.get("error")}
    if h.get("target") is None and not out["error"]:
        out["notes"].append(h.get("target_note") or "no bookings target is recorded or "
                            "derivable for this plan yet (goals step)")
    # formatted as the document formats them (render.figures.fig), without the figure tags
    out["rows"] = [{"key": k, "label": label, "value": untag(fig(k, f[k], "cell"))}
                   for k, label, _ in FIGURES if f.get(k) is not None]
    if f.get("flag"):
        out["notes"].append(f["flag"])
    if f.get("biggest_gap"):
        g = next(x for x in f["gaps"] if x["figure"] == f["biggest_gap"])
        steps = step_list()
        key = gap_step(g, [s.key for s in steps])
        step = next((s for s in steps if s.key == key), None)
        nb = path / step.notebook if step else None
        out["gap"] = {"figure": g["figure"], "amount": g["gap"], "amount_text": money(g["gap"]),
                      "reason": g["reason"], "closes_it": g["closes_it"], "step": key,
                      "title": step.title if step else None,
                      "path": relative(root, nb) if nb is not None and nb.exists() else None}
    return out
