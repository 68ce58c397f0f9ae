"""Batch executors (registry, entry points, the forked pool's isolation, reuse and memory
bound), the in-process papermill engine and the workspace results cache."""

from __future__ import annotations

import os
import sys
import time
from importlib import metadata

import nbformat
import pandas as pd
import pytest
from papermill.exceptions import PapermillExecutionError

from salesplan_nb.batch import executors, inprocess
from salesplan_nb.batch.executors import LocalExecutor, WorkerDied
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data import resultcache

WARM = {"value": None}


def _warm() -> None:
    WARM["value"] = "warm"


def _job(x):
    """Module-level (picklable): behaviour chosen by the job."""
    if x == "crash":
        os._exit(3)
    if x == "hang":
        time.sleep(60)
    if x == "raise":
        raise ValueError("bad unit")
    return (x, os.getpid(), WARM["value"])


def _collect(pool, jobs, **kw) -> dict:
    got: dict = {}
    pool.map(_job, jobs, lambda j, out: got.__setitem__(j, out), **kw)
    return got


# ---- registry --------------------------------------------------------------------------------
def test_registry_names_and_unknown_executor():
    assert {"local", "dask"} <= set(executors.names())
    assert executors.get("local") is LocalExecutor
    with pytest.raises(ConfigError, match="--executor 'nope': use one of .*dask.*local"):
        executors.get("nope")
    with pytest.raises(TypeError):
        executors.register("bad", dict)


def test_entry_point_executor_is_loaded(monkeypatch):
    ep = metadata.EntryPoint(name="forked-too", group=executors.ENTRY_POINT_GROUP,
                             value="salesplan_nb.batch.executors:LocalExecutor")
    real = metadata.entry_points

    def fake(**kw):
        return [ep] if kw.get("group") == executors.ENTRY_POINT_GROUP else real(**kw)

    monkeypatch.setattr(metadata, "entry_points", fake)
    monkeypatch.setitem(executors._LOADED, "entry_points", False)
    monkeypatch.setattr(executors, "_EXECUTORS", dict(executors._EXECUTORS))
    assert executors.get("forked-too") is LocalExecutor
    assert "forked-too" in executors.names()


# ---- the local pool --------------------------------------------------------------------------
def test_pool_is_warm_reused_and_isolates_failures():
    with LocalExecutor(workers=2) as pool:
        pool.start(warm=_warm)
        first = _collect(pool, ["a", "b", "crash", "raise", "c"])
        assert first["a"][2] == "warm"  # warmed in the parent before the fork
        assert isinstance(first["crash"], WorkerDied) and "exit code 3" in str(first["crash"])
        assert isinstance(first["raise"], ValueError)
        assert first["c"][0] == "c"
        pids = {pool_w.proc.pid for pool_w in pool.pool}
        second = _collect(pool, ["d", "e", "f"])  # a second batch on the same workers
        assert {v[1] for v in second.values()} <= pids


def test_pool_stops_a_stuck_worker_and_bounds_memory():
    with LocalExecutor(workers=1, max_rss_mb=1) as pool:  # every job exceeds 1 MB: recycle
        got = _collect(pool, ["hang", "x", "y"], limit=lambda j: 1.0)
        assert isinstance(got["hang"], TimeoutError)
        assert got["x"][0] == "x" and got["y"][0] == "y"
        assert got["x"][1] != got["y"][1]  # a fresh worker after each job
        assert pool.replaced >= 3


# ---- the in-process engine ---------------------------------------------------------------------
def _nb(*sources: str):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.cells.insert(0, nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}))
    nb.metadata.kernelspec = {"name": "python3", "language": "python", "display_name": "Py"}
    return nb


@pytest.fixture()
def no_shell_after():
    yield
    inprocess.BatchShell.clear_instance()  # other tests display without a shell
    inprocess._SHELL.clear()


