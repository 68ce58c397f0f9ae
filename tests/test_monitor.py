"""Monitor: plan vs actual, run rate, variance explained, alerts, reviews."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import busiest_scope

from salesplan_nb import Dataset, Scope
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.steps import monitor as M

LEVELS = ("company", "region", "territory", "rep", "account")


def _data() -> Dataset:
    """2023: every month rep A (region East) wins 1 x 100 and loses 1; rep B (West) the same.
    2024 to as_of 2024-06-30: A wins 2 x 150 and loses 1 a month; B wins nothing, loses 2.
    Targets 2024: company 2,640; region East 1,320, West 1,320."""
    rows = []
    for m in range(1, 13):
        for rep in ("A", "B"):
            d = pd.Timestamp(2023, m, 10)
            rows += [{"owner_id": rep, "status": "won", "close_date": d, "amount": 100.0},
                     {"owner_id": rep, "status": "lost", "close_date": d, "amount": 0.0}]
    for m in range(1, 7):
        d = pd.Timestamp(2024, m, 10)
        rows += [{"owner_id": "A", "status": "won", "close_date": d, "amount": 150.0}] * 2
        rows += [{"owner_id": "A", "status": "lost", "close_date": d, "amount": 0.0}]
        rows += [{"owner_id": "B", "status": "lost", "close_date": d, "amount": 0.0}] * 2
    o = pd.DataFrame(rows)
    o["opportunity_id"] = [f"O{i}" for i in range(len(o))]
    o["stage"] = o["status"]
    o["created_date"] = o["close_date"] - pd.Timedelta(days=20)
    o["account_id"] = np.where(o["owner_id"] == "A", "X", "Y")
    reps = pd.DataFrame({"rep_id": ["A", "B"], "name": ["Ann", "Bob"],
                         "region": ["East", "West"], "territory": ["E1", "W1"]})
    targets = pd.DataFrame({"scope_level": ["company", "region", "region"],
                            "scope_id": [None, "East", "West"], "period": ["2024"] * 3,
                            "metric": ["bookings"] * 3, "amount": [2640.0, 1320.0, 1320.0]})
    return Dataset(accounts=pd.DataFrame({"account_id": ["X", "Y"], "name": ["X", "Y"]}),
                   opportunities=o, reps=reps, targets=targets,
                   products=pd.DataFrame({"product_id": ["P"], "name": ["P"]}),
                   as_of="2024-06-30")


def test_plan_vs_actual_by_hand():
    d = _data()
    p = M.plan_vs_actual(d, "region:East", "2024")
    assert p.plan_source.startswith("target 2024")
    t = p.table
    # flat prior year -> 1,320 / 12 = 110 a month; actual 300 a month to June, then unknown
    assert t["plan"].to_numpy() == pytest.approx([110.0] * 12)
    assert t["actual"].iloc[:6].tolist() == [300.0] * 6 and t["actual"].iloc[6:].isna().all()
    assert p.plan_to_date == pytest.approx(660) and p.actual_to_date == pytest.approx(1800)
    assert t["cum_attainment"].iloc[5] == pytest.approx(1800 / 660)


def test_plan_fallbacks():
    d = _data()
    # a quarter takes its share of the year's target (flat prior year: 3/12 of 1,320)
    s, src = M.plan_series(d, "region:West", "2024-Q1")
    assert src.startswith("target 2024 pro-rated") and s.sum() == pytest.approx(330)
    s, src = M.plan_series(d, "rep:A", "2024", plan=1200)
    assert s.sum() == pytest.approx(1200) and "given" in src
    s, src = M.plan_series(d, "rep:A", "2024")
    assert s.sum() == pytest.approx(1.1 * 1200) and "110%" in src
    with pytest.raises(ConfigError, match="lacks months"):
        M.plan_series(d, "company", "2024", plan=pd.Series({"2024-01": 1.0}))


def test_run_rate_by_hand():
    d = _data()
    rr = M.run_rate(d, "rep:A", "2024")
    share = (pd.Timestamp("2024-07-01") - pd.Timestamp("2024-01-01")).days / 366
    assert rr.elapsed_share == pytest.approx(share)
    assert rr.linear == pytest.approx(1800 / share)
    assert rr.prior_share == pytest.approx(0.5)  # flat prior year, 6 of 12 months
    assert rr.seasonal == pytest.approx(3600)


def test_shapley_split_is_exact_and_symmetric():
    parts = M.shapley3((10, 0.5, 100), (12, 0.5, 100))
    assert parts == pytest.approx([100, 0, 0])
    x0, x1 = (10, 0.4, 90), (13, 0.55, 70)
    parts = M.shapley3(x0, x1)
    assert parts.sum() == pytest.approx(np.prod(x1) - np.prod(x0))


def test_variance_explained_hand_and_exact():
    d = _data()
    v = M.variance_explained(d, "region:East", "2024")
    drv = v.drivers.set_index("driver")
    # plan: prior-year win rate 0.5 and deal 100 -> 660 / 50 = 13.2 decided deals
    assert drv.loc["closed_deals", "plan"] == pytest.approx(13.2)
    assert drv.loc["closed_deals", "actual"] == 18
    assert drv.loc["win_rate", "actual"] == pytest.approx(2 / 3)
    assert drv.loc["avg_won_deal", "actual"] == pytest.approx(150)
    tab = v.table.set_index("component")["amount"]
    assert tab["total"] == pytest.approx(1800 - 660)
    assert tab[["volume", "win_rate", "price"]].sum() == pytest.approx(tab["total"])
    assert (tab[["volume", "win_rate", "price"]] > 0).all()


def test_alerts_flag_the_region_behind():
    d = _data()
    a = M.alerts(d, "region", "2024", threshold=0.1)
    assert a["scope_id"].tolist() == ["West"]
    assert "behind plan" in a["message"].iloc[0]
    s = M.status_by_scope(d, "region", "2024").set_index("scope_id")
    assert s.loc["East", "status"] == "ok"
    with pytest.raises(ConfigError):
        M.alerts(d, "region", "2024", threshold=2)
    with pytest.raises(ConfigError, match="cannot read period"):
        M.plan_vs_actual(d, "company", "last year")


@pytest.mark.parametrize("which,period,plan", [("sample_data", "2026", None),
                                               ("maven_data", "2017-H2", 5_000_000.0)])
@pytest.mark.parametrize("level", LEVELS)
def test_every_scope_level(request, which, period, plan, level):
    data = request.getfixturevalue(which)
    scope = busiest_scope(data, level)
    p = M.plan_vs_actual(data, scope, period, plan)
    assert len(p.table) == (6 if period.endswith("H2") else 12)
    assert (p.table["actual"].dropna() >= 0).all()
    rr = M.run_rate(data, scope, period, plan)
    assert rr.actual_to_date == pytest.approx(p.actual_to_date)
    v = M.variance_explained(data, scope, period, plan)
    tab = v.table.set_index("component")["amount"]
    assert tab[["volume", "win_rate", "price"]].sum() == pytest.approx(tab["total"])


@pytest.mark.parametrize("which,period", [("sample_data", "2026"), ("sample_data", "2026-Q2"),
                                          ("maven_data", "2017-H2")])
@pytest.mark.parametrize("level", LEVELS)
def test_status_by_scope_matches_scope_by_scope(request, which, period, level):
    """The all-scopes computation equals plan_vs_actual + run_rate run one scope at a time."""
    data = request.getfixturevalue(which)
    s = M.status_by_scope(data, level, period)
    assert len(s) >= 1
    for _, row in s.head(4).iterrows():
        sc = Scope(level, None if level == "company" else row["scope_id"])
        pva = M.plan_vs_actual(data, sc, period)
        rr = M.run_rate(data, sc, period)
        assert row["plan_to_date"] == pytest.approx(pva.plan_to_date)
        assert row["actual_to_date"] == pytest.approx(pva.actual_to_date)
        assert row["plan_total"] == pytest.approx(rr.plan_total)
        if np.isfinite(rr.seasonal):
            assert row["projection"] == pytest.approx(rr.seasonal)


def test_maven_actuals_match_the_facts(maven_data):
    p = M.plan_vs_actual(maven_data, "company", "2017", plan=12_000_000)
    assert p.actual_to_date == pytest.approx(10_005_534)
    assert p.plan_to_date == pytest.approx(12_000_000)


def test_empty_scope_gives_labelled_result(sample_data):
    p = M.plan_vs_actual(sample_data, "region:Nowhere", "2026")
    assert "no deals in Region Nowhere" in p.note and p.actual_to_date == 0
    v = M.variance_explained(sample_data, "region:Nowhere", "2026")
    assert (v.table["amount"] == 0).all() and "Region Nowhere" in v.note


def test_reviews_are_kept_in_the_workspace(tmp_path):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "plan", data=_data(), period="2024")
    item = M.record_review(ws, "region:West", "2024", "pipeline thin", ["hire SDR"],
                           by="manager")
    assert item["actual_to_date"] == 0 and item["plan_to_date"] == pytest.approx(660)
    r = M.reviews(Workspace.open(tmp_path / "plan"), "region:West")
    assert len(r) == 1 and r["by"].iloc[0] == "manager" and r["actions"].iloc[0] == ["hire SDR"]


def test_charts_are_valid_vega_lite():
    d = _data()
    for chart in (M.chart_plan_vs_actual(M.plan_vs_actual(d, "company", "2024")),
                  M.chart_variance(M.variance_explained(d, "company", "2024"))):
        assert "$schema" in chart.to_dict()


def test_a_quota_plan_is_the_plan(sample_data):
    q = pytest.importorskip("salesplan_nb.steps.quotas")
    qp = q.quotas(sample_data, None, "2026")
    region = qp.level("region").iloc[0]
    s, src = M.plan_series(sample_data, f"region:{region['unit_id']}", "2026", plan=qp)
    assert s.sum() == pytest.approx(region["quota"]) and "quotas.py" in src
    with pytest.raises(ConfigError, match="no Region Nowhere"):
        M.plan_series(sample_data, "region:Nowhere", "2026", plan=qp)
