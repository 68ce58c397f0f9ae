"""Evaluate: attainment, forecast accuracy, tactic ROI, lessons -> next plan defaults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import busiest_scope

from salesplan_nb import Dataset
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.steps import evaluate as E
from salesplan_nb.steps import forecast as F

LEVELS = ("company", "region", "territory", "rep", "account")


def _data() -> Dataset:
    """2023: reps A, B, C (A, B in territory T1 / region East; C in T2 / West) each win 100 a
    month in segment SMB. 2024 (as_of 2024-12-31): A wins 200 a month, B 100, C 50; B's deals
    from April are Enterprise. Losses: one per rep-month in both years."""
    rows = []
    for y, amounts in ((2023, {"A": 100, "B": 100, "C": 100}),
                       (2024, {"A": 200, "B": 100, "C": 50})):
        for m in range(1, 13):
            d = pd.Timestamp(y, m, 10)
            for rep, amt in amounts.items():
                seg = "Enterprise" if (y == 2024 and rep == "B" and m >= 4) else "SMB"
                rows.append({"owner_id": rep, "status": "won", "close_date": d,
                             "amount": float(amt), "account_id": f"{rep}-{seg}"})
                rows.append({"owner_id": rep, "status": "lost", "close_date": d,
                             "amount": 0.0, "account_id": f"{rep}-{seg}"})
    o = pd.DataFrame(rows)
    o["opportunity_id"] = [f"O{i}" for i in range(len(o))]
    o["stage"] = o["status"]
    o["created_date"] = o["close_date"] - pd.Timedelta(days=30)
    accounts = pd.DataFrame({"account_id": sorted(o["account_id"].unique())})
    accounts["name"] = accounts["account_id"]
    accounts["segment"] = accounts["account_id"].str.split("-").str[1]
    reps = pd.DataFrame({"rep_id": ["A", "B", "C"], "name": ["Ann", "Bob", "Cy"],
                         "region": ["East", "East", "West"], "territory": ["T1", "T1", "T2"]})
    targets = pd.DataFrame({"scope_level": ["territory", "territory"], "scope_id": ["T1", "T2"],
                            "period": ["2024", "2024"], "metric": ["bookings"] * 2,
                            "amount": [3000.0, 1000.0]})
    return Dataset(accounts=accounts, opportunities=o, reps=reps, targets=targets,
                   products=pd.DataFrame({"product_id": ["P"], "name": ["P"]}),
                   as_of="2024-12-31")


def test_quotas_from_territory_targets_split_by_prior_year_share():
    q, src = E.rep_quotas(_data(), "2024")
    # T1 3,000 split A:B by 2023 bookings 1,200:1,200; T2 1,000 all to C
    assert q.to_dict() == pytest.approx({"A": 1500.0, "B": 1500.0, "C": 1000.0})
    assert src.startswith("territory targets 2024")


def test_attainment_distribution_by_hand():
    a = E.attainment_distribution(_data(), "company", "2024")
    att = a.table.set_index("rep_id")["attainment"]
    assert att.to_dict() == pytest.approx({"A": 2400 / 1500, "B": 1200 / 1500, "C": 600 / 1000})
    assert a.summary["reps"] == 3 and a.summary["share_100"] == pytest.approx(1 / 3)
    assert a.summary["share_80"] == pytest.approx(2 / 3)
    assert a.summary["median"] == pytest.approx(0.8)
    assert a.bins.set_index("band")["reps"].to_dict() == {
        "<50%": 0, "50-80%": 1, "80-100%": 1, "100-120%": 0, ">=120%": 1}
    given = pd.DataFrame({"rep_id": ["A"], "quota": [4800.0]})
    a = E.attainment_distribution(_data(), "rep:A", "2024", quotas=given)
    assert a.table["attainment"].tolist() == [0.5] and a.quota_source == "given quotas"


def test_forecast_accuracy_by_hand():
    d = _data()
    fc = pd.DataFrame({"month": ["2024-11", "2024-12", "2025-01"],
                       "model": [400.0, 300.0, 999.0], "baseline": [350.0, 350.0, 350.0]})
    acc = E.forecast_accuracy(d, fc)
    assert len(acc.table) == 2  # 2025-01 is not complete yet
    err = acc.errors.set_index("method")
    # actual 350 both months: model |50| + |-50| = 100 / 700
    assert err.loc["model", "wape"] == pytest.approx(100 / 700)
    assert err.loc["model", "bias"] == pytest.approx(0.0)
    assert err.loc["baseline", "wape"] == pytest.approx(0.0)
    with pytest.raises(ConfigError, match="month"):
        E.forecast_accuracy(d, fc.drop(columns="month"))


def test_tactic_roi_difference_in_differences_by_hand():
    d = _data()
    roi = E.tactic_roi(d, [{"name": "T1 push", "budget": 500.0, "start": "2024-01-01",
                            "end": "2024-12", "scope": "territory:T1"}]).iloc[0]
    # target T1: 3,600 now vs 2,400 a year earlier; control T2: 600 vs 1,200 -> growth 0.5
    assert roi["target_now"] == 3600 and roi["target_before"] == 2400
    assert roi["control_growth"] == pytest.approx(0.5)
    assert roi["incremental"] == pytest.approx(3600 - 2400 * 0.5)
    assert roi["roi"] == pytest.approx((2400 - 500) / 500)
    seg = E.tactic_roi(d, [{"name": "ent", "budget": 100, "start": "2024-04-01",
                            "end": "2024-12-31", "segment": "Enterprise"}]).iloc[0]
    assert np.isnan(seg["incremental"]) and "year earlier" in seg["note"]
    with pytest.raises(ConfigError, match="start and end"):
        E.tactic_roi(d, [{"name": "x", "budget": 1}])


def test_lessons_carry_into_next_plan_defaults(tmp_path):
    from salesplan_nb.data.workspace import Workspace

    d = _data()
    ws = Workspace.create(tmp_path / "plan", data=d, period="2024")
    base = E.next_plan_defaults(d, "2024").set_index("key")["value"]
    # 2024 bookings 4,200 vs 3,600 in 2023; win rate 36/72; 4,200 / 36 won deals
    assert base["growth"] == pytest.approx(4200 / 3600 - 1)
    assert base["target"] == pytest.approx(4200 * 4200 / 3600)
    assert base["win_rate"] == pytest.approx(0.5)
    assert base["deal_size"] == pytest.approx(4200 / 36)
    assert base["cycle_days"] == 30
    E.add_lesson(ws, "discounting hurt win rate", driver="win_rate", adjustment=-0.1,
                 evidence="Q3 review", by="vp")
    with pytest.raises(ConfigError):
        E.add_lesson(ws, "x", driver="charisma", adjustment=0.1)
    with pytest.raises(ConfigError):
        E.add_lesson(ws, "x", adjustment=0.1)
    E.add_lesson(ws, "deal size grew with the new bundle", driver="deal_size")  # tag only
    assert len(E.lessons(ws)) == 2
    nxt = E.next_plan_defaults(d, "2024", ws=Workspace.open(tmp_path / "plan")).set_index("key")
    assert nxt.loc["win_rate", "value"] == pytest.approx(0.45)
    assert "discounting hurt win rate" in nxt.loc["win_rate", "basis"]
    assert nxt.loc["deal_size", "value"] == pytest.approx(4200 / 36)
    E.save_next_plan_defaults(ws, nxt.reset_index())
    assert ws.get("next_plan", "win_rate")["value"] == pytest.approx(0.45)


def test_forecast_snapshot_round_trip(tmp_path, sample_data):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "plan", data=sample_data)
    r = F.forecast(sample_data, horizon=3, n_origins=1, backtest_horizon=1)
    E.save_forecast_snapshot(ws, r, "q3")
    back = ws.load_output("forecast", "q3")
    acc = E.forecast_accuracy(sample_data, back)
    assert len(acc.table) == 0 and "complete yet" in acc.note


def test_forecast_made_earlier_is_scored_against_later_actuals(maven_data):
    tables = {k: v for k, v in maven_data.tables.items()}
    early = Dataset(**tables, as_of="2017-09-30")
    r = F.forecast(early, horizon=3, n_origins=2, backtest_horizon=1)
    acc = E.forecast_accuracy(maven_data, r.table)
    actual = F.monthly_bookings(maven_data).loc["2017-10":"2017-12"].to_numpy()
    assert acc.table["actual"].to_numpy() == pytest.approx(actual)
    f = r.table["model"].to_numpy()
    err = acc.errors.set_index("method")
    assert err.loc["model", "wape"] == pytest.approx(np.abs(f - actual).sum() / actual.sum())


@pytest.mark.parametrize("which,period", [("sample_data", "2025"), ("maven_data", "2017")])
@pytest.mark.parametrize("level", LEVELS)
def test_every_scope_level(request, which, period, level):
    data = request.getfixturevalue(which)
    scope = busiest_scope(data, level)
    reps = data.reps["rep_id"].astype(str)
    quotas = pd.DataFrame({"rep_id": reps, "quota": 100_000.0})
    a = E.attainment_distribution(data, scope, period, quotas=quotas)
    assert len(a.table) >= 1 and (a.table["attainment"].dropna() >= 0).all()
    assert a.bins["reps"].sum() == a.summary["reps"]
    nd = E.next_plan_defaults(data, period, scope)
    assert set(nd["key"]) == set(E.DEFAULT_KEYS)
    assert 0 <= nd.set_index("key").loc["win_rate", "value"] <= 1
    assert isinstance(E.suggest_lessons(data, period, scope), list)
    hist = F.monthly_bookings(data, scope).iloc[-6:]
    fc = pd.DataFrame({"month": hist.index.astype(str), "model": hist.to_numpy() * 1.1})
    acc = E.forecast_accuracy(data, fc, scope)
    if hist.sum() > 0:  # a forecast 10% high everywhere has WAPE and bias 10%
        err = acc.errors.set_index("method").loc["model"]
        assert err["wape"] == pytest.approx(0.1) and err["bias"] == pytest.approx(0.1)
    roi = E.tactic_roi(data, [{"name": "t", "budget": 1000.0, "start": f"{period[:4]}-07-01",
                               "end": f"{period[:4]}-12-31", "scope": str(scope)}])
    assert len(roi) == 1 and roi["method"].iloc[0].startswith("difference in differences")


def test_empty_scope_gives_empty_labelled_result(sample_data):
    a = E.attainment_distribution(sample_data, "region:Nowhere", "2025")
    assert len(a.table) == 0 and "attainment" in a.table.columns
    assert "Region Nowhere" in a.note and a.summary["reps"] == 0


def test_charts_are_valid_vega_lite():
    d = _data()
    roi = E.tactic_roi(d, [{"name": "T1 push", "budget": 500.0, "start": "2024-01-01",
                            "end": "2024-12", "scope": "territory:T1"}])
    for chart in (E.chart_attainment(E.attainment_distribution(d, "company", "2024")),
                  E.chart_tactic_roi(roi)):
        assert "$schema" in chart.to_dict()


def test_attainment_against_a_quota_plan(sample_data):
    q = pytest.importorskip("salesplan_nb.steps.quotas")
    qp = q.quotas(sample_data, None, "2026")
    a = E.attainment_distribution(sample_data, "company", "2026", quotas=qp)
    reps = qp.level("rep").set_index("unit_id")["quota"]
    t = a.table.set_index("rep_id")
    assert a.quota_source == "quotas.py plan"
    for rid in t.index[:5]:
        assert t.loc[rid, "quota"] == pytest.approx(reps[rid])


def test_roi_of_strategy_tactics(tmp_path):
    strategy = pytest.importorskip("salesplan_nb.steps.strategy")
    from salesplan_nb.data.workspace import Workspace

    d = _data()
    ws = Workspace.create(tmp_path / "plan", data=d, period="2024")
    t = strategy.Tactic(name="T1 push", category="promotions", driver="pipeline", effect=10,
                        start="2024-01-01", end="2024-12-31", scope="territory:T1",
                        budget=500)
    strategy.save_tactic(ws, t)
    roi = E.tactic_roi(d, ws=ws).iloc[0]
    assert roi["incremental"] == pytest.approx(2400) and roi["roi"] == pytest.approx(3.8)
    assert E.tactic_roi(d, [t]).iloc[0]["incremental"] == pytest.approx(2400)


def test_defaults_become_a_what_if_scenario():
    from salesplan_nb.steps import scenarios as S
    d = _data()
    model = S.build(d, "2025", assumptions=S.Assumptions(attrition=0.0))
    defaults = E.next_plan_defaults(d, "2024", lessons_=[
        {"id": "l1", "text": "win rate will drop", "driver": "win_rate", "adjustment": -0.2}])
    sc = E.defaults_as_scenario(defaults, model)
    ch = {c.driver: c.value for c in sc.changes}
    base = model.recompute()
    # 2024 win rate 0.5 x (1 - 20%) = 0.4 against the model's base rate
    assert ch["win_rate"] == pytest.approx(0.4 / base.total("company", "win_rate") - 1)
    assert ch["deal_size"] == pytest.approx((4200 / 36) / base.total("company", "deal_size") - 1)
    assert "attrition" not in ch  # base attrition 0: no relative change possible
    moved = model.recompute(sc).total("company")
    assert moved < base.total("company")


def test_fiscal_year_periods_follow_the_data_fiscal_year_start():
    """FY2024 with fiscal_year_start 7 is 2023-07-01..2024-06-30 (issue 12): evaluate parses
    it with the one period rule, and quarterly fiscal targets roll up to the fiscal year."""
    d = _data()
    d = Dataset(**{**d.tables, "targets": pd.DataFrame({
        "scope_level": ["rep"] + ["territory"] * 5, "scope_id": ["A"] + ["T1"] * 4 + ["T2"],
        "period": ["FY2024", "FY2024-Q1", "FY2024-Q2", "FY2024-Q3", "FY2024-Q4", "FY2024"],
        "metric": "bookings", "amount": [1200.0, 750.0, 750.0, 750.0, 750.0, 1000.0]})},
        as_of="2024-12-31", fiscal_year_start=7)
    p = E.parse_period(d, "FY2024")
    assert (p.start, p.end) == (pd.Timestamp("2023-07-01"), pd.Timestamp("2024-07-01"))
    a = E.attainment_distribution(d, "rep:A", "FY2024")
    assert a.period.start == pd.Timestamp("2023-07-01")
    # A won 100 a month Jul-Dec 2023 and 200 a month Jan-Jun 2024: 1,800 against 1,200
    assert a.table.set_index("rep_id").loc["A", "bookings"] == pytest.approx(1800.0)
    assert a.table.set_index("rep_id").loc["A", "attainment"] == pytest.approx(1.5)
    no_rep = Dataset(**{**d.tables, "targets": d.targets[d.targets["scope_level"] != "rep"]},
                     as_of="2024-12-31", fiscal_year_start=7)
    q, src = E.rep_quotas(no_rep, "FY2024")
    # T1's four fiscal quarters (3,000) split A:B by FY2023 bookings 600:600; T2 1,000 to C
    assert q.to_dict() == pytest.approx({"A": 1500.0, "B": 1500.0, "C": 1000.0})
    assert src == "territory targets FY2024 split by prior-year bookings share"
    rows = E.next_plan_defaults(d, "FY2024").set_index("key")
    assert rows.loc["target", "basis"] == "bookings FY2024 x (1 + growth)"
    with pytest.raises(ConfigError, match="cannot read period 'FY24'"):
        E.attainment_distribution(d, "company", "FY24")