def test_inprocess_engine_outputs_parameters_and_errors(no_shell_after):
    main = sys.modules["__main__"]
    nb = inprocess.execute(_nb("print('hi', x)", "from IPython.display import display\n"
                               "display({'text/html': '<b>x</b>'}, raw=True)", "x + 1"),
                           {"x": 41}, 30)
    outs = [c.get("outputs", []) for c in nb.cells if c.cell_type == "code"]
    assert outs[-3][0]["output_type"] == "stream" and outs[-3][0]["text"] == "hi 41\n"
    assert outs[-2][0]["data"]["text/html"] == "<b>x</b>"
    assert outs[-1][0]["output_type"] == "execute_result"
    assert outs[-1][0]["data"]["text/plain"] == "42"
    # a fresh namespace per notebook: the previous notebook's names are gone
    with pytest.raises(PapermillExecutionError) as exc:
        inprocess.execute(_nb("y = 2", "x_plus = x + undefined_name"), {}, 30)
    assert exc.value.ename == "NameError" and "undefined_name" in exc.value.evalue
    with pytest.raises(PapermillExecutionError) as exc:
        inprocess.execute(_nb("while True:\n    pass", "print('never')"), {}, 0.5)
    assert exc.value.ename == "CellTimeout" and "0.5 s" in exc.value.evalue
    last = inprocess.LAST["nb"]
    assert last.cells[-1].get("outputs", []) == []  # cells after the failure do not run
    assert sys.modules["__main__"] is main  # IPython's user module only while a cell runs


# ---- the results cache -----------------------------------------------------------------------
@pytest.fixture()
def small_ws(tmp_path):
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

    return Workspace.create(tmp_path / "plan", data=generate(seed=3, accounts=120,
                                                             opportunities=1500))


def test_cache_round_trip_is_exact(small_ws):
    from salesplan_nb.steps import forecast as fc
    from salesplan_nb.steps import quotas as q

    calls = {"n": 0}

    def build():
        calls["n"] += 1
        return fc.forecast(small_ws.data, "company", small_ws.period, n_origins=2)

    a = resultcache.cached(small_ws, "forecast", build, args=("company", 2))
    b = resultcache.cached(small_ws, "forecast", build, args=("company", 2))
    assert calls["n"] == 1
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.backtest.rows, b.backtest.rows)
    assert (a.scope, a.methods, a.note, a.weights) == (b.scope, b.methods, b.note, b.weights)
    qa = q.quotas_from(small_ws.data, q.load_quotas(small_ws), scope=None,
                       period=small_ws.period)
    resultcache.cached(small_ws, "quota", lambda: qa, sections=("quotas",))
    qb = resultcache.cached(small_ws, "quota", lambda: 1 / 0, sections=("quotas",))
    pd.testing.assert_frame_equal(qa.table, qb.table)
    assert (qa.decisions, qa.target, qa.notes) == (qb.decisions, qb.target, qb.notes)


def test_cache_never_serves_stale_results(small_ws):
    def value(v):
        return lambda: v

    assert resultcache.cached(small_ws, "r", value(1), sections=("quotas",)) == 1
    assert resultcache.cached(small_ws, "r", value(2), sections=("quotas",)) == 1
    small_ws.record("quotas", "growth", 1.2)  # a decision the result reads
    assert resultcache.cached(small_ws, "r", value(3), sections=("quotas",)) == 3
    f = small_ws.path / "data" / "opportunities.parquet"  # the data snapshot changes
    df = pd.read_parquet(f)
    df.iloc[:-1].to_parquet(f, index=False)
    assert resultcache.cached(small_ws, "r", value(4), sections=("quotas",)) == 4
    assert resultcache.cached(small_ws, "r", value(5), args=("other",)) == 5


def test_cache_refuses_foreign_classes(small_ws):
    resultcache.cached(small_ws, "x", lambda: {"a": 1.5})
    entry = next((small_ws.path / resultcache.CACHE_DIR).glob("x-*.json"))
    entry.write_text('{"frames": "x", "value": {"dc": "os:system", "fields": {}}}')
    assert resultcache.cached(small_ws, "x", lambda: "recomputed") == "recomputed"
    assert (small_ws.path / resultcache.CACHE_DIR / ".gitignore").exists()
