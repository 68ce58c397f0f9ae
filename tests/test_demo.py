"""``salesplan demo``: builds the demo plan and prints headline numbers that are right."""

from __future__ import annotations

import io
import re
import types
from pathlib import Path

import pandas as pd
import pytest

from salesplan_nb import cli
from salesplan_nb.batch import demo
from salesplan_nb.core.errors import WorkspaceError
from salesplan_nb.data.sample import generate
from salesplan_nb.data.workspace import Workspace

SMALL = dict(accounts=400, opportunities=6000)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    buf = io.StringIO()
    rc = demo.run_demo(root / "out", root / "plan", render=False, seed=7, stream=buf, **SMALL)
    return rc, buf.getvalue(), root


def _money(text: str, label: str) -> float:
    m = re.search(re.escape(label) + r"\s+\$([\d,]+)", text)
    assert m, f"{label!r} not printed in:\n{text}"
    return float(m.group(1).replace(",", ""))


def _count(text: str, label: str) -> int:
    m = re.search(r"^\s+" + re.escape(label) + r"\s+([\d,]+)", text, re.M)
    assert m, f"{label!r} not printed in:\n{text}"
    return int(m.group(1).replace(",", ""))


def test_demo_prints_validation_and_builds_plan(demo_run):
    rc, text, root = demo_run
    assert rc == 0
    assert "Validation of the sample data" in text and "errors: 0" in text
    assert "result: loadable (as of 2026-06-30" in text
    ws = Workspace.open(root / "plan")
    assert ws.plan_type == "annual" and ws.period.label == "2027"
    assert ws.source["kind"] == "sample" and ws.source["seed"] == 7
    # the plan's snapshot is exactly the generated company
    expected = generate(seed=7, **SMALL)
    for name in ("accounts", "opportunities", "reps", "targets", "market"):
        pd.testing.assert_frame_equal(ws.data.table(name), expected.table(name),
                                      check_exact=False, rtol=1e-9)
    assert ws.data.as_of == pd.Timestamp("2026-06-30")


def test_headline_numbers_match_a_direct_computation(demo_run):
    """Recompute every printed figure from the written CSVs with plain pandas."""
    _, text, root = demo_run
    csv = root / "plan" / "sample-csv"
    opp = pd.read_csv(csv / "opportunities.csv", parse_dates=["created_date", "close_date"])
    reps = pd.read_csv(csv / "reps.csv", parse_dates=["hire_date", "end_date"])
    won = opp[opp["status"] == "won"]
    in_2025 = (won["close_date"] >= "2025-01-01") & (won["close_date"] <= "2025-12-31")
    assert _money(text, "bookings 2025 (last full year)") == round(won.loc[in_2025,
                                                                         "amount"].sum())
    ytd = (won["close_date"] >= "2026-01-01") & (won["close_date"] <= "2026-06-30")
    assert _money(text, "bookings 2026 YTD") == round(won.loc[ytd, "amount"].sum())
    last12 = opp[(opp["close_date"] >= "2025-07-01") & (opp["close_date"] <= "2026-06-30")
                 & opp["status"].isin(["won", "lost"])]
    n_won = (last12["status"] == "won").sum()
    m = re.search(r"win rate, last 12 months\s+([\d.]+)% \(([\d,]+) won / ([\d,]+) closed\)",
                  text)
    assert m, text
    assert int(m.group(2).replace(",", "")) == n_won
    assert int(m.group(3).replace(",", "")) == len(last12)
    assert float(m.group(1)) == round(100 * n_won / len(last12), 1)
    open_ = opp[opp["status"] == "open"]
    assert _money(text, "open pipeline") == round(open_["amount"].sum())
    assert f"in {len(open_):,} deals" in text
    assert _count(text, "accounts") == len(pd.read_csv(csv / "accounts.csv")) == 400
    assert _count(text, "reps") == len(reps)
    employed = (reps["end_date"].isna() | (reps["end_date"] > "2026-06-30")).sum()
    assert f"({employed:,} employed at as_of)" in text
    assert _count(text, "territories") == len(pd.read_csv(csv / "territories.csv")) == 12


def test_headline_of_hand_made_data():
    """A six-deal company whose figures are known by hand."""
    from salesplan_nb.data.dataset import Dataset

    opp = pd.DataFrame({
        "opportunity_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
        "account_id": ["a1"] * 6, "owner_id": ["r1"] * 6, "stage": ["x"] * 6,
        "status": ["won", "won", "lost", "won", "open", "lost"],
        "created_date": pd.to_datetime(["2024-01-01"] * 6),
        "close_date": pd.to_datetime(["2024-05-01", "2025-02-01", "2025-03-01",
                                      "2025-08-01", "2025-12-01", "2024-06-30"]),
        "amount": [100.0, 200.0, 50.0, 400.0, 1000.0, 70.0],
    })
    data = Dataset(
        accounts=pd.DataFrame({"account_id": ["a1"], "name": ["A"], "territory": ["T1"]}),
        opportunities=opp,
        reps=pd.DataFrame({"rep_id": ["r1", "r2"], "name": ["R", "S"],
                           "end_date": pd.to_datetime([None, "2025-01-01"])}),
        products=pd.DataFrame({"product_id": ["p"]}), as_of="2025-06-30")
    h = demo.headline(data)
    assert h.last_full_year == 2024 and h.bookings_last_year == 100.0
    assert h.bookings_ytd == 200.0                       # o4 closes after as_of
    # o2 and o3; o6 closed on 2024-06-30, the day before the 12 months to 2025-06-30 start
    assert (h.won_12m, h.lost_12m) == (1, 1) and h.win_rate == 0.5
    assert (h.open_pipeline, h.open_deals) == (1000.0, 1)
    assert (h.reps, h.reps_employed, h.territories) == (2, 1, 1)
    assert demo.last_full_year(pd.Timestamp("2025-12-31")) == 2025


