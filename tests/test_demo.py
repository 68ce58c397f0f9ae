"""``salesplan demo``: builds the demo plan and prints headline numbers that are right."""

from __future__ import annotations

import io
import re
import types

import pandas as pd
import pytest

from salesplan_nb import cli, demo
from salesplan_nb.errors import WorkspaceError
from salesplan_nb.sample import generate
from salesplan_nb.workspace import Workspace

SMALL = dict(accounts=400, opportunities=6000)


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
    assert "result: loadable (as of 2026-06-30)" in text
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
    from salesplan_nb.dataset import Dataset

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
    assert (h.won_12m, h.lost_12m) == (1, 1) and h.win_rate == 0.5  # o2, o3; o6 closed on 2024-06-30,
    # the day before the 12 months to 2025-06-30 start
    assert (h.open_pipeline, h.open_deals) == (1000.0, 1)
    assert (h.reps, h.reps_employed, h.territories) == (2, 1, 1)
    assert demo.last_full_year(pd.Timestamp("2025-12-31")) == 2025


def test_steps_record_outputs(demo_run):
    _, text, root = demo_run
    ws = Workspace.open(root / "plan")
    assert "1 market & customer insights:" in text
    seas = ws.load_output("market", "seasonality")
    assert len(seas) == 12 and abs(seas["index"].mean() - 1) < 1e-9
    annual = ws.load_output("market", "annual_bookings")
    opp = ws.data.opportunities
    won25 = opp[(opp["status"] == "won") & (opp["close_date"].dt.year == 2025)]["amount"].sum()
    assert annual.set_index("year").loc[2025, "bookings"] == pytest.approx(won25)


def test_demo_reruns_over_its_own_plan_but_not_over_others(tmp_path):
    buf = io.StringIO()
    assert demo.run_demo(tmp_path / "o", tmp_path / "p", render=False, seed=3, stream=buf,
                         accounts=60, opportunities=300) == 0
    assert demo.run_demo(tmp_path / "o", tmp_path / "p", render=False, seed=4, stream=buf,
                         accounts=60, opportunities=300) == 0
    assert Workspace.open(tmp_path / "p").source["seed"] == 4
    other = tmp_path / "real"
    Workspace.create(other, data=generate(seed=1, accounts=50, opportunities=100),
                     source={"kind": "path", "path": "/crm"})
    with pytest.raises(WorkspaceError, match="only replaces its own plans"):
        demo.run_demo(tmp_path / "o", other, render=False, stream=buf, accounts=50,
                      opportunities=100)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(WorkspaceError, match="not empty"):
        demo.run_demo(tmp_path / "o", busy, render=False, stream=buf, accounts=50,
                      opportunities=100)
    assert (busy / "notes.txt").read_text() == "mine"


def test_render_hook_calls_runner(tmp_path, monkeypatch):
    calls = []

    def render_demo_reports(ws, out):
        calls.append((ws.path, out))
        out.mkdir(parents=True)
        (out / "index.html").write_text("<html></html>")
        return out

    fake = types.ModuleType("salesplan_nb.runner")
    fake.render_demo_reports = render_demo_reports
    monkeypatch.setitem(__import__("sys").modules, "salesplan_nb.runner", fake)
    buf = io.StringIO()
    rc = demo.run_demo(tmp_path / "out", tmp_path / "plan", render=True, seed=2, stream=buf,
                       accounts=60, opportunities=300)
    assert rc == 0 and calls == [(tmp_path / "plan", tmp_path / "out")]
    assert f"Reports: {tmp_path / 'out' / 'index.html'}" in buf.getvalue()


def test_cli_demo_registered(tmp_path, capsys):
    rc = cli.main(["demo", "--plan", str(tmp_path / "f"), "--out", str(tmp_path / "o"),
                   "--no-render", "--seed", "9"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "accounts" in out and "2,000" in out
    rc = cli.main(["demo", "--plan", str(tmp_path / "f" / "plan.yaml"), "--no-render"])
    assert rc == 2 and "is a file" in capsys.readouterr().err
