"""Step 6 ICP & segments: ICP vs a direct groupby, fit scores and attractiveness by hand,
every scope of the sample and Maven data."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import all_scopes
from test_capacity import make_tiny

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Scope
from salesplan_nb.steps import segments as G

EQUAL = {"industry": 1, "segment": 1, "region": 1, "revenue_band": 1}


@pytest.fixture(scope="module")
def tiny():
    return make_tiny()


def test_icp_by_hand(tiny):
    t = G.icp(tiny, "company", "2025-H1").set_index(["industry", "segment", "region"])
    r = t.loc[("Retail", "SMB", "East")]  # o1 won 40k in 30 days, o2 lost
    assert (r["won"], r["lost"], r["win_rate"], r["avg_deal"], r["cycle_days"]) == \
        (1, 1, 0.5, 40_000, 30)
    r = t.loc[("Retail", "Enterprise", "West")]  # o3 won 54k in 60 days
    assert (r["win_rate"], r["cycle_days"], r["accounts"]) == (1, 60, 1)
    assert r["bookings_share"] == pytest.approx(54 / 94)
    assert t.loc[("Bank", "SMB", "East"), "win_rate"] == 0  # o4 lost (rep C is East)
    assert G.icp(tiny, "company", "2025-H1", min_decided=2).shape[0] == 1


def test_icp_vs_groupby_maven(maven_data):
    t = G.icp(maven_data, "company", "2017", by=("industry", "segment", "region"))
    raw = maven_data.deals
    closed = raw[raw["status"].isin(["won", "lost"]) & (raw["close_date"].dt.year == 2017)]
    g = closed.assign(won=closed["status"] == "won").groupby(
        ["industry", "segment", "region"])["won"].agg(["mean", "sum", "size"])
    got = t.set_index(["industry", "segment", "region"])
    assert len(got) == len(g)
    for key, row in g.iterrows():
        assert got.loc[key, "win_rate"] == pytest.approx(row["mean"])
        assert got.loc[key, "decided"] == row["size"]
    assert t["won"].sum() == 4238 and t["lost"].sum() == 2473
    assert t["bookings"].sum() == pytest.approx(10_005_534)
    by_sector = G.icp(maven_data, "company", "2017", by=("industry",)).set_index("industry")
    direct = closed.groupby("industry").apply(
        lambda x: (x["status"] == "won").mean(), include_groups=False)
    assert by_sector["win_rate"].to_dict() == pytest.approx(direct.to_dict())


def test_fit_scores_by_hand(tiny):
    f = G.fit_scores(tiny, "company", "2025-H1", weights=EQUAL).set_index("account_id")
    # EV = win rate x average won deal: industry Retail 2/3 x 47k, Bank 0; segment SMB
    # 1/3 x 40k, Enterprise 54k; region as segment; revenue band Q1 (a1) .5 x 40k, Q2 (a3) 0,
    # Q3 (a2) 54k, Q4 (a4, no deals) the overall EV .5 x 47k
    ind, smb, ent, ev_all = 2 / 3 * 47_000, 40_000 / 3, 54_000, 0.5 * 47_000
    assert f.loc["a2", "fit_score"] == pytest.approx(100)
    assert f.loc["a1", "fit_score"] == pytest.approx(
        25 + 25 * smb / ent + 25 * smb / ent + 25 * 20_000 / ent)
    assert f.loc["a4", "industry_pts"] == 0
    assert f.loc["a4", "revenue_band_pts"] == pytest.approx(25 * ev_all / ent)
    assert f.loc["a1", "industry_pts"] == pytest.approx(25 * ind / ind)
    pts = f[[c for c in f.columns if c.endswith("_pts")]].sum(axis=1)
    assert (pts - f["fit_score"]).abs().max() < 1e-9
    assert f.loc["a2", "customer"] and not f.loc["a4", "customer"]
    # default weights sum to 100 too; region scope keeps the company ICP
    east = G.fit_scores(tiny, "region:East", "2025-H1", weights=EQUAL).set_index("account_id")
    assert set(east.index) == {"a1", "a3"}
    assert east.loc["a1", "fit_score"] == pytest.approx(f.loc["a1", "fit_score"])
    G.chart_fit(f.reset_index()).to_dict()


def test_segment_ranking_by_hand(tiny):
    r = G.segment_ranking(tiny, "company", "2025-H1", by=("segment",), min_decided=1)
    # Enterprise: best potential, win rate, deal size, worst cycle -> .4 + .25 + .2 = 85
    assert r["segment"].tolist() == ["Enterprise", "SMB"]
    assert r["score"].tolist() == pytest.approx([85, 15])
    years = 181 / 365.25  # 2025-H1
    assert r.set_index("segment").loc["SMB", "potential"] == pytest.approx(2 * 40_000 / years)
    assert r["potential_source"].iloc[0].startswith("estimate")
    w = G.segment_ranking(tiny, "company", "2025-H1", by=("segment",), min_decided=1,
                          weights={"cycle": 1})
    assert w["segment"].tolist() == ["SMB", "Enterprise"] and w["score"].iloc[0] == 100
    G.chart_segments(r).to_dict()
    with pytest.raises(ConfigError, match="unknown attractiveness weight"):
        G.segment_ranking(tiny, weights={"vibes": 1})
    with pytest.raises(ConfigError, match="positive sum"):
        G.segment_ranking(tiny, weights={"cycle": 0})


def test_segment_ranking_uses_market_table(sample_data):
    r = G.segment_ranking(sample_data, "company", str(sample_data.as_of.year))
    assert (r["potential_source"] == "market table").all()
    m = sample_data.market.groupby(["segment", "region"])["potential"].sum()
    for _, row in r.iterrows():
        assert row["potential"] == pytest.approx(m.loc[(row["segment"], row["region"])])
    assert r["rank"].tolist() == list(range(1, len(r) + 1))
    assert r["score"].is_monotonic_decreasing


def test_workspace_round_trip(tmp_path, tiny):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "plan", data=tiny, period="2025-H2")
    assert G.load_weights(ws) == G.DEFAULT_WEIGHTS
    G.save_weights(ws, {"potential": 2, "cycle": 1}, by="ana")
    G.save_weights(ws, EQUAL, kind="fit")
    G.save_targets(ws, [{"segment": "SMB", "region": "East"}])
    again = Workspace.open(tmp_path / "plan")
    assert G.load_weights(again) == {"potential": 2, "win_rate": 0, "deal_size": 0, "cycle": 1}
    assert G.load_weights(again, "fit") == {k: 1.0 for k in EQUAL}
    assert G.load_targets(again) == [{"segment": "SMB", "region": "East"}]
    with pytest.raises(ConfigError):
        G.save_weights(ws, EQUAL, kind="mood")


def _check_all(data, period):
    for sc in all_scopes(data, empty_region=True):
        t = G.icp(data, sc, period)
        assert len(t) or t.attrs["note"]
        if len(t):
            assert t["win_rate"].between(0, 1).all()
            G.chart_icp(t).to_dict()
        f = G.fit_scores(data, sc, period)
        assert len(f) or f.attrs["note"]
        assert f["fit_score"].between(0, 100 + 1e-9).all()
        r = G.segment_ranking(data, sc, period)
        assert len(r) or r.attrs["note"]
        assert r["score"].between(0, 100 + 1e-9).all()


def test_every_scope_sample(sample_data):
    _check_all(sample_data, str(sample_data.as_of.year))
    _check_all(sample_data, str(sample_data.as_of.year + 1))  # future: trailing 12 months


def test_every_scope_maven(maven_data):
    _check_all(maven_data, "2018")
    f = G.fit_scores(maven_data, "company", "2017")
    assert len(f) == 85 and f["fit_score"].max() > 0
    # accounts have no region in Maven: filled from their deals' (agents') region
    assert f["region"].isin(["Central", "East", "West", "Unknown"]).all()


def test_empty_scope_is_labelled(tiny):
    t = G.icp(tiny, "region:Atlantis", "2025-H1")
    assert len(t) == 0 and "Region Atlantis" in t.attrs["note"]
    assert list(t.columns)[:3] == ["industry", "segment", "region"]
    f = G.fit_scores(tiny, "region:Atlantis", "2025-H1")
    assert len(f) == 0 and "fit_score" in f.columns
    r = G.segment_ranking(tiny, "region:Atlantis", "2025-H1")
    assert len(r) == 0 and "score" in r.columns
    assert isinstance(r, pd.DataFrame)


def test_memoised_weights_equal_a_fresh_computation():
    """A second call with other weights reuses the memoised statistics / factor strengths
    and gives exactly what a fresh Dataset gives."""
    from salesplan_nb.data.sample import generate

    data = generate(seed=5, accounts=300, opportunities=3000)
    year = str(data.as_of.year)
    region = Scope("region", str(data.accounts["region"].dropna().iloc[0]))
    for sc in (Scope(), region):
        G.segment_ranking(data, sc, year)
        G.fit_scores(data, sc, year)
    for sc in (Scope(), region):
        for w, f in [({"potential": 1, "cycle": 0.5}, EQUAL),
                     ({"win_rate": 0.1, "deal_size": 0.7}, {"industry": 90, "region": 10})]:
            fresh = generate(seed=5, accounts=300, opportunities=3000)
            for by in (("segment", "region"), ("industry",)):
                a = G.segment_ranking(data, sc, year, weights=w, by=by, min_decided=2)
                b = G.segment_ranking(fresh, sc, year, weights=w, by=by, min_decided=2)
                pd.testing.assert_frame_equal(a, b, check_exact=True)
                assert a.attrs == b.attrs
            a, b = G.fit_scores(data, sc, year, weights=f), G.fit_scores(fresh, sc, year,
                                                                          weights=f)
            pd.testing.assert_frame_equal(a, b, check_exact=True)
            assert a.attrs == b.attrs
    # the memoised base is not changed by a call (the caller gets its own frame)
    r = G.segment_ranking(data, None, year)
    r.loc[0, "score"] = -1
    assert G.segment_ranking(data, None, year)["score"].min() >= 0
