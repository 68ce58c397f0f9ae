"""Helpers of the golden notebooks in ``tests/nbval`` (imported by them; not a test module).

The notebooks build plan workspaces in a temporary folder, run the planning steps with the
package's own demo decisions (:data:`salesplan_nb.batch.demo.STEPS`) and print each step's
key figures as plain text, so ``pytest --nbval`` fails with a readable diff when a number
changes. Nothing here plans: every figure comes from ``salesplan_nb``; this module only
chooses what to print and formats it the same way every run (no paths, no clocks).

Numbers: floats of magnitude >= 100 print as whole numbers with thousands separators
(USD), smaller ones with 4 decimals (rates, shares, ratios); so a change of one dollar in a
bookings figure or of 0.01 percentage point in a rate shows in the diff.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import math
import numbers
import os
import re
import shutil
import sys
import tempfile
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

MAX_ROWS = 40  # longer tables print their first rows and a totals line over all rows
WIDTH = 100

SAMPLE = dict(seed=7, accounts=400, opportunities=6000)  # the sample at its small size
PERIOD_LONG = 3  # years of the long-term plan (the plan year and the two after)


# ---- where things are -----------------------------------------------------------------------
def maven_dir() -> Path:
    """Maven CRM as the test suite finds it (``tests/conftest.shared_data_dir`` of the
    checkout the package is installed from, so a copied notebook finds it too)."""
    import salesplan_nb

    root = Path(salesplan_nb.__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tests"))
    try:
        from conftest import shared_data_dir
    finally:
        sys.path.pop(0)
    path = shared_data_dir() / "maven-crm"
    if not path.is_dir():
        raise FileNotFoundError(f"real test data missing: {path} (set SALESPLAN_SHARED_DATA "
                                "to the folder holding maven-crm)")
    return path


def _workdir(name: str) -> Path:
    """A fresh temporary folder for one notebook's plans (removed when the kernel exits)."""
    import atexit

    path = Path(tempfile.mkdtemp(prefix=f"salesplan-golden-{name}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Run package code with its stdout captured and warnings silenced (warnings name
    source files and lines, which change without any planning number changing)."""
    buf = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
        warnings.simplefilter("ignore")
        yield buf


# ---- formatting -------------------------------------------------------------------------------
def num(x) -> str:
    """One number as text (see module doc); NaN/None as ``n/a``."""
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if abs(x) >= 100 or x.is_integer():
            return f"{x:,.0f}"
        return f"{x:,.4f}"
    return str(x)


# wall-clock times (when a decision was recorded): masked, like tests/nbval/sanitize.cfg does
CLOCK = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")


def _cell(v, column: str = "") -> str:
    if isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_):
        plain = any(w in str(column).lower() for w in ("year", "month", "horizon"))
        return str(int(v)) if plain else f"{int(v):,}"
    if isinstance(v, float) or (hasattr(v, "dtype") and getattr(v, "ndim", 1) == 0
                                and pd.api.types.is_float_dtype(v)):
        return num(float(v))
    if isinstance(v, list | tuple | dict):
        return str(v)
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat() if v == v.normalize() else "<time>"
    return CLOCK.sub("<time>", str(v))


def text_table(df: pd.DataFrame, max_rows: int = MAX_ROWS, formats: dict | None = None) -> str:
    """``df`` as aligned plain text, every value formatted by :func:`num` (or
    ``formats[column]``: a function value -> text). Beyond ``max_rows`` rows: the first
    ``max_rows``, then ``... N more rows`` and the column totals over all rows."""
    if df is None:
        return "(none)"
    df = df.reset_index(drop=True) if not isinstance(df.index, pd.RangeIndex) else df
    if not len(df.columns):
        return "(no columns)"
    if not len(df):
        return "(no rows; columns: " + ", ".join(map(str, df.columns)) + ")"
    formats = formats or {}
    shown = df.head(max_rows)
    body = pd.DataFrame({c: [formats[c](v) if c in formats else _cell(v, c) for v in shown[c]]
                         for c in shown.columns}, index=range(len(shown)))
    out = body.to_string(index=False, max_colwidth=48)
    if len(df) > max_rows:
        numeric = df.select_dtypes("number")
        totals = ", ".join(f"{c} {num(float(numeric[c].sum()))}" for c in numeric.columns)
        out += f"\n... {len(df) - max_rows} more rows ({len(df)} in all)"
        if totals:
            out += f"; totals over all rows: {totals}"
    return out


def show(df: pd.DataFrame, title: str = "", **kw) -> None:
    """Print ``title`` and :func:`text_table` of ``df``."""
    if title:
        print(f"-- {title}")
    print(text_table(df, **kw))


def show_pairs(pairs: dict, title: str = "") -> None:
    """Print ``key: value`` lines (values by :func:`num`)."""
    if title:
        print(f"-- {title}")
    width = max((len(str(k)) for k in pairs), default=0)
    for k, v in pairs.items():
        print(f"  {str(k):<{width}}  {_cell(v) if not isinstance(v, int | float) else num(v)}")


def para(text: str) -> None:
    """A paragraph wrapped at :data:`WIDTH` (wall-clock times masked)."""
    print(textwrap.fill(CLOCK.sub("<time>", str(text)), WIDTH))


# ---- workspaces -------------------------------------------------------------------------------
def sample_workspace(name: str = "sample"):
    """The seeded sample company at its small size (:data:`SAMPLE`) as an annual plan
    workspace in a temporary folder, built by ``salesplan demo``'s own code; prints the
    validation verdict and the demo headline."""
    from salesplan_nb.batch import demo

    root = _workdir(name)
    opts = {k: v for k, v in SAMPLE.items() if k != "seed"}
    with quiet() as buf:
        ws = demo.build_workspace(root / "plan", seed=SAMPLE["seed"], out=buf, **opts)
    verdict = [ln.strip() for ln in buf.getvalue().splitlines()
               if ln.strip().startswith(("errors:", "warnings:", "result:"))]
    print("\n".join(verdict))
    print(f"plan: {ws.plan_type} {ws.period.label}")
    print(demo.format_headline(demo.headline(ws.data)))
    return ws


def maven_workspace(name: str = "maven", plan_type: str = "annual"):
    """Maven CRM loaded with the ``maven-crm`` preset, as a plan workspace for the year after
    its ``as_of`` in a temporary folder; prints the validation report (paths removed) and
    the demo headline."""
    from salesplan_nb.batch import demo
    from salesplan_nb.data.loaders import load_with_report
    from salesplan_nb.data.workspace import Workspace

    src = maven_dir()
    with quiet():
        data, report = load_with_report(src, "maven-crm")
    lines = report.format(limit=10).replace(str(src), "<maven-crm>").splitlines()
    print("\n".join(ln for ln in lines if not ln.startswith("source:")))
    if data is None:
        raise RuntimeError("Maven CRM did not load; see the report above")
    ws = Workspace.create(_workdir(name) / "plan", data=data, plan_type=plan_type,
                          source={"kind": "csv", "preset": "maven-crm"},
                          name="Maven CRM golden plan", by="golden")
    print(f"plan: {ws.plan_type} {ws.period.label}")
    print(demo.format_headline(demo.headline(ws.data)))
    return ws


def deals_by_stage(ws) -> None:
    """Deals per stage and status (all deals in the data) and the won value by close year."""
    d = ws.data.deals
    t = (d.groupby(["stage", "status"], dropna=False).agg(deals=("status", "size"),
                                                         value=("amount", "sum"))
         .reset_index().sort_values(["status", "stage"], kind="stable"))
    show(t, "deals by stage (all deals)")
    won = d[d["status"] == "won"]
    by_year = won.groupby(won["close_date"].dt.year)["amount"].agg(["count", "sum"])
    show(by_year.reset_index().rename(columns={"close_date": "close_year", "count": "won_deals",
                                               "sum": "won_value"}), "won value by close year")


# ---- steps ------------------------------------------------------------------------------------


def _outputs(ws) -> dict[str, int]:
    root = Path(ws.path) / "outputs"
    return {str(p.relative_to(root).with_suffix("")): p.stat().st_mtime_ns
            for p in sorted(root.rglob("*.parquet"))} if root.exists() else {}


def step_titles() -> list[str]:
    from salesplan_nb.batch import demo
    return [t for t, _, _ in demo.STEPS]


def run_step(ws, prefix: str, outputs: bool = True) -> None:
    """Run the demo step whose title starts with ``prefix`` on ``ws`` (its default
    decisions are recorded in ``plan.yaml``), print its one-line summary and, with
    ``outputs``, every table the step wrote (``outputs/<step>/<name>.parquet``)."""
    from salesplan_nb.batch import demo

    hits = [s for s in demo.STEPS if s[0].startswith(prefix)]
    if len(hits) != 1:
        raise KeyError(f"no single demo step starts with {prefix!r}: {step_titles()}")
    title, _, fn = hits[0]
    before = _outputs(ws)
    with quiet():
        summary = fn(ws)
    para(f"{title}: {summary}")
    if outputs:
        after = _outputs(ws)
        for name in after:
            if before.get(name) != after[name]:
                step, out = name.split("/", 1)
                show(ws.load_output(step, out), f"output {name}")


def run_all_steps(ws) -> None:
    """Every demo step, quietly (the plan notebooks need their decisions, not their text)."""
    from salesplan_nb.batch import demo

    with quiet() as buf:
        demo.run_steps(ws, buf)


def _source_stamp() -> str:
    """Hash of the package's source and preset files: a plan cached under it is rebuilt as soon
    as any planning code changes."""
    import salesplan_nb

    h = hashlib.sha256()
    pkg = Path(salesplan_nb.__file__).resolve().parent
    for p in sorted(pkg.rglob("*")):
        if p.suffix in (".py", ".yaml") and p.is_file():
            h.update(str(p.relative_to(pkg)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def sample_plan():
    """The sample annual plan with every demo decision, shared by the plan notebooks of one
    test session: built once per parent process (the pytest or nbconvert run that started
    the kernels) and package source, in the temp folder, then reused; otherwise rebuilt."""
    from salesplan_nb.data.workspace import PLAN_FILE, Workspace

    base = Path(tempfile.gettempdir()) / "salesplan-golden-plans"
    key = f"{os.getppid()}-{_source_stamp()}"
    path = base / key / "plan"
    if (path.parent / "done").exists():
        print("\n".join(path.parent.joinpath("header.txt").read_text().splitlines()))
        return Workspace.open(path)
    base.mkdir(exist_ok=True)
    for old in base.iterdir():  # plans of finished sessions
        pid = old.name.split("-", 1)[0]
        if old.name != key and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(path.parent, ignore_errors=True)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ws = _sample_at(path)
        run_all_steps(ws)
    header = buf.getvalue()
    print(header, end="")
    (path.parent / "header.txt").write_text(header)
    (path.parent / "done").write_text(str(path / PLAN_FILE))
    return ws


def _sample_at(path: Path):
    from salesplan_nb.batch import demo

    opts = {k: v for k, v in SAMPLE.items() if k != "seed"}
    with quiet() as buf:
        ws = demo.build_workspace(path, seed=SAMPLE["seed"], out=buf, **opts)
    print(f"plan: {ws.plan_type} {ws.period.label}")
    print(demo.format_headline(demo.headline(ws.data)))
    return ws


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---- plan documents ---------------------------------------------------------------------------
def plan_headline(ws, scope_level: str = "company", unit: str | None = None,
                  period: str | None = None, plan_type: str | None = None):
    """Print the plan document's title and headline figures (``render.report.headline``);
    returns the context."""
    from salesplan_nb.render import report

    plan_type = plan_type or report.default_plan_type(scope_level, ws.plan_type)
    with quiet():
        ctx = report.context(ws.path, scope_level, unit, period, plan_type)
        h = report.headline(ctx)
    figures = h.pop("figures", None) or {}  # the plan model's figures (issue 10)
    print(ctx.title)
    show_pairs(h, "headline")
    show_pairs({k: v for k, v in figures.items() if not isinstance(v, list | dict)},
               "plan figures")
    if figures.get("bridge"):
        show(pd.DataFrame(figures["bridge"]))
    return ctx


def top_unit(ws, level: str) -> str:
    """Id of the unit at ``level`` with the most trailing bookings (the batch runner's
    ``--top`` order); printed with its name."""
    from salesplan_nb.batch import runner

    unit = runner.list_units(ws.data, level, top=1)[0]
    print(f"{level}: {unit.id} ({unit.label})")
    return unit.id


def long_term_period(ws) -> str:
    """The long-term plan period: the plan year and the two after it (e.g. ``2027..2029``)."""
    y = ws.period.start.year
    return f"{y}..{y + PERIOD_LONG - 1}"


def _doc_format(v, kind: str) -> str:
    """A value in the plan document's format ``kind`` (money, pct, int, num, date)."""
    from salesplan_nb.core import formats

    return formats.cell(v, kind)


def plan_sections(ctx, only: list[str] | None = None) -> None:
    """Print every section of the context's plan type (or ``only`` these) as text:
    paragraphs, tables (in the document's own formats), missing-data notes; charts as
    ``[chart]``."""
    import altair as alt

    from salesplan_nb.render import report

    with quiet():
        sections = report.build(ctx, only)
    for sec in sections:
        print(f"\n== {sec.title}")
        for b in sec.blocks:
            if isinstance(b, report.Missing):
                para(b.text())
            elif isinstance(b, report.Table):
                if b.caption:
                    print(f"-- {b.caption}")
                fmts = {c: functools.partial(_doc_format, kind=k) for c, k in b.formats.items()}
                print(text_table(b.df, formats=fmts))
            elif isinstance(b, pd.DataFrame):
                print(text_table(b))
            elif isinstance(b, alt.TopLevelMixin):
                print("[chart]")
            else:
                para(b)


def quota_letters(ws) -> None:
    """Step 13, roll-out: one line per seat (reps and to-be-hired seats) from the plan's quota
    split (``quotas.quotas_from_workspace``, the split the letters and the Quotas section use)
    - seat, territory, annual quota (USD) and its quarters (``quotas.quarterly``)."""
    from salesplan_nb.steps import quotas

    with quiet():
        plan = quotas.quotas_from_workspace(ws)
        reps = plan.level("rep")
        q = quotas.quarterly(quotas.seasonality(plan, ws.data, "rep"))
    wide = q.pivot_table(index="unit_id", columns="quarter", values="quota", aggfunc="sum")
    terr = plan.table.set_index(["level", "unit_id"])["name"]
    print(f"{len(reps)} quota letters (seats) for {ws.period.label} (target {num(plan.target)}, "
          f"rep quotas total {num(float(reps['quota'].sum()))})")
    rows = []
    for r in reps.itertuples():
        t = terr.get(("territory", r.parent), r.parent)
        qs = wide.loc[r.unit_id] if r.unit_id in wide.index else pd.Series(dtype=float)
        rows.append({"rep": r.unit_id, "name": r.name, "territory": t, "quota": r.quota,
                     **{k.split("-")[-1]: float(v) for k, v in qs.items()}})
    show(pd.DataFrame(rows), max_rows=200)
