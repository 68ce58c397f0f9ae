"""Quotas (step 9): checked against hand calculations on a tiny company and invariants on the
sample and Maven data."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.core.scope import Scope
from salesplan_nb.data import schema
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps import quotas as Q
from salesplan_nb.ui import quotas as ui_quotas


def tiny(extra_opps=()) -> Dataset:
    """East: T1 (R1 300, R2 100), T2 (R3 400); West: T3 (R4 200, R5 hired 2026-01-01).
    Won in 2025 (the trailing 12 months to as_of 2025-12-31)."""
    reps = pd.DataFrame({
        "rep_id": ["M1", "R1", "R2", "R3", "R4", "R5"],
        "name": ["Boss", "Ann", "Bob", "<b>Cy</b>", "Di", "Ed"],
        "manager_id": [None, "M1", "M1", "M1", "M1", "M1"],
        "region": ["East", "East", "East", "East", "West", "West"],
        "territory": ["T1", "T1", "T1", "T2", "T3", "T3"],
        "role": ["Manager", "AE", "AE", "AE", "AE", "AE"],
        "hire_date": pd.to_datetime(["2015-01-01"] + ["2020-03-01"] * 4 + ["2026-01-01"]),
    })
    amounts = {"R1": 300.0, "R2": 100.0, "R3": 400.0, "R4": 200.0}
    rows = [(f"O{i}", f"A{i}", r, "P1", "Won", "won", "2025-03-01", "2025-06-15", a)
            for i, (r, a) in enumerate(amounts.items())]
    rows += [("OLD", "A0", "R1", "P1", "Won", "won", "2023-01-01", "2024-06-15", 999.0)]
    rows += list(extra_opps)
    opps = pd.DataFrame(rows, columns=["opportunity_id", "account_id", "owner_id", "product_id",
                                       "stage", "status", "created_date", "close_date",
                                       "amount"])
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(4)],
                             "name": ["a", "b", "c", "d"], "revenue": [1e6, 2e6, 3e6, 4e6],
                             "owner_id": ["R1", "R2", "R3", "R4"],
                             "region": ["East", "East", "East", "West"],
                             "territory": ["T1", "T1", "T2", "T3"]})
    products = pd.DataFrame({"product_id": ["P1"], "name": ["Widget"]})
    return Dataset(accounts, opps, reps, products, as_of="2025-12-31")


#: the per-level factors (compounding) and ramp redistribution the hand calculations use; the
#: defaults are now non-compounding totals without redistribution (issue 10)
PER_LEVEL = dict(over_assignment={"region": 0.05, "territory": 0.10, "rep": 0.10},
                 compound=True, redistribute_ramp=True)


def q(plan, level, uid):
    t = plan.table
    return float(t.loc[(t["level"] == level) & (t["unit_id"] == uid), "quota"].iloc[0])


def test_hand_calculated_split_with_over_assignment_and_ramp():
    plan = Q.quotas(tiny(), period="2026", target=2000.0, **PER_LEVEL)
    # regions: East history 800, West 200 of 1000; x (1 + 5%)
    assert q(plan, "region", "East") == pytest.approx(2000 * 1.05 * 0.8, abs=0.005)  # 1680
    assert q(plan, "region", "West") == pytest.approx(420.0, abs=0.005)
    # territories: T1 400 / T2 400 of East; x (1 + 10%)
    assert q(plan, "territory", "T1") == pytest.approx(1680 * 1.1 * 0.5, abs=0.005)  # 924
    assert q(plan, "territory", "T3") == pytest.approx(462.0, abs=0.005)
    assert q(plan, "rep", "R1") == pytest.approx(924 * 1.1 * 0.75, abs=0.005)  # 762.30
    assert q(plan, "rep", "R2") == pytest.approx(254.10, abs=0.005)
    # T3: R5 has no history -> peers' mean (R4's 200) -> equal weights; R5 hired 1 Jan 2026:
    # ramp months 0-2 25%, 3-5 60%, 6-8 85%, 9-11 100% -> mean 8.1 / 12 = 0.675
    r5 = plan.table.set_index("unit_id").loc["R5"]
    assert r5["ramp"] == pytest.approx(0.675)
    pre = 462 * 1.1 * 0.5
    ramped = pre * 0.675
    # redistributed to both in proportion to their ramped amounts: the territory still sums
    assert q(plan, "rep", "R5") == pytest.approx(2 * pre * ramped / (pre + ramped), abs=0.005)
    assert q(plan, "rep", "R4") == pytest.approx(2 * pre * pre / (pre + ramped), abs=0.005)
    assert r5["ramp_adjustment"] == pytest.approx(pre * (0.675 - 1), abs=0.01)


def test_ramp_not_redistributed_leaves_a_documented_gap():
    plan = Q.quotas(tiny(), period="2026", target=2000.0,
                    **{**PER_LEVEL, "redistribute_ramp": False})
    pre = 462 * 1.1 * 0.5
    assert q(plan, "rep", "R4") == pytest.approx(pre, abs=0.005)
    assert q(plan, "rep", "R5") == pytest.approx(pre * 0.675, abs=0.006)
    assert plan.ramp_gap == pytest.approx(pre * 0.325, abs=0.01)
    assert "uncovered" in plan.note


def test_growth_method_is_growth_on_prior_bookings():
    data = tiny()
    plan = Q.quotas(data, period="2026", method="growth", growth=1.10,
                    over_assignment={"region": 0, "territory": 0, "rep": 0})
    # independent: won amounts closed in 2025 from the raw table
    o = data.opportunities
    prior = o.loc[(o["status"] == "won") & (o["close_date"].dt.year == 2025), "amount"].sum()
    assert plan.target == pytest.approx(1.10 * prior)
    assert q(plan, "rep", "R3") == pytest.approx(1.10 * 400, abs=0.005)
    assert q(plan, "rep", "R1") == pytest.approx(1.10 * 300, abs=0.005)
    with pytest.raises(ConfigError, match="growth"):
        Q.quotas(data, method="growth", target=5.0)


def _child_sums_ok(plan):
    """Each parent's children sum to parent x (1 + f), f the level's factor relative to its
    parent (over-assignment totals do not compound); ramped reps lower the rep sums when the
    ramp is not redistributed."""
    t = plan.table
    dec = plan.decisions
    for lvl in ("region", "territory", "rep"):
        par_total = dec.over_assignment.get(Q.LEVELS[Q.LEVELS.index(lvl) - 1], 0.0)
        f = Q.level_factor(dec, lvl, par_total)
        ch = t[t["level"] == lvl]
        if ch.empty:
            continue
        sums = (ch["quota"] * 100).round().astype("int64").groupby(ch["parent"]).sum()
        par_level = Q.LEVELS[Q.LEVELS.index(lvl) - 1]
        par = t[t["unit_id"].isin(sums.index)]
        if plan.table["level"].iloc[0] != par_level:
            par = par[par["level"] == par_level]
        for pid, s in sums.items():
            pq = float(par.loc[par["unit_id"] == pid, "quota"].iloc[0])
            full = round(round(pq * 100) * (1 + f))
            if lvl == "rep" and not dec.redistribute_ramp:
                assert s <= full + len(ch), (lvl, pid)
            else:
                assert s == full, (lvl, pid)


def test_sample_sums_over_assignment_each_level_and_drivers(sample_data):
    plan = Q.quotas(sample_data, target=25_000_000.0, method="blend",
                    weights={"history": 0.7, "potential": 0.3},
                    over_assignment={"region": 0.05, "territory": 0.10, "rep": 0.15})
    assert q(plan, "company", "Company") == 25_000_000.0
    _child_sums_ok(plan)
    regions = plan.level("region")["quota"].sum()
    assert regions == pytest.approx(25_000_000 * 1.05, abs=0.01)
    # drivers sum to the quota exactly (whole cents)
    d = plan.table
    cents = sum((d[c] * 100).round().astype("int64") for c in Q.DRIVERS)
    assert (cents == (d["quota"] * 100).round().astype("int64")).all()
    # base shares of the reps add up to the top target (nothing lost in propagation)
    assert plan.level("rep")["base_share"].sum() == pytest.approx(25_000_000, abs=1.0)
    # over-assignment is a total per level: the reps carry T x 15% in all (issue 10; it
    # compounded to T x (1.05 x 1.10 x 1.15 - 1) = 32.8% before)
    assert plan.level("rep")["over_assignment"].sum() == pytest.approx(
        25_000_000 * 0.15, rel=1e-6)
    assert plan.level("territory")["quota"].sum() == pytest.approx(25_000_000 * 1.10, abs=1)
    comp = Q.quotas(sample_data, target=25_000_000.0, method="blend",
                    weights={"history": 0.7, "potential": 0.3}, compound=True,
                    redistribute_ramp=True,
                    over_assignment={"region": 0.05, "territory": 0.10, "rep": 0.15})
    _child_sums_ok(comp)
    assert comp.level("rep")["over_assignment"].sum() == pytest.approx(
        25_000_000 * (1.05 * 1.10 * 1.15 - 1), rel=1e-6)


def test_potential_weights_are_potential_shares(sample_data):
    from salesplan_nb.steps.market import account_potential

    plan = Q.quotas(sample_data, method="potential", target=1e7)
    acc = account_potential(sample_data).table
    by_region = acc.groupby("region")["potential"].sum()
    regs = plan.level("region").set_index("unit_id")
    share = by_region.reindex(regs.index) / by_region.reindex(regs.index).sum()
    assert np.allclose(regs["weight"].to_numpy(), share.to_numpy())


def test_overrides_locked_and_rest_redistributed_proportionally(sample_data):
    base = Q.quotas(sample_data, target=2e7)
    reps = base.level("rep")
    terr = reps["parent"].value_counts().index[0]  # a territory with several reps
    sib = reps[reps["parent"] == terr]
    lock_id = sib["unit_id"].iloc[0]
    plan = Q.quotas(sample_data, target=2e7, overrides={f"rep:{lock_id}": 123_456.78,
                                                        "region:EMEA": 3_000_000})
    assert q(plan, "rep", lock_id) == 123_456.78
    assert q(plan, "region", "EMEA") == 3_000_000.0
    assert plan.table.set_index("unit_id").loc[lock_id, "locked"]
    _child_sums_ok(plan)
    others = plan.level("region")
    assert others["quota"].sum() == pytest.approx(2e7 * 1.05, abs=0.01)
    # unlocked regions keep their relative sizes
    b = base.level("region").set_index("unit_id")["quota"].drop("EMEA")
    o = others.set_index("unit_id")["quota"].drop("EMEA")
    assert np.allclose((o / o.sum()).to_numpy(), (b / b.sum()).reindex(o.index).to_numpy(),
                       atol=1e-8)
    # unlocked siblings of the locked rep keep their relative sizes too
    b2 = base.level("rep").set_index("unit_id").loc[sib["unit_id"].iloc[1:], "quota"]
    o2 = plan.level("rep").set_index("unit_id").loc[sib["unit_id"].iloc[1:], "quota"]
    assert np.allclose((o2 / o2.sum()).to_numpy(), (b2 / b2.sum()).to_numpy(), atol=1e-8)
    with pytest.raises(ConfigError, match="unknown unit"):
        Q.quotas(sample_data, target=1e6, overrides={"rep:NOPE": 5})
    with pytest.raises(ConfigError, match="lower an override"):
        Q.quotas(sample_data, target=1e6, overrides={f"rep:{lock_id}": 1e9})


def test_seasonality_months_sum_to_annual(sample_data):
    plan = Q.quotas(sample_data, target=12_345_678.91)
    m = Q.seasonality(plan, sample_data)
    assert set(m["month"]) == {f"{plan.period}-{i:02d}" for i in range(1, 13)}
    per = (m["quota"] * 100).round().astype("int64").groupby(m["unit_id"]).sum()
    reps = plan.level("rep").set_index("unit_id")["quota"]
    assert (per.reindex(reps.index) == (reps * 100).round().astype("int64")).all()
    qt = Q.quarterly(m)
    assert len(qt) == 4 * len(reps)
    # shares come from history: Q4 is the sample's strong quarter
    shares = Q.monthly_shares(sample_data, period=plan.period)
    assert shares["share"].sum() == pytest.approx(1.0)
    assert shares["share"].iloc[9:].sum() > 0.25
    # independent: December share = December won bookings / all, over the full years
    d = sample_data.deals
    won = d[(d["status"] == "won") & d["close_date"].dt.year.isin([2023, 2024, 2025])]
    dec = won.loc[won["close_date"].dt.month == 12, "amount"].sum() / won["amount"].sum()
    assert shares["share"].iloc[11] == pytest.approx(dec)


def test_reconcile_and_fairness_by_hand():
    plan = Q.quotas(tiny(), period="2026", target=2000.0, **PER_LEVEL)
    rec = Q.reconcile(plan, {"R1": 800.0, "R2": 200.0})
    r1 = rec.set_index("unit_id").loc["R1"]
    assert r1["gap"] == pytest.approx(800 - 762.30, abs=0.005)
    assert rec.set_index("unit_id").loc["T1", "commit"] == 1000.0  # rolled up
    assert math.isnan(rec.set_index("unit_id").loc["T2", "commit"])
    f = Q.fairness(plan)
    t = f.table.set_index("unit_id")
    att = (pd.Series({"R1": 300, "R2": 100, "R3": 400, "R4": 200}) / t["quota"]).dropna()
    assert f.n == 4  # R5 has no history
    assert f.share_100 == pytest.approx((att >= 1).mean())
    assert f.share_80 == pytest.approx((att >= 0.8).mean())
    mu, sd = att.mean(), att.std(ddof=1)
    p100 = 0.5 * math.erfc((1 - mu) / sd / math.sqrt(2))
    assert f.share_100_normal == pytest.approx(p100)
    ratio = t["quota"] / t["potential"]
    assert f.cv_quota_per_potential == pytest.approx(ratio.std(ddof=0) / ratio.mean())


def test_save_and_load_decisions(tmp_path, sample_data):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "plan", data=sample_data)
    plan = Q.quotas(sample_data, method="blend", weights={"history": 0.6, "potential": 0.4},
                    target=1.5e7, over_assignment={"rep": 0.2},
                    overrides={"region:EMEA": 2e6}, redistribute_ramp=False)
    Q.save_quotas(ws, plan, by="tester")
    dec = Q.load_quotas(Workspace.open(tmp_path / "plan"))
    assert dec == plan.decisions
    again = Q.quotas_from(sample_data, dec)
    assert again.table["quota"].equals(plan.table["quota"])


@pytest.mark.parametrize("fixture", ["sample_data", "maven_data"])
def test_every_scope_level_runs(request, fixture):
    data = request.getfixturevalue(fixture)
    reps = Q.quota_reps(data, Q.resolve(data, None, None)[1])
    acct = data.deals["account_id"].dropna().iloc[0]
    scopes = [Scope(), Scope("region", reps["region"].iloc[0]),
              Scope("territory", reps["territory"].iloc[0]), Scope("rep", reps["rep_id"].iloc[0]),
              Scope("account", acct)]
    for sc in scopes:
        for method in Q.METHODS:
            plan = Q.quotas(data, sc, method=method)
            assert len(plan.table) >= 1, (sc, method)
            assert plan.table["quota"].notna().all()
            _child_sums_ok(plan)
            Q.seasonality(plan, data)
            Q.fairness(plan)
            Q.reconcile(plan, {})
    empty = Q.quotas(data, Scope("region", "Atlantis"))
    assert empty.table.empty and list(empty.table.columns) == Q.TABLE_COLUMNS
    assert "Atlantis" in empty.note
    assert Q.seasonality(empty, data).empty


def test_maven_history_split(maven_data):
    plan = Q.quotas(maven_data, period="2018", target=12e6,
                    over_assignment={"region": 0, "territory": 0, "rep": 0})
    reg = plan.level("region").set_index("unit_id")["quota"]
    d = maven_data.deals
    won = d[(d["status"] == "won") & (d["close_date"].dt.year == 2017)]
    share = won.groupby("region")["amount"].sum() / won["amount"].sum()
    assert np.allclose(reg.reindex(share.index).to_numpy(), 12e6 * share.to_numpy(), atol=0.01)


def test_bad_input_is_a_clear_error(sample_data):
    with pytest.raises(SalesplanError, match="method"):
        Q.quotas(sample_data, method="magic")
    with pytest.raises(ConfigError, match="over_assignment"):
        Q.quotas(sample_data, over_assignment={"galaxy": 0.1})
    with pytest.raises(ConfigError, match="blend weights"):
        Q.quotas(sample_data, method="blend", weights={"history": -1})
    with pytest.raises(ConfigError, match="Dataset"):
        Q.quotas("not data")


def test_quarter_period_prorates_target_and_ramp():
    plan = Q.quotas(tiny(), period="2026-Q2", method="growth", growth=1.0,
                    over_assignment={"region": 0, "territory": 0, "rep": 0})
    assert plan.target == pytest.approx(1000 * 3 / 12)
    # R5 hired 1 Jan 2026: tenure 3, 4, 5 months in Apr-Jun -> 60%
    assert plan.table.set_index("unit_id").loc["R5", "ramp"] == pytest.approx(0.60)
    m = Q.seasonality(plan, tiny())
    assert list(m["month"].unique()) == ["2026-04", "2026-05", "2026-06"]
    assert m["quota"].sum() == pytest.approx(plan.level("rep")["quota"].sum(), abs=0.005)


def test_empty_territories_table_names_territories_by_id(sample_data):
    """Regression: an empty territories table crashed the territory names (pyarrow)."""
    data = dataclasses.replace(sample_data, territories=schema.empty("territories"))
    plan = Q.quotas(data, method="blend")
    full = Q.quotas(sample_data, method="blend")
    terr, named = plan.level("territory"), full.level("territory")
    assert len(terr) > 1 and (terr["name"] == terr["unit_id"]).all()
    assert (named["name"] != named["unit_id"]).all()  # the sample names its territories
    pd.testing.assert_frame_equal(plan.table.drop(columns="name"),
                                  full.table.drop(columns="name"), check_exact=True)
    w = ui_quotas.fairness_frame(Q.fairness(plan, "territory"))
    assert set(w["shown"]) == set(terr["unit_id"])


def test_memoised_bases_equal_a_fresh_computation(sample_data, monkeypatch):
    kw = {"method": "blend", "weights": {"history": 0.3, "potential": 0.7},
          "over_assignment": {"region": 0.25, "territory": 0.0, "rep": 0.15},
          "redistribute_ramp": False}
    data = dataclasses.replace(sample_data)  # its own Dataset: an empty memo
    first = Q.quotas(data, "region:EMEA", "2026-H2", method="history")
    calls = []
    monkeypatch.setattr(Q, "quota_reps", lambda *a: calls.append(a) or 1 / 0)
    lock = first.level("rep")["unit_id"].iloc[0]
    again = Q.quotas(data, "region:EMEA", "2026-H2", overrides={f"rep:{lock}": 5e4}, **kw)
    assert not calls  # served from the memo: only the split was redone
    monkeypatch.undo()
    fresh = Q.quotas(dataclasses.replace(sample_data), "region:EMEA", "2026-H2",
                     overrides={f"rep:{lock}": 5e4}, **kw)
    pd.testing.assert_frame_equal(again.table, fresh.table, check_exact=True)
    assert (again.target, again.notes, again.ramp_gap) == (fresh.target, fresh.notes,
                                                          fresh.ramp_gap)
    assert again.table["quota"].ne(first.table["quota"]).any()
    # results never alias the memo
    again.table.loc[0, "history"] = -1.0
    assert Q.quotas(data, "region:EMEA", "2026-H2", **kw).table.loc[0, "history"] != -1.0
    # a reassigned table is not served from the memo: the new targets table applies
    data.targets = schema.conform("targets", pd.DataFrame({
        "scope_level": ["region"], "scope_id": ["EMEA"], "period": ["2026-H2"],
        "amount": [1234.5]}))
    assert Q.quotas(data, "region:EMEA", "2026-H2").target == 1234.5
