"""Forecast: seasonal-naive baseline, ETS, pipeline-weighted, blend and rolling backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import busiest_scope

from salesplan_nb import Dataset
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Scope
from salesplan_nb.steps import forecast as F
from salesplan_nb.steps import reconcile as R

LEVELS = ("company", "region", "territory", "rep", "account")


def _data(opps: list[dict], as_of: str) -> Dataset:
    o = pd.DataFrame(opps)
    o["opportunity_id"] = [f"O{i}" for i in range(len(o))]
    o["product_id"] = "P"
    reps = pd.DataFrame({"rep_id": ["A"], "name": ["Rep A"], "region": ["R1"],
                         "territory": ["T1"]})
    acc = pd.DataFrame({"account_id": ["X"], "name": ["X"]})
    prods = pd.DataFrame({"product_id": ["P"], "name": ["P"]})
    return Dataset(accounts=acc, opportunities=o.assign(account_id="X", owner_id="A"),
                   reps=reps, products=prods, as_of=as_of)


def test_seasonal_naive_repeats_last_year_and_falls_back_to_naive():
    hist = pd.Series(np.arange(1, 25, dtype=float))
    fc, method = F.seasonal_naive(hist, 14)
    assert fc.tolist() == [*range(13, 25), 13, 14]
    assert "seasonal naive" in method
    fc, method = F.seasonal_naive(hist, 2, growth=True)
    g = sum(range(13, 25)) / sum(range(1, 13))
    assert fc.tolist() == pytest.approx([13 * g, 14 * g]) and "growth" in method
    fc, method = F.seasonal_naive(pd.Series([5.0, 7.0, 9.0]), 4)
    assert fc.tolist() == [9.0] * 4 and "naive" in method and "need 12" in method


def test_ets_seasonal_tracks_a_clean_seasonal_series_and_is_non_negative():
    m = np.arange(48)
    y = 1000 * (1 + 0.01 * m) * (1 + 0.4 * np.sin(2 * np.pi * m / 12))
    fc, method = F.ets_forecast(pd.Series(y[:36]), 12)
    assert "seasonality" in method and len(fc) == 12
    assert np.abs(fc - y[36:]).sum() / y[36:].sum() < 0.05
    down = pd.Series(np.linspace(1000, 100, 10))
    fc, method = F.ets_forecast(down, 24)
    assert len(fc) == 24 and (fc >= 0).all() and "Holt" in method
    with pytest.raises(ConfigError):
        F.ets_forecast(down, 3, seasonal="multiplicative")


def test_monthly_bookings_matches_maven_facts(maven_data):
    s = F.monthly_bookings(maven_data)
    assert s.sum() == pytest.approx(10_005_534)
    assert str(s.index[0]) == "2017-03" and str(s.index[-1]) == "2017-12" and len(s) == 10


def test_stage_probabilities_lost_at_stage_hand_calc():
    d = _data([
        {"stage": "Won", "status": "won", "created_date": "2024-01-01",
         "close_date": "2024-02-01", "amount": 100.0},
        {"stage": "Won", "status": "won", "created_date": "2024-01-01",
         "close_date": "2024-02-01", "amount": 100.0},
        {"stage": "Qualify", "status": "lost", "created_date": "2024-01-01",
         "close_date": "2024-02-01", "amount": 0.0},
        {"stage": "Qualify", "status": "lost", "created_date": "2024-01-01",
         "close_date": "2024-02-01", "amount": 0.0},
        {"stage": "Propose", "status": "lost", "created_date": "2024-01-01",
         "close_date": "2024-02-01", "amount": 0.0},
        {"stage": "Qualify", "status": "open", "created_date": "2024-05-01",
         "close_date": None, "amount": 50.0},
        {"stage": "Propose", "status": "open", "created_date": "2024-04-01",
         "close_date": None, "amount": 70.0},
    ], "2024-06-30")
    p = F.stage_probabilities(d, stage_order=["Qualify", "Propose"]).set_index("stage")
    # open at Qualify: 2 won vs 3 lost at Qualify or later; at Propose: 2 won vs 1 lost
    assert p.loc["Qualify", "p_win"] == pytest.approx(2 / 5)
    assert p.loc["Propose", "p_win"] == pytest.approx(2 / 3)
    assert (p["method"] == "lost-at-stage").all()
    # inferred order (median age of open deals): Qualify (younger) before Propose
    assert F.stage_probabilities(d).set_index("stage").loc["Qualify", "p_win"] == \
        pytest.approx(0.4)


def test_pipeline_forecast_age_conditioned_hand_calc():
    closed = [{"stage": "Won" if i < 4 else "Lost", "status": "won" if i < 4 else "lost",
               "created_date": "2024-01-01", "close_date": "2024-03-01",  # 60 days
               "amount": 100.0 if i < 4 else 0.0} for i in range(8)]
    opened = [{"stage": "Engaging", "status": "open", "created_date": "2024-06-20",
               "close_date": None, "amount": 1000.0}]
    d = _data(closed + opened, "2024-06-30")
    pf = F.pipeline_forecast(d, horizon=4)
    # age 11 days at 2024-07-01: W=4, L=4, S=1 -> (4 + 10*0.5)/(8 + 10) = 0.5;
    # remaining median 60 - 11 = 49 days -> 2024-08-19: all in August
    assert pf["pipeline"].tolist() == pytest.approx([0.0, 500.0, 0.0, 0.0])
    assert str(pf["month"].iloc[0]) == "2024-07"


def test_backtest_uses_only_data_before_each_origin(sample_data):
    bt = F.backtest(sample_data, n_origins=2, horizon=2)
    first = pd.Period(bt.rows["origin"].iloc[0], "M")
    y = F.monthly_bookings(sample_data)
    spec = F.ets_spec(y.loc[:first - 1])  # ETS parameters: data before the first origin only
    origin = pd.Period(bt.rows["origin"].iloc[-1], "M")
    hist = y.loc[:origin - 1]
    base, _ = F.seasonal_naive(hist, 2)
    rows = bt.rows[bt.rows["origin"] == str(origin)]
    assert rows["baseline"].to_numpy() == pytest.approx(base[:len(rows)])
    assert rows["model"].to_numpy() == pytest.approx(F.ets_apply(spec, hist, len(rows)))
    for b, w in bt.weights.items():
        assert sum(w.values()) == pytest.approx(1.0) and b >= 0
    wape = bt.errors.set_index("method")["wape"]
    assert np.isfinite(wape).all()
    full = bt.rows
    assert wape["baseline"] == pytest.approx(np.abs(full["baseline"] - full["actual"]).sum()
                                             / full["actual"].sum())


def test_maven_short_history_is_reported_honestly(maven_data):
    r = F.forecast(maven_data, n_origins=3, horizon=6)
    assert "need 12" in r.methods["baseline"]
    assert "< 24" in r.methods["model"]
    assert set(r.backtest.errors["method"]) == {*F.METHODS, "forecast"}
    assert (r.backtest.errors["n"] > 0).all()


@pytest.mark.parametrize("which", ["sample_data", "maven_data"])
@pytest.mark.parametrize("level", LEVELS)
def test_forecast_runs_at_every_scope_level(request, which, level):
    data = request.getfixturevalue(which)
    scope = busiest_scope(data, level)
    r = F.forecast(data, scope, horizon=6, n_origins=2, backtest_horizon=2)
    assert len(r.table) == 6
    vals = r.table[list(F.METHODS)].to_numpy()
    assert np.isfinite(vals).all() and (vals >= 0).all()
    assert r.scope == scope


def test_forecast_for_a_period_shows_actuals_then_forecasts(sample_data):
    r = F.forecast(sample_data, period="2026", n_origins=2, backtest_horizon=1)
    assert len(r.table) == 12
    assert r.table["actual"].iloc[:6].notna().all() and r.table["blend"].iloc[:6].isna().all()
    assert r.table["blend"].iloc[6:].notna().all()


def test_a_later_period_is_forecast_from_the_end_of_history(sample_data):
    later = F.forecast(sample_data, period="2027", n_origins=1, backtest_horizon=1)
    ahead = F.forecast(sample_data, horizon=18, n_origins=1, backtest_horizon=1)
    assert later.table["month"].astype(str).tolist()[0] == "2027-01"
    assert later.table["model"].to_numpy() == pytest.approx(ahead.table["model"].iloc[6:])
    assert later.table["actual"].isna().all()


def test_empty_scope_gives_zero_forecast_with_note(sample_data):
    r = F.forecast(sample_data, "region:Nowhere", horizon=3, n_origins=2)
    assert len(r.table) == 3 and (r.table[list(F.METHODS)].to_numpy() == 0).all()
    assert "Region Nowhere" in r.note
    assert F.stage_probabilities(sample_data, "region:Nowhere").empty


def test_bad_horizon_is_a_clear_error(sample_data):
    with pytest.raises(ConfigError, match="horizon"):
        F.forecast(sample_data, horizon=0)


def test_charts_are_valid_vega_lite(sample_data):
    r = F.forecast(sample_data, horizon=3, n_origins=1, backtest_horizon=1)
    for chart in (F.chart_forecast(r), F.chart_backtest(r)):
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        assert "$schema" in spec


def _without_open_deals(data: Dataset) -> Dataset:
    o = data.opportunities
    return Dataset(accounts=data.accounts, opportunities=o[o["status"] != "open"],
                   reps=data.reps, products=data.products, as_of=data.as_of)


def test_zero_pipeline_gets_zero_weight(sample_data):
    """No open deals: the pipeline component is all zeros and gets no blend weight, so the
    blend is the other components' weighted sum (it never drags the forecast down)."""
    data = _without_open_deals(sample_data)
    r = F.forecast(data, period="2027")
    t = r.table
    assert (t["pipeline"] == 0).all()
    steps = len(t)
    for k in range(1, 7 + steps):
        assert F.blend_weights(r.backtest, k, pipeline=False)["pipeline"] == 0
    assert "weight 0" in r.methods["pipeline"]
    assert (t["blend"] >= t[["baseline", "drift", "model", "pooled"]].min(axis=1) - 1e-6).all()


