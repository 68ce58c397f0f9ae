"""Plan workspace: round trips, atomic writes, clear errors for broken files."""

from __future__ import annotations

import multiprocessing as mp

import pandas as pd
import pytest
import yaml

from salesplan_nb import Dataset
from salesplan_nb.core.errors import WorkspaceError
from salesplan_nb.data import schema
from salesplan_nb.data.workspace import SCHEMA_VERSION, Workspace


@pytest.fixture
def tiny() -> Dataset:
    opps = pd.DataFrame({
        "opportunity_id": ["o1", "o2"], "account_id": ["a1", "a1"], "owner_id": ["r1", "r1"],
        "product_id": ["p1", "p1"], "stage": ["Won", "Open"], "status": ["won", "open"],
        "created_date": ["2025-01-05", "2025-05-01"], "close_date": ["2025-03-01", None],
        "amount": [100.0, 50.0]})
    return Dataset(
        accounts=pd.DataFrame({"account_id": ["a1"], "name": ["Acme <b>"]}),
        opportunities=opps,
        reps=pd.DataFrame({"rep_id": ["r1"], "name": ["Ann"], "region": ["East"]}),
        products=pd.DataFrame({"product_id": ["p1"], "list_price": [10.0]}))


@pytest.fixture
def ws(tmp_path, tiny) -> Workspace:
    return Workspace.create(tmp_path / "plan", data=tiny, plan_type="annual", period="2026",
                            source={"kind": "test"}, by="tester")


def test_create_and_reopen(ws, tiny):
    again = Workspace.open(ws.path)
    assert again.plan_type == "annual"
    assert again.period.label == "2026"
    assert again.plan["as_of"] == "2025-05-01"
    doc = yaml.safe_load((ws.path / "plan.yaml").read_text())
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["plan"]["created"]["by"] == "tester"
    for name in schema.TABLES:
        pd.testing.assert_frame_equal(again.data.table(name), tiny.table(name))


def test_default_period_is_year_after_data(tmp_path, tiny):
    w = Workspace.create(tmp_path / "p", data=tiny)
    assert w.period.label == "2026"
    lt = Workspace.create(tmp_path / "lt", data=tiny, plan_type="long-term")
    assert lt.period.n_months == 36


def test_record_keeps_who_and_when(ws):
    ws.record("quotas", "method", "blend", by="alice")
    ws.record("quotas", "over_assignment", {"region": 0.05, "rep": 0.1}, by="bob")
    other = Workspace.open(ws.path)
    assert other.get("quotas", "method") == "blend"
    assert other.get("quotas") == {"method": "blend",
                                   "over_assignment": {"region": 0.05, "rep": 0.1}}
    assert other.decision("quotas", "method")["by"] == "alice"
    first_at = other.decision("quotas", "method")["at"]
    ws.record("quotas", "method", "blend", by="carol")  # unchanged value keeps who/when
    assert Workspace.open(ws.path).decision("quotas", "method") == {
        "value": "blend", "by": "alice", "at": first_at}
    assert other.get("nothing", "x", 7) == 7


def test_items_add_update_remove(ws):
    a = ws.add_item("swot", {"quadrant": "strength", "text": "High win rate"}, by="ann")
    b = ws.add_item("swot", {"quadrant": "threat", "text": "Concentration"})
    assert [i["id"] for i in ws.items("swot")] == [a["id"], b["id"]]
    ws.update_item("swot", a["id"], {"text": "Very high win rate"}, by="dan")
    item = Workspace.open(ws.path).items("swot")[0]
    assert item["text"] == "Very high win rate" and item["by"] == "dan"
    ws.remove_item("swot", b["id"])
    assert len(ws.items("swot")) == 1
    with pytest.raises(WorkspaceError, match="no item"):
        ws.remove_item("swot", "zzz")


def test_values_are_made_yaml_safe(ws):
    import numpy as np
    ws.record("scenarios", "base", {"win_rate": np.float64(0.3), "n": np.int64(4),
                                    "start": pd.Timestamp("2026-01-01"), "nan": float("nan")})
    assert Workspace.open(ws.path).get("scenarios", "base") == {
        "win_rate": 0.3, "n": 4, "start": "2026-01-01", "nan": None}


def test_outputs_round_trip_and_names_are_safe(ws):
    df = pd.DataFrame({"rep": ["r1"], "quota": [10.0]})
    ws.save_output("quotas", "rep_quotas", df)
    pd.testing.assert_frame_equal(ws.load_output("quotas", "rep_quotas"), df)
    assert ws.load_output("quotas", "missing") is None
    with pytest.raises(WorkspaceError):
        ws.save_output("../x", "y", df)


def test_broken_yaml_names_the_line(ws):
    text = (ws.path / "plan.yaml").read_text().splitlines()
    text.insert(4, "  type: [annual")
    (ws.path / "plan.yaml").write_text("\n".join(text))
    with pytest.raises(WorkspaceError, match=r"line \d+"):
        Workspace.open(ws.path)


def test_bad_values_name_the_line(ws):
    doc = (ws.path / "plan.yaml").read_text().replace("type: annual", "type: weekly")
    (ws.path / "plan.yaml").write_text(doc)
    line = next(i for i, t in enumerate(doc.splitlines(), 1) if "type: weekly" in t)
    with pytest.raises(WorkspaceError, match=rf"line {line}: plan.type 'weekly'"):
        Workspace.open(ws.path)


def test_missing_or_future_schema(ws, tmp_path):
    with pytest.raises(WorkspaceError, match="salesplan init"):
        Workspace.open(tmp_path / "nowhere")
    doc = (ws.path / "plan.yaml").read_text().replace(
        f"schema_version: {SCHEMA_VERSION}", "schema_version: 99")
    (ws.path / "plan.yaml").write_text(doc)
    with pytest.raises(WorkspaceError, match="schema_version 99"):
        Workspace.open(ws.path)


def test_create_refuses_to_overwrite(ws, tiny):
    with pytest.raises(WorkspaceError, match="already exists"):
        Workspace.create(ws.path, data=tiny)


def _add_many(path, who):
    w = Workspace.open(path)
    for i in range(20):
        w.add_item("reviews", {"note": f"{who}-{i}"}, by=who)


def test_concurrent_writers_lose_nothing(ws):
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_add_many, args=(ws.path, f"p{k}")) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert len(Workspace.open(ws.path).items("reviews")) == 60


def test_no_temp_files_left(ws):
    ws.record("goals", "x", 1)
    assert not [p for p in ws.path.iterdir() if p.name.endswith(".tmp")]
