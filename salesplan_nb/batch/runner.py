"""``salesplan run``: render one plan document per unit (region, territory, account, rep).

Each unit's notebook (``notebooks/plans/<plan type>.ipynb``) is executed with papermill's
Python API. Warm start: the parent imports the package, loads the plan's data snapshot and
computes the plan-wide results (the company quota split; :func:`warm_up`) once, then the
executor (:mod:`salesplan_nb.batch.executors`: ``local`` forks its workers from that warm
parent, ``dask`` warms each worker once) renders the units. By default a worker executes the
notebooks with papermill's ``salesplan-inprocess`` engine (:mod:`salesplan_nb.batch.inprocess`:
the cells run in the worker, fresh namespace per unit); ``--engine kernel`` keeps one Jupyter
kernel per worker instead (:class:`WarmKernel`). One :class:`PlanExporter` (nbconvert, template
``salesplan``, the Vega bundle inlined once per page) per worker turns the executed notebook
into a self-contained HTML file. Workers return the HTML and notebook; the parent writes them
atomically as they arrive (resumable with ``--resume``), so memory stays bounded.

Output::

    DIR/index.html                     every unit: headline numbers, status, links
    DIR/<level>/<safe-name>.html       the plan (no code; Vega inlined once; offline)
    DIR/<level>/<safe-name>.ipynb      the executed notebook
    DIR/<level>/<safe-name>.json       run record (status, error, headline, parameters)
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from salesplan_nb.batch import executors, lifetime, speedups
from salesplan_nb.core import display
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.safenames import inside
from salesplan_nb.core.scope import DOCUMENT_TYPES, Period
from salesplan_nb.data.units import LEVELS, Unit, list_units
from salesplan_nb.render.report import CHART_MIME, HEADLINE_MIME, SECTION_MIME, open_workspace
from salesplan_nb.steps import registry as step_registry
from salesplan_nb.steps.rollout import DEMO_ACCOUNT_PLANS

speedups.skip_iri_checker()  # before anything imports jsonschema (see speedups)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
#: the modules of every registered step (built-in and plug-in), in process order
STEP_MODULES = tuple(step_registry.step_modules())
# run once in every new kernel: the imports every plan notebook needs
WARM_CODE = (
    "import importlib, salesplan_nb.render.report, pandas, altair, IPython.display\n"
    f"for _m in {STEP_MODULES!r}:\n"
    "    importlib.import_module(_m)\n"
    "del _m")
RESET_CODE = "get_ipython().run_line_magic('reset', '-f')"
ENGINES = ("inprocess", "kernel")


def default_plan_type(level: str, ws_plan_type: str) -> str:
    """territory -> territory plan, account -> account plan, rep -> rep plan (the quota
    letter), else the workspace's annual or long-term type."""
    if level in ("territory", "account", "rep"):
        return level
    return ws_plan_type if ws_plan_type in ("annual", "long-term") else "annual"


def notebook_for(plan_type: str, notebook_dir: Path | None = None) -> Path:
    from salesplan_nb.core.resources import notebook_dir as default_dir

    nb = Path(notebook_dir or default_dir("plans")) / f"{plan_type.replace('-', '_')}.ipynb"
    if not nb.exists():
        raise ConfigError(f"plan notebook {nb} is missing; reinstall salesplan-nb or pass "
                          "--notebooks DIR")
    return nb


# ---- jobs and results ------------------------------------------------------------------------
@dataclass
class Job:
    """What a worker needs: the notebook and its parameters (all plain data, picklable)."""

    unit: Unit
    notebook: str
    parameters: dict
    timeout: float | None = 600.0
    engine: str = "inprocess"
    export: bool = True  # False: return the executed notebook, the caller exports it


@dataclass
class Result:
    """A worker's answer. ``status`` ok / failed; ``error`` {cell, ename, evalue}."""

    unit: Unit
    status: str
    html: str | None = None
    ipynb: str | None = None
    headline: dict = field(default_factory=dict)
    error: dict | None = None
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    nb: Any = None  # the executed notebook, kept only when the caller exports (Job.export)