def test_intervals_widen_with_horizon_and_report_coverage(sample_data):
    r = F.forecast(sample_data, period="2027")
    f = r.backtest.factors
    assert len(f) >= 12 and np.isfinite(f).all()
    assert (np.diff(f[:, 0]) <= 1e-12).all() and (np.diff(f[:, 3]) >= -1e-12).all()
    assert (np.diff(f[:, 1]) <= 1e-12).all() and (np.diff(f[:, 2]) >= -1e-12).all()
    t = r.table
    rel = (t["hi95"] - t["lo95"]) / t["forecast"]
    assert (np.diff(rel.to_numpy()) >= -1e-9).all()
    assert (t["lo95"] <= t["lo80"]).all() and (t["lo80"] <= t["forecast"]).all()
    assert (t["forecast"] <= t["hi80"]).all() and (t["hi80"] <= t["hi95"]).all()
    e = r.backtest.errors.set_index("method").loc["forecast"]
    assert 0 <= e["cover80"] <= e["cover95"] <= 1
    assert r.total["lo80"] <= r.total["point"] <= r.total["hi80"]


def test_selected_method_has_the_lowest_backtest_wape(sample_data):
    r = F.forecast(sample_data, "region:EMEA", period="2027", reconcile=False)
    e = r.backtest.errors.set_index("method")["wape"]
    assert r.selected in F.METHODS and e[r.selected] == e[list(F.METHODS)].min()
    want = r.table[r.selected] * r.backtest.bias_factor
    assert r.table["forecast"].to_numpy() == pytest.approx(want.to_numpy())
    assert F.BIAS_CLIP[0] <= r.backtest.bias_factor <= F.BIAS_CLIP[1]


