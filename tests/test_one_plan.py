"""One plan run does its plan-wide work once: the scenario model is built on the company
quota split the results cache holds (not a second split), and shared by every unit of the
plan; the ``salesplan`` command ends quickly (``cli.entry``) with its output and exit code."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.fixture()
def quota_ws(tmp_path):
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.steps import quotas

    ws = Workspace.create(tmp_path / "plan", data=generate(seed=5, accounts=300,
                                                           opportunities=2500))
    quotas.save_quotas(ws, quotas.QuotaDecisions(target=5_000_000.0))
    return ws


def test_scenario_model_is_built_once_on_the_cached_split(quota_ws, monkeypatch):
    from salesplan_nb.data.units import list_units
    from salesplan_nb.render import figures, report
    from salesplan_nb.steps import quotas, scenarios

    fresh = scenarios.from_workspace(quota_ws, quota_ws.period)  # computes its own split
    calls = {"n": 0}
    real = quotas.quotas_from_workspace

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(quotas, "quotas_from_workspace", counting)
    monkeypatch.setattr(figures, "_COMPANY_PLANS", {})  # nothing from earlier tests
    monkeypatch.setattr(figures, "_MODELS", {})
    a, b = (report.context(quota_ws.path, "region", u.id, None, "annual")
            for u in list_units(quota_ws.data, "region")[:2])
    figures.company_quota_plan(a)  # what the batch's warm-up does (results cache: stored)
    figures._COMPANY_PLANS.clear()  # a new process: the split is read back from the cache
    b_split = figures.company_quota_plan(b)
    assert calls["n"] == 1 and not isinstance(b_split, Exception)
    model = figures.scenario_model(a)
    assert figures.scenario_model(b) is model and calls["n"] == 1  # no second split
    for metric in ("quota", "bookings"):  # the cached split prices exactly as a fresh one
        assert model.recompute().total("company", metric) == \
            fresh.recompute().total("company", metric)
    assert model.notes == fresh.notes


def test_command_exits_with_its_output_and_code(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "salesplan_nb.cli", "steps"],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("The planning process")
    assert "Evaluate" in ok.stdout and ok.stdout.endswith("\n")  # flushed to the last line
    bad = subprocess.run([sys.executable, "-m", "salesplan_nb.cli", "run",
                          str(tmp_path / "missing"), "--by", "region", "--out",
                          str(tmp_path / "out")], capture_output=True, text=True)
    assert bad.returncode != 0 and bad.stderr.startswith("error:")
    assert "Traceback" not in bad.stderr
