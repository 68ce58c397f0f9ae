"""The seeded sample company: deterministic, consistent, and realistic in measured ways."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesplan_nb import cli
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data import schema
from salesplan_nb.data.sample import CSV_TABLES, SEASONALITY, _scale, generate, write_csv


@pytest.fixture(scope="module")
def big():
    """The default-size company (2,000 accounts, 30,000 opportunities): realism is measured
    on it, where the noise of a few large deals is small."""
    return generate()


def test_same_seed_same_data_other_seed_other_data(sample_data):
    again = generate(seed=7, accounts=400, opportunities=6000)
    for name in schema.TABLES:
        pd.testing.assert_frame_equal(sample_data.table(name), again.table(name))
    assert again.as_of == sample_data.as_of == pd.Timestamp("2026-06-30")
    other = generate(seed=8, accounts=400, opportunities=6000)
    assert not other.opportunities["amount"].equals(sample_data.opportunities["amount"])


def test_sizes_and_default_scaling(sample_data):
    d = sample_data
    assert (len(d.accounts), len(d.opportunities)) == (400, 6000)
    assert (len(d.reps), len(d.territories), len(d.products)) == (60, 12, 8)
    assert d.territories.groupby("region").size().to_dict() == {
        "North America": 3, "EMEA": 3, "APAC": 3, "LATAM": 3}
    assert len(d.market) == 3 * 4
    assert len(d.targets) == 1 + 4 + 12
    # territories = max(3 x regions, accounts/1000), reps = max(5 x territories, accounts/100)
    assert _scale(2000, None, None, 4) == (12, 60)
    assert _scale(100_000, None, None, 4) == (100, 1000)
    assert _scale(30_000, 500, 40, 4) == (40, 500)
    # a mid-size run actually uses the scaled counts
    mid = generate(seed=3, accounts=20_000, opportunities=20_000)
    assert (len(mid.territories), len(mid.reps)) == (20, 200)
    assert (mid.reps["role"] == "Manager").sum() == 20
    assert mid.accounts["account_id"].is_unique and mid.reps["rep_id"].is_unique


def test_canonical_dtypes(sample_data):
    for name, table in schema.TABLES.items():
        df = sample_data.table(name)
        assert list(df.columns) == table.names
        assert {c: str(t) for c, t in df.dtypes.items()} == {
            c: str(pd.Series(dtype=t).dtype) for c, t in table.dtypes().items()}


def test_relationships_are_valid(sample_data):
    d = sample_data
    acc, opp, reps = d.accounts, d.opportunities, d.reps
    for df, key in ((acc, "account_id"), (opp, "opportunity_id"), (reps, "rep_id"),
                    (d.products, "product_id"), (d.territories, "territory_id")):
        assert df[key].notna().all() and df[key].is_unique, key
    assert set(opp["account_id"]) <= set(acc["account_id"])
    assert set(opp["owner_id"]) <= set(reps["rep_id"])
    assert set(opp["product_id"]) <= set(d.products["product_id"])
    assert set(acc["owner_id"]) <= set(reps.loc[reps["role"] == "AE", "rep_id"])
    assert set(acc["parent_id"].dropna()) <= set(acc["account_id"])
    assert (acc["parent_id"] != acc["account_id"]).fillna(True).all()
    assert acc["parent_id"].notna().sum() > 0
    assert set(reps["manager_id"].dropna()) <= set(reps.loc[reps["role"] == "Manager", "rep_id"])
    assert set(acc["territory"]) | set(reps["territory"]) <= set(d.territories["territory_id"])
    # every territory's region matches the accounts and reps in it
    t_region = d.territories.set_index("territory_id")["region"]
    assert (acc["territory"].map(t_region) == acc["region"]).all()
    assert (reps["territory"].map(t_region) == reps["region"]).all()
    # deals are owned by a rep of the account's territory
    deals = d.deals
    assert (deals["territory"] == deals["account_id"].map(
        acc.set_index("account_id")["territory"])).all()
    assert (opp["close_date"] >= opp["created_date"]).all()
    assert (opp["amount"] > 0).all()
    assert set(opp["status"]) == {"open", "won", "lost"}
    assert set(d.targets["scope_id"].dropna()) <= set(t_region.index) | set(t_region)


def test_deals_follow_rep_tenure(sample_data):
    """A deal is owned by a rep employed on its close date (as_of for open deals)."""
    d = sample_data
    x = d.opportunities.merge(d.reps[["rep_id", "hire_date", "end_date", "role"]],
                              left_on="owner_id", right_on="rep_id")
    when = x["close_date"].where(x["status"] != "open", d.as_of).clip(upper=d.as_of)
    assert (when >= x["hire_date"]).all()
    assert (x["end_date"].isna() | (when < x["end_date"])).all()
    assert (x["role"] == "AE").all()
    reps = d.reps
    leavers = reps["end_date"].notna()
    assert leavers.sum() >= 3 and (reps.loc[leavers, "end_date"] <= d.as_of).all()
    ramping = (d.as_of - reps["hire_date"]).dt.days < 180
    assert ramping.sum() >= 1 and (reps.loc[ramping, "end_date"].isna()).all()
    # accounts are owned by reps still employed
    active = set(reps.loc[~leavers, "rep_id"])
    assert set(d.accounts["owner_id"]) <= active


def test_status_stage_and_dates(sample_data):
    d = sample_data
    opp, as_of = d.opportunities, d.as_of
    closed = opp[opp["status"] != "open"]
    assert (closed["close_date"] <= as_of).all()
    assert (opp["created_date"] <= as_of).all()
    assert (opp.loc[opp["status"] == "won", "stage"] == "Closed Won").all()
    assert (opp.loc[opp["status"] == "lost", "stage"] == "Closed Lost").all()
    open_ = opp[opp["status"] == "open"]
    assert set(open_["stage"]) == {"Prospecting", "Qualification", "Proposal", "Negotiation"}
    assert (open_["close_date"] > as_of).mean() > 0.9          # mostly expected in future
    assert (open_["created_date"] > as_of - pd.Timedelta(days=365)).mean() > 0.9
    assert opp.loc[opp["status"] == "lost", "loss_reason"].notna().all()
    assert opp.loc[opp["status"] != "lost", "loss_reason"].isna().all()
    assert set(opp["loss_reason"].dropna()) == {
        "Price", "Competitor", "No decision", "Timing", "Product fit"}
    assert opp["created_date"].min() >= pd.Timestamp("2022-07-02")
    assert closed["close_date"].min() >= pd.Timestamp("2023-01-01")


def test_accounts_firmographics(sample_data):
    acc = sample_data.accounts
    emp = acc["employees"].astype(float)
    rule = np.where(emp < 200, "SMB", np.where(emp < 1000, "Mid-Market", "Enterprise"))
    assert (acc["segment"].to_numpy() == rule).all()
    assert acc["industry"].nunique() == 8
    # revenue grows with headcount (log-log correlation)
    assert np.corrcoef(np.log(emp), np.log(acc["revenue"]))[0, 1] > 0.8
    assert acc[["country", "state", "city"]].notna().all().all()
    na = acc[acc["region"] == "North America"]
    assert set(na["country"]) <= {"United States", "Canada"}


def test_amounts_are_price_times_quantity_less_discount(sample_data):
    deals = sample_data.opportunities.merge(sample_data.products, on="product_id")
    units = deals["amount"] / deals["list_price"]
    # discount is 0-30%, so amount / list price lies in [0.7 q, q] for a whole quantity q
    q = np.ceil(units - 1e-9)
    assert (units >= 0.7 * q - 1e-6).all() and (q >= 1).all()
    assert (sample_data.products["unit_cost"] < sample_data.products["list_price"]).all()
    assert sample_data.products["family"].nunique() == 3


def test_segment_differences_are_present(big):
    deals = big.deals
    closed = deals[deals["status"] != "open"]
    win = closed.groupby("segment")["status"].apply(lambda s: (s == "won").mean())
    assert 0.29 < win["SMB"] < 0.35 and 0.23 < win["Mid-Market"] < 0.29
    assert 0.17 < win["Enterprise"] < 0.23
    won = deals[deals["status"] == "won"]
    size = won.groupby("segment")["amount"].mean()
    assert size["Enterprise"] > 3 * size["Mid-Market"] > 3 * size["SMB"]
    cycle = (closed["close_date"] - closed["created_date"]).dt.days.groupby(
        closed["segment"]).median()
    assert cycle["SMB"] < cycle["Mid-Market"] < cycle["Enterprise"]
    assert 25 <= cycle["SMB"] <= 35 and 115 <= cycle["Enterprise"] <= 145


def _history(data):
    opp = data.opportunities
    closed = opp[(opp["status"] != "open") & (opp["close_date"] < "2026-01-01")]
    return closed, closed[closed["status"] == "won"]


def _month_index(won):
    by_month = won.groupby(won["close_date"].dt.month)["amount"].sum()
    return by_month / by_month.mean()


def test_seasonality_and_growth_are_present(big):
    closed, won = _history(big)
    # deal counts follow the configured pattern closely (volume is not heavy-tailed)
    n = closed.groupby(closed["close_date"].dt.month).size()
    assert np.corrcoef(n.to_numpy(), SEASONALITY)[0, 1] > 0.95
    index = _month_index(won)
    assert index[12] > 1.5 and index[12] == index.max()
    assert won.loc[won["close_date"].dt.quarter == 4, "amount"].sum() / won["amount"].sum() > 0.3
    per_year = closed.groupby(closed["close_date"].dt.year).size()
    assert 1.07 < per_year[2024] / per_year[2023] < 1.14
    assert 1.07 < per_year[2025] / per_year[2024] < 1.14
    # bookings of one 30,000-deal company are noisier (a few hundred Enterprise wins a year)
    yearly = won.groupby(won["close_date"].dt.year)["amount"].sum()
    assert 0.03 < (yearly[2025] / yearly[2023]) ** 0.5 - 1 < 0.17


def test_bookings_seasonality_and_growth_at_larger_size():
    """With 200,000 deals the bookings figures settle near the configured 10%/year and the
    seasonal pattern (December ~1.9x an average month)."""
    closed, won = _history(generate(seed=42, accounts=10_000, opportunities=200_000))
    index = _month_index(won)
    assert index[12] > 1.8 and index[[1, 7]].max() < 0.8
    assert index[[3, 6, 9]].min() > index[[2, 5, 8]].max()   # quarter ends beat mid-quarter
    yearly = won.groupby(won["close_date"].dt.year)["amount"].sum()
    assert 0.07 < (yearly[2025] / yearly[2023]) ** 0.5 - 1 < 0.12


def test_market_is_above_bookings_and_targets_follow_prior_year(big):
    deals = big.deals
    won_py = deals[(deals["status"] == "won") & (deals["close_date"].dt.year == 2025)]
    book = won_py.groupby(["segment", "region"])["amount"].sum()
    market = big.market.set_index(["segment", "region"])
    assert (market["potential"] > 5 * book.reindex(market.index).fillna(0)).all()
    assert (market["accounts"] > big.accounts.groupby(["segment", "region"]).size()
            .reindex(market.index)).all()
    t = big.targets
    assert set(t["period"]) == {"2026"} and set(t["metric"]) == {"bookings"}
    company = t.loc[t["scope_level"] == "company", "amount"].item()
    assert company == round(won_py["amount"].sum() * 1.12, -3)
    regions = t[t["scope_level"] == "region"].set_index("scope_id")["amount"]
    assert abs(regions.sum() - company) <= 500 * len(regions)
    expected = won_py.groupby("region")["amount"].sum() / won_py["amount"].sum() * company
    assert np.allclose(regions.sort_index(), expected.sort_index(), atol=500)
    terr = t[t["scope_level"] == "territory"].set_index("scope_id")["amount"]
    t_region = big.territories.set_index("territory_id")["region"]
    per_region = terr.groupby(terr.index.map(t_region)).sum()
    assert np.allclose(per_region.sort_index(), regions.sort_index() * 1.10, atol=2000)


def test_large_scale_shape_small_run():
    """Scale logic at a size a unit test can afford; 1M rows is benchmarked separately."""
    d = generate(seed=1, accounts=12_000, opportunities=60_000, regions=6)
    assert len(d.territories) == 18 and d.territories["region"].nunique() == 6
    assert d.accounts["name"].is_unique and d.reps["name"].is_unique
    assert (d.opportunities["close_date"] >= d.opportunities["created_date"]).all()


@pytest.mark.parametrize("kwargs", [
    dict(accounts=10, opportunities=0),
    dict(accounts=30, opportunities=100, regions=2, territories=2, reps=4),
    dict(accounts=50, opportunities=500, regions=8),
    dict(accounts=40, opportunities=300, as_of="2024-02-29"),
])
def test_edge_sizes_stay_consistent(kwargs):
    d = generate(seed=5, **kwargs)
    assert len(d.opportunities) == kwargs["opportunities"]
    assert (d.reps["role"] == "Manager").sum() == len(d.territories)
    assert set(d.opportunities["owner_id"]) <= set(d.reps["rep_id"])
    assert (d.opportunities["created_date"] <= d.as_of).all()
    assert (d.targets["amount"] >= 0).all() and (d.market["potential"] > 0).all()
    start = pd.Timestamp(d.as_of.year - 3, 1, 1)
    closed = d.opportunities[d.opportunities["status"] != "open"]
    assert ((closed["close_date"] >= start) & (closed["close_date"] <= d.as_of)).all()


@pytest.mark.parametrize("kwargs, words", [
    (dict(accounts=5), "accounts"),
    (dict(opportunities=-1), "opportunities"),
    (dict(regions=9), "regions"),
    (dict(reps=10), "reps"),
    (dict(as_of="not a date"), "as_of"),
    (dict(seed=-3), "seed"),
])
def test_bad_parameters_raise_config_error(kwargs, words):
    with pytest.raises(ConfigError, match=words):
        generate(**{"accounts": 100, "opportunities": 100, **kwargs})


def test_write_csv_and_cli(tmp_path, capsys):
    out = write_csv(tmp_path / "s", seed=5, accounts=100, opportunities=500)
    assert sorted(p.name for p in out.glob("*.csv")) == sorted(f"{t}.csv" for t in CSV_TABLES)
    assert (out / "as_of.txt").read_text().strip() == "2026-06-30"
    opp = pd.read_csv(out / "opportunities.csv")
    assert list(opp.columns) == schema.TABLES["opportunities"].names
    assert opp["created_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    rc = cli.main(["sample", str(tmp_path / "c"), "--accounts", "120", "--opportunities",
                   "700", "--seed", "5", "--as-of", "2025-12-31"])
    assert rc == 0
    assert "700 opportunities" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "c" / "accounts.csv")) == 120
    assert (tmp_path / "c" / "as_of.txt").read_text().strip() == "2025-12-31"
    rc = cli.main(["sample", str(tmp_path / "d"), "--accounts", "3"])
    assert rc == 1 and "at least 10" in capsys.readouterr().err


def test_csv_round_trip_through_loader(tmp_path):
    loaders = pytest.importorskip("salesplan_nb.data.loaders")
    original = generate(seed=11, accounts=150, opportunities=900)
    from salesplan_nb.data.sample import write_dataset_csv

    folder = write_dataset_csv(original, tmp_path / "rt")
    # the snapshot date is written to as_of.txt (open deals close after it, so "latest date in
    # the data" would be wrong); pass it to the loader
    as_of = (folder / "as_of.txt").read_text().strip()
    back, report = loaders.load_with_report(folder, as_of=as_of)
    assert report.ok and not report.warnings, report.format()
    for name in CSV_TABLES:
        pd.testing.assert_frame_equal(back.table(name).reset_index(drop=True),
                                      original.table(name), check_exact=False, rtol=1e-9)
    assert back.as_of == original.as_of
    pd.testing.assert_frame_equal(back.deals, original.deals, check_exact=False, rtol=1e-9)
