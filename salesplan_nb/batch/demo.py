"""``salesplan demo``: the whole workbook end to end on the seeded sample company.

1. generate the sample company (:mod:`salesplan_nb.data.sample`) and write it as canonical CSVs;
2. load the CSVs back through the data layer and print the validation summary;
3. create the plan workspace (annual plan for the year after the data) from the loaded data;
4. print headline numbers (:func:`headline`);
5. run every registered step's default decision (:mod:`salesplan_nb.steps.registry`),
   recorded in the workspace as ``by="demo"``;
6. render the reports with :mod:`salesplan_nb.batch.runner` unless ``render=False``.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd

from salesplan_nb.batch import runner
from salesplan_nb.core.errors import DataError, WorkspaceError
from salesplan_nb.core.periods import last_full_year, trailing_12_months, year_to_date
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.loaders import load_with_report
from salesplan_nb.data.sample import generate, write_dataset_csv
from salesplan_nb.data.workspace import PLAN_FILE, Workspace
from salesplan_nb.steps import registry as step_registry
from salesplan_nb.steps.rollout import DEMO_ACCOUNT_PLANS as ACCOUNT_PLANS  # noqa: F401

BY = "demo"
SEED = 42


# ---- headline numbers ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Headline:
    """Key figures of a dataset at its ``as_of``. Money in USD, ``win_rate`` a fraction.

    - ``bookings_last_year``: sum of won ``amount`` with ``close_date`` in ``last_full_year``
      (the last calendar year that ended on or before ``as_of``);
    - ``bookings_ytd``: won amount closed from 1 January of ``as_of.year`` to ``as_of``;
    - ``win_rate``: won / (won + lost) of deals closed in the 12 months to ``as_of``;
    - ``open_pipeline``: sum of ``amount`` of open deals (``open_deals`` of them);
    - ``reps_employed``: reps with no ``end_date`` or one after ``as_of`` (``reps`` in total).
    """

    as_of: pd.Timestamp
    last_full_year: int
    bookings_last_year: float
    bookings_ytd: float
    win_rate: float
    won_12m: int
    lost_12m: int
    open_pipeline: float
    open_deals: int
    accounts: int
    reps: int
    reps_employed: int
    territories: int


def headline(data: Dataset) -> Headline:
    """Compute the :class:`Headline` of ``data``."""
    d, as_of = data.deals, data.as_of
    last_year = last_full_year(as_of)
    won = d[d["status"] == "won"]
    closed_year = won["close_date"].dt.year
    ytd = won[year_to_date(as_of).contains(won["close_date"])]
    recent = d[(d["status"] != "open") & trailing_12_months(as_of).contains(d["close_date"])]
    n_won = int((recent["status"] == "won").sum())
    n_lost = int((recent["status"] == "lost").sum())
    open_ = d[d["status"] == "open"]
    end = data.reps["end_date"]
    territories = data.territories["territory_id"].nunique() if len(data.territories) \
        else data.accounts["territory"].nunique()
    return Headline(
        as_of=as_of, last_full_year=last_year,
        bookings_last_year=float(won.loc[closed_year == last_year, "amount"].sum()),
        bookings_ytd=float(ytd["amount"].sum()),
        win_rate=n_won / (n_won + n_lost) if n_won + n_lost else float("nan"),
        won_12m=n_won, lost_12m=n_lost,
        open_pipeline=float(open_["amount"].sum()), open_deals=len(open_),
        accounts=len(data.accounts), reps=len(data.reps),
        reps_employed=int((end.isna() | (end > as_of)).sum()),
        territories=int(territories),
    )


def headline_rows(h: Headline) -> list[tuple[str, str]]:
    """The headline as (label, formatted value) rows (the console and the JupyterLab panel)."""
    rate = "n/a" if h.win_rate != h.win_rate else f"{h.win_rate:.1%}"
    rows = [
        (f"bookings {h.last_full_year} (last full year)", f"${h.bookings_last_year:,.0f}"),
        (f"bookings {h.as_of.year} YTD", f"${h.bookings_ytd:,.0f}"),
        ("win rate, last 12 months", f"{rate} ({h.won_12m:,} won / "
                                     f"{h.won_12m + h.lost_12m:,} closed)"),
        ("open pipeline", f"${h.open_pipeline:,.0f} in {h.open_deals:,} deals"),
        ("accounts", f"{h.accounts:,}"),
        ("reps", f"{h.reps:,} ({h.reps_employed:,} employed at as_of)"),
        ("territories", f"{h.territories:,}"),
    ]
    return rows


def format_headline(h: Headline) -> str:
    """The headline as aligned text lines (what ``salesplan demo`` prints)."""
    rows = headline_rows(h)
    width = max(len(k) for k, _ in rows)
    lines = [f"Headline (data as of {h.as_of.date()})"]
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)


# ---- workspace -------------------------------------------------------------------------------
def _prepare_plan_dir(plan_dir: Path) -> None:
    """Refuse to overwrite anything but an earlier demo plan."""
    if plan_dir.exists() and not plan_dir.is_dir():
        raise WorkspaceError(f"{plan_dir} is a file; pass --plan a folder for the demo plan")
    plan_file = plan_dir / PLAN_FILE
    if plan_file.exists():
        source = Workspace.open(plan_dir).source
        if source.get("kind") != "sample" or not source.get("demo"):
            raise WorkspaceError(
                f"{plan_file} is a plan built from {source.get('kind', 'unknown')} data, not "
                "an earlier demo; the demo only replaces its own plans. Pass another --plan.")
    elif plan_dir.exists() and any(p.name != "sample-csv" for p in plan_dir.iterdir()):
        raise WorkspaceError(f"{plan_dir} is not empty and holds no demo plan; pass --plan an "
                             "empty or new folder")


def build_workspace(plan_dir: str | Path, *, seed: int = SEED, out: TextIO | None = None,
                    **sample_options) -> Workspace:
    """Generate the sample, write it as CSVs (``plan_dir/sample-csv``), load them back with
    validation, print the report and create the annual plan workspace in ``plan_dir``."""
    out = out or sys.stdout
    plan_dir = Path(plan_dir)
    _prepare_plan_dir(plan_dir)
    generated = generate(seed=seed, **sample_options)
    csv_dir = write_dataset_csv(generated, plan_dir / "sample-csv")
    data, report = load_with_report(csv_dir, None, as_of=generated.as_of)
    print("Validation of the sample data", file=out)
    print("  " + report.format(limit=10).replace("\n", "\n  "), file=out)
    if data is None:
        raise DataError(f"the sample data in {csv_dir} did not load; see the report above",
                        report)
    data.name = f"sample-{seed}"
    source = {"kind": "sample", "seed": seed, "demo": True, **sample_options}
    return Workspace.create(plan_dir, data=data, plan_type="annual",
                            period=str(data.as_of.year + 1), source=source,
                            name=f"Demo annual plan {data.as_of.year + 1}", overwrite=True,
                            by=BY)


# ---- planning steps with default decisions ------------------------------------------------------
def _title(step: step_registry.Step) -> str:
    return f"{step.number} {step.title}" if step.number is not None else step.title


#: (title, module, decision(ws) -> one-line summary) of every registered step with a default
#: decision, in process order (:mod:`salesplan_nb.steps.registry`; the decision itself is the
#: step module's ``demo_decision``, recording as ``by="demo"``)
STEPS: list[tuple[str, str, Callable[[Workspace], str]]] = [
    (_title(s), s.module, functools.partial(s.demo_decision(), by=BY))
    for s in step_registry.steps() if s.demo]


def run_steps(ws: Workspace, out: TextIO | None = None) -> list[str]:
    """Run :data:`STEPS` on ``ws``; prints one line per step and returns the titles that ran."""
    out = out or sys.stdout
    ran = []
    print("Planning steps (default decisions recorded as by=demo)", file=out)
    for title, _module, decide in STEPS:
        print(f"  {title}: {decide(ws)}", file=out)
        ran.append(title)
    return ran


# ---- reports ----------------------------------------------------------------------------------
def render_reports(ws: Workspace, out_dir: str | Path, out: TextIO | None = None) -> int:
    """Render the demo reports with :func:`salesplan_nb.batch.runner.render_demo_reports`;
    returns its exit code (0 when every report rendered)."""
    out = out or sys.stdout
    out_dir = Path(out_dir)
    print(f"Rendering reports into {out_dir} ...", file=out, flush=True)
    code = runner.render_demo_reports(ws, out_dir)
    code = int(code) if isinstance(code, int) else 0
    index = out_dir / "index.html"
    status = "done" if code == 0 else f"some reports failed (exit code {code}), see"
    print(f"Reports: {status} {index if index.exists() else out_dir}", file=out)
    return code


def run_demo(out: str | Path = "reports/demo", plan_dir: str | Path = "plans/demo",
             render: bool = True, *, seed: int = SEED, steps: bool = True,
             stream: TextIO | None = None, **sample_options) -> int:
    """Run the demo (see module docstring); returns the exit code (0 = success).

    ``steps=False`` skips the planning steps; ``sample_options`` go to
    :func:`salesplan_nb.data.sample.generate` (e.g. ``accounts=400``)."""
    stream = stream or sys.stdout
    ws = build_workspace(plan_dir, seed=seed, out=stream, **sample_options)
    print(f"Plan: {ws.path / PLAN_FILE} ({ws.plan_type}, {ws.period})", file=stream)
    print(format_headline(headline(ws.data)), file=stream)
    if steps:
        run_steps(ws, stream)
    if render:
        return render_reports(ws, out, stream)
    return 0


def _cli(args: argparse.Namespace) -> int:
    return run_demo(args.out, args.plan, render=not args.no_render, seed=args.seed)


def register_cli(subparsers) -> None:
    """Add ``salesplan demo [--out reports/demo] [--plan plans/demo]``."""
    p = subparsers.add_parser(
        "demo", help="build and render the demo plan from the sample company",
        description="Generate the sample company, validate it, build an annual plan workspace "
                    "with default decisions and render the demo reports.")
    p.add_argument("--out", default="reports/demo", help="report folder (reports/demo)")
    p.add_argument("--plan", default="plans/demo", help="plan workspace folder (plans/demo)")
    p.add_argument("--seed", type=int, default=SEED, help="sample data seed (42)")
    p.add_argument("--no-render", action="store_true", help="build the plan, skip the reports")
    p.set_defaults(func=_cli)
