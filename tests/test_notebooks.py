"""Every step notebook, headless with papermill (``interactive=False``), on the sample data at
every scope level (company, region, territory, account, rep) and on Maven CRM at company,
territory (a manager's team) and rep level: 128 runs. Maven's regions and accounts are rendered
as plans by the plan-consistency and plan-document tests.

Runs on two warm kernels (``salesplan_nb.batch.runner.WarmKernel``: papermill's Python API on a
running kernel whose namespace is reset between notebooks - the way ``salesplan run`` executes
plans), one per core, so the grid costs the notebooks' own work, not 128 kernel starts."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[1]
STEPS = ROOT / "notebooks" / "steps"
NOTEBOOKS = sorted(p.stem for p in STEPS.glob("*.ipynb"))
# the method's 15 steps in order (notebook names from the step registry), then forecast and
# scenarios, which serve every step
EXPECTED = ["01_market_customers", "02_goals", "03_kpis", "04_swot", "05_capacity",
            "06_segments_icp", "07_stakeholders", "08_strategy_tactics", "09_quotas",
            "10_territories", "11_resources", "12_plan_document", "13_rollout", "14_monitor",
            "15_evaluate", "scenarios_forecast"]
LEVELS = ("company", "region", "territory", "account", "rep")
# (scope_level, unit) per dataset: units taken from the data
SCOPES = {
    "sample": [("company", ""), ("region", "EMEA"), ("territory", "EMEA-02"),
               ("account", "A-000400"), ("rep", "R-0002")],
    "maven": [("company", ""), ("territory", "Dustin Brinkmann"), ("rep", "Darcel Schlecht")],
}
REGION_OA = 0.2  # recorded before the run: the batch must reproduce it


def _run_chunk(jobs: list[tuple[str, str, dict]]) -> dict[str, str]:
    """Execute ``jobs`` (notebook, output path, parameters) one after another on one warm
    kernel; returns {output path: error text} for the runs that failed."""
    import nbformat

    from salesplan_nb.batch import runner
    kernel = runner.WarmKernel("salesplan-nb")
    errors = {}
    try:
        for name, out, params in jobs:
            runner._LAST.clear()
            try:
                nb = kernel.execute(str(STEPS / f"{name}.ipynb"), params, timeout=600)
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors[out] = str(exc)[-3000:]
                nb = runner._LAST.get("nb")
            if nb is not None:
                nbformat.write(nb, out)
    finally:
        kernel.shutdown()
    return errors


@pytest.fixture(scope="module")
def runs(tmp_path_factory, maven_dir):
    from salesplan_nb import ui
    from salesplan_nb.data.workspace import Workspace

    base = tmp_path_factory.mktemp("nb")
    plans = {"sample": base / "sample", "maven": base / "maven"}
    Workspace.open_or_create_sample(plans["sample"], seed=7, accounts=400, opportunities=6000)
    ui.open_plan(plans["maven"], data=str(maven_dir), mapping="maven-crm")
    from salesplan_nb.ui.timeline import add_milestone

    for p in plans.values():  # decisions an analyst made in the workbook
        ws = Workspace.open(p)
        ws.record("quotas", "over_assignment", {"region": REGION_OA, "territory": 0.1, "rep": 0.1})
        add_milestone(ws, "Plan sign-off", ws.period.start - pd.Timedelta(days=20),
                      ws.period.start - pd.Timedelta(days=1), owner="CRO")
    jobs, index = [], {}
    for ds, scopes in SCOPES.items():
        for name in NOTEBOOKS:
            for level, unit in scopes:
                out = str(base / f"{ds}-{name}-{level}.ipynb")
                index[(ds, name, level)] = out
                jobs.append((name, out, {"plan_dir": str(plans[ds]), "scope_level": level,
                                         "unit": unit, "interactive": False}))
    with ProcessPoolExecutor(2) as ex:  # one warm kernel per core
        errors = {}
        for part in ex.map(_run_chunk, [jobs[0::2], jobs[1::2]]):
            errors.update(part)
    return {"plans": plans, "index": index, "errors": errors}


def _outputs(path: str) -> list[dict]:
    nb = json.loads(Path(path).read_text())
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]


def test_every_step_has_a_notebook_with_parameters():
    from salesplan_nb.steps import registry

    assert NOTEBOOKS == EXPECTED
    builtin = [s for s in registry.steps() if s.module.startswith("salesplan_nb.")]
    numbered = [s for s in builtin if s.number is not None]
    assert [s.number for s in numbered] == list(range(1, 16))
    assert [Path(s.notebook).stem for s in numbered] == EXPECTED[:15]
    assert {Path(s.notebook).stem for s in builtin} == set(EXPECTED)
    for name in NOTEBOOKS:
        nb = json.loads((STEPS / f"{name}.ipynb").read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "salesplan-nb"
        tagged = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1, name
        for p in ("plan_dir", "scope_level", "unit", "period", "scenario", "interactive"):
            assert f"{p} =" in "".join(tagged[0]["source"]), (name, p)
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), \
            f"{name} is committed with outputs (run nbstripout)"


def test_all_notebooks_run_headless(runs):
    assert not runs["errors"], "\n\n".join(f"{k}:\n{v}" for k, v in runs["errors"].items())
    assert set(runs["index"]) == {(d, nb, lvl) for d, scopes in SCOPES.items()
                                  for nb in NOTEBOOKS for lvl, _ in scopes}
    assert {lvl for lvl, _ in SCOPES["sample"]} == set(LEVELS)


@pytest.mark.parametrize("ds", ["sample", "maven"])
def test_static_output_not_widget_boxes(runs, ds):
    for (d, name, level), path in runs["index"].items():
        if d != ds:
            continue
        outs = _outputs(path)
        kinds = {k for o in outs for k in o.get("data", {})}
        assert "application/vnd.jupyter.widget-view+json" not in kinds, (name, level)
        assert not [o for o in outs if o["output_type"] == "error"], (name, level)
        if level == "company" and name != "08_strategy_tactics":  # no tactics yet: no chart
            assert "image/svg+xml" in kinds, name  # units below may lack data for a chart
        assert "text/html" in kinds, (name, level)


@pytest.mark.parametrize("ds", ["sample", "maven"])
def test_key_outputs_recorded(runs, ds):
    from salesplan_nb import ui
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.steps import quotas

    ws = Workspace.open(runs["plans"][ds])
    widgets = {"03_kpis": "KpiDashboard", "04_swot": "SwotBoard",
               "05_capacity": "CapacitySliders", "06_segments_icp": "IcpSegments",
               "07_stakeholders": "SignOffTracker", "09_quotas": "QuotaAllocator",
               "11_resources": "BudgetAllocator", "scenarios_forecast": "ScenarioManager",
               "12_plan_document": "MilestoneEditor", "14_monitor": "ReviewTracker"}
    units = dict(SCOPES[ds])
    for (d, nb, level) in runs["index"]:
        if d != ds:
            continue
        scope = ui.scope_of(level, units[level])
        name = ui.output_name(scope)
        if nb == "01_market_customers":
            head = ws.load_output("market", f"{name}_headline")
            assert head is not None and "bookings (USD)" in set(head["measure"])
        if level == "account" and nb in ("09_quotas", "13_rollout", "scenarios_forecast"):
            # quotas and the scenario model plan by territory and rep: the account's territory
            out = json.dumps(_outputs(runs["index"][(d, nb, level)]))
            assert "accounts are planned with their territory" in out, nb
        elif nb in widgets:  # each widget left its table for the scope
            assert ws.load_output("ui", f"{widgets[nb]}_{name}") is not None, (nb, level)
        if nb == "04_swot" and level in ("company", "region"):  # suggestions merged
            assert any(i.get("scope") == str(scope) for i in ws.items("swot")), level
    # the recorded over-assignment drives the company split: regions sum to target x 1.2
    got = ws.load_output("ui", "QuotaAllocator_company")
    expected = quotas.quotas(ws.data, None, ws.period,
                             over_assignment={"region": REGION_OA}).target * (1 + REGION_OA)
    assert got["quota"].sum() == pytest.approx(expected, abs=0.05)
    html = json.dumps(_outputs(runs["index"][(ds, "09_quotas", "company")]))
    assert "region over-assignment 20%" in html
    gantt = json.dumps(_outputs(runs["index"][(ds, "12_plan_document", "company")]))
    assert "Plan sign-off" in gantt and "image/svg+xml" in gantt


def test_maven_figures_in_market_output(runs):
    """Maven facts (README): won value 10,005,534 over 2017 - the company headline of the
    market notebook (period = the data's year) shows it."""
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.open(runs["plans"]["maven"])
    head = ws.load_output("market", "company_headline").set_index("measure")["value"]
    assert head["bookings (USD)"] == pytest.approx(10_005_534, abs=1)
    by_region = ws.load_output("market", "company_by_region")
    assert isinstance(by_region, pd.DataFrame)
    assert set(by_region["region"]) == {"Central", "East", "West"}
