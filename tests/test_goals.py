"""Step 2 SMART goals: each letter, the history percentile, capacity, workspace round trip."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from helpers import all_scopes
from test_market import make_tiny

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data.workspace import Workspace
from salesplan_nb.steps import goals as G


@pytest.fixture(scope="module")
def tiny():
    return make_tiny()


def good(**kw) -> G.Goal:
    base = dict(metric="bookings", target=3000.0, scope="company", deadline="2026-12-31",
                owner="CRO", objective="Grow revenue", name="Grow bookings")
    return G.Goal(**{**base, **kw})


def test_all_letters_pass_or_explain(tiny):
    r = G.smart_check(good(), tiny)  # plan period defaults to 2026 (as_of 2025-12-31)
    st = dict(zip(r.table["letter"], r.table["status"]))
    assert st == {"S": "pass", "M": "pass", "A": "warn", "R": "pass", "T": "pass"}
    assert r.baseline == 2700  # 2025 actual bookings
    assert r.implied_growth == pytest.approx(3000 / 2700 - 1)
    assert "only 1 historical growth rates" in r.reason("A")  # 2025 vs 2024 only
    assert r.overall == "warn"


def test_failures_have_reasons(tiny):
    r = G.smart_check(G.Goal("happiness", 5, scope="region"), tiny, period="2026")
    assert r.status("S") == "fail" and "unknown metric" in r.reason("S")
    assert r.status("M") == "fail"
    assert r.status("R") == "fail" and "objective" in r.reason("R")
    assert r.status("T") == "fail" and "no deadline" in r.reason("T")
    r = G.smart_check(good(scope="region"), tiny, period="2026")
    assert r.status("S") == "fail" and "needs an id" in r.reason("S")
    r = G.smart_check(good(target="lots"), tiny)
    assert r.status("S") == "fail" and "number" in r.reason("S")
    assert G.smart_check(good(deadline="2025-06-30"), tiny).status("T") == "fail"
    assert G.smart_check(good(deadline="2027-03-01"), tiny).status("T") == "warn"
    assert G.smart_check(good(deadline="someday"), tiny).status("T") == "fail"
    r = G.smart_check(good(objective="Other"), tiny, objectives=["Grow revenue"])
    assert r.status("R") == "warn"
    r = G.smart_check(good(metric="gross_margin"), make_tiny(unit_cost=False))
    assert r.status("M") == "fail" and "unit_cost" in r.reason("M")
    r = G.smart_check(good(scope="rep:Nobody"), tiny)
    assert r.status("S") == "warn" and r.status("M") == "pass"  # measurable: 0 bookings
    assert r.status("A") == "warn"  # no positive baseline
    with pytest.raises(ConfigError):
        G.smart_check(good(), tiny, period="sometime")


def test_without_data_measurable_is_a_warning():
    r = G.smart_check(good(metric="win_rate", target=0.7, baseline=0.6), None, period="2026")
    assert r.status("M") == "warn" and r.status("S") == "pass" and r.status("T") == "pass"
    assert r.implied_growth == pytest.approx(0.7 / 0.6 - 1)


def test_capacity(tiny):
    assert "100% of capacity" in G.smart_check(good(), tiny, capacity=3000).reason("A")
    # a target above capacity fails with the gap (issue 10: it warned up to 110% before)
    r = G.smart_check(good(), tiny, capacity=2800)                            # 107%
    assert r.status("A") == "fail" and "above what the seats can deliver" in r.reason("A")
    r = G.smart_check(good(), tiny, capacity=2500)                            # 120%
    assert r.status("A") == "fail" and "120% of capacity" in r.reason("A")
    hist = pd.DataFrame({"growth": [0.05, 0.1, 0.15, 0.2]})
    r = G.smart_check(good(), tiny, capacity=5000, history=hist)
    assert r.percentile == pytest.approx(0.5)  # 11.1% beats 0.05 and 0.1
    assert r.status("A") == "pass"
    r = G.smart_check(good(target=4000), tiny, history=hist)  # +48%: above every rate
    assert r.percentile == 1.0 and r.status("A") == "fail"
    r = G.smart_check(good(metric="win_rate", target=0.7), tiny, capacity=1000)
    assert "not in USD" in r.reason("A")


def test_capacity_from_plan(sample_data):
    if importlib.util.find_spec("salesplan_nb.steps.capacity") is None:
        with pytest.raises(ConfigError, match="capacity"):
            G.capacity_from_plan(sample_data, "company", "2027")
        return
    from salesplan_nb.steps import capacity
    cap = G.capacity_from_plan(sample_data, "region:EMEA", "2027")
    assert cap == pytest.approx(capacity.capacity_plan(sample_data, "region:EMEA",
                                                       "2027").capacity)
    assert cap > 0
    r = G.smart_check(good(scope="region:EMEA", target=cap * 1.5, deadline="2027-12-31"),
                      sample_data, period="2027", capacity=cap)
    assert r.status("A") == "fail" and "150% of capacity" in r.reason("A")


def test_percentile_of():
    rates = pd.Series([0.1, 0.2, 0.3, 0.4])
    assert G.percentile_of(0.25, rates) == 0.5
    assert G.percentile_of(0.0, rates) == 0.0
    assert np.isnan(G.percentile_of(0.1, pd.Series(dtype=float)))


def test_history_matches_pandas(sample_data):
    """rolling YoY growth per region vs a direct filter on the deals."""
    h = G.historical_growth(sample_data, "bookings", "region", "2026")
    # as_of 2026-06-30, first close 2023-01: 12-month windows ending 2026-07-01, 2026-04-01,
    # ... back to 2025-01-01 (its prior year starts 2023-01-01), every 3 months: 7 windows
    first_close = sample_data.deals.loc[sample_data.deals["status"] != "open", "close_date"]
    assert first_close.min().to_period("M") == pd.Period("2023-01")
    ends = sorted(h["end"].unique())
    assert len(ends) == 7
    assert ends[0] == pd.Timestamp("2025-01-01") and ends[-1] == pd.Timestamp("2026-07-01")
    d = sample_data.deals
    won = d[d["status"] == "won"]

    def booked(region, a, b):
        w = won[(won["region"] == region) & (won["close_date"] >= a) & (won["close_date"] < b)]
        return w["amount"].sum()

    for _, r in h.iterrows():
        region = r["scope"].split(":", 1)[1]
        cur = booked(region, r["start"], r["end"])
        pri = booked(region, r["start"] - pd.DateOffset(years=1),
                     r["end"] - pd.DateOffset(years=1))
        assert r["value"] == pytest.approx(cur)
        assert r["growth"] == pytest.approx(cur / pri - 1)
    t = G.historical_growth(sample_data, "win_rate", "region", "2026")  # 12-month steps
    assert t["end"].nunique() == 2 and t["value"].between(0, 1).all()
    r = G.smart_check(good(scope="region:EMEA", target=1e12, deadline="2026-12-31"),
                      sample_data)
    assert r.percentile == 1.0 and r.status("A") == "fail" and len(r.history) == \
        (h["scope"] == "region:EMEA").size


def test_baseline_period_and_annualised_growth(sample_data):
    # plan 2027 with data to mid-2026: the baseline is 2025 (2026 is not over), 2 years back
    d = sample_data.deals
    won = d[d["status"] == "won"]
    b2025 = won.loc[won["close_date"].dt.year == 2025, "amount"].sum()
    r = G.smart_check(good(target=b2025 * 1.21, deadline="2027-12-31"), sample_data,
                      period="2027")
    assert r.baseline_period.label == "2025" and r.baseline == pytest.approx(b2025)
    assert r.implied_growth == pytest.approx(0.21)
    assert r.annual_growth == pytest.approx(0.1)  # 1.21 ** (1/2) - 1
    assert "over 2 years (+10.0%/year)" in r.reason("A")
    r = G.smart_check(good(target=1.5e7, baseline=1e7, deadline="2027-12-31"), sample_data,
                      period="2027", baseline_period="2025-07-01..2026-06-30")
    assert r.annual_growth == pytest.approx(1.5 ** (1 / 1.5) - 1)


def test_check_goals_table(tiny):
    df = G.check_goals([good(), good(metric="nope")], tiny, capacity={"company": 5000})
    assert list(df["overall"]) == ["warn", "fail"]
    assert list(df.columns[-6:]) == ["S", "M", "A", "R", "T", "overall"]


def test_workspace_round_trip(tmp_path, tiny):
    ws = Workspace.create(tmp_path / "plan", data=tiny)
    saved = G.save_goals(ws, [good(), good(scope="region:East", target=2000.0)], by="ana")
    assert all(g.id for g in saved)
    again = Workspace.open(tmp_path / "plan")
    loaded = G.load_goals(again)
    assert [g.to_dict() for g in loaded] == [g.to_dict() for g in saved]
    changed = G.save_goal(again, G.Goal(**{**loaded[1].to_dict(), "target": 2500.0}))
    assert changed.id == loaded[1].id
    assert [g.target for g in G.load_goals(ws)] == [3000.0, 2500.0]
    G.remove_goal(ws, loaded[0])
    assert [g.scope for g in G.load_goals(ws)] == ["region:East"]


def test_every_scope(sample_data, maven_data):
    for data in (sample_data, maven_data):
        for sc in all_scopes(data):
            r = G.smart_check(good(scope=str(sc), deadline=f"{data.as_of.year + 1}-12-31"),
                              data)
            assert set(r.table["status"]) <= {"pass", "warn", "fail"}
            assert r.table["reason"].str.len().gt(0).all()
    r = G.smart_check(good(target=11e6, deadline="2018-12-31"), maven_data)
    assert r.baseline == pytest.approx(10_005_534)
    assert r.status("A") == "warn"  # one year of data: no growth history