def test_document_demo_and_api_use_the_same_forecast(sample_data, tmp_path):
    """The plan document's forecast section, the demo step and forecast() with its defaults
    print the same figure."""
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.render import report

    ws = Workspace.create(tmp_path / "plan", data=sample_data)
    api = F.forecast(sample_data, period=ws.period)
    assert api.reconciliation["method"] in R.METHODS  # the plan uses the reconciled figure
    ctx = report.context(ws.path)
    text = next(b for b in report.growth_forecast(ctx).blocks if isinstance(b, str))
    assert report.money(api.total["point"]) in text
    summary = F.demo_decision(ws)
    assert f"${api.total['point']:,.0f}" in summary
    saved = ws.load_output("forecast", "company")
    assert saved["forecast"].to_numpy() == pytest.approx(api.table["forecast"].to_numpy())


def test_reconciled_territories_sum_to_region_and_regions_to_company(sample_data):
    """Reconciled forecasts are coherent (within $1 per month and for the period) and, in the
    backtest, not worse on average than the unreconciled ones."""
    hf = F.hierarchy_forecast(sample_data, "2027")
    assert hf is not None and hf.method in R.METHODS
    h = hf.hierarchy
    res = {n: F.forecast(sample_data, n, "2027") for n in h.nodes}
    terr = sample_data.deals.dropna(subset=["territory"]).groupby("territory")["region"].first()
    company = res[Scope()].table["forecast"].to_numpy()
    regions = [n for n in h.nodes if n.level == "region"]
    assert sum(res[r].table["forecast"].to_numpy() for r in regions) == \
        pytest.approx(company, abs=1.0)
    assert sum(res[r].total["point"] for r in regions) == \
        pytest.approx(res[Scope()].total["point"], abs=1.0)
    for r in regions:
        ts = [n for n in h.nodes if n.level == "territory" and terr[n.id] == r.id]
        assert ts
        assert sum(res[t].table["forecast"].to_numpy() for t in ts) == \
            pytest.approx(res[r].table["forecast"].to_numpy(), abs=1.0)
    s = hf.scores
    assert s[hf.method].mean() <= s["base"].mean()
    r = res[Scope("region", "EMEA")]
    assert r.reconciliation["method"] == hf.method
    assert "reconciled" in set(r.accuracy()["method"])
    assert (r.table["lo80"] <= r.table["forecast"] + 1e-6).all()
    unrec = F.forecast(sample_data, "region:EMEA", "2027", reconcile=False)
    assert unrec.table["forecast"].to_numpy() == pytest.approx(r.reconciliation["base"])


