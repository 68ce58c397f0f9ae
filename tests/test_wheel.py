"""The installable product: build the wheel, install it into a fresh venv outside the checkout
(no system site-packages; pip's cache and configured indexes are reused), then in an empty
folder create a plan and render one plan from it, and check that Jupyter lists the JupyterLab
extension and the server extension."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> str:
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout + p.stderr


def test_wheel_installs_and_renders_outside_the_checkout(tmp_path):
    if not (ROOT / "salesplan_nb" / "labextension" / "package.json").exists():
        pytest.fail("the JupyterLab extension is not built: run `make setup`")
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
         cwd=tmp_path)
    wheel = next(dist.glob("salesplan_nb-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    data = "salesplan_nb-0.1.0.data/data/"
    for must in [data + "share/jupyter/labextensions/salesplan-nb/package.json",
                 data + "share/jupyter/labextensions/salesplan-nb/install.json",
                 data + "share/jupyter/labextensions/salesplan-nb/schemas/salesplan-nb/"
                        "plugin.json",
                 data + "etc/jupyter/jupyter_server_config.d/salesplan_nb.json",
                 "salesplan_nb/notebooks/plans/territory.ipynb",
                 "salesplan_nb/templates/plan.css", "salesplan_nb/widgets/swot_board.js",
                 "salesplan_nb/server/handlers.py"]:
        assert must in names, f"{must} is not in {wheel.name}"
    assert any(n.startswith("salesplan_nb/notebooks/steps/01_") for n in names)
    for init in (ROOT / "salesplan_nb").rglob("__init__.py"):  # every sub-package ships
        rel = init.relative_to(ROOT).as_posix()
        assert rel in names, f"{rel} is not in the wheel: add its package to pyproject.toml"
    assert any(n.startswith(data + "share/jupyter/labextensions/salesplan-nb/static/"
                            "remoteEntry.") for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    bin_ = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_}{os.pathsep}{env.get('PATH', '')}"
    _run([str(bin_ / "pip"), "install", "-q", str(wheel)], cwd=tmp_path, env=env)

    work = tmp_path / "empty"
    work.mkdir()
    where = _run([str(bin_ / "python"), "-c", "import salesplan_nb.core.resources as r; "
                  "print(r.notebook_dir('plans'))"], cwd=work, env=env).strip()
    assert str(venv) in where and str(ROOT) not in where
    out = _run([str(bin_ / "salesplan"), "init", "plan", "--sample"], cwd=work, env=env)
    assert "step notebooks" in out
    assert (work / "plan" / "plan.yaml").exists()
    assert sorted(p.name for p in (work / "plan").glob("*.ipynb"))
    out = _run([str(bin_ / "salesplan"), "run", "plan", "--by", "region", "--top", "1",
                "--out", "reports", "--quiet"], cwd=work, env=env)
    assert "1 rendered, 0 failed" in out
    html = list((work / "reports" / "region").glob("*.html"))
    assert len(html) == 1 and html[0].stat().st_size > 10_000
    rec = json.loads(html[0].with_suffix(".json").read_text())
    assert rec["status"] == "ok" and str(venv) in rec["notebook"]

    labext = _run([str(bin_ / "jupyter"), "labextension", "list"], cwd=work, env=env)
    line = next((ln for ln in labext.splitlines() if "salesplan-nb" in ln), "")
    assert "enabled" in line and "OK" in line, labext
    server = _run([str(bin_ / "jupyter"), "server", "extension", "list"], cwd=work, env=env)
    assert "salesplan_nb.server" in server and "enabled" in server, server