def test_steps_record_decisions_and_outputs(demo_run):
    _, text, root = demo_run
    ws = Workspace.open(root / "plan")
    from salesplan_nb.steps import registry

    decided = [s for s in registry.steps() if s.demo]  # every step with a default decision
    assert len(decided) == 16 and [s.number for s in decided][-2:] == [14, 15]
    for s in decided:
        title = f"{s.number} {s.title}" if s.number is not None else s.title
        assert f"\n  {title}: " in text, title
    assert ws.load_output("rollout", "quota_letters") is not None
    # goals: company bookings/win rate/new logos, one bookings goal per region and per key
    # account (the 3 with the most bookings in the last 12 months), all by=demo
    stored = ws.items("goals")
    assert len(stored) == 3 + 4 + 3 and {g["by"] for g in stored} == {"demo"}
    opp = ws.data.opportunities
    last12 = opp[(opp["status"] == "won") & (opp["close_date"] > "2025-06-30")
                 & (opp["close_date"] <= "2026-06-30")]
    top3 = last12.groupby("account_id")["amount"].sum().sort_values().tail(3)
    key = {g["scope"]: g for g in stored if g["scope"].startswith("account:")}
    assert set(key) == {f"account:{a}" for a in top3.index}
    for account_id, amount in top3.items():
        assert key[f"account:{account_id}"]["target"] == round(amount * 1.15, -3)
    book = next(g for g in stored if g["metric"] == "bookings" and g["scope"] == "company")
    ttm = opp[(opp["status"] == "won") & (opp["close_date"] > "2025-06-30")
              & (opp["close_date"] <= "2026-06-30")]["amount"].sum()
    # the target is +15% on the last 12 months' run-rate; the stored baseline is the plan's one
    # baseline (2025) and the name states the growth on it
    won25 = opp[(opp["status"] == "won") & opp["close_date"].dt.year.eq(2025)]["amount"].sum()
    assert book["target"] == round(ttm * 1.15, -3)
    assert book["baseline"] == pytest.approx(won25)
    assert book["name"] == f"Bookings {book['target'] / won25 - 1:+.0%} on 2025"
    assert book["deadline"] == "2027-12-31"
    assert ws.get("kpis", "period") == "2026"
    targets = ws.get("kpis", "targets")
    closed25 = opp[opp["close_date"].dt.year.eq(2025) & opp["status"].isin(["won", "lost"])]
    assert targets["win_rate"] == pytest.approx((closed25["status"] == "won").mean(), abs=1e-4)
    assert all(i["status"] == "accepted" for i in ws.items("swot"))
    # capacity: the gap to the bookings goal is closed with hires in the plan's first month
    hires = ws.get("capacity", "hires")
    summary = ws.load_output("capacity", "summary").set_index("figure")["value"]
    assert summary["target"] == book["target"]
    if hires:
        assert hires[0]["month"] == "2027-01" and hires[0]["count"] >= 1
        assert summary["capacity"] >= book["target"] * 0.99
    assert {"base", "best", "worst", "plan"} <= set(ws.get("scenarios"))
    # segments, stakeholders, tactics, quotas, territories
    assert len(ws.get("segments", "targets")) == 3
    status = {k: v["status"] for k, v in ws.get("stakeholders").items()}
    assert status["goals"] == status["kpis"] == "approved"
    assert set(status.values()) == {"approved", "requested"}
    tactics = ws.items("tactics")
    assert len(tactics) == 5 and sum(t["budget"] for t in tactics) == 560_000
    quota = ws.load_output("quotas", "table")
    assert ws.get("quotas", "method") == "blend"
    company = quota.loc[quota["level"] == "company", "quota"].sum()
    reps = quota.loc[quota["level"] == "rep", "quota"].sum()
    assert company == pytest.approx(book["target"])
    # over-assignment totals do not compound: reps (with to-be-hired seats, ramped) carry at
    # most 10% above the company target (issue 10)
    assert company < reps <= company * 1.10 * (1 + 1e-9)
    locked = set(ws.get("territories", "locked"))
    assert locked == set(opp.loc[opp["status"] == "open", "account_id"].dropna())
    assert not {m["account_id"] for m in ws.get("territories", "accepted_moves")} & locked
    res = ws.get("resources")
    assert sum(res["accepted"].values()) == pytest.approx(res["budget"])
    current = sum(i["current"] for i in res["investments"])
    assert res["budget"] == round(current * 1.10, -3)
    assert ws.items("reviews")[0]["period"] == "2026"
    assert ws.get("next_plan", "target")["unit"] == "USD"
    seas = ws.load_output("market", "seasonality")
    assert len(seas) == 12 and abs(seas["index"].mean() - 1) < 1e-9
    annual = ws.load_output("market", "annual_bookings")
    opp = ws.data.opportunities
    won25 = opp[(opp["status"] == "won") & (opp["close_date"].dt.year == 2025)]["amount"].sum()
    assert annual.set_index("year").loc[2025, "bookings"] == pytest.approx(won25)