def test_reconcile_math_bottom_up_wls_and_mint():
    S = np.array([[1, 1], [1, 0], [0, 1]], float)
    base = np.array([[10.0], [4.0], [5.0]])
    bu = R.reconcile(base, S, R.projection(S, "bottom-up"))
    assert bu[:, 0].tolist() == [9.0, 4.0, 5.0]
    wls = R.reconcile(base, S, R.projection(S, "wls-structural"))
    assert wls[0, 0] == pytest.approx(wls[1, 0] + wls[2, 0])
    # W = diag(2, 1, 1): the gap 10 - 9 = 1 is split 1/2 to the total, 1/4 to each child
    assert wls[:, 0].tolist() == pytest.approx([9.5, 4.25, 5.25])
    E = np.random.default_rng(0).normal(size=(50, 3))
    W, lam = R.shrink_cov(E)
    assert 0 <= lam <= 1 and np.allclose(W, W.T) and (np.linalg.eigvalsh(W) > 0).all()


def test_stage_probabilities_differ_by_stage_without_stage_history(sample_data):
    """Closed deals carry no stage (Closed Won / Closed Lost): P(won) by stage comes from the
    deal ages of each stage, so Prospecting and Negotiation no longer share one number."""
    p = F.stage_probabilities(sample_data).set_index("stage")
    assert (p["method"] == "stage by deal age").all()
    assert abs(p.loc["Prospecting", "p_win"] - p.loc["Negotiation", "p_win"]) > 0.02
    assert ((p["p_win"] > 0) & (p["p_win"] < 1)).all()


def test_forecast_categories_from_source_else_derived():
    closed = [{"stage": "Won" if i < 4 else "Lost", "status": "won" if i < 4 else "lost",
               "created_date": "2024-01-01", "close_date": "2024-03-01",
               "amount": 100.0 if i < 4 else 0.0} for i in range(8)]
    opened = [{"stage": "Engaging", "status": "open", "created_date": "2024-06-20",
               "close_date": None, "amount": 1000.0}]
    d = _data(closed + opened, "2024-06-30")
    c = F.forecast_categories(d)
    # P(won) = 0.5 (see the age hand calculation above): best case, derived
    assert c["category"].tolist() == ["best case"] and c["basis"].str.startswith("derived").all()
    assert c["expected"].iloc[0] == pytest.approx(500.0)
    d2 = _data([*closed, {**opened[0], "forecast_category": "Commit"}], "2024-06-30")
    c2 = F.forecast_categories(d2)
    assert c2["category"].tolist() == ["commit"] and (c2["basis"] == "source").all()


def test_small_scopes_shrink_toward_the_company_in_one_call(sample_data):
    accs = [f"account:{a}" for a in sample_data.accounts["account_id"][:40]]
    many = F.forecast_many(sample_data, accs, "2027")
    assert list(many.index) == accs and (many["total"] >= 0).all()
    m = many["active_months"].to_numpy()
    assert many["weight_own"].to_numpy() == pytest.approx(m / (m + F.SHRINK_MONTHS))
    busy = many["total"].idxmax()
    one = F.forecast(sample_data, busy, "2027")
    assert one.total["point"] == pytest.approx(many.loc[busy, "total"])
    assert "small scope" in one.methods["forecast"] and one.selected in F.METHODS
    company = F.forecast(sample_data, "company", "2027")
    every = F.forecast_many(sample_data, [f"account:{a}" for a in
                                          sample_data.accounts["account_id"]], "2027")
    # not reconciled to the company, but of its size (shrunk toward its forecast)
    assert 0.7 < every["total"].sum() / company.total["point"] < 1.3


