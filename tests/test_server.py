"""The server extension's logic without a browser: creating a plan (validated first, nothing
created on failure, notebooks copied and pointed at the plan), step status from plan.yaml,
paths kept inside the Jupyter root, the company render unit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from salesplan_nb.batch.runner import list_units
from salesplan_nb.core.errors import ConfigError, WorkspaceError
from salesplan_nb.data.workspace import Workspace
from salesplan_nb.server import plans
from salesplan_nb.server.steps import StepInfo, step_list, step_status

ROOT = Path(__file__).resolve().parents[1]


def _step(key: str, number: int, sections: list[str], reads: list[str] = ()) -> StepInfo:
    return StepInfo(key, number, key.title(), "", f"{number:02d}_{key}.ipynb", float(number),
                    sections, list(reads))


def test_step_status_decided_outdated_not_yet():
    steps = [_step("market", 1, ["data_source"]), _step("goals", 2, ["goals"], ["market"]),
             _step("swot", 3, ["swot"], ["market"]), _step("kpis", 4, ["kpis"])]
    decisions = {
        "data_source": {"preset": {"value": "x", "by": "ana", "at": "2026-12-01T10:00:05Z"}},
        "goals": [{"id": "a", "by": "bo", "at": "2026-12-01T09:00:00Z"},
                  {"id": "b", "by": "cy", "at": "2026-12-01T09:30:00Z"}],
        "kpis": {"k": {"by": "ed", "at": "2026-12-01T08:00:00Z"}},
    }
    out = {s.key: s for s in step_status(decisions, steps)}
    assert (out["market"].status, out["market"].by) == ("decided", "ana")
    # goals (reads market) were decided before market changed: outdated, naming it and when
    assert (out["goals"].status, out["goals"].by, out["goals"].at) == \
        ("outdated", "cy", "2026-12-01T09:30:00Z")
    assert out["goals"].because == "market changed 2026-12-01 10:00"
    assert (out["swot"].status, out["swot"].by) == ("not yet", None)
    # kpis reads nothing here: an earlier step's later change leaves it decided
    assert (out["kpis"].status, out["kpis"].because) == ("decided", None)
    decisions["goals"].append({"id": "c", "by": "di", "at": "2026-12-01T11:00:00Z"})
    assert step_status(decisions, steps)[1].status == "decided"


def test_steps_follow_the_notebooks_in_order():
    steps = step_list()
    numbered = [s.number for s in steps if s.number is not None]
    assert numbered == sorted(numbered) and numbered[0] == 1 and len(numbered) >= 12
    # the package's steps (a plug-in's notebook lives in its own package)
    assert all((ROOT / "notebooks" / "steps" / s.notebook).exists() for s in steps
               if s.module.startswith("salesplan_nb."))
    assert "data_source" in steps[0].sections
    # a section another step writes is read, not decided, by a notebook that imports its module
    by_key = {s.key: s for s in steps}
    assert "quotas" in by_key["quotas"].sections and "quotas" not in by_key["rollout"].sections


def test_broken_source_creates_nothing(tmp_path):
    shutil.copytree(ROOT / "tests" / "data" / "broken", tmp_path / "broken")
    with pytest.raises(plans.InvalidData) as exc:
        plans.create_plan(tmp_path, "plans/bad", kind="source", source="broken")
    report = exc.value.report
    assert not report["ok"] and report["errors"] >= 5
    assert any(p["file"] == "opportunities.csv" and p["row"] == 3
               and p["column"] == "created_date" for p in report["problems"])
    assert not (tmp_path / "plans").exists()


def test_paths_stay_inside_the_root(tmp_path):
    for bad in ("../elsewhere", "/etc", "plans/../../x"):
        with pytest.raises(ConfigError, match="outside the Jupyter root"):
            plans.resolve_inside(tmp_path, bad, "plan folder")
    with pytest.raises(ConfigError, match="outside the Jupyter root"):
        plans.create_plan(tmp_path, "../x", kind="sample", size="small")


def test_create_plan_from_the_small_sample(tmp_path):
    made = plans.create_plan(tmp_path, "plans/q", kind="sample", size="small", period="2027",
                             scope="company")
    ws = Workspace.open(tmp_path / "plans" / "q")
    assert len(ws.data.accounts) == 400 and ws.period.label == "2027"
    assert ws.source == {"kind": "sample", "seed": 42, "accounts": 400, "opportunities": 6000}
    assert made["first"] == "plans/q/" + sorted(p.name for p in (tmp_path / "plans" / "q")
                                                 .glob("*.ipynb"))[0]
    for nb in made["notebooks"]:
        cells = json.loads((tmp_path / nb).read_text())["cells"]
        params = "".join(next(c for c in cells if "parameters" in
                              c["metadata"].get("tags", []))["source"])
        assert 'plan_dir = "."' in params and 'data_source = ""' in params
    summary = plans.plan_summary(tmp_path, "plans/q")
    assert {s["status"] for s in summary["steps"]} == {"not yet"}
    assert summary["steps"][0]["path"] == made["first"]
    head = plans.headline_rows(tmp_path, "plans/q")
    assert dict((r["label"], r["value"]) for r in head["rows"])["accounts"] == "400"
    with pytest.raises(WorkspaceError, match="not empty"):
        plans.create_plan(tmp_path, "plans/q", kind="sample", size="small")
    with pytest.raises(ConfigError, match="no region 'Atlantis'"):
        plans.create_plan(tmp_path, "plans/r", kind="sample", size="small",
                          scope="region:Atlantis")
    assert not (tmp_path / "plans" / "r").exists()
    assert [p["path"] for p in plans.find_plans(tmp_path)] == ["plans/q"]


def test_company_is_one_render_unit(sample_data):
    (unit,) = list_units(sample_data, "company")
    regions = list_units(sample_data, "region")
    assert (unit.level, unit.id, unit.stem) == ("company", "company", "company")
    assert unit.bookings == pytest.approx(sum(u.bookings for u in regions))


def test_gap_step_is_the_step_its_decision_names():
    keys = [s.key for s in step_list()]
    assert plans.gap_step({"closes_it": "hires (capacity step) and tactics (strategy step)"},
                          keys) == "capacity"
    assert plans.gap_step({"closes_it": "the over-assignment and ramp decisions (quotas step)"},
                          keys) == "quotas"
    assert plans.gap_step({"closes_it": "none needed"}, keys) is None


def test_plan_figures_are_the_plan_documents(tmp_path):
    """The panel's figures and biggest gap are the executive summary's, from one plan model."""
    from salesplan_nb.core.tables import Table
    from salesplan_nb.render.context import context
    from salesplan_nb.render.sections.summary import executive_summary

    plans.create_plan(tmp_path, "plans/f", kind="sample", size="small", period="2027")
    fig = plans.plan_figures(tmp_path, "plans/f")
    assert fig["error"] is None and fig["scope"] == "company" and fig["period"] == "2027"
    assert fig["target_source"] == "quota plan"
    labels = [r["label"] for r in fig["rows"]]
    assert labels[:2] == ["Target (USD)", "Last year's bookings (USD)"]
    assert "P(reach target)" in labels

    summary = executive_summary(context(tmp_path / "plans" / "f"))
    table = next(b for b in summary.blocks if isinstance(b, Table))
    assert list(table.df["figure"]) == labels
    from salesplan_nb.core.formats import untag  # the document tags named figures

    assert [untag(str(v)) for v in table.df["value"]] == [r["value"] for r in fig["rows"]]

    gap = fig["gap"]
    assert gap["figure"] in {"capacity", "sum of quotas", "forecast"}
    line = next(untag(b) for b in summary.blocks
                if isinstance(b, str) and untag(b).startswith("Biggest gap"))
    assert line == (f"Biggest gap: target vs {gap['figure']}, {gap['amount_text']}: "
                    f"{gap['reason']}; closed by {gap['closes_it']}.")
    # the biggest of the plan model's gaps: target minus that figure
    target = float(fig["rows"][0]["value"].replace(",", ""))
    key = {"capacity": "capacity", "sum of quotas": "quota_total", "forecast": "forecast"}
    others = {r["key"]: float(r["value"].replace(",", "")) for r in fig["rows"]
              if r["key"] in key.values()}
    assert gap["amount"] == pytest.approx(target - others[key[gap["figure"]]], abs=1.0)
    assert abs(gap["amount"]) == pytest.approx(max(abs(target - v) for v in others.values()),
                                               abs=1.0)
    # the step whose decision closes it, and its notebook in the plan folder
    step = next(s for s in step_list() if s.key == gap["step"])
    assert gap["step"] in gap["closes_it"] and gap["title"] == step.title
    assert gap["path"] == f"plans/f/{step.notebook}"
    assert (tmp_path / gap["path"]).exists()
