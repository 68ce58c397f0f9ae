"""Process-level hardening (issue 16): concurrent saves from several processes lose nothing,
``kill -9`` of ``salesplan run`` leaves no process behind, plan.yaml integrity, file modes,
stale temp files, names in display."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from salesplan_nb.core.errors import WorkspaceError
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.workspace import Workspace

N_PROC, N_EACH = 4, 6


def _tiny() -> Dataset:
    opps = pd.DataFrame({"opportunity_id": ["o1", "o2"], "owner_id": ["r1", "r1"],
                         "stage": ["Won", "Open"], "status": ["won", "open"],
                         "created_date": ["2025-01-05", "2025-02-01"],
                         "close_date": ["2025-03-01", "2025-12-01"], "amount": [100.0, 5.0]})
    return Dataset(accounts=pd.DataFrame({"account_id": ["a1"], "name": ["Acme"]}),
                   opportunities=opps,
                   reps=pd.DataFrame({"rep_id": ["r1"], "name": ["Ann"], "region": ["East"]}),
                   products=pd.DataFrame({"product_id": ["p1"]}))


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace.create(tmp_path / "plan", data=_tiny(), by="tester")


def _saver(path: str, k: int) -> None:
    """One process: SWOT items (its own scope, replacing them each time), goals, quota
    decisions and sign-offs, each saved N_EACH times."""
    from salesplan_nb.steps import goals, quotas, stakeholders, swot

    w = Workspace.open(path)
    scope = f"rep:p{k}"
    mine: list = []
    for i in range(N_EACH):
        mine.append(swot.SwotItem("strengths", f"p{k}-{i}", source="analyst", scope=scope))
        swot.save_swot(w, list(mine), by=f"p{k}", scope=scope)
        goals.save_goal(w, goals.Goal(name=f"g{k}-{i}", metric="bookings", scope="company",
                                      target=1000.0 + i, deadline="2026-12-31"), by=f"p{k}")
        stakeholders.assign_owner(w, "quotas", f"p{k}", by=f"p{k}")
        quotas.set_override(w, f"rep:p{k}-{i}", 1000.0 + i, by=f"p{k}")
    w.record("quota_notes", f"p{k}", k)


def test_concurrent_swot_goal_quota_saves_lose_nothing(ws):
    ctx = mp.get_context("fork")  # the step modules are imported once, before the fork
    from salesplan_nb.steps import goals, quotas, stakeholders, swot

    procs = [ctx.Process(target=_saver, args=(str(ws.path), k)) for k in range(N_PROC)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)

    w = Workspace.open(ws.path)
    texts = sorted(i.text for i in swot.load_swot(w))
    assert texts == sorted(f"p{k}-{i}" for k in range(N_PROC) for i in range(N_EACH))
    assert len(goals.load_goals(w)) == N_PROC * N_EACH
    assert len(stakeholders.history(w, "quotas")) == N_PROC * N_EACH  # no sign-off lost
    assert w.get("quota_notes") == {f"p{k}": k for k in range(N_PROC)}
    assert quotas.load_quotas(w).overrides == {f"rep:p{k}-{i}": 1000.0 + i
                                               for k in range(N_PROC) for i in range(N_EACH)}


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_kill_9_of_run_leaves_no_process(tmp_path):
    from salesplan_nb.data.sample import generate

    Workspace.create(tmp_path / "plan", data=generate(seed=3, accounts=200, opportunities=1500))
    cmd = [sys.executable, "-m", "salesplan_nb.cli", "run", str(tmp_path / "plan"), "--by",
           "territory", "--out", str(tmp_path / "out"), "--workers", "2", "--quiet",
           "--engine", "kernel"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 120
    kernels = 0
    while time.monotonic() < deadline and proc.poll() is None:  # wait for workers + kernels
        for c in _descendants(proc.pid):
            seen[c.pid] = c
        kernels = sum(1 for c in seen.values() if _is_kernel(c))
        if kernels >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None and kernels >= 2, "run ended before its kernels started"
    for c in _descendants(proc.pid):
        seen[c.pid] = c
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(5)
    alive = [(c.pid, _cmd(c)) for c in seen.values() if _alive(c)]
    for c in seen.values():  # do not leave them to the next test
        if _alive(c):
            c.kill()
    assert not alive, alive


def _cmd(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())[:80]
    except psutil.Error:
        return "?"


def _is_kernel(p: psutil.Process) -> bool:
    try:
        return "ipykernel_launcher" in " ".join(p.cmdline())
    except psutil.Error:
        return False


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_truncated_plan_refused_and_backup_restores(ws):
    ws.record("goals", "a", 1)
    ws.record("goals", "b", 2)
    p = ws.path / "plan.yaml"
    full = p.read_text()
    p.write_text(full[: len(full) // 2])
    with pytest.raises(WorkspaceError, match=r"incomplete.*plan.yaml.bak.*Nothing was changed"):
        Workspace.open(ws.path)
    backup = (ws.path / "plan.yaml.bak").read_text()
    p.write_text(backup)  # the restore the message suggests
    assert Workspace.open(ws.path).get("goals", "a") == 1


def test_plan_mode_follows_umask(tmp_path):
    old = os.umask(0o027)
    try:
        w = Workspace.create(tmp_path / "p", data=_tiny())
        assert (w.path / "plan.yaml").stat().st_mode & 0o777 == 0o640
        w.record("goals", "x", 1)
        assert (w.path / "plan.yaml").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_stale_tmp_files_are_cleaned_on_open(ws):
    stale = [ws.path / ".plan.yaml.abc123.tmp", ws.path / ".plan.yaml.bak.x1.tmp"]
    for s in stale:
        s.write_text("half a plan")
    Workspace.open(ws.path)
    assert not any(s.exists() for s in stale)


def test_legacy_plan_without_end_marker_still_opens(ws):
    p = ws.path / "plan.yaml"
    text = p.read_text().splitlines()
    legacy = ["# salesplan-nb plan workspace - written by salesplan; safe to read and diff."]
    p.write_text("\n".join(legacy + text[1:-1]) + "\n")
    w = Workspace.open(ws.path)
    w.record("goals", "x", 1)
    assert p.read_text().rstrip().endswith("# end of plan.yaml")


def test_long_and_bidi_names_are_bounded_in_display():
    import altair as alt

    from salesplan_nb.core import display
    from salesplan_nb.core.scope import Scope
    from salesplan_nb.render import report

    long_name = "\u202eevil\u202c" + "x" * 1_000_000
    d = _tiny()
    d.accounts = d.accounts.assign(name=[long_name])
    label = report.unit_label(d, Scope("account", "a1"))
    assert len(label) <= display.LABEL_MAX and "\u202e" not in label
    html = report.table_html(report.Table(d.accounts[["account_id", "name"]]))
    assert len(html) < 2_000 and "\u202e" not in html
    spec = report.chart_spec(alt.Chart(d.accounts).mark_bar().encode(x="name:N"))
    assert len(str(spec)) < 5_000


def test_init_never_stores_a_password(tmp_path, caplog):
    from salesplan_nb.data.workspace import init_plan

    db = tmp_path / "crm.db"
    _tiny_sqlite(db)
    url = f"sqlite:///{db}"
    ws = init_plan(tmp_path / "p", data=url)
    assert ws.source == {"kind": "sql", "url": url, "mapping": None}
    ws.record("data_source", "source", "postgresql+psycopg://ann:S3cret!@db/crm")
    assert "S3cret" not in (ws.path / "plan.yaml").read_text()
    assert "S3cret" not in (ws.path / "plan.yaml.bak").read_text()


def _tiny_sqlite(db: Path) -> None:
    import sqlite3

    d = _tiny()
    con = sqlite3.connect(db)
    for t in ("accounts", "opportunities", "reps", "products"):
        df = d.table(t).dropna(axis=1, how="all")
        df.astype({c: str for c in df.columns if "date" in c}).to_sql(t, con, index=False)
    con.close()
