"""``salesplan run``: hostile unit names, a failing unit, --resume and the Dask executor.

One small plan whose territory ids are hostile strings; three territory units rendered with a
copy of the territory notebook that raises for one of them.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from salesplan_nb import cli
from salesplan_nb.batch import runner
from salesplan_nb.batch.runner import list_units, run
from salesplan_nb.core.resources import notebook_dir
from salesplan_nb.core.safenames import safe_name

XSS = "<img src=x onerror=alert(1)>"
TRAVERSAL = "../../etc/x"
BAD = "NA-03"
STEM = re.compile(r"^[a-z0-9-]+-[0-9a-f]{8}$")


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    from salesplan_nb.data.dataset import Dataset
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

    root = tmp_path_factory.mktemp("runner")
    d = generate(seed=11, accounts=300, opportunities=2500)
    ren = {"NA-01": XSS, "NA-02": TRAVERSAL}
    t = d.territories.assign(territory_id=d.territories["territory_id"].replace(ren),
                             name=d.territories["name"].where(
                                 ~d.territories["territory_id"].isin(list(ren)),
                                 d.territories["territory_id"].replace(ren)))
    data = Dataset(accounts=d.accounts.assign(territory=d.accounts["territory"].replace(ren)),
                   opportunities=d.opportunities, reps=d.reps.assign(
                       territory=d.reps["territory"].replace(ren)),
                   products=d.products, territories=t, targets=d.targets, market=d.market,
                   as_of=d.as_of)
    Workspace.create(root / "plan", data=data)
    nbdir = root / "notebooks"
    nbdir.mkdir()
    nb = nbformat.read(notebook_dir("plans") / "territory.ipynb", as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(
        f'if unit == "{BAD}":\n    raise RuntimeError("boom in " + unit)'))
    nbformat.write(nb, nbdir / "territory.ipynb")
    return {"root": root, "plan": root / "plan", "nbdir": nbdir, "data": data}


@pytest.fixture(scope="module")
def local_run(plan):
    out = plan["root"] / "out"
    code = cli.main(["run", str(plan["plan"]), "--by", "territory", "--only", XSS, TRAVERSAL,
                     BAD, "--out", str(out), "--workers", "2", "--notebooks",
                     str(plan["nbdir"]), "--quiet"])
    return out, code


def _won_bookings(data, territory: str, year: int) -> float:
    """Independent check: won amount of opportunities whose owner rep sits in ``territory``
    (else whose account does), closed in ``year``."""
    o = data.opportunities
    rep_t = o["owner_id"].map(dict(zip(data.reps["rep_id"], data.reps["territory"])))
    acc_t = o["account_id"].map(dict(zip(data.accounts["account_id"],
                                         data.accounts["territory"])))
    terr = rep_t.where(rep_t.notna(), acc_t)
    m = (terr == territory) & (o["status"] == "won") & (o["close_date"].dt.year == year)
    return float(o.loc[m, "amount"].sum())


def test_hostile_names_are_escaped_and_stay_inside(plan, local_run):
    out, code = local_run
    files = sorted(p for p in out.rglob("*") if p.is_file())
    for f in files:
        assert out.resolve() in f.resolve().parents
        if f.parent != out:
            assert f.parent == out / "territory"
            assert STEM.match(f.stem), f.name
    assert not (out.parent / "etc").exists()
    index = (out / "index.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in index
    assert XSS not in index
    assert "../../etc/x" in index  # shown as text, not used as a path
    report = (out / "territory" / f"{safe_name('territory:' + XSS)}.html").read_text()
    assert XSS not in report
    assert "&lt;img src=x onerror=alert(1)&gt;" in report
    assert (out / "territory" / f"{safe_name('territory:' + TRAVERSAL)}.html").exists()


def test_failing_unit_is_reported_while_others_render(plan, local_run):
    out, code = local_run
    assert code == 1
    stem = safe_name(f"territory:{BAD}")
    assert not (out / "territory" / f"{stem}.html").exists()
    rec = json.loads((out / "territory" / f"{stem}.json").read_text())
    assert rec["status"] == "failed"
    assert rec["error"]["ename"] == "RuntimeError" and "boom in NA-03" in rec["error"]["evalue"]
    index = (out / "index.html").read_text()
    assert "RuntimeError" in index and "boom in NA-03" in index
    assert "2 rendered, 1 failed" in index
    ok = [json.loads(p.read_text()) for p in (out / "territory").glob("*.json")]
    assert sorted(r["status"] for r in ok) == ["failed", "ok", "ok"]


def test_headline_numbers_match_independent_sum(plan, local_run):
    out, _ = local_run
    rec = json.loads((out / "territory" / f"{safe_name('territory:' + TRAVERSAL)}.json")
                     .read_text())
    h = rec["headline"]
    year = int(h["baseline_period"])
    assert h["baseline_bookings"] == pytest.approx(_won_bookings(plan["data"], TRAVERSAL, year))
    assert h["prior_bookings"] == pytest.approx(
        _won_bookings(plan["data"], TRAVERSAL, year - 1))
    html = (out / "territory" / f"{safe_name('territory:' + TRAVERSAL)}.html").read_text()
    assert html.count("window.vegaEmbed=") == 1  # the bundle is inlined once
    assert "<script src" not in html and "https://" not in html.split("<script>")[0]
    assert len(html.encode()) < 3_000_000


def test_resume_skips_up_to_date_units(plan, local_run):
    out, _ = local_run
    ok_html = {p: p.stat().st_mtime_ns for p in (out / "territory").glob("*.html")}
    assert len(ok_html) == 2
    s = run(plan["plan"], "territory", out, only=[XSS, TRAVERSAL, BAD], workers=1,
            resume=True, notebook_dir=plan["nbdir"], progress=False)
    assert (s.skipped, s.ok, s.failed) == (2, 0, 1)  # the failed unit is retried
    assert {p: p.stat().st_mtime_ns for p in ok_html} == ok_html
    assert "2 up to date (skipped)" in (out / "index.html").read_text()
    # a changed plan.yaml makes every report stale
    time.sleep(0.01)
    os.utime(plan["plan"] / "plan.yaml")
    s = run(plan["plan"], "territory", out, only=[TRAVERSAL], workers=1, resume=True,
            notebook_dir=plan["nbdir"], progress=False)
    assert (s.skipped, s.ok) == (0, 1)


def test_one_unit_exported_by_the_parent_is_the_same_page(plan, local_run):
    """One unit: the worker executes, the parent exports (its exporter built meanwhile);
    the page equals the one a worker exported in the batch, and a failure stays a failure."""
    out, _ = local_run
    out1 = plan["root"] / "out-one"
    s = run(plan["plan"], "territory", out1, only=[XSS], notebook_dir=plan["nbdir"],
            progress=False)
    assert (s.ok, s.failed) == (1, 0)
    stem = safe_name(f"territory:{XSS}")

    def strip(text: str) -> str:
        return re.sub(r"Rendered by salesplan-nb [^<]*", "", text)

    (page,) = (out1 / "territory").glob(f"{stem}*.html")
    assert strip(page.read_text()) == strip((out / "territory" / page.name).read_text())
    s = run(plan["plan"], "territory", out1, only=[BAD], notebook_dir=plan["nbdir"],
            progress=False)
    assert (s.ok, s.failed) == (0, 1)
    (rec,) = (out1 / "territory").glob(f"{safe_name(f'territory:{BAD}')}*.json")
    assert "boom in" in json.loads(rec.read_text())["error"]["evalue"]


def test_dask_executor_renders_the_same_files(plan, local_run):
    distributed = pytest.importorskip("distributed")
    out, _ = local_run
    out2 = plan["root"] / "out-dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        s = run(plan["plan"], "territory", out2, only=[XSS, TRAVERSAL], executor="dask",
                scheduler=cluster.scheduler_address, notebook_dir=plan["nbdir"],
                progress=False)
    assert (s.ok, s.failed) == (2, 0)
    names = {p.name for p in (out2 / "territory").iterdir()}
    local = {p.name for p in (out / "territory").iterdir()
             if not p.name.startswith(safe_name(f"territory:{BAD}"))}
    assert names == local

    def strip(text: str) -> str:
        return re.sub(r"Rendered by salesplan-nb [^<]*", "", text)

    for name in names:
        if name.endswith(".html"):
            assert strip((out2 / "territory" / name).read_text()) == \
                strip((out / "territory" / name).read_text())
        if name.endswith(".json"):
            a = json.loads((out2 / "territory" / name).read_text())
            b = json.loads((out / "territory" / name).read_text())
            assert a["headline"] == b["headline"] and a["status"] == b["status"] == "ok"


def test_units_top_only_and_errors(plan):
    data = plan["data"]
    top = list_units(data, "account", top=3)
    d = data.deals
    start = data.as_of - pd.DateOffset(years=1)
    won = d[(d["status"] == "won") & (d["close_date"] > start) & (d["close_date"] <= data.as_of)]
    expect = won.groupby("account_id")["amount"].sum().sort_values(ascending=False).head(3)
    assert [u.id for u in top] == list(expect.index)
    assert len({u.stem for u in list_units(data, "rep")}) == len(list_units(data, "rep"))
    from salesplan_nb.core.errors import ConfigError
    with pytest.raises(ConfigError, match="no territory named 'nope'"):
        list_units(data, "territory", only=["nope"])
    with pytest.raises(ConfigError, match="--scheduler"):
        run(plan["plan"], "territory", Path(plan["root"]) / "x", executor="dask")
    with pytest.raises(ConfigError, match="--period '2027-13'"):  # before any kernel starts
        run(plan["plan"], "territory", Path(plan["root"]) / "x", period="2027-13")


def test_kernel_start_is_retried_and_dead_kernel_replaced(monkeypatch):
    from jupyter_client.manager import KernelManager

    orig = KernelManager.start_kernel
    calls = {"n": 0}

    def flaky(self, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("simulated port race")
        return orig(self, **kw)

    monkeypatch.setattr(KernelManager, "start_kernel", flaky)
    k = runner.WarmKernel()
    try:
        k.start()
        assert calls["n"] == 2 and k.alive()
        k.km.shutdown_kernel(now=True)  # the kernel dies between units
        assert not k.alive()
        k.ensure()
        assert k.alive() and calls["n"] == 3
    finally:
        k.shutdown()
