"""The step registry: one declaration per step drives `salesplan steps`, the demo, the batch
kernels, the plan sections, the widgets and the docs index; plug-ins arrive through the
``salesplan_nb.steps`` entry points (tests/plugins/salesplan-example-step, installed by
`make setup`); the layers contract fails on a wrong-way import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from salesplan_nb import cli, ui
from salesplan_nb.batch import runner
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.registry import Registry, resolve
from salesplan_nb.render import report
from salesplan_nb.steps import registry

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
METHOD = ["Market & customer insights", "SMART goals", "Metrics & KPIs", "SWOT",
          "Sales capacity", "Ideal customer profile & segments", "Stakeholders",
          "Strategy & tactics", "Quotas", "Territories", "Resources", "The plan document",
          "Roll-out", "Monitor & adjust", "Evaluate"]


def test_registry_register_get_and_errors():
    reg: Registry[int] = Registry("numbers")
    reg.register("one", 1)
    reg.register("two", 2)
    assert reg.keys() == ["one", "two"] and reg.get("two") == 2 and "one" in reg
    with pytest.raises(ConfigError, match="registered twice"):
        reg.register("one", 11)
    reg.register("one", 11, replace=True)
    assert reg.get("one") == 11
    with pytest.raises(ConfigError, match="no 'three'; known: one, two"):
        reg.get("three")
    assert resolve("salesplan_nb.render.report:build") is report.build
    with pytest.raises(ConfigError, match="not a step of the method"):
        registry.Step("x", 16, "X", "m", "n.ipynb")
    with pytest.raises(ConfigError, match="unknown plan type"):
        registry.PlanSection("x", "X", "m:f", {"quarterly": 1})


def test_steps_json_lists_the_method_in_order(capsys):
    assert cli.main(["steps", "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)
    numbered = [s for s in steps if s["number"] is not None]
    assert [s["number"] for s in numbered] == list(range(1, 16))
    assert [s["title"] for s in numbered] == METHOD
    for s in steps:
        assert set(s) >= {"key", "number", "title", "module", "notebook", "sections", "widgets"}
        assert s["notebook_exists"] and Path(s["notebook"]).exists(), s["key"]
    by_key = {s["key"]: s for s in steps}
    assert by_key["quotas"]["sections"] == ["quotas_section"]
    assert by_key["quotas"]["widgets"] == ["QuotaAllocator"]
    assert by_key["rollout"]["notebook"].endswith("notebooks/steps/13_rollout.ipynb")
    assert {"forecast", "scenarios"} <= {s["key"] for s in steps if s["number"] is None}
    # the entry-point step of the example plug-in
    assert by_key["lapsed_accounts"]["module"] == "salesplan_example_step"
    assert by_key["lapsed_accounts"]["sections"] == ["lapsed_accounts"]


def test_steps_text_is_the_process_with_notebooks():
    out = subprocess.run([BIN / "salesplan", "steps"], capture_output=True, text=True,
                         check=True).stdout
    lines = out.splitlines()
    firsts = [next(i for i, line in enumerate(lines) if line.startswith(f"{n:>2}  {t}"))
              for n, t in enumerate(METHOD, 1)]
    assert firsts == sorted(firsts)
    assert "13  Roll-out" in out and "steps/13_rollout.ipynb" in out
    assert "Across all steps" in out and "steps/scenarios_forecast.ipynb" in out


def test_everything_derives_from_the_registry():
    steps = registry.steps()
    # plan sections: report's lists are the registry's, every section belongs to one step and
    # resolves to its builder
    for ptype in registry.PLAN_TYPES:
        assert report.PLAN_SECTIONS[ptype] == registry.plan_sections(ptype)
    for key, sec in registry.SECTIONS.items():
        assert callable(sec.builder()), key
        assert sum(key in s.sections for s in steps) == 1, key
    assert report.PLAN_SECTIONS["annual"][0] == "executive_summary"
    assert report.PLAN_SECTIONS["annual"][-2:] == ["timeline", "reviews_lessons"]
    # widgets: ui.widget_classes is the registry's list, each a class of salesplan_nb.ui
    classes = ui.widget_classes()
    assert set(classes) == {w for s in steps for w in s.widget_names}
    assert classes["QuotaAllocator"] is ui.QuotaAllocator
    assert all(issubclass(c, ui.StepWidget) for c in classes.values())
    # batch kernels import every step module; the demo runs each step's default decision
    assert list(runner.STEP_MODULES) == registry.step_modules()
    for s in steps:
        assert resolve(s.module)
        if s.demo:
            assert callable(s.demo_decision()), s.key
    assert [s.key for s in steps if s.module.startswith("salesplan_nb.") and not s.demo] \
        == ["plan_document"]


def test_docs_index_is_generated_from_the_registry():
    gen = ROOT / "scripts" / "gen_steps_index.py"
    r = subprocess.run([sys.executable, gen, "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = (ROOT / "docs" / "steps.md").read_text()
    assert "[`13_rollout.ipynb`](../notebooks/steps/13_rollout.ipynb)" in text
    assert "lapsed_accounts" not in text  # plug-ins are not part of the package's docs


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([BIN / "lint-imports", "--config", str(root / "pyproject.toml"),
                           "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_layers_contract_fails_on_a_wrong_way_import(tmp_path):
    shutil.copytree(ROOT / "salesplan_nb", tmp_path / "salesplan_nb",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    ok = _lint_imports(tmp_path)
    assert ok.returncode == 0 and "1 kept, 0 broken" in ok.stdout, ok.stdout + ok.stderr
    # a step module reaching up into the widgets
    quotas = tmp_path / "salesplan_nb" / "steps" / "quotas.py"
    quotas.write_text(quotas.read_text() + "\nfrom salesplan_nb.ui import base  # noqa\n")
    bad = _lint_imports(tmp_path)
    assert bad.returncode != 0, bad.stdout
    assert "BROKEN" in bad.stdout and "salesplan_nb.steps.quotas -> salesplan_nb.ui.base" \
        in bad.stdout


@pytest.mark.notebook
@pytest.mark.timeout(600)
def test_plugin_section_renders_in_a_plan(tmp_path):
    """The example plug-in's section is part of long-term plans and renders with real numbers
    (one unit through the batch runner)."""
    from salesplan_example_step import lapsed

    from salesplan_nb.data.workspace import Workspace

    assert "lapsed_accounts" in report.PLAN_SECTIONS["long-term"]
    ws = Workspace.open_or_create_sample(tmp_path / "plan", seed=7, accounts=400,
                                         opportunities=6000)
    s = runner.run(tmp_path / "plan", "region", tmp_path / "out", only=["EMEA"],
                   plan_type="long-term", workers=1, progress=False)
    assert (s.ok, s.failed) == (1, 0)
    html = next((tmp_path / "out" / "region").glob("*.html")).read_text()
    assert "Lapsed accounts" in html
    ctx = report.context(tmp_path / "plan", "region", "EMEA", None, "long-term")
    n = len(lapsed(ctx.deals, ctx.baseline, ctx.baseline.previous()))
    assert f"{n} accounts won bookings in" in html
    assert ws.plan_type == "annual"  # the plan type came from --plan-type
