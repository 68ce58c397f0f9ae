"""``salesplan demo``: the whole workbook end to end on the seeded sample company.

1. generate the sample company (:mod:`salesplan_nb.data.sample`) and write it as canonical CSVs;
2. load the CSVs back through the data layer and print the validation summary;
3. create the plan workspace (annual plan for the year after the data) from the loaded data;
4. print headline numbers (:func:`headline`);
5. run the planning steps with default decisions, recorded in the workspace as ``by="demo"``;
6. render the reports with :mod:`salesplan_nb.batch.runner` unless ``render=False``.
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

from salesplan_nb.core.errors import DataError, WorkspaceError
from salesplan_nb.core.periods import last_full_year, trailing_12_months, year_to_date
from salesplan_nb.core.scope import Period
from salesplan_nb.core.seats import employed_mask, quota_seat_mask
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.sample import generate, write_dataset_csv
from salesplan_nb.data.workspace import PLAN_FILE, Workspace

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
    from salesplan_nb.data.loaders import load_with_report

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
    from salesplan_nb.steps import market
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
    """The 12 months to ``as_of`` (inclusive; the planning core's trailing window)."""
    return trailing_12_months(data.as_of)


KEY_ACCOUNTS = 3  # accounts with their own bookings goal
ACCOUNT_PLANS = 10  # account plans the demo renders (most trailing bookings), with actions


def _step_goals(ws: Workspace) -> str:
    from salesplan_nb.steps import goals, kpis
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
    # key accounts: the KEY_ACCOUNTS accounts with the most bookings in the last 12 months
    deals = data.deals
    won = deals[(deals["status"] == "won") & ttm.contains(deals["close_date"])]
    top = won.groupby("account_id")["amount"].sum().nlargest(KEY_ACCOUNTS)
    for account_id in top.index:
        chosen.append(goal("bookings", grow, f"account:{account_id}", "Grow key accounts",
                           "Key account manager", f"Key account {account_id} bookings "
                           f"+{growth - 1:.0%}"))
    goals.save_goals(ws, chosen, by=BY)
    table = goals.check_goals(chosen, data, period,
                              objectives=["Grow revenue", "Sell more efficiently",
                                          "Expand the customer base", "Grow key accounts"])
    ws.save_output("goals", "smart_check", table)
    counts = table["overall"].value_counts().to_dict()
    return (f"{len(chosen)} goals (baseline = last 12 months), SMART overall: "
            + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


HOLD_KPIS = ("win_rate", "avg_deal_size", "sales_cycle", "stage_conversion", "gross_margin")


def _step_kpis(ws: Workspace) -> str:
    from salesplan_nb.steps import kpis
    data = ws.data
    year = str(data.as_of.year)  # the year in progress, against its targets
    last = str(last_full_year(data.as_of))
    # default targets: hold last full year's level (bookings come from the targets table)
    targets = {}
    for name in HOLD_KPIS:
        value = kpis.kpi_value(data, name, period=last)
        if value == value:  # not NaN
            targets[name] = round(float(value), 4)
    table = kpis.compute_kpis(data, period=year, targets=targets)
    ws.record("kpis", "dashboard", list(table["kpi"]), by=BY)
    ws.record("kpis", "period", year, by=BY)
    ws.record("kpis", "targets", targets, by=BY)
    ws.save_output("kpis", f"dashboard_{year}", table)
    counts = table["status"].value_counts().to_dict()
    return (f"{len(table)} KPIs for {year} to date: "
            + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


def _step_swot(ws: Workspace) -> str:
    from salesplan_nb.steps import swot
    items = swot.suggest(ws.data, period=str(last_full_year(ws.data.as_of)))
    for item in items:
        item.accept()
    swot.save_swot(ws, items, by=BY, scope=ws.scope)
    per = pd.Series([i.quadrant for i in items], dtype=object).value_counts()
    return (f"{len(items)} data suggestions accepted ("
            + ", ".join(f"{per.get(q, 0)} {q}" for q in swot.QUADRANTS) + ")")


def _bookings_goal(ws: Workspace, scope: str = "company") -> float | None:
    """Target (USD) of the plan's bookings goal for ``scope``, if step 2 set one."""
    for item in ws.items("goals") if ws.get("goals") is not None else []:
        if item.get("metric") == "bookings" and item.get("scope") == scope:
            return float(item["target"])
    return None


def _step_capacity(ws: Workspace) -> str:
    from salesplan_nb.steps import capacity
    data, period = ws.data, ws.period
    target = _bookings_goal(ws)
    first = capacity.capacity_plan(data, period=period, target=target)
    hires = []
    if first.hires_needed:  # close the gap with hires starting in the plan's first month
        hires = [capacity.Hire(f"{period.start:%Y-%m}", first.hires_needed)]
    capacity.save_capacity_settings(ws, ramp=capacity.DEFAULT_RAMP,
                                    attrition=capacity.DEFAULT_ATTRITION,
                                    backfill_lag=capacity.DEFAULT_BACKFILL_LAG, hires=hires,
                                    by=BY)
    plan = capacity.capacity_plan(data, period=period, target=target,
                                  **capacity.load_capacity_settings(ws))
    ws.save_output("capacity", "monthly", plan.monthly)
    ws.save_output("capacity", "summary", plan.summary())
    gap = f", gap ${first.gap:,.0f} -> {first.hires_needed} hire(s) in " \
          f"{period.start:%Y-%m}" if first.gap is not None and first.gap > 0 else ""
    tgt = f" vs target ${plan.target:,.0f}" if plan.target is not None else ""
    return (f"capacity without new hires ${first.capacity:,.0f}{tgt}{gap}; with the "
            f"hiring plan ${plan.capacity:,.0f} ({plan.rre_months:,.0f} RRE-months)")


def _step_segments(ws: Workspace) -> str:
    from salesplan_nb.steps import segments
    data = ws.data
    segments.save_weights(ws, segments.DEFAULT_WEIGHTS, by=BY)
    ranking = segments.segment_ranking(data, period=ws.period,
                                       weights=segments.load_weights(ws))
    ws.save_output("segments", "ranking", ranking)
    ws.save_output("segments", "icp", segments.icp(data, period=ws.period))
    top = [{"segment": str(r.segment), "region": str(r.region)}
           for r in ranking.head(3).itertuples()]
    segments.save_targets(ws, top, by=BY)
    return (f"{len(ranking)} segment x region cells ranked ({ranking.attrs.get('basis', '')}); "
            "targets: " + ", ".join(f"{t['segment']} {t['region']}" for t in top))


# section -> owner; every section is sent to the CRO for sign-off, goals and KPIs are approved
OWNERS = {"goals": "VP Sales", "kpis": "Sales Ops", "swot": "Sales Ops", "capacity": "VP Sales",
          "segments": "Marketing", "strategy": "VP Sales", "quotas": "Sales Ops",
          "territories": "Sales Ops", "resources": "CFO", "scenarios": "Sales Ops",
          "timeline": "VP Sales"}
APPROVER = "CRO"


def _step_stakeholders(ws: Workspace) -> str:
    from salesplan_nb.steps import stakeholders
    for section in stakeholders.PLAN_SECTIONS:
        stakeholders.assign_owner(ws, section, OWNERS.get(section, "VP Sales"), by=BY)
        stakeholders.request_signoff(ws, section, [APPROVER], by=BY,
                                     comment="demo plan: please review")
    for section in ("goals", "kpis"):
        stakeholders.sign_off(ws, section, by=APPROVER, comment="agreed in the demo")
    table = stakeholders.status_table(ws)
    counts = table["status"].value_counts().to_dict()
    return (f"{len(table)} sections with owners; sign-off by {APPROVER}: "
            + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


def _step_account_actions(ws: Workspace) -> str:
    from salesplan_nb.batch import runner
    from salesplan_nb.steps import actions
    units = runner.list_units(ws.data, "account", top=ACCOUNT_PLANS)  # the plans rendered
    start = ws.period.start
    plan = [("Executive business review with the buying committee", "Key account manager", 1),
            ("Map whitespace: products not yet bought", "Solutions engineer", 2),
            ("Agree a joint account plan and renewal timeline", "Key account manager", 3)]
    n = 0
    for unit in units:
        for text, owner, months in plan:
            due = (start + pd.DateOffset(months=months) - pd.Timedelta(days=1)).date()
            actions.add_action(ws, unit.id, text, owner, due, by=BY)
            n += 1
    return f"{n} actions with owners and due dates for the {len(units)} largest accounts"


def _step_strategy(ws: Workspace) -> str:
    from salesplan_nb.steps import strategy
    y = ws.period.start.year
    targets = ws.get("segments", "targets") or []
    focus = targets[0]["segment"] if targets else "Mid-Market"
    tactics = [
        strategy.Tactic("Enterprise value-selling programme", "sales process", "win_rate", 2,
                        f"{y}-01-01", f"{y}-12-31", "Enterprise", "Enterprise sales lead",
                        120_000),
        strategy.Tactic("Mid-Market demand generation", "lead generation & nurturing",
                        "pipeline", 8, f"{y}-02-01", f"{y}-09-30", "Mid-Market", "Marketing",
                        250_000),
        strategy.Tactic("SMB packaging and price update", "pricing", "deal_size", 5,
                        f"{y}-01-01", f"{y}-12-31", "SMB", "Product marketing", 40_000),
        strategy.Tactic(f"Partner channel pilot ({focus})", "channels", "pipeline", 5,
                        f"{y}-04-01", f"{y}-12-31", focus, "Channel manager", 90_000),
        strategy.Tactic("Faster proposals (CPQ)", "sales process", "cycle", -7,
                        f"{y}-03-01", f"{y}-12-31", "", "Sales Ops", 60_000),
    ]
    for t in tactics:
        strategy.save_tactic(ws, t, by=BY)
    effects = strategy.driver_effects(ws)
    ws.save_output("strategy", "driver_effects", effects)
    budget = sum(t.budget for t in tactics)
    return (f"{len(tactics)} tactics, budget ${budget:,.0f}, effects on "
            f"{effects['driver'].nunique()} drivers")


def _step_quotas(ws: Workspace) -> str:
    from salesplan_nb.steps import (
        quotas,  # over-assignment 5% at territory and 10% at rep level: reps carry 115.5% of the target
    )
    dec = quotas.QuotaDecisions(method="blend", weights={"history": 0.6, "potential": 0.4},
                                over_assignment={"region": 0.0, "territory": 0.05, "rep": 0.10},
                                target=_bookings_goal(ws))
    quotas.save_quotas(ws, dec, by=BY)
    plan = quotas.quotas_from(ws.data, quotas.load_quotas(ws), period=ws.period)
    ws.save_output("quotas", "table", plan.table)
    fair = quotas.fairness(plan)
    reps = plan.level("rep")
    return (f"target ${plan.target:,.0f} split by blend (60% history, 40% potential) to "
            f"{len(reps)} reps, rep quotas total ${reps['quota'].sum():,.0f}; expected to reach "
            f"100%: {fair.share_100_normal:.0%} of reps, 80%: {fair.share_80_normal:.0%}")


def _step_territories(ws: Workspace) -> str:
    from salesplan_nb.steps import territories
    data = ws.data
    opp = data.opportunities
    # accounts with open deals stay with their territory; balance within each region
    locked = sorted(set(opp.loc[opp["status"] == "open", "account_id"].dropna()))
    tolerance = 0.10
    moves, frames, ok = [], [], 0
    regions = sorted(data.territories["region"].dropna().unique())
    for region in regions:
        plan = territories.rebalance(data, f"region:{region}", tolerance=tolerance,
                                     locked=locked, time_limit=10)
        frames.append(plan.balance.assign(region=region))
        ok += bool(plan.summary.get("within_tolerance"))
        moves += [{"account_id": str(r.account_id), "from": str(r.current),
                   "to": str(r.proposed)} for r in plan.moves.itertuples()]
    ws.record_many(territories.SECTION, {"locked": locked, "tolerance": tolerance,
                                         "accepted_moves": moves, "scope": "company",
                                         "balanced_within": "region"}, by=BY)
    ws.save_output("territories", "balance", pd.concat(frames, ignore_index=True))
    return (f"balanced within each region to +-{tolerance:.0%} of mean potential "
            f"({ok}/{len(regions)} regions within tolerance), {len(locked)} accounts with "
            f"open deals locked, {len(moves)} accounts moved")


COST_PER_REP = 180_000  # USD per rep per year, fully loaded


def _step_resources(ws: Workspace) -> str:
    from salesplan_nb.steps import resources
    data = ws.data
    programs = [
        resources.Investment("demand generation", a=6_000_000, b=800_000, kind="program",
                             current=400_000),
        resources.Investment("sales tools and enablement", a=2_000_000, b=300_000,
                             kind="tool", current=150_000),
    ]
    headcount = resources.headcount_investment(data, cost_per_rep=COST_PER_REP)
    investments = [*programs, headcount]
    budget = round(sum(i.current for i in investments) * 1.10, -3)  # 10% more than today
    alloc = resources.plan_resources(data, period=ws.period, budget=budget,
                                     investments=investments)
    resources.save_resources(ws, alloc, investments, by=BY)
    ws.save_output("resources", "allocation", alloc.table)
    split = ", ".join(f"{r.name} ${r.spend:,.0f}" for r in alloc.table.itertuples())
    return (f"budget ${budget:,.0f} (+10%): {split}; return ${alloc.total_return:,.0f} "
            f"(+${alloc.uplift:,.0f} vs the current split), marginal ROI {alloc.lam:.2f}")


def _step_forecast(ws: Workspace) -> str:
    from salesplan_nb.steps import forecast
    res = forecast.forecast(ws.data, period=ws.period)
    ws.save_output("forecast", "company", res.table)
    ws.save_output("forecast", "accuracy", res.accuracy())
    ws.record("forecast", "method", res.selected, by=BY)
    t = res.total
    e = res.backtest.errors.set_index("method").loc["forecast"]
    return (f"{ws.period.label} bookings forecast ${t['point']:,.0f} (80% range "
            f"${t['lo80']:,.0f}-${t['hi80']:,.0f}; {res.selected} chosen by backtest, WAPE "
            f"{e['wape']:.1%}, 80% interval coverage {e['cover80']:.0%})")


def _step_scenarios(ws: Workspace) -> str:
    from salesplan_nb.steps import scenarios
    data, period = ws.data, ws.period
    model = scenarios.build(data, period)
    chosen = dict(scenarios.presets(model))
    # "plan": the base drivers plus step 5's hiring plan as extra headcount from its month
    reps = data.reps
    aes = int((quota_seat_mask(reps) & employed_mask(reps, data.as_of)).sum())
    hires = [h for h in (ws.get("capacity", "hires") or []) if h.get("count")] if aes else []
    tactics = scenarios.tactic_changes(ws, period) if ws.get("tactics") else []
    if hires or tactics:
        plan = scenarios.Scenario("plan", list(tactics),
                                  "base + the hiring plan (step 5) + tactics (step 8)")
        for h in hires:
            plan = plan.with_change("headcount", float(h["count"]) / aes, start=h["month"])
        chosen["plan"] = plan
    for sc in chosen.values():
        scenarios.save_scenario(ws, sc, by=BY)
    table = scenarios.compare(model, chosen)
    ws.save_output("scenarios", "compare", table.reset_index())
    b = table.loc["bookings"]
    parts = [f"{name} ${b[name]:,.0f}" for name in chosen]
    return f"{period.label} bookings: " + ", ".join(parts)


def _step_monitor(ws: Workspace) -> str:
    from salesplan_nb.steps import monitor
    data = ws.data
    year = str(data.as_of.year)  # the year in progress, against the given targets
    status = monitor.status_by_scope(data, "region", year)
    ws.save_output("monitor", f"regions_{year}", status)
    pva = monitor.plan_vs_actual(data, "company", year)
    ws.save_output("monitor", f"company_{year}", pva.table)
    behind = status.loc[status["status"] == "behind", "scope_id"].tolist()
    att = pva.actual_to_date / pva.plan_to_date if pva.plan_to_date else float("nan")
    notes = (f"{year} review at {data.as_of.date()}: company at {att:.0%} of plan to date; "
             + (f"behind: {', '.join(behind)}" if behind else "no region behind plan"))
    monitor.record_review(ws, "company", year, notes,
                          actions=[f"recover the gap in {r}" for r in behind], by=BY,
                          data=data)
    return notes


def _step_evaluate(ws: Workspace) -> str:
    from salesplan_nb.steps import evaluate
    data = ws.data
    year = str(last_full_year(data.as_of))
    att = evaluate.attainment_distribution(data, "company", year)
    ws.save_output("evaluate", f"attainment_{year}", att.table)
    for lesson in evaluate.suggest_lessons(data, year):
        evaluate.add_lesson(ws, lesson["text"], lesson.get("driver") if lesson.get(
            "adjustment") is not None else None, lesson.get("adjustment"),
            lesson.get("evidence", ""), by=BY)
    defaults = evaluate.next_plan_defaults(data, year, ws=ws,
                                           forecast_errors=ws.load_output("forecast", "accuracy"))
    evaluate.save_next_plan_defaults(ws, defaults, by=BY)
    s = att.summary
    return (f"{year} attainment: median {s['median']:.0%}, {s['share_100']:.0%} of "
            f"{s['reps']} reps at 100%+ ({att.quota_source}); "
            f"{len(evaluate.lessons(ws))} lessons, next-plan defaults saved")


STEPS: list[Step] = [
    ("1 market & customer insights", "salesplan_nb.steps.market", _step_market),
    ("2 SMART goals", "salesplan_nb.steps.goals", _step_goals),
    ("3 metrics & KPIs", "salesplan_nb.steps.kpis", _step_kpis),
    ("4 SWOT", "salesplan_nb.steps.swot", _step_swot),
    ("5 sales capacity", "salesplan_nb.steps.capacity", _step_capacity),
    ("6 ICP & segments", "salesplan_nb.steps.segments", _step_segments),
    ("7 stakeholders", "salesplan_nb.steps.stakeholders", _step_stakeholders),
    ("8 strategy & tactics", "salesplan_nb.steps.strategy", _step_strategy),
    ("8b key-account actions", "salesplan_nb.steps.actions", _step_account_actions),
    ("9 quotas", "salesplan_nb.steps.quotas", _step_quotas),
    ("10 territories", "salesplan_nb.steps.territories", _step_territories),
    ("11 resources", "salesplan_nb.steps.resources", _step_resources),
    ("forecast", "salesplan_nb.steps.forecast", _step_forecast),
    ("what-if scenarios", "salesplan_nb.steps.scenarios", _step_scenarios),
    ("14 monitor & adjust", "salesplan_nb.steps.monitor", _step_monitor),
    ("15 evaluate", "salesplan_nb.steps.evaluate", _step_evaluate),
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


# ---- reports ----------------------------------------------------------------------------------
def render_reports(ws: Workspace, out_dir: str | Path, out: TextIO | None = None) -> int:
    """Render the demo reports with ``salesplan_nb.batch.runner.render_demo_reports(ws, out)``;
    returns its exit code (0 when every report rendered, or when there is no runner)."""
    out = out or sys.stdout
    out_dir = Path(out_dir)
    # ===== stage 6: reports, rendered by salesplan_nb.batch.runner.render_demo_reports(ws, out) =====
    try:
        runner = importlib.import_module("salesplan_nb.batch.runner")
    except ModuleNotFoundError as exc:
        if exc.name != "salesplan_nb.batch.runner":
            raise
        print("Reports: salesplan_nb.batch.runner is not installed; nothing rendered", file=out)
        return 0
    render = getattr(runner, "render_demo_reports", None)
    if render is None:
        print("Reports: salesplan_nb.batch.runner has no render_demo_reports(); nothing rendered",
              file=out)
        return 0
    print(f"Rendering reports into {out_dir} ...", file=out, flush=True)
    code = render(ws, out_dir)
    # ===== end of stage 6 =====
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