def test_short_history_hierarchy_falls_back_to_bottom_up():
    """Too short for a backtest: the company / region / territory forecasts are still coherent
    (bottom-up) and say why."""
    won = [{"stage": "Won", "status": "won", "created_date": "2024-01-01",
            "close_date": f"2024-0{m}-10", "amount": 100.0 * m} for m in (1, 2, 3)]
    d = _data(won, "2024-03-31")
    r = F.forecast(d, horizon=3)
    t = F.forecast(d, "territory:T1", horizon=3)
    assert r.reconciliation["method"] == "bottom-up" and "no backtest" in \
        r.reconciliation["why"]
    assert r.table["forecast"].to_numpy() == pytest.approx(t.table["forecast"].to_numpy())


def test_bias_correction_is_shrunk_by_years_of_evidence():
    """A bias seen over one year of actuals is mostly that year's surprise: it gets
    1 / (1 + 9) of its weight; four years get 4 / 13; no data, no correction."""
    f, a = np.full(12, 100.0), np.full(12, 130.0)  # the method under-forecast by 30%
    assert F._bias_factor(f, a, 1.0) == pytest.approx(1 + 0.3 / 10)
    assert F._bias_factor(f, a, 4.0) == pytest.approx(1 + 0.3 * 4 / 13)
    assert F._bias_factor(f, a, 0.0) == 1.0
    assert F._bias_factor(f, np.full(12, 1e4), 1000.0) == F.BIAS_CLIP[1]


def test_backtest_counts_overlapping_origins_as_one_year(sample_data):
    """The correction applied is the formula over the distinct actual months behind the
    backtest, not over the (overlapping) origins."""
    r = F.forecast(sample_data, "region:EMEA", period="2027", reconcile=False)
    rows = r.backtest.rows
    used = rows["horizon"].to_numpy() >= r.backtest.use_from
    years = rows.loc[used, "month"].nunique() / 12
    sel = rows.loc[used, r.selected].to_numpy()
    k = F.bias_prior_years(F.monthly_bookings(sample_data).to_numpy())
    c = F._bias_factor(sel, rows.loc[used, "actual"].to_numpy(), years, k)
    assert r.backtest.bias_factor == pytest.approx(c)
    assert rows["origin"].nunique() >= 4 * years  # origins overlap: far fewer years


def test_bias_prior_follows_how_steady_the_company_grew():
    """Steady growth: a backtest bias persists and is mostly corrected (small k); growth that
    jumps between years: mostly one year's surprise (large k); too short to tell: k = 9."""
    months = np.arange(48)
    season = 1 + 0.2 * np.sin(2 * np.pi * months / 12)
    steady = 100 * 1.10 ** (months / 12) * season
    jumpy = 100 * np.repeat([1.0, 0.8, 1.3, 1.0], 12) * season
    k_steady, k_jumpy = F.bias_prior_years(steady), F.bias_prior_years(jumpy)
    assert k_steady < 0.5 < 4 < k_jumpy
    assert F.bias_prior_years(steady[:20]) == F.BIAS_PRIOR_YEARS
    f, a = np.full(12, 100.0), np.full(12, 110.0)
    assert F._bias_factor(f, a, 1.0, k_steady) > 1.07 > 1.02 > F._bias_factor(f, a, 1.0, k_jumpy)


def test_combo_is_the_equal_weight_mean_and_a_candidate(sample_data):
    r = F.forecast(sample_data, "region:EMEA", period="2027", reconcile=False)
    t = r.table[r.table["forecast"].notna()]
    assert t["combo"].to_numpy() == pytest.approx(
        t[["drift", "model", "pooled"]].mean(axis=1).to_numpy())
    assert "combo" in r.backtest.errors["method"].tolist()
    bt = r.backtest.rows
    assert bt["combo"].to_numpy() == pytest.approx(
        bt[["drift", "model", "pooled"]].mean(axis=1).to_numpy())


def test_intervals_cover_the_bias_the_point_leaves_uncorrected():
    """Backtest actuals 25% above the forecast: the point keeps most of that bias
    uncorrected, so the range must hold both cases: upper factors reach the backtest's
    ratios, lower factors reach the forecast itself (1 / rho of them)."""
    rng = np.random.default_rng(0)
    f = np.full(240, 100.0)
    a = 125.0 * rng.lognormal(0, 0.1, 240)
    h = np.tile(np.arange(1, 13), 20)
    q = F._ratio_quantiles(f, a, h, np.arange(1, 13))
    assert np.quantile(a / f, 0.10) > 1.05  # the raw 80% band would exclude the point
    assert (q[:, 1] < 1).all() and (q[:, 2] > 1.25).all()  # it holds the point and the bias