def test_demo_reruns_over_its_own_plan_but_not_over_others(tmp_path):
    buf = io.StringIO()
    quick = dict(render=False, steps=False, stream=buf, accounts=60, opportunities=300)
    assert demo.run_demo(tmp_path / "o", tmp_path / "p", seed=3, **quick) == 0
    assert demo.run_demo(tmp_path / "o", tmp_path / "p", seed=4, **quick) == 0
    assert Workspace.open(tmp_path / "p").source["seed"] == 4
    other = tmp_path / "real"
    Workspace.create(other, data=generate(seed=1, accounts=50, opportunities=100),
                     source={"kind": "path", "path": "/crm"})
    with pytest.raises(WorkspaceError, match="only replaces its own plans"):
        demo.run_demo(tmp_path / "o", other, seed=3, **quick)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(WorkspaceError, match="not empty"):
        demo.run_demo(tmp_path / "o", busy, seed=3, **quick)
    assert (busy / "notes.txt").read_text() == "mine"


def test_render_hook_calls_runner(tmp_path, monkeypatch):
    calls = []

    def render_demo_reports(ws, out):
        calls.append((ws.path, out))
        out.mkdir(parents=True)
        (out / "index.html").write_text("<html></html>")
        return 0

    fake = types.SimpleNamespace(render_demo_reports=render_demo_reports)
    monkeypatch.setattr(demo, "runner", fake)
    buf = io.StringIO()
    rc = demo.run_demo(tmp_path / "out", tmp_path / "plan", render=True, seed=2, steps=False,
                       stream=buf, accounts=60, opportunities=300)
    assert rc == 0 and calls == [(tmp_path / "plan", tmp_path / "out")]
    assert f"Reports: done {tmp_path / 'out' / 'index.html'}" in buf.getvalue()
    # a failed report makes the demo fail with the runner's exit code
    fake.render_demo_reports = lambda ws, out: 1
    rc = demo.run_demo(tmp_path / "out", tmp_path / "plan", render=True, seed=2, steps=False,
                       stream=buf, accounts=60, opportunities=300)
    assert rc == 1 and "some reports failed (exit code 1)" in buf.getvalue()


def test_cli_demo_registered(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(demo, "run_demo", lambda *a, **k: calls.append((a, k)) or 0)
    rc = cli.main(["demo", "--plan", str(tmp_path / "f"), "--out", str(tmp_path / "o"),
                   "--no-render", "--seed", "9"])
    assert rc == 0
    assert calls == [((str(tmp_path / "o"), str(tmp_path / "f")), {"render": False, "seed": 9})]
    monkeypatch.undo()
    (tmp_path / "file").write_text("x")
    rc = cli.main(["demo", "--plan", str(tmp_path / "file"), "--no-render"])
    assert rc == 1 and "is a file" in capsys.readouterr().err


def test_readme_commands_and_links_exist():
    """Every `salesplan X` and `make X` in the README exists, and every linked doc too."""
    text = (ROOT / "README.md").read_text()
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    commands = set(re.findall(r"salesplan (\w+)", text))
    assert commands - set(sub.choices) == set(), f"README names unknown commands: {commands}"
    targets = set(re.findall(r"make (\w+)", text))
    makefile = (ROOT / "Makefile").read_text()
    assert all(re.search(rf"^{t}:", makefile, re.M) for t in targets), targets
    for link in re.findall(r"\]\((docs/[^)]+)\)", text):
        assert (ROOT / link).exists(), link
    for notebook in re.findall(r"notebooks/[\w/]+\.ipynb", text):
        assert (ROOT / notebook).exists(), notebook


def test_environment_yml_lists_every_dependency():
    import tomllib

    import yaml

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {re.split(r"[<>=\[ ]", d)[0].lower().replace("_", "-") for d in env["dependencies"]
             if isinstance(d, str)}
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f"python{py}" in env["dependencies"], "environment.yml's python must match pyproject"
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-e .[test]", "-e tests/plugins/salesplan-example-step"]
    missing = {re.split(r"[<>=\[ ]", d)[0].lower() for d in deps} - conda
    assert not missing, f"environment.yml lacks {missing}"
