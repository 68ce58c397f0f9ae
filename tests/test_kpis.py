"""Step 3 KPI library: hand-computed values, statuses, missing data, Maven CRM facts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import all_scopes, orders_only_dataset
from test_market import make_tiny

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.steps import kpis as k
from salesplan_nb.steps import market as m


@pytest.fixture(scope="module")
def tiny():
    return make_tiny()


@pytest.fixture(scope="module")
def tiny_targets():
    t = pd.DataFrame({"scope_level": ["company", "rep", "region"],
                      "scope_id": [None, "R1", "East"], "period": ["2026", "2026", "2025"],
                      "amount": [4000.0, 2000.0, 2000.0]})
    return make_tiny(targets=t)


def _values(df: pd.DataFrame) -> dict[str, float]:
    return dict(zip(df["kpi"], df["value"]))


def test_kpis_by_hand(tiny):
    v = _values(k.compute_kpis(tiny, "company", "2025", spend=500, forecast=3000))
    assert v["bookings"] == 2700
    assert v["win_rate"] == pytest.approx(3 / 5)
    assert v["stage_conversion"] == pytest.approx(3 / 7)  # o4..o10 created in 2025, 3 won
    assert v["avg_deal_size"] == 900
    assert v["sales_cycle"] == pytest.approx((30 + 90 + 30) / 3)
    # opportunities worked in 2025 (o4..o10) x 900 x 0.6 / 50 days
    assert v["sales_velocity"] == pytest.approx(7 * 900 * 0.6 / 50)
    assert v["new_logos"] == 1  # A3: first win 2025; A1 first won in 2024
    assert v["logo_retention"] == pytest.approx(1 / 2)  # A1 bought again, A2 did not
    assert v["nrr"] == pytest.approx(1800 / 1500)
    cost = 1200 * 0.6 + 600 * 0.25 + 900 * 0.6  # amount x unit_cost / list_price
    assert v["gross_margin"] == pytest.approx((2700 - cost) / 2700)
    assert v["roi"] == pytest.approx((2700 - cost - 500) / 500)
    assert v["forecast_accuracy"] == pytest.approx(1 - 300 / 2700)


def test_second_method_agrees(tiny):
    """win rate and velocity from other functions give the same numbers."""
    for sc in ("company", "region:East", "region:West", "rep:R2", "account:A1"):
        wl = m.win_loss(tiny, sc, "2025", by=[])
        assert k.kpi_value(tiny, "win_rate", sc, "2025") == pytest.approx(
            wl["win_rate"].iloc[0])
        assert k.kpi_value(tiny, "bookings", sc, "2025") == pytest.approx(
            m.bookings(tiny, sc, "2025", None)["bookings"].iloc[0])
    v = _values(k.compute_kpis(tiny, "region:East", "2025"))
    n = len(k.active_opportunities(m.scoped_deals(tiny, m.resolve(tiny, "region:East")[0]),
                                   m.resolve(tiny, None, "2025")[1]))
    assert v["sales_velocity"] == pytest.approx(
        n * v["avg_deal_size"] * v["win_rate"] / v["sales_cycle"])


def test_status_against_targets(tiny):
    df = k.compute_kpis(tiny, None, "2025", targets={"win_rate": 0.7, "sales_cycle": 45,
                                                       "avg_deal_size": 800,
                                                       "new_logos": 1})
    s = dict(zip(df["kpi"], df["status"]))
    assert s["win_rate"] == "off track"      # 0.6 / 0.7 = 0.857 < 0.9
    assert s["sales_cycle"] == "at risk"     # lower is better: 45 / 50 = 0.9
    assert s["avg_deal_size"] == "on track"
    assert s["new_logos"] == "on track"
    assert s["bookings"] == "n/a"
    assert df.set_index("kpi").loc["bookings", "note"] == "no target set"
    kpi = k.get("win_rate")
    assert k.status_of(kpi, 0.5, 0.5) == "on track"
    assert k.status_of(kpi, 0.46, 0.5) == "at risk"
    assert k.status_of(kpi, 0.44, 0.5) == "off track"
    assert k.status_of(kpi, np.nan, 0.5) == "n/a"


def test_targets_table_and_coverage(tiny_targets):
    d = tiny_targets
    assert k.target_for(d, "company", "2026") == 4000
    assert k.target_for(d, "company", "2026-Q1") == pytest.approx(1000)  # pro-rated
    assert k.target_for(d, "rep:R1", "2026-H1") == pytest.approx(1000)
    assert k.target_for(d, "rep:R2", "2026") is None
    df = k.compute_kpis(d, "company", "2026-H1").set_index("kpi")
    # open pipeline: o9 700 + o10 valued at P2 list price 200 = 900; remaining 2000
    assert df.loc["pipeline_coverage", "value"] == pytest.approx(900 / 2000)
    assert df.loc["pipeline_coverage", "target"] == pytest.approx(1 / 0.6)  # 1 / win rate
    assert df.loc["pipeline_coverage", "status"] == "off track"
    assert "list price" in df.loc["pipeline_coverage", "note"]
    assert df.loc["win_rate", "status"] == "n/a"
    assert "has not started" in df.loc["win_rate", "note"]
    r1 = k.compute_kpis(d, "rep:R1", "2026-Q1").set_index("kpi")
    assert r1.loc["pipeline_coverage", "value"] == pytest.approx(700 / 500)
    assert r1.loc["pipeline_coverage", "status"] == "at risk"  # 1.4 vs 1 / (2/3) = 1.5
    east = k.compute_kpis(d, "region:East", "2025").set_index("kpi")
    assert east.loc["quota_attainment", "value"] == pytest.approx(1800 / 2000)
    assert east.loc["quota_attainment", "status"] == "at risk"
    assert east.loc["bookings", "target"] == 2000


def test_additive_target_prorated(sample_data):
    # sample as_of is 2026-06-30: half of 2026 elapsed, so bookings expected = target x 181/365
    df = k.compute_kpis(sample_data, "company", "2026").set_index("kpi")
    t = k.target_for(sample_data, "company", "2026")
    assert t and df.loc["bookings", "target"] == t
    assert df.loc["bookings", "expected"] == pytest.approx(t * 181 / 365)
    assert "pro-rated" in df.loc["bookings", "note"]


def test_missing_data_is_na_with_reason():
    d = make_tiny(unit_cost=False)
    df = k.compute_kpis(d, None, "2025").set_index("kpi")
    assert np.isnan(df.loc["gross_margin", "value"])
    assert df.loc["gross_margin", "status"] == "n/a"
    assert "unit_cost" in df.loc["gross_margin", "note"]
    assert "spend" in df.loc["roi", "note"]
    assert "forecast" in df.loc["forecast_accuracy", "note"]
    assert "no quota" in df.loc["quota_attainment", "note"]
    assert "is over" in df.loc["pipeline_coverage", "note"]
    roi = k.compute_kpis(d, None, "2025", names=["roi"], spend=1000).iloc[0]
    assert roi["value"] == pytest.approx((2700 - 1000) / 1000)
    assert "return = bookings" in roi["note"]


def test_registry_and_register(tiny):
    t = k.registry_table()
    assert {"win_rate", "sales_velocity", "nrr", "forecast_accuracy"} <= set(t["kpi"])
    with pytest.raises(ConfigError, match="already registered"):
        k.register(k.get("win_rate"))
    with pytest.raises(ConfigError, match="unknown KPI"):
        k.get("happiness")
    with pytest.raises(ConfigError, match="unit"):
        k.KPI("x", "X", "x", "parsecs", "higher", (), lambda c: 1.0)
    lost = k.KPI("lost_deals", "Lost deals", "count of lost deals", "count", "lower",
                 ("opportunities",), lambda c: float((c.closed["status"] == "lost").sum()))
    try:
        k.register(lost)
        df = k.compute_kpis(tiny, None, "2025", names=["lost_deals"], targets={"lost_deals": 2})
        assert df["value"].iloc[0] == 2 and df["status"].iloc[0] == "on track"
    finally:
        k.REGISTRY.pop("lost_deals", None)


def test_trend_funnel_and_chart(tiny, sample_data):
    tr = k.kpi_trend(tiny, "bookings", None, "2025", freq="Q")
    assert list(tr["value"]) == [1200, 600, 900, 0]
    f = k.stage_funnel(tiny, None, "2025")
    assert list(f["stage"]) == ["Engaging", "Won"]
    assert list(f["reached"]) == [7, 3]
    sf = k.stage_funnel(sample_data, None, "2025")
    assert list(sf["stage"]) == ["Prospecting", "Qualification", "Proposal", "Negotiation", "Won"]
    assert (sf["reached"].diff().dropna() <= 0).all()
    df = k.compute_kpis(tiny, None, "2025", targets={"win_rate": 0.5})
    assert k.chart_dashboard(df).to_dict()["layer"]
    assert k.format_value(0.634, "fraction") == "63.4%"
    assert k.format_value(np.nan, "USD") == "n/a"


def test_empty_scope(tiny):
    df = k.compute_kpis(tiny, "rep:Nobody", "2025")
    assert len(df) == len(k.REGISTRY) and "Rep Nobody" in df.attrs["note"]
    assert df.set_index("kpi").loc["bookings", "value"] == 0
    assert (df.set_index("kpi").loc[["win_rate", "sales_cycle", "nrr"], "status"] == "n/a").all()
    assert k.stage_funnel(tiny, "rep:Nobody", "2025").empty


# ---- Maven CRM -------------------------------------------------------------------------------------
def test_maven_kpis(maven_data, maven_dir):
    raw = pd.read_csv(maven_dir / "sales_pipeline.csv").merge(
        pd.read_csv(maven_dir / "sales_teams.csv"), on="sales_agent")
    df = k.compute_kpis(maven_data, None, "2017").set_index("kpi")
    assert df.loc["win_rate", "value"] == pytest.approx(4238 / (4238 + 2473))
    assert df.loc["bookings", "value"] == pytest.approx(10_005_534)
    assert df.loc["avg_deal_size", "value"] == pytest.approx(10_005_534 / 4238)
    won = raw[raw["deal_stage"] == "Won"]
    cycle = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["engage_date"])).dt.days
    assert df.loc["sales_cycle", "value"] == pytest.approx(cycle.mean())
    assert df.loc["new_logos", "value"] == won["account"].nunique()  # first year of data
    assert df.loc["gross_margin", "status"] == "n/a"  # Maven has no unit costs
    for office, g in raw.groupby("regional_office"):
        w, lo = (g["deal_stage"] == "Won").sum(), (g["deal_stage"] == "Lost").sum()
        assert k.kpi_value(maven_data, "win_rate", f"region:{office}", "2017") == \
            pytest.approx(w / (w + lo))


def test_every_scope_runs(sample_data, maven_data):
    for data, period in ((sample_data, "2025"), (maven_data, "2017")):
        for sc in all_scopes(data):
            df = k.compute_kpis(data, sc, period, spend=1000.0, forecast=1e5)
            assert len(df) == len(k.REGISTRY)
            assert set(df["status"]) <= set(k.STATUSES)
            assert df.loc[df["status"] == "n/a", "note"].str.len().gt(0).all()
            f = k.stage_funnel(data, sc, period)
            if data is sample_data and not f.empty:  # every sample deal has a created date
                assert f["reached"].iloc[-1] == pytest.approx(f["reached"].iloc[0] * df.set_index(
                    "kpi").loc["stage_conversion", "value"])
            tr = k.kpi_trend(data, "bookings", sc, period, freq="Q")
            assert tr["value"].sum() == pytest.approx(df.set_index("kpi").loc["bookings",
                                                                              "value"])


def test_kpi_targets_in_workspace(tmp_path, tiny):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "plan", data=tiny)
    k.save_kpi_targets(ws, {"win_rate": 0.65, "sales_cycle": 40}, "region:East", by="ana")
    again = Workspace.open(tmp_path / "plan")
    assert k.load_kpi_targets(again, "region:East") == {"win_rate": 0.65, "sales_cycle": 40.0}
    assert k.load_kpi_targets(again, "company") == {}
    k.save_kpi_targets(ws, {"nrr": 1.1})
    assert k.load_kpi_targets(ws) == {"nrr": 1.1} == ws.get("kpis", "targets")
    with pytest.raises(ConfigError, match="unknown KPI"):
        k.save_kpi_targets(ws, {"mood": 1.0})
    with pytest.raises(ConfigError, match="must be a number"):
        k.save_kpi_targets(ws, {"win_rate": "high"})


def test_orders_only_data_has_no_win_rate():
    d = orders_only_dataset()
    df = k.compute_kpis(d, None, "2025").set_index("kpi")
    assert df.loc["bookings", "value"] == 40 and df.loc["new_logos", "value"] == 2
    assert df.loc["win_rate", "status"] == "n/a"
    assert df.loc["win_rate", "note"] == "n/a (no pipeline in the source)"
    assert df.loc["sales_velocity", "status"] == "n/a"