# ---- the warm kernel -------------------------------------------------------------------------
def _register_engine() -> str:
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class WarmEngine(NBClientEngine):
        """papermill engine that executes on a caller-provided running kernel (``km``/``kc``)
        instead of starting one per notebook."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, **kwargs):
            kc = kwargs.pop("kc")
            kwargs.pop("input_path", None)
            client = PapermillNotebookClient(
                nb_man, km=kwargs.pop("km"), timeout=execution_timeout,
                startup_timeout=start_timeout, kernel_name=kernel_name, log=_null_logger(),
                log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
                **kwargs)
            client.kc = kc
            _LAST["nb"] = nb_man.nb
            return client.execute(cleanup_kc=False)

    papermill_engines.register("salesplan-warm", WarmEngine)
    return "salesplan-warm"


_LAST: dict[str, Any] = {}


@lru_cache(maxsize=1)
def _null_logger():
    import logging

    log = logging.getLogger("salesplan.runner.kernel")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    return log


class WarmKernel:
    """One running kernel (package pre-imported) reused for many notebooks."""

    def __init__(self, kernel_name: str = "python3", retries: int = 3,
                 start_timeout: float = 60.0):
        self.kernel_name, self.retries, self.start_timeout = kernel_name, retries, start_timeout
        self.km = None
        self.kc = None
        self.used = False

    def start(self) -> None:
        """Start the kernel and import the package; port races / time-outs are retried."""
        from jupyter_client.manager import KernelManager

        last: Exception | None = None
        for attempt in range(self.retries):
            km = KernelManager(kernel_name=self.kernel_name)
            try:
                km.start_kernel(extra_arguments=["--HistoryManager.enabled=False"],
                                stderr=subprocess.DEVNULL,
                                preexec_fn=lifetime.preexec_die_with_parent)
                kc = km.client()
                kc.start_channels()
                kc.wait_for_ready(timeout=self.start_timeout)
                self._run(kc, WARM_CODE)
                self.km, self.kc, self.used = km, kc, False
                return
            except Exception as exc:  # noqa: BLE001 - retried, then reported
                last = exc
                with contextlib.suppress(Exception):
                    km.shutdown_kernel(now=True)
                time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"kernel failed to start after {self.retries} attempts: {last}")

    @staticmethod
    def _run(kc, code: str, timeout: float = 120) -> None:
        reply = kc.execute_interactive(code, timeout=timeout, store_history=False,
                                       output_hook=lambda msg: None)
        if reply["content"].get("status") != "ok":
            c = reply["content"]
            raise RuntimeError(f"kernel set-up failed: {c.get('ename')}: {c.get('evalue')}")

    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    def ensure(self) -> None:
        if not self.alive():
            self.shutdown()
            self.start()
        elif self.used:
            self._run(self.kc, RESET_CODE)
        self.used = True

    def execute(self, notebook: str, parameters: dict, timeout: float | None):
        """Execute ``notebook`` with ``parameters`` (papermill API); returns the notebook."""
        import papermill

        self.ensure()
        return papermill.execute_notebook(
            notebook, None, parameters=parameters, engine_name=_register_engine(),
            km=self.km, kc=self.kc, progress_bar=False, kernel_name=self.kernel_name,
            execution_timeout=timeout, log_output=False)

    def shutdown(self) -> None:
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
        if self.km is not None:
            with contextlib.suppress(Exception):
                self.km.shutdown_kernel(now=True)
        self.km = self.kc = None


# ---- the exporter ----------------------------------------------------------------------------
@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one script (vl-convert's bundle), safe inside a
    ``<script>`` element. vl-convert builds the bundle in ~2 s of CPU (15 s on a busy
    machine), so it is kept in the user's cache folder per vl-convert version."""
    from importlib.metadata import version

    import vl_convert

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "salesplan-nb" / f"vega-bundle-{version('vl-convert-python')}.js"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = path.read_text(encoding="utf-8")
        if "vegaEmbed" in text:
            return text
    text = vl_convert.javascript_bundle().replace("</script", "<\\/script")
    with contextlib.suppress(OSError):
        atomic_write(path, text)
    return text


def css_string(text: Any) -> str:
    """``text`` as the inside of a double-quoted CSS string in a ``<style>`` element: quotes,
    backslashes, control characters and ``<`` / ``>`` / ``&`` as CSS escapes."""
    out = []
    for ch in str(text):
        if ch in '"\\<>&' or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return "".join(out)


