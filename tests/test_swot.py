"""Step 4 SWOT: evidence-backed suggestions, merge with analyst decisions, workspace."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import all_scopes
from test_market import make_tiny

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data.workspace import Workspace
from salesplan_nb.steps import swot as S


@pytest.fixture(scope="module")
def tiny():
    return make_tiny()


def by_key(items):
    return {i.key.split("|", 1)[1]: i for i in items}


def test_suggestions_carry_their_numbers(tiny):
    items = by_key(S.suggest(tiny, None, "2025", min_closed=1, top_n=1))
    ent = items["win_rate:segment:Enterprise"]
    assert ent.quadrant == "strengths" and ent.source == "data" and ent.status == "suggested"
    assert ent.evidence["win_rate"] == 1.0 and ent.evidence["average_win_rate"] == 0.6
    assert items["win_rate:product:P2"].quadrant == "weaknesses"
    assert items["win_rate:product:P2"].evidence["win_rate"] == pytest.approx(1 / 3)
    # margin: East 66.7% vs 60% is > 5 points; a 10-point margin drops it
    assert "win_rate:region:East" in items
    assert "win_rate:region:East" not in by_key(
        S.suggest(tiny, None, "2025", min_closed=1, margin=0.1))
    # declining SMB: 500 -> 0; growing Enterprise: 1000 -> 1800
    assert items["decline:segment:SMB"].quadrant == "threats"
    assert items["decline:segment:SMB"].evidence["growth"] == -1.0
    assert items["growth:segment:Enterprise"].evidence["growth"] == pytest.approx(0.8)
    # concentration: A1 = 1800 / 2700
    single = items["concentration:single"]
    assert single.evidence["share"] == pytest.approx(2 / 3) and "Alpha" in single.text
    assert items["concentration:top1"].evidence["top_share"] == pytest.approx(2 / 3)
    # SMB: 54% of the (firmographic) potential, no bookings -> opportunity
    opp = items["low_share:segment:SMB"]
    assert opp.quadrant == "opportunities" and opp.evidence["penetration"] == 0
    # min_closed guards small groups
    assert not any(k.startswith("win_rate") for k in by_key(S.suggest(tiny, None, "2025")))


def test_merge_keeps_analyst_decisions(tiny):
    first = S.suggest(tiny, None, "2025", min_closed=1, top_n=1)
    for n, item in enumerate(first):
        item.id = f"id{n}"
    k = by_key(first)
    k["win_rate:segment:Enterprise"].accept()
    k["decline:segment:SMB"].edit("SMB shrinking: renewals lost to a cheaper rival")
    k["concentration:top1"].reject()
    mine = S.SwotItem("opportunities", "New channel partner in DE", owner="Ann")
    existing = [*first, mine]
    # re-run on other numbers: the Enterprise / SMB / concentration keys still come back
    again = S.merge(S.suggest(tiny, None, "2025", min_closed=1, top_n=1), existing)
    keys = [i.key for i in again if i.key]
    assert len(keys) == len(set(keys)) == len(first)
    m = by_key([i for i in again if i.key])
    assert m["win_rate:segment:Enterprise"].status == "accepted"
    assert m["decline:segment:SMB"].text.startswith("SMB shrinking")
    assert m["decline:segment:SMB"].status == "edited"
    assert m["concentration:top1"].status == "rejected"
    assert mine in again
    assert [i.id for i in again if i.key] == [i.id for i in first]
    # a suggestion the data no longer supports: dropped if undecided, kept if decided
    fewer = S.suggest(tiny, None, "2025", min_closed=1, margin=0.5, top_n=1)
    after = by_key([i for i in S.merge(fewer, again) if i.key])
    assert "win_rate:region:East" not in after          # was only suggested
    assert "win_rate:segment:Enterprise" in after       # accepted: stays
    # refreshed evidence for a still-suggested item
    stale = S.SwotItem("threats", "old text", {"share": 0.1}, source="data",
                       status="suggested", key="company|concentration:single", id="x")
    out = S.merge(S.suggest(tiny, None, "2025", min_closed=1, top_n=1), [stale])
    fresh = [i for i in out if i.key == stale.key]
    assert len(fresh) == 1 and fresh[0].id == "x"
    assert fresh[0].evidence["share"] == pytest.approx(2 / 3)


def test_item_validation_and_table(tiny):
    with pytest.raises(ConfigError, match="quadrant"):
        S.SwotItem("luck", "x")
    with pytest.raises(ConfigError, match="status"):
        S.SwotItem("threats", "x", status="maybe")
    items = S.suggest(tiny, None, "2025", min_closed=1, top_n=1)
    items[0].reject()
    t = S.swot_table(items)
    assert len(t) == len(items) - 1
    assert list(pd.unique(t["quadrant"])) == [q for q in S.QUADRANTS if q in set(t["quadrant"])]
    assert S.chart_swot(items).to_dict()


def test_workspace_round_trip(tmp_path, tiny):
    ws = Workspace.create(tmp_path / "plan", data=tiny, period="2025")
    items = S.refresh_swot(ws, scope="company", period="2025", min_closed=1, top_n=1)
    n = len(items)
    assert n and all(i.id for i in items)
    enterprise = next(i for i in items if i.key.endswith("win_rate:segment:Enterprise"))
    S.set_status(ws, enterprise.id, "edited", text="Enterprise is our home turf", by="ana")
    mine = S.add_item(ws, "weaknesses", "Only two reps", owner="CRO", by="ana")
    region = S.refresh_swot(ws, scope="region:East", period="2025", min_closed=1)
    again = S.refresh_swot(Workspace.open(tmp_path / "plan"), scope="company", period="2025",
                           min_closed=1, top_n=1)
    assert len(again) == n + 1  # no duplicates; the analyst item kept
    e = next(i for i in again if i.id == enterprise.id)
    assert (e.status, e.text) == ("edited", "Enterprise is our home turf")
    assert any(i.id == mine.id and i.source == "analyst" for i in again)
    stored = S.load_swot(ws)
    assert len(stored) == n + 1 + len(region)  # the region's items kept beside the company's
    assert {i.scope for i in S.load_swot(ws, "region:East")} <= {"region:East"}


def test_concurrent_saves_of_two_scopes_keep_both(tmp_path, tiny):
    """Two writers (two kernels rendering two scopes) replace their own scope's items at the
    same time: neither loses the other's (the other scopes are read under the plan's lock)."""
    from concurrent.futures import ThreadPoolExecutor

    Workspace.create(tmp_path / "plan", data=tiny, period="2025")

    def save(scope: str) -> None:
        ws = Workspace.open(tmp_path / "plan")
        for n in range(15):
            S.save_swot(ws, [S.SwotItem("threats", f"{scope} {n}", {}, source="analyst",
                                        scope=scope)], scope=scope)

    with ThreadPoolExecutor(2) as ex:
        list(ex.map(save, ["company", "region:East"]))
    stored = S.load_swot(Workspace.open(tmp_path / "plan"))
    assert sorted((i.scope, i.text) for i in stored) == [("company", "company 14"),
                                                         ("region:East", "region:East 14")]


def test_empty_scope(tiny):
    assert S.suggest(tiny, "account:Nobody", "2025") == []
    assert S.suggest(tiny, "territory:Nowhere", "2030") == []


def test_every_scope_and_evidence(sample_data, maven_data, maven_dir):
    for data, period in ((sample_data, "2025"), (maven_data, "2017")):
        for sc in all_scopes(data):
            for item in S.suggest(data, sc, period):
                assert item.quadrant in S.QUADRANTS and item.evidence and item.text
    # Maven: evidence numbers match the raw CSV
    raw = pd.read_csv(maven_dir / "sales_pipeline.csv")
    raw["product"] = raw["product"].replace({"GTXPro": "GTX Pro"})
    closed = raw[raw["deal_stage"].isin(["Won", "Lost"])]
    avg = (closed["deal_stage"] == "Won").mean()
    items = [i for i in S.suggest(maven_data, None, "2017", margin=0.0)
             if i.key.split("|")[1].startswith("win_rate:product:")]
    assert items
    for i in items:
        g = closed[closed["product"] == i.evidence["group"]]
        assert i.evidence["win_rate"] == pytest.approx((g["deal_stage"] == "Won").mean())
        assert i.evidence["average_win_rate"] == pytest.approx(avg)
        assert i.quadrant == ("strengths" if i.evidence["win_rate"] > avg else "weaknesses")


def test_one_level_down_and_rep_names(sample_data):
    region = next(s for s in all_scopes(sample_data) if s.level == "region")
    keys = [i.key for i in S.suggest(sample_data, region, "2025", margin=0.0, min_closed=1)]
    assert any(":territory:" in k for k in keys) and not any(":region:" in k for k in keys)
    items = [i for s in all_scopes(sample_data) if s.level == "territory"
             for i in S.suggest(sample_data, s, "2025", margin=0.0, min_closed=1)
             if ":rep:" in i.key]
    names = dict(zip(sample_data.reps["rep_id"], sample_data.reps["name"]))
    assert items
    for i in items:
        assert names[i.evidence["group"]] in i.text  # shown by name, keyed by id
