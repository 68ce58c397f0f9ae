"""Golden notebooks (tests/nbval): nbval fails when a stored planning number changes, and the
stored outputs hold the figures the issue pins (issue 17)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "nbval"
NOTEBOOKS = ["steps_maven", "steps_sample", "plan_annual", "plan_territory", "plan_account",
             "plan_long_term"]


def _text(name: str) -> str:
    nb = json.loads((GOLDEN / f"{name}.ipynb").read_text())
    return "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                   for c in nb["cells"] if c["cell_type"] == "code"
                   for o in c.get("outputs", []))


def test_golden_notebooks_are_stored_executed():
    """Every golden notebook is in git with outputs (not stripped), on the project kernel,
    without errors, and prints text only (no widgets, HTML or images)."""
    assert sorted(p.stem for p in GOLDEN.glob("*.ipynb")) == sorted(NOTEBOOKS)
    for name in NOTEBOOKS:
        nb = json.loads((GOLDEN / f"{name}.ipynb").read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "salesplan-nb"
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert code and all(c.get("outputs") for c in code), f"{name}: a cell has no output"
        for c in code:
            for o in c["outputs"]:
                assert o["output_type"] == "stream" and o["name"] == "stdout", (name, o)
    attrs = subprocess.run(["git", "check-attr", "filter", "--",
                            "tests/nbval/steps_maven.ipynb"], cwd=ROOT, text=True,
                           capture_output=True).stdout
    assert "filter: nbstripout" not in attrs, attrs


def test_maven_figures_pinned():
    text = _text("steps_maven")
    assert "2017 bookings $10,005,534" in text  # won value
    assert "63.2% (4,238 won / 6,711 closed)" in text  # win rate
    stages = {m.group(1): m.group(2) for m in
              re.finditer(r"^\s*(Won|Lost|Engaging|Prospecting)\s+\w+\s+([\d,]+)\s", text, re.M)}
    assert stages == {"Won": "4,238", "Lost": "2,473", "Engaging": "1,589",
                      "Prospecting": "500"}
    for step in ("1 Market", "2 SMART goals", "3 Metrics", "4 SWOT", "5 Sales capacity",
                 "6 Ideal customer profile", "7 Stakeholders", "8 Strategy", "9 Quotas",
                 "10 Territories", "11 Resources", "Forecast:", "What-if scenarios",
                 "13 Roll-out", "14 Monitor", "15 Evaluate"):  # titles from the step registry
        assert re.search(rf"^{re.escape(step)}", text, re.M), step
    assert "annual sales plan 2018: Company" in text  # 12: the document's headline
    # 13: roll-out - the step's letters and the split's seats are one count
    seats = re.search(r"quota letters for (\d+)\s+seats", text)
    assert seats and f"{seats.group(1)} quota letters (seats) for 2018" in text


def _run_nbval(folder: Path) -> str:
    ini = folder / "pytest.ini"
    ini.write_text("[pytest]\n")
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", str(ini),
           "--rootdir", str(folder), "-q", "-rA", "--nbval", str(folder),
           "--nbval-kernel-name", "salesplan-nb",
           "--nbval-sanitize-with", str(GOLDEN / "sanitize.cfg")]
    return subprocess.run(cmd, cwd=folder, text=True, capture_output=True,
                          timeout=900).stdout


@pytest.mark.notebook
def test_nbval_fails_when_a_number_changes(tmp_path):
    """A copy of plan_annual passes nbval; the same notebook with one stored figure changed by
    one dollar (the plan target in the headline) fails on exactly that cell."""
    name = "plan_annual"
    nb = json.loads((GOLDEN / f"{name}.ipynb").read_text())
    cell = next(i for i, c in enumerate(nb["cells"])
                if c["cell_type"] == "code" and any(
                    re.search(r"^  target\s+[\d,]+$", "".join(o.get("text", "")), re.M)
                    for o in c.get("outputs", [])))
    for sub in ("ok", "bad"):
        (tmp_path / sub).mkdir()
        shutil.copy(GOLDEN / "golden_kit.py", tmp_path / sub)
        shutil.copy(GOLDEN / f"{name}.ipynb", tmp_path / sub)
    bad = tmp_path / "bad" / f"{name}.ipynb"
    for o in nb["cells"][cell]["outputs"]:
        text = "".join(o["text"])
        m = re.search(r"^(  target\s+)([\d,]+)$", text, re.M)
        if m:
            value = int(m.group(2).replace(",", "")) + 1
            o["text"] = text[:m.start(2)] + f"{value:,}" + text[m.end(2):]
    bad.write_text(json.dumps(nb, indent=1))
    out = _run_nbval(tmp_path)
    n_cells = sum(c["cell_type"] == "code" for c in nb["cells"])
    passed = re.findall(r"^PASSED (\w+)/\S+::Cell (\d+)", out, re.M)
    failed = re.findall(r"^FAILED (\w+)/\S+::Cell (\d+)", out, re.M)
    assert sorted(p for p in passed if p[0] == "ok") == [("ok", str(i)) for i in
                                                        range(n_cells)], out
    code_index = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    assert failed == [("bad", str(code_index.index(cell)))], out