def chart_json(spec: Any) -> str:
    """JSON for a ``<script type=application/json>`` element (``<``, ``>``, ``&`` escaped)."""
    s = spec if isinstance(spec, str) else json.dumps(spec, separators=(",", ":"))
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class PlanExporter:
    """nbconvert HTMLExporter with the ``salesplan`` template; build once, reuse per worker."""

    def __init__(self):
        from nbconvert import HTMLExporter

        self.exporter = HTMLExporter(template_name="salesplan",
                                     extra_template_basedirs=[str(TEMPLATES)])
        self.exporter.register_filter("chart_json", chart_json)
        self.exporter.register_filter("css_string", css_string)
        self.css = (TEMPLATES / "plan.css").read_text()

    def export(self, nb, title: str) -> str:
        toc, n_charts, head = [], 0, {}
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if SECTION_MIME in data:
                    toc.append(dict(data[SECTION_MIME]))
                if HEADLINE_MIME in data:
                    head = dict(data[HEADLINE_MIME])
                n_charts += CHART_MIME in data
        subtitle = [x for x in (head.get("subtitle") or []) if x]
        res = {"salesplan": {
            "title": title, "subtitle": subtitle, "headline_mime": HEADLINE_MIME,
            "toc": toc, "n_charts": n_charts, "css": self.css,
            "vega_js": vega_bundle() if n_charts else "", "chart_mime": CHART_MIME,
            "rendered": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}}
        body, _ = self.exporter.from_notebook_node(nb, resources=res)
        return body


# ---- one worker ------------------------------------------------------------------------------
class Renderer:
    """An execution engine (in-process shell, or a warm kernel) plus an exporter: renders
    jobs one after another."""

    def __init__(self, engine: str = "inprocess"):
        self.engine = engine
        self.kernel = WarmKernel() if engine == "kernel" else None
        self._exporter: PlanExporter | None = None

    @property
    def exporter(self) -> PlanExporter:
        """The HTML exporter, built at first use (nbconvert and its templates)."""
        if self._exporter is None:
            self._exporter = PlanExporter()
        return self._exporter

    def _execute(self, job: Job):
        if self.kernel is None:
            from salesplan_nb.batch import inprocess

            return inprocess.execute(job.notebook, job.parameters, job.timeout)
        return self.kernel.execute(job.notebook, job.parameters, job.timeout)

    def render(self, job: Job) -> Result:
        import nbformat
        from papermill.exceptions import PapermillExecutionError

        from salesplan_nb.batch import inprocess

        t0 = time.perf_counter()
        _LAST.clear()
        inprocess.LAST.clear()
        nb, error = None, None
        try:
            nb = self._execute(job)
        except PapermillExecutionError as exc:
            nb = _LAST.get("nb") or inprocess.LAST.get("nb")
            error = {"cell": exc.exec_count if exc.exec_count is not None else exc.cell_index,
                     "ename": exc.ename, "evalue": str(exc.evalue)[:500]}
        except Exception as exc:  # noqa: BLE001 - kernel died, time-out, start failure
            nb = _LAST.get("nb") or inprocess.LAST.get("nb")
            error = {"cell": "", "ename": type(exc).__name__, "evalue": str(exc)[:500]}
            # a dead kernel, or one still busy after a time-out: start afresh for the next unit
            if self.kernel is not None:
                self.kernel.shutdown()
        head: dict = {}
        if nb is not None:
            for cell in nb.cells:
                for out in cell.get("outputs", []):
                    if HEADLINE_MIME in out.get("data", {}):
                        head = dict(out["data"][HEADLINE_MIME])
        ipynb = nbformat.writes(nb) if nb is not None else None
        if error:
            return Result(job.unit, "failed", None, ipynb, head, error,
                          time.perf_counter() - t0)
        r = Result(job.unit, "ok", None, ipynb, head, None)
        if job.export:
            self.export_result(r, nb)
        else:
            r.nb = nb
        r.seconds = time.perf_counter() - t0
        return r

    def export_result(self, r: Result, nb=None) -> Result:
        """``r.html`` from its executed notebook (``nb``, else ``r.ipynb``); an export error
        turns ``r`` into a failed result."""
        import nbformat

        title = display.label(r.headline.get("title") or f"{r.unit.level} {r.unit.label}",
                              limit=2 * display.LABEL_MAX)
        nb = nb if nb is not None else r.nb
        r.nb = None
        try:
            r.html = self.exporter.export(nb if nb is not None
                                          else nbformat.reads(r.ipynb, as_version=4), title)
        except Exception as exc:  # noqa: BLE001
            r.status, r.html = "failed", None
            r.error = {"cell": "export", "ename": type(exc).__name__, "evalue": str(exc)[:500]}
        return r

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.shutdown()


