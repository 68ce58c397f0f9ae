"""``salesplan demo``: the whole workbook end to end on the seeded sample company.

1. generate the sample company (:mod:`salesplan_nb.sample`) and write it as canonical CSVs;
2. load the CSVs back through the data layer and print the validation summary;
3. create the plan workspace (annual plan for the year after the data) from the loaded data;
4. print headline numbers (:func:`headline`);
5. run the planning steps with default decisions, recorded in the workspace as ``by="demo"``;
6. render the reports (engineer G's :mod:`salesplan_nb.runner`) unless ``render=False``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd

from .dataset import Dataset
from .errors import DataError, WorkspaceError
from .sample import generate, write_dataset_csv
from .scope import Period
from .workspace import PLAN_FILE, Workspace

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


def last_full_year(as_of: pd.Timestamp) -> int:
    """The last calendar year that ended on or before ``as_of``."""
    return as_of.year if (as_of.month, as_of.day) == (12, 31) else as_of.year - 1


def headline(data: Dataset) -> Headline:
    """Compute the :class:`Headline` of ``data``."""
    d, as_of = data.deals, data.as_of
    last_year = last_full_year(as_of)
    won = d[d["status"] == "won"]
    closed_year = won["close_date"].dt.year
    ytd = won[(won["close_date"] >= pd.Timestamp(as_of.year, 1, 1))
              & (won["close_date"] <= as_of)]
    start_12m = as_of - pd.DateOffset(years=1)
    recent = d[(d["status"] != "open") & (d["close_date"] > start_12m)
               & (d["close_date"] <= as_of)]
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


def format_headline(h: Headline) -> str:
    """The headline as aligned text lines (what ``salesplan demo`` prints)."""
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
    from .loaders import load_with_report

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
# Each step: (title, module it needs, function(ws) -> one-line summary). A step whose module is
# not installed is reported as skipped; any other error propagates.
Step = tuple[str, str, Callable[[Workspace], str]]


def _step_market(ws: Workspace) -> str:
    from . import market

    data = ws.data
    last = last_full_year(data.as_of)
    ins = market.insights(data, period=str(last))
    ws.save_output("market", "annual_bookings", market.annual_bookings(data))
    ws.save_output("market", "seasonality", ins.seasonality)
    ws.save_output("market", "market_size", market.market_size_table(ins.market_size))
    ws.save_output("market", "coverage_gaps", ins.coverage_gaps)
    g = ins.growth
    return (f"{last} bookings ${ins.bookings:,.0f} ({ins.yoy_growth:+.1%} YoY), CAGR "
            f"{g.first_year}-{g.last_year} {g.cagr:.1%}, TAM ${ins.market_size.tam:,.0f}/yr")


def _ttm(data: Dataset) -> Period:
    """The 12 months to ``as_of`` (inclusive)."""
    end = data.as_of + pd.Timedelta(days=1)
    return Period(end - pd.DateOffset(years=1), end, "last 12 months")


def _step_goals(ws: Workspace) -> str:
    from . import goals, kpis

    data, period = ws.data, ws.period
    ttm = _ttm(data)
    deadline = (period.end - pd.Timedelta(days=1)).date().isoformat()
    growth = 1.15  # ~10%/year over the 1.5 years from the middle of the last 12 months

    def goal(metric: str, target_of, scope: str, objective: str, owner: str, name: str):
        base = kpis.kpi_value(data, metric, scope, ttm)
        return goals.Goal(metric, float(target_of(base)), scope, baseline=float(base),
                          deadline=deadline, owner=owner, objective=objective, name=name)

    def grow(b: float) -> float:
        return round(b * growth, -3)

    chosen = [
        goal("bookings", grow, "company", "Grow revenue", "VP Sales",
             f"Bookings +{growth - 1:.0%} in {period.label}"),
        goal("win_rate", lambda b: round(b + 0.02, 3), "company", "Sell more efficiently",
             "Sales Ops", "Win rate +2 points"),
        goal("new_logos", lambda b: round(b * 1.10), "company", "Expand the customer base",
             "VP Sales", "New logos +10%"),
    ]
    for region in sorted(data.accounts["region"].dropna().unique()):
        chosen.append(goal("bookings", grow, f"region:{region}", "Grow revenue",
                           f"{region} director", f"{region} bookings +{growth - 1:.0%}"))
    existing = goals.load_goals(ws)
    if existing:  # re-run over an open plan: replace the demo's own goals
        for g in existing:
            goals.remove_goal(ws, g)
    goals.save_goals(ws, chosen, by=BY)
    table = goals.check_goals(chosen, data, period,
                              objectives=["Grow revenue", "Sell more efficiently",
                                          "Expand the customer base"])
    ws.save_output("goals", "smart_check", table)
    counts = table["overall"].value_counts().to_dict()
    return (f"{len(chosen)} goals (baseline = last 12 months), SMART overall: "
            + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


def _step_kpis(ws: Workspace) -> str:
    from . import kpis

    data = ws.data
    year = str(data.as_of.year)  # the year in progress, against its targets
    table = kpis.compute_kpis(data, period=year)
    ws.record("kpis", "dashboard", list(table["kpi"]), by=BY)
    ws.record("kpis", "period", year, by=BY)
    ws.save_output("kpis", f"dashboard_{year}", table)
    counts = table["status"].value_counts().to_dict()
    return (f"{len(table)} KPIs for {year} to date: "
            + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


def _step_swot(ws: Workspace) -> str:
    from . import swot

    items = swot.suggest(ws.data, period=str(last_full_year(ws.data.as_of)))
    for item in items:
        item.accept()
    swot.save_swot(ws, items, by=BY, scope=ws.scope)
    per = pd.Series([i.quadrant for i in items], dtype=object).value_counts()
    return (f"{len(items)} data suggestions accepted ("
            + ", ".join(f"{per.get(q, 0)} {q}" for q in swot.QUADRANTS) + ")")


def _step_forecast(ws: Workspace) -> str:
    from . import forecast

    res = forecast.forecast(ws.data, period=ws.period)
    ws.save_output("forecast", "company", res.table)
    ws.record("forecast", "method", "blend", by=BY)
    total = float(res.table["blend"].sum())
    return f"{ws.period.label} bookings forecast (blend) ${total:,.0f}"


def _step_scenarios(ws: Workspace) -> str:
    from . import scenarios

    model = scenarios.build(ws.data, ws.period)
    presets = scenarios.presets(model)
    for sc in presets.values():
        scenarios.save_scenario(ws, sc, by=BY)
    table = scenarios.compare(model, presets)
    ws.save_output("scenarios", "compare", table.reset_index())
    b = table.loc["bookings"]
    return (f"base ${b['base']:,.0f}, best ${b['best']:,.0f}, worst ${b['worst']:,.0f} "
            f"bookings in {ws.period.label}")


STEPS: list[Step] = [
    ("1 market & customer insights", "salesplan_nb.market", _step_market),
    ("2 SMART goals", "salesplan_nb.goals", _step_goals),
    ("3 metrics & KPIs", "salesplan_nb.kpis", _step_kpis),
    ("4 SWOT", "salesplan_nb.swot", _step_swot),
    ("forecast", "salesplan_nb.forecast", _step_forecast),
    ("what-if scenarios", "salesplan_nb.scenarios", _step_scenarios),
]


def run_steps(ws: Workspace, out: TextIO | None = None) -> list[str]:
    """Run :data:`STEPS` on ``ws``; returns the titles of the steps that ran."""
    out = out or sys.stdout
    ran = []
    print("Planning steps (default decisions recorded as by=demo)", file=out)
    for title, module, fn in STEPS:
        if importlib.util.find_spec(module) is None:
            print(f"  {title}: skipped ({module} is not installed)", file=out)
            continue
        print(f"  {title}: {fn(ws)}", file=out)
        ran.append(title)
    return ran


# ---- reports (engineer G) -----------------------------------------------------------------------
def render_reports(ws: Workspace, out_dir: str | Path, out: TextIO | None = None) -> Path | None:
    """Render the demo reports with ``salesplan_nb.runner.render_demo_reports(ws, out)``."""
    out = out or sys.stdout
    # ===== stage 6: report rendering, provided by salesplan_nb.runner (engineer G) =====
    try:
        runner = importlib.import_module("salesplan_nb.runner")
    except ModuleNotFoundError as exc:
        if exc.name != "salesplan_nb.runner":
            raise
        print("Reports: salesplan_nb.runner is not installed; nothing rendered", file=out)
        return None
    render = getattr(runner, "render_demo_reports", None)
    if render is None:
        print("Reports: salesplan_nb.runner has no render_demo_reports(); nothing rendered",
              file=out)
        return None
    result = render(ws, Path(out_dir))
    # ===== end of stage 6 =====
    index = Path(out_dir) / "index.html"
    print(f"Reports: {index if index.exists() else out_dir}", file=out)
    return Path(result) if isinstance(result, str | Path) else Path(out_dir)


def run_demo(out: str | Path = "reports/demo", plan_dir: str | Path = "plans/demo",
             render: bool = True, *, seed: int = SEED, stream: TextIO | None = None,
             **sample_options) -> int:
    """Run the demo (see module docstring); returns the exit code (0 = success).

    ``sample_options`` go to :func:`salesplan_nb.sample.generate` (e.g. ``accounts=400``)."""
    stream = stream or sys.stdout
    ws = build_workspace(plan_dir, seed=seed, out=stream, **sample_options)
    print(f"Plan: {ws.path / PLAN_FILE} ({ws.plan_type}, {ws.period})", file=stream)
    print(format_headline(headline(ws.data)), file=stream)
    run_steps(ws, stream)
    if render:
        render_reports(ws, out, stream)
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