_LOCAL = threading.local()


def _renderer(engine: str = "inprocess") -> Renderer:
    cache = _LOCAL.__dict__.setdefault("renderers", {})
    r = cache.get(engine)
    if r is None:
        r = cache[engine] = Renderer(engine)
        atexit.register(r.close)
    return r


def close_renderers() -> None:
    """Shut down this process's renderers (their kernels); a worker's last act."""
    for r in getattr(_LOCAL, "renderers", {}).values():
        r.close()


def render_job(job: Job) -> Result:
    """Render one job in this process (worker entry point for every executor)."""
    from salesplan_nb.batch.executors import peak_rss_mb

    r = _renderer(job.engine).render(job)
    r.peak_rss_mb = peak_rss_mb()
    return r


def warm_up(plan_dir: str | Path, plan_type: str | None = None, period: str | None = None,
            engine: str = "inprocess", export: bool = True) -> None:
    """Prepare this process to render units of ``plan_dir``: import what every plan notebook
    needs, open the workspace (data snapshot, enriched deals), compute the plan-wide results
    (the company quota split for the period, from the workspace cache when data and decisions
    are unchanged; for a batch of plans with seats also the scenario model built on it) and
    build the renderer (exporter, Vega bundle; the in-process shell).
    Forked workers inherit all of it; a Dask worker runs it once."""
    import importlib

    from salesplan_nb.render import figures, report

    with speedups.no_gc():  # modules that live as long as the process
        for m in STEP_MODULES:  # full module names (built-in and plug-in steps)
            with contextlib.suppress(ModuleNotFoundError):
                importlib.import_module(m)
        import altair  # noqa: F401
        import papermill  # noqa: F401

        if plan_type != "account":  # quota fairness (every plan with seats): ~0.15 s a process
            import scipy.special  # noqa: F401

    speedups.apply()  # one BLAS thread per worker, Altair's class table built once

    ws = report.open_workspace(plan_dir)
    ws.data.deals  # noqa: B018 - enrich once, before the workers fork
    with contextlib.suppress(Exception):  # a bad decision fails in the unit, with its message
        ctx = report.context(plan_dir, "company", None, period, plan_type or ws.plan_type)
        report.company_quota_plan(ctx)
        if export and plan_type != "account":  # a batch of plans with seats: the scenario
            figures.scenario_model(ctx)  # model once, shared by every worker forked from here
    r = _renderer(engine)  # a kernel (--engine kernel) starts in each worker, at its first unit
    if export:  # else the caller exports (one unit: the parent, while the worker executes)
        vega_bundle()
        r.exporter  # noqa: B018 - nbconvert and the templates, once for every fork
    if engine == "inprocess":
        from IPython.core.interactiveshell import InteractiveShell

        from salesplan_nb.batch import inprocess

        if not InteractiveShell.initialized():  # not inside a notebook's own kernel
            inprocess.shell()


# ---- writing ---------------------------------------------------------------------------------
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _paths(out: Path, unit: Unit) -> dict[str, Path]:
    base = inside(out, out / unit.level / unit.stem)
    return {k: inside(out, base.with_suffix(f".{k}")) for k in ("html", "ipynb", "json")}


def write_result(out: Path, r: Result, job: Job) -> None:
    p = _paths(out, r.unit)
    if r.ipynb is not None:
        atomic_write(p["ipynb"], r.ipynb)
    if r.html is not None:
        atomic_write(p["html"], r.html)
    else:
        with contextlib.suppress(FileNotFoundError):
            p["html"].unlink()  # never leave a stale report beside a failed run
    head = dict(r.headline or {})
    figures = head.pop("figures", None)  # the reconciled plan figures (steps.plan_model)
    rec = {"unit": asdict(r.unit), "status": r.status, "error": r.error,
           "headline": head, "figures": figures, "parameters": job.parameters,
           "seconds": round(r.seconds, 3), "peak_rss_mb": round(r.peak_rss_mb, 1),
           "notebook": job.notebook, "at": dt.datetime.now(dt.UTC).isoformat()}
    atomic_write(p["json"], json.dumps(rec, indent=1, default=str))


def up_to_date(out: Path, job: Job, plan_dir: Path) -> bool:
    """True when the unit's report exists, its last run succeeded with the same parameters,
    and the HTML is newer than plan.yaml, every data snapshot file and the notebook."""
    p = _paths(out, job.unit)
    if not (p["html"].exists() and p["json"].exists()):
        return False
    try:
        rec = json.loads(p["json"].read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(rec, dict) or rec.get("status") != "ok" \
            or rec.get("parameters") != job.parameters:
        return False
    deps = [plan_dir / "plan.yaml", Path(job.notebook), *(plan_dir / "data").glob("*")]
    newest = max(f.stat().st_mtime for f in deps if f.exists())
    return p["html"].stat().st_mtime > newest


def _index_view(level: str, rows: list[dict]) -> dict:
    """The index table of one level through the one table renderer: unit, plan, status,
    baseline bookings, growth (labelled with its years), target and the growth it implies,
    win rate, open pipeline, coverage of the plan period, links."""
    from salesplan_nb.core.tables import Table, table_view
    from salesplan_nb.data.schema import NO_PIPELINE

    h0 = next((r["h"] for r in rows if r["h"]), {})
    base = h0.get("baseline_period", "baseline")
    period = rows[0]["period"] if rows else ""
    df = pd.DataFrame([{
        "unit": r["label"] + (f" ({r['id']})" if r["label"] != r["id"]
                              and level != "company" else ""),
        "plan": f"{r['plan_type']} {r['period']}".strip(), "status": r["status"],
        "baseline": r["h"].get("baseline_bookings"), "growth": r["h"].get("baseline_growth"),
        "target": r["h"].get("target"), "target_growth": r["h"].get("implied_growth"),
        "win_rate": r["h"].get("win_rate"), "pipeline": r["h"].get("open_pipeline"),
        "coverage": r["h"].get("coverage"), "report": "report" if r["html"] else "",
        "notebook": "notebook" if r["ipynb"] else ""} for r in rows],
        columns=["unit", "plan", "status", "baseline", "growth", "target", "target_growth",
                 "win_rate", "pipeline", "coverage", "report", "notebook"])
    df[["baseline", "growth", "target", "target_growth", "win_rate", "pipeline",
        "coverage"]] = df[["baseline", "growth", "target", "target_growth", "win_rate",
                           "pipeline", "coverage"]].apply(pd.to_numeric, errors="coerce")
    prev = h0.get("growth_label", f"{base} vs the year before")
    view = table_view(Table(df, {"baseline": "money", "growth": "pct", "target": "money",
                                 "target_growth": "pct", "win_rate": "pct",
                                 "pipeline": "money", "coverage": "num"}, labels={
        "baseline": f"Bookings {base} (USD)", "growth": f"Growth {prev}",
        "target": f"Target {period} (USD)", "target_growth": f"Target vs {base}",
        "win_rate": f"Win rate {base}", "pipeline": "Open pipeline (USD)",
        "coverage": f"Coverage {period} (x)"}))
    for r, cells in zip(rows, view["rows"]):
        if r["h"].get("pipeline") is False:  # a bookings-only source: no win rate
            cells[7]["text"] = NO_PIPELINE
        cells[2]["css"] = f"status-{r['status']}"
        if r.get("error"):
            e = r["error"]
            cells[2]["note"] = f"cell {e.get('cell')}: {e.get('ename')}: {e.get('evalue')}"
        cells[10]["href"], cells[11]["href"] = r["html"] or "", r["ipynb"] or ""
    return view


def _run_record(f: Path) -> dict | None:
    """The run record in ``f``, or ``None`` (with a warning) for any other JSON file: a
    foreign file in the output folder never breaks the index."""
    try:
        rec = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        rec = None
    ok = (isinstance(rec, dict) and isinstance(rec.get("unit"), dict)
          and all(isinstance(rec["unit"].get(k), str) for k in ("id", "label"))
          and rec.get("status") in ("ok", "failed") and isinstance(rec.get("parameters"), dict)
          and isinstance(rec.get("headline") or {}, dict)
          and isinstance(rec.get("error") or {}, dict))
    if not ok:
        import logging

        logging.getLogger(__name__).warning("%s is not a salesplan run record; left out of "
                                            "the index (move it out of the output folder)", f)
        return None
    return rec


def write_index(out: Path, plan_name: str = "", skipped: set[str] | None = None) -> Path:
    """DIR/index.html listing every unit with a run record in DIR (escaped by Jinja)."""
    import jinja2

    skipped = skipped or set()
    groups: dict[str, list] = {}
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    for level in LEVELS:
        for f in sorted((out / level).glob("*.json")) if (out / level).is_dir() else []:
            rec = _run_record(f)
            if rec is None:
                continue
            u = rec["unit"]
            status = rec["status"]
            key = f"{level}/{f.stem}"
            shown = "skipped" if (key in skipped and status == "ok") else status
            counts[shown] = counts.get(shown, 0) + 1
            groups.setdefault(level, []).append({
                "id": display.label(u["id"]), "label": display.label(u["label"]),
                "status": shown, "error": rec.get("error"),
                "plan_type": rec["parameters"].get("plan_type", ""),
                "period": rec["parameters"].get("period") or "",
                "h": rec.get("headline") or {},
                "html": f"{level}/{f.stem}.html" if (out / level / f"{f.stem}.html").exists()
                else None,
                "ipynb": f"{level}/{f.stem}.ipynb" if (out / level / f"{f.stem}.ipynb").exists()
                else None})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
    page = env.get_template("index.html.j2").render(
        title="Sales plans", plan_name=plan_name, counts=counts,
        groups=[(k, _index_view(k, sorted(v, key=lambda r: r["label"])))
                for k, v in groups.items()],
        css=(TEMPLATES / "plan.css").read_text(),
        updated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    path = out / "index.html"
    atomic_write(path, page)
    return path


# ---- the run ---------------------------------------------------------------------------------
@dataclass
class RunSummary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    index: Path | None = None
    peak_rss_mb: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def run(plan_dir: str | Path, by: str, out: str | Path, *, only: list[str] | None = None,
        top: int | None = None, plan_type: str | None = None, period: str | None = None,
        workers: int | None = None, executor: str | executors.Executor = "local",
        scheduler: str | None = None, resume: bool = False,
        notebook_dir: str | Path | None = None, timeout: float | None = 600.0,
        progress: bool = True, engine: str = "inprocess") -> RunSummary:
    """Render one plan per unit of ``by``; see the module docstring for the output layout.

    ``executor`` is a registered name (:func:`salesplan_nb.batch.executors.names`) or a
    started :class:`~salesplan_nb.batch.executors.Executor` shared by several runs (it is
    then left running)."""
    t0 = time.perf_counter()
    plan_dir = Path(plan_dir).resolve()
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the reports")
    if engine not in ENGINES:
        raise ConfigError(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
    if isinstance(executor, str):
        executors.get(executor)  # unknown names fail before any work
        if executor == "dask" and not scheduler:
            raise ConfigError("--executor dask needs --scheduler ADDRESS "
                              "(e.g. tcp://127.0.0.1:8786)")
    if period is not None:
        try:
            period = Period.parse(period).label
        except ValueError as exc:
            raise ConfigError(f"--period {period!r}: {exc} (e.g. 2027, 2027-Q1, 2027..2029)") \
                from None
    if plan_type is not None and plan_type not in DOCUMENT_TYPES:
        raise ConfigError(f"--plan-type {plan_type!r}: use one of {', '.join(DOCUMENT_TYPES)}")
    ws = open_workspace(plan_dir)
    units = list_units(ws.data, by, only=only, top=top)
    if not units:
        raise ConfigError(f"no {by} units in the plan data of {plan_dir}")
    ptype = plan_type or default_plan_type(by, ws.plan_type)
    nb = str(notebook_for(ptype, Path(notebook_dir) if notebook_dir else None))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create the folder ({exc.strerror}); give a "
                          "folder you can write to") from None
    per = period or ws.period.label
    jobs = [Job(u, nb, {"plan_dir": str(plan_dir), "scope_level": u.level, "unit": u.id,
                        "period": per, "plan_type": ptype}, timeout, engine)
            for u in units]
    summary = RunSummary()
    skipped: set[str] = set()
    if resume:
        todo = []
        for j in jobs:
            if up_to_date(out, j, plan_dir):
                skipped.add(f"{j.unit.level}/{j.unit.stem}")
            else:
                todo.append(j)
        summary.skipped = len(skipped)
        jobs = todo
    bar = _progress(len(jobs), progress)

    exporting: list[threading.Thread] = []
    parent: dict[str, Renderer] = {}

    def done(job: Job, r: Result | BaseException) -> None:
        if not isinstance(r, Result):
            r = _failed(job, r)
        if r.status == "ok" and r.html is None and not job.export:
            for t in exporting:
                t.join()
            (parent.get("r") or _renderer(engine)).export_result(r)
        write_result(out, r, job)
        summary.peak_rss_mb = max(summary.peak_rss_mb, r.peak_rss_mb)
        if r.status == "ok":
            summary.ok += 1
        else:
            summary.failed += 1
        bar.update(1)
        bar.set_postfix(done=summary.ok, failed=summary.failed)

    if jobs:
        n_cells = _code_cells(nb)

        def limit(job: Job) -> float | None:  # a stuck worker is stopped after this
            return None if job.timeout is None else job.timeout * n_cells + 120.0

        if isinstance(executor, executors.Executor):
            pool, own = executor, False
        else:
            pool = executors.create(executor, workers=min(workers or os.cpu_count() or 1,
                                                          len(jobs)), scheduler=scheduler)
            own = True
        try:
            # one unit on a fresh forked pool: the parent exports it, building its exporter
            # while the worker executes the notebook (both cores busy)
            solo = (own and len(jobs) == 1 and isinstance(pool, executors.LocalExecutor)
                    and pool.ctx.get_start_method() == "fork")
            for j in jobs:
                j.export = not solo
            pool.start(warm=_Warm(str(plan_dir), ptype, per, engine, not solo),
                       on_exit=close_renderers)
            if solo:
                exporting.append(threading.Thread(target=_build_exporter,
                                                  args=(engine, parent), daemon=True))
                exporting[0].start()
            if by == "account" and len(jobs) > 1:  # plan-wide: every account's forecast once
                _precompute(str(plan_dir), by, [j.unit.id for j in jobs], per, pool, progress)
            pool.map(render_job, jobs, done, limit=limit)
        finally:
            if own:
                pool.close()
    bar.close()
    summary.index = write_index(out, ws.plan.get("name", ""), skipped)
    summary.seconds = time.perf_counter() - t0
    return summary


@dataclass
class _Warm:
    """:func:`warm_up` with its arguments, picklable (Dask ships it to every worker)."""

    plan_dir: str
    plan_type: str
    period: str
    engine: str
    export: bool = True

    def __call__(self) -> None:
        warm_up(self.plan_dir, self.plan_type, self.period, self.engine, self.export)


def _build_exporter(engine: str, into: dict) -> None:
    """A renderer with its exporter ready (nbconvert imported, templates compiled, the Vega
    bundle read) into ``into["r"]``; runs in a thread of the parent while a worker renders."""
    import nbformat

    with contextlib.suppress(Exception):  # a failure shows when the unit is exported
        r = Renderer(engine)
        vega_bundle()
        r.exporter.export(nbformat.v4.new_notebook(), "")  # compiles the templates
        into["r"] = r


def _precompute(plan_dir: str, level: str, ids: list[str], period: str, pool,
                progress: bool) -> None:
    """The units' forecasts into the results cache before they render
    (:mod:`salesplan_nb.batch.planwide`), with its own progress bar."""
    from salesplan_nb.batch import planwide

    bar = _progress(len(ids), progress, "forecasting", "unit")
    try:
        planwide.precompute_forecasts(plan_dir, level, ids, period, pool=pool,
                                      progress=bar.update)
    finally:
        bar.close()


def _code_cells(notebook: str) -> int:
    import nbformat

    return max(1, sum(c.cell_type == "code" for c in nbformat.read(notebook, 4).cells) + 1)


def _progress(total: int, enabled: bool, desc: str = "rendering", unit: str = "plan"):
    """A progress bar with rate and ETA (``[elapsed<remaining, plans/s]``) on stderr."""
    from tqdm.auto import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: workers may be forked while it runs
    return tqdm(total=total, unit=unit, desc=desc, disable=not enabled or total == 0,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def _failed(job: Job, exc: BaseException) -> Result:
    return Result(job.unit, "failed", error={"cell": "", "ename": type(exc).__name__,
                                             "evalue": str(exc)[:500]})


# ---- CLI and demo ----------------------------------------------------------------------------
def _cli_run(args) -> int:
    s = run(args.plan_dir, args.by, args.out, only=args.only, top=args.top,
            plan_type=args.plan_type, period=args.period, workers=args.workers,
            executor=args.executor, scheduler=args.scheduler, resume=args.resume,
            notebook_dir=args.notebooks, timeout=args.timeout, progress=not args.quiet,
            engine=args.engine)
    print(f"{s.ok} rendered, {s.failed} failed, {s.skipped} up to date in {s.seconds:.1f} s; "
          f"index: {s.index}")
    return s.exit_code


def register_cli(subparsers) -> None:
    p = subparsers.add_parser("run", help="render one plan document per unit (batch)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("plan_dir", help="plan folder (with plan.yaml)")
    p.add_argument("--by", required=True, choices=LEVELS, help="unit level")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these units (id or name)")
    p.add_argument("--top", type=int, help="only the N units with most trailing bookings")
    p.add_argument("--plan-type", choices=DOCUMENT_TYPES,
                   help="plan type (default: territory/account for those levels, else the "
                        "plan's own)")
    p.add_argument("--period", help="plan period (default: the plan's)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    p.add_argument("--executor", default="local",
                   help="where units render: local (default), dask, or one added through the "
                        f"entry point group {executors.ENTRY_POINT_GROUP}")
    p.add_argument("--engine", choices=ENGINES, default="inprocess",
                   help="papermill engine: inprocess (cells run in the warm worker, default) "
                        "or kernel (one Jupyter kernel per worker)")
    p.add_argument("--scheduler", help="dask scheduler address for --executor dask")
    p.add_argument("--resume", action="store_true", help="skip units whose report is current")
    p.add_argument("--notebooks", help=argparse.SUPPRESS, default=None)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per cell")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli_run)


def render_demo_reports(ws, out, *, top_accounts: int | None = None,
                        progress: bool = True, workers: int | None = None) -> int:
    """Demo: the company's annual plan, every region's annual plan, every territory plan and
    the ``top_accounts`` account plans (most trailing bookings) into ``out``, one index.html
    over all of them, on one pool of warm workers; returns the exit code (0 when every unit
    rendered)."""
    out = Path(out)
    top_accounts = DEMO_ACCOUNT_PLANS if top_accounts is None else top_accounts
    with executors.create("local", workers=workers) as pool:
        runs = [run(ws.path, "company", out, plan_type="annual", progress=progress,
                    executor=pool),
                run(ws.path, "region", out, plan_type="annual", progress=progress,
                    executor=pool),
                run(ws.path, "territory", out, plan_type="territory", progress=progress,
                    executor=pool),
                run(ws.path, "account", out, top=top_accounts, plan_type="account",
                    progress=progress, executor=pool)]
    return max(r.exit_code for r in runs)


__all__ = ["Unit", "Job", "Result", "WarmKernel", "PlanExporter", "Renderer", "RunSummary",
           "list_units", "run", "render_job", "write_index", "up_to_date", "atomic_write",
           "chart_json", "vega_bundle", "render_demo_reports", "register_cli", "warm_up", "ENGINES"]
