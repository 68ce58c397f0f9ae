"""The planning core's shared rules (salesplan_nb.core.periods / seats / accounts), pinned on
edge dates, and every step that uses one agreeing with it."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesplan_nb import Dataset
from salesplan_nb.core import periods as P
from salesplan_nb.core import seats as SE
from salesplan_nb.core.accounts import fill_account_places
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data import units

T = pd.Timestamp
PKG = Path(__file__).resolve().parents[1] / "salesplan_nb"


# ---- periods ---------------------------------------------------------------------------------
@pytest.mark.parametrize("as_of, start, end, days", [
    ("2025-02-28", "2024-03-01", "2025-03-01", 365),   # 29 Feb 2024 is outside
    ("2024-02-29", "2023-03-01", "2024-03-01", 366),   # leap day as_of: 12 whole months
    ("2024-02-28", "2023-02-28", "2024-02-29", 366),   # end 29 Feb: 12 months back = 28 Feb
    ("2025-12-31", "2025-01-01", "2026-01-01", 365),   # as_of on 31 Dec = the calendar year
    ("2025-04-30", "2024-05-01", "2025-05-01", 365),   # month end
    ("2025-03-31", "2024-04-01", "2025-04-01", 365),
])
def test_trailing_12_months_on_edge_dates(as_of, start, end, days):
    w = P.trailing_12_months(T(as_of))
    assert (w.start, w.end) == (T(start), T(end))
    assert (w.end - w.start).days == days
    assert w.contains(pd.Series([T(as_of)])).all()  # as_of is history
    assert not w.contains(pd.Series([T(as_of) + pd.Timedelta(days=1)])).any()


def test_same_dates_last_year_and_year_to_date():
    ytd = P.year_to_date(T("2025-02-28"))
    assert (ytd.start, ytd.end) == (T("2025-01-01"), T("2025-03-01"))
    ly = P.same_dates_last_year(ytd)
    assert (ly.start, ly.end) == (T("2024-01-01"), T("2024-03-01"))  # month end to month end
    assert ly.contains(pd.Series([T("2024-02-29")])).all()
    ly2 = P.same_dates_last_year(P.year_to_date(T("2024-02-29")))
    assert (ly2.start, ly2.end) == (T("2023-01-01"), T("2023-03-01"))
    assert P.to_date(Period.year(2025), T("2025-12-31")).end == T("2026-01-01")
    assert P.to_date(Period.year(2026), T("2025-12-31")).end == T("2026-01-01")  # empty
    assert P.is_over(Period.year(2025), T("2025-12-31"))
    assert not P.in_progress(Period.year(2025), T("2025-12-31"))
    assert P.in_progress(Period.year(2025), T("2025-12-30"))


def test_baseline_last_full_year_and_whole_months():
    assert P.baseline_period(Period.year(2027), T("2026-06-30")).label == "2025"
    assert P.baseline_period(Period.year(2027), T("2026-12-31")).label == "2026"
    assert P.baseline_period(Period.parse("2027-Q1"), T("2026-03-30")).label == "2025-Q1"
    assert P.last_full_year(T("2025-12-31")) == 2025
    assert P.last_full_year(T("2025-12-30")) == 2024
    assert P.plan_year(T("2025-12-31")).label == "2026"
    assert P.last_whole_month(T("2024-02-29")) == pd.Period("2024-02", "M")
    assert P.last_whole_month(T("2025-02-27")) == pd.Period("2025-01", "M")
    for as_of in ("2024-02-29", "2025-02-28", "2025-12-31", "2025-04-30"):
        a, b = P.trailing_12_whole_months(T(as_of)), P.trailing_12_months(T(as_of))
        assert (a.start, a.end) == (b.start, b.end)


# ---- a small company with deals on edge dates --------------------------------------------------
# won amounts are powers of two so every window's sum names the deals in it
WON = {"2024-02-28": 1, "2024-02-29": 2, "2024-03-01": 4, "2024-12-31": 8, "2025-02-28": 16,
       "2025-03-01": 32, "2025-12-31": 64}


def edge_data(as_of: str) -> Dataset:
    accounts = pd.DataFrame({
        "account_id": ["A1", "A2", "A3"], "name": ["a1", "a2", "a3"],
        "segment": ["SMB", "SMB", "Enterprise"], "industry": ["x", "y", "x"],
        "revenue": [1e6, 2e6, 3e6], "region": ["East", None, "West"],
        "territory": ["T1", None, "T2"], "owner_id": ["R1", None, "R3"]})
    reps = pd.DataFrame({
        "rep_id": ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9"],
        "name": list("abcdefghi"),
        "role": ["AE", "Sales Manager", "Account Manager", "AE", "VP Sales", None, "AE", "AE",
                 "Head of Sales"],
        "region": ["East", "East", "West", "West", "East", "West", "East", "West", "West"],
        "territory": ["T1", "T1", "T2", "T2", "T1", "T2", "T1", "T2", "T2"],
        "hire_date": ["2020-01-01", "2020-01-01", "2021-01-01", "2021-01-01", "2019-01-01",
                      "2026-03-15", "2020-01-01", "2020-01-01", "2019-01-01"],
        "end_date": [None, None, None, "2025-01-01", None, None, "2026-01-01", "2026-07-01",
                     "2024-06-01"]})
    rows = []
    for i, (d, amt) in enumerate(WON.items()):
        rows.append({"opportunity_id": f"w{i}", "account_id": "A1" if i % 2 else "A3",
                     "owner_id": "R1" if i % 2 else "R3", "product_id": "P1",
                     "status": "won", "stage": "Won", "created_date": "2023-06-01",
                     "close_date": d, "amount": float(amt)})
        rows.append({"opportunity_id": f"l{i}", "account_id": "A1", "owner_id": "R1",
                     "product_id": "P1", "status": "lost", "stage": "Lost",
                     "created_date": "2023-06-01", "close_date": d, "amount": 5.0})
    rows.append({"opportunity_id": "early", "account_id": "A1", "owner_id": "R1",
                 "product_id": "P1", "status": "lost", "stage": "Lost",
                 "created_date": "2022-12-01", "close_date": "2023-01-15", "amount": 5.0})
    # A2 (no region/territory/owner): three older deals in East by R1, the latest in West by R3
    for i, c in enumerate(["2023-01-01", "2023-02-01", "2023-03-01", "2024-06-01"]):
        east = i < 3
        rows.append({"opportunity_id": f"a2-{i}", "account_id": "A2",
                     "owner_id": "R1" if east else "R3", "product_id": "P1", "status": "open",
                     "stage": "Open", "created_date": c, "close_date": "2027-06-01",
                     "amount": 1.0})
    opps = pd.DataFrame(rows)
    products = pd.DataFrame({"product_id": ["P1"], "name": ["p"], "family": ["f"],
                             "list_price": [1.0]})
    return Dataset(accounts=accounts, opportunities=opps, reps=reps, products=products,
                   as_of=as_of)


def _expected_trailing(as_of: str) -> float:
    w = P.trailing_12_months(T(as_of))
    return float(sum(a for d, a in WON.items() if w.start <= T(d) < w.end))


@pytest.mark.parametrize("as_of, expected", [("2025-02-28", 4 + 8 + 16),
                                             ("2024-02-29", 1 + 2),
                                             ("2025-12-31", 16 + 32 + 64)])
def test_every_step_uses_the_same_trailing_window(as_of, expected):
    from salesplan_nb.batch import demo
    from salesplan_nb.steps import capacity, kpis, market, quotas, segments

    data = edge_data(as_of)
    assert _expected_trailing(as_of) == expected
    plan = P.plan_year(data.as_of)
    # quotas: the company's history basis; market: potential's trailing bookings
    qp = quotas.quotas(data, period=plan, target=1000.0)
    assert qp.level("region")["history"].sum() == pytest.approx(expected)
    assert market.account_potential(data).table["bookings_12m"].sum() == pytest.approx(
        expected)
    # capacity's productivity and segments' ICP measure a future plan year on the same window
    assert capacity.productivity(data, "company", plan).bookings == pytest.approx(expected)
    assert segments.icp(data, "company", plan)["bookings"].sum() == pytest.approx(expected)
    # batch: the top-N ranking and the demo headline
    assert units._trailing_bookings(data, "region").sum() == pytest.approx(expected)
    h = demo.headline(data)
    n_won = sum(1 for d in WON if P.trailing_12_months(data.as_of).contains(
        pd.Series([T(d)])).all())
    assert h.won_12m == n_won and h.lost_12m == n_won
    # kpis: the trailing win rate (needed coverage) is the headline's
    t12 = P.trailing_12_months(data.as_of)
    assert kpis.kpi_value(data, "win_rate", "company", t12) == pytest.approx(h.win_rate)


def test_year_to_date_vs_same_dates_agree_in_market():
    from salesplan_nb.steps import market

    data = edge_data("2025-02-28")
    ab = market.annual_bookings(data).set_index("year")
    # 2025 to 28 Feb (16) vs 2024 to 29 Feb (1 + 2): month end against month end
    assert ab.loc[2025, "yoy_growth"] == pytest.approx(16 / 3 - 1)
    y = market.yoy(data, "company", "2025")
    assert (y["bookings"].iloc[0], y["prior_bookings"].iloc[0]) == (16.0, 3.0)


# ---- the account fill --------------------------------------------------------------------------
def test_account_fill_is_the_latest_deal_everywhere():
    from salesplan_nb.steps import market, segments

    data = edge_data("2025-02-28")
    # A2 has three East deals by R1 and a later West deal by R3: latest wins (not most frequent)
    a2 = market.filled_accounts(data).set_index("account_id").loc["A2"]
    assert (a2["region"], a2["territory"], a2["owner_id"]) == ("West", "T2", "R3")
    pot = market.account_potential(data).table.set_index("account_id").loc["A2"]
    assert (pot["region"], pot["territory"], pot["owner_id"]) == ("West", "T2", "R3")
    seg = segments.scope_accounts(data, Scope()).set_index("account_id").loc["A2"]
    assert (seg["region"], seg["territory"], seg["owner_id"]) == ("West", "T2", "R3")
    assert "A2" in set(segments.scope_accounts(data, Scope("region", "West"))["account_id"])
    assert "A2" not in set(segments.scope_accounts(data, Scope("region", "East"))["account_id"])
    # recorded values are never overwritten; row order does not matter
    shuffled = dataclasses.replace(data, opportunities=data.opportunities.sample(
        frac=1, random_state=3).reset_index(drop=True))
    pd.testing.assert_frame_equal(market.filled_accounts(shuffled),
                                  market.filled_accounts(data))
    assert market.filled_accounts(data).set_index("account_id").loc["A1", "region"] == "East"


def test_fill_rule_on_shuffled_sample_agrees_between_market_and_segments(sample_data):
    from salesplan_nb.steps import market, segments

    rng = np.random.default_rng(7)
    acc = sample_data.accounts.copy()
    blank = rng.random(len(acc)) < 0.3
    acc.loc[blank, ["region", "territory"]] = None
    opps = sample_data.opportunities.sample(frac=1, random_state=5).reset_index(drop=True)
    data = dataclasses.replace(sample_data, accounts=acc, opportunities=opps)
    m = market.account_potential(data).table.set_index("account_id")[["region", "territory"]]
    s = segments.scope_accounts(data, Scope()).set_index("account_id")[["region", "territory"]]
    both = m.join(s, rsuffix="_seg")
    for col in ("region", "territory"):
        assert (both[col].astype("string").fillna("-")
                == both[f"{col}_seg"].astype("string").fillna("-")).all()
    assert both["region"].notna().mean() > 0.95


def test_fill_account_places_keeps_recorded_values():
    acc = pd.DataFrame({"account_id": ["A", "B"], "region": ["North", None],
                        "territory": [None, None], "owner_id": [None, "R9"]})
    deals = pd.DataFrame({"account_id": ["A", "B", "B"], "created_date": [T("2024-01-01"),
                                                                          T("2024-01-01"), None],
                          "region": ["South", "East", "West"], "territory": ["S1", "E1", None],
                          "owner_id": ["R1", "R2", "R3"]})
    out = fill_account_places(acc, deals).set_index("account_id")
    assert out.loc["A", "region"] == "North" and out.loc["A", "territory"] == "S1"
    # B: the undated deal counts as the latest; its blank territory falls back to E1
    assert out.loc["B", "region"] == "West" and out.loc["B", "territory"] == "E1"
    assert out.loc["B", "owner_id"] == "R9"


# ---- quota-carrying seats -----------------------------------------------------------------------
def test_seat_rule_roles_and_employment():
    roles = pd.Series(["AE", "Sales Manager", "Account Manager", "Key Account Manager",
                       "VP Sales", "Head of EMEA", "Regional Director", None, "SDR",
                       "Chief Revenue Officer", "Headquarters AE"])
    assert SE.is_manager_role(roles).tolist() == [False, True, False, False, True, True, True,
                                                 False, False, True, False]
    data = edge_data("2025-12-31")
    plan = Period.year(2026)
    ids = set(SE.quota_seats(data.reps, plan)["rep_id"])
    # R4 left 2025-01-01, R7 leaves on the plan's first day (end_date = first day gone),
    # R2/R5/R9 are managers; R6 joins in March, R8 leaves in June: both are seats
    assert ids == {"R1", "R3", "R6", "R8"}


def test_every_step_uses_the_same_seat_rule():
    from salesplan_nb.batch import demo
    from salesplan_nb.steps import capacity, quotas, scenarios

    data = edge_data("2025-12-31")
    plan = Period.year(2026)
    expected = set(SE.quota_seats(data.reps, plan)["rep_id"])
    assert set(quotas.quota_reps(data, plan)["rep_id"]) == expected
    assert set(quotas.quotas(data, period=plan, target=1000.0).level("rep")["unit_id"]) \
        == expected
    cap = set(capacity.scope_reps(data, "company")["rep_id"])
    assert cap == set(SE.quota_seats(data.reps)["rep_id"])  # by time: day shares, not rows
    assert set(scenarios.build(data, plan, assumptions=scenarios.Assumptions(
        attrition=0.0)).rep_ids) == expected
    # the demo's plan scenario spreads hires over the seats employed at as_of
    at = SE.quota_seat_mask(data.reps) & SE.employed_mask(data.reps, data.as_of)
    assert set(data.reps.loc[at, "rep_id"]) == {"R1", "R3", "R7", "R8"}  # R7 leaves 1 Jan
    assert demo.headline(data).reps_employed == 7  # every employed person, managers too


# ---- ramp ------------------------------------------------------------------------------------
def test_ramp_pinned_on_edge_dates():
    f = SE.ramp_factors(pd.Series([T("2024-02-29"), T("2025-05-01"), pd.NaT]), "2024")
    # hired 29 Feb 2024: 1/29 of February at 25%, then Mar-Apr 25%, May-Jul 60%, Aug-Oct 85%
    assert f[0] == pytest.approx((0.25 / 29 + 0.5 + 1.8 + 2.55 + 2.0) / 12)
    assert f[1] == 0.0 and f[2] == 1.0
    assert SE.ramp_factors(pd.Series([T("2025-05-01")]), "2025")[0] == pytest.approx(
        (0.75 + 1.8 + 1.7) / 12)
    t = SE.tenure_months(pd.Series([T("2025-01-31")]), Period.year(2025).months())
    assert t[0].tolist() == list(range(12))  # the hire month is month 0, whatever the day


def test_quota_and_capacity_ramp_agree():
    from salesplan_nb.steps import capacity, quotas

    data = edge_data("2025-12-31")
    plan = Period.year(2026)
    qp = quotas.quotas(data, period=plan, target=1000.0)
    r6 = qp.table.set_index("unit_id").loc["R6", "ramp"]
    hand = (17 / 31 * 0.25 + 0.25 + 0.25 + 3 * 0.6 + 3 * 0.85 + 1.0) / 12  # hired 15 March
    assert r6 == pytest.approx(hand)
    assert capacity.ramp_adjustment("2026-03-15", plan) == pytest.approx(hand)
    reps = data.reps[data.reps["rep_id"] == "R6"]
    rre = capacity.rre_by_month(reps, plan)  # history-only (no attrition): share x ramp
    assert rre["rre"].mean() == pytest.approx(hand)


def test_scenarios_use_the_core_ramp_and_defaults():
    from salesplan_nb.steps import capacity, scenarios

    data = edge_data("2025-12-31")
    m = scenarios.build(data, "2026")
    assert m._ramp is SE.DEFAULT_RAMP and m.ramp_curve == SE.DEFAULT_RAMP.steps
    assert m.base_attrition == SE.DEFAULT_ATTRITION == capacity.DEFAULT_ATTRITION
    assert m.backfill == SE.DEFAULT_BACKFILL_LAG == capacity.DEFAULT_BACKFILL_LAG
    assert scenarios.Assumptions().growth == SE.DEFAULT_GROWTH
    plan = capacity.capacity_plan(data, "company", "2026")
    assert plan.settings["attrition"] == SE.DEFAULT_ATTRITION


def test_observed_attrition_counts_quota_seats_only():
    from salesplan_nb.steps import evaluate

    data = edge_data("2025-12-31")
    # 2025: R4 (AE) leaves 1 Jan; seats employed 1 Jan 2025: R1 R3 R7 R8 (4; R4 gone that
    # day), on 31 Dec: R1 R3 R7 R8 (4); the VP / manager / head are never counted
    rate, left, head = SE.observed_attrition(data.reps, Period.year(2025))
    assert (left, head) == (1, 4.0) and rate == pytest.approx(0.25)
    d = evaluate.next_plan_defaults(data, "2025").set_index("key")
    assert d.loc["attrition", "value"] == pytest.approx(0.25)
    no_end = dataclasses.replace(data, reps=data.reps.assign(end_date=pd.NaT))
    assert SE.observed_attrition(no_end.reps, Period.year(2025)) is None
    assert evaluate.next_plan_defaults(no_end, "2025").set_index("key").loc[
        "attrition", "value"] == SE.DEFAULT_ATTRITION


# ---- caches ----------------------------------------------------------------------------------
def test_deals_rebuilt_when_a_table_is_reassigned():
    data = edge_data("2025-02-28")
    d0 = data.deals
    assert data.deals is d0 and data.deals_built
    data.reps = data.reps.assign(region=data.reps["region"].replace({"East": "North"}))
    assert not data.deals_built
    d1 = data.deals
    assert d1 is not d0 and "North" in set(d1["region"]) and "East" not in set(
        d1.loc[d1["owner_id"] == "R1", "region"])
    pinned = d1.assign(channel="Direct")
    data.deals = pinned  # pinned while the tables stay the same
    assert data.deals is pinned
    data.opportunities = data.opportunities.iloc[:-1]
    assert "channel" not in data.deals.columns and len(data.deals) == len(d1) - 1
    data.as_of = T("2025-12-31")  # a new as_of is a new snapshot
    assert not data.deals_built


def test_segments_caches_follow_the_tables():
    from salesplan_nb.steps import segments

    data = edge_data("2025-02-28")
    before = segments.scope_accounts(data, Scope("region", "West"))
    assert "A2" in set(before["account_id"])
    model = segments.fit_model(data, Period.year(2026))
    assert segments.fit_model(data, Period.year(2026)) is model
    data.accounts = data.accounts.assign(region=["East", "East", "West"])
    assert "A2" not in set(segments.scope_accounts(data, Scope("region", "West"))["account_id"])
    assert segments.fit_model(data, Period.year(2026)) is not model


def test_no_cache_outside_the_memo(sample_data):
    from salesplan_nb.steps import capacity, market, quotas, segments

    data = dataclasses.replace(sample_data)
    segments.fit_scores(data, "company")
    segments.segment_ranking(data, "company")
    market.account_potential(data)
    capacity.capacity_plan(data, "company")
    quotas.quotas(data)
    fields = {f.name for f in dataclasses.fields(Dataset)}
    for k, v in vars(data).items():
        if k in fields:
            continue
        # every other attribute is a memo store: key -> (as_of, table objects, value)
        assert isinstance(v, dict), k
        for entry in v.values():
            assert isinstance(entry, tuple) and len(entry) == 3 and entry[0] == data.as_of, k


# ---- one definition of each rule in the source ------------------------------------------------
def _sources() -> dict[str, str]:
    return {str(p.relative_to(PKG)): p.read_text() for p in PKG.rglob("*.py")}


@pytest.mark.parametrize("pattern, home", [
    (r"def trailing_12_months\(", "core/periods.py"),
    (r"def fill_account_places\(", "core/accounts.py"),
    (r"def quota_seat_mask\(", "core/seats.py"),
    (r"class RampCurve\b", "core/seats.py"),
    (r"^DEFAULT_ATTRITION\s*=", "core/seats.py"),
    (r"^DEFAULT_GROWTH\s*=", "core/seats.py"),
    (r"^DEFAULT_RAMP\s*=", "core/seats.py"),
    (r"^SCOPE_LEVELS\s*=", "core/scope.py"),
    (r"^PLAN_TYPES\s*=", "core/scope.py"),
])
def test_one_definition(pattern, home):
    found = [f for f, text in _sources().items() if re.search(pattern, text, re.M)]
    assert found == [home]


@pytest.mark.parametrize("pattern", [
    r"as_of\)?\s*[-+]\s*pd\.DateOffset",              # a window computed from as_of
    r"as_of\s*\+\s*pd\.Timedelta\(days=1\)",          # the end of a history window
    r"DateOffset\(years=1\)\s*\+\s*pd\.Timedelta",    # as_of - 1y + 1d
    r"str\.contains\(\"manager\"\)",                  # a local manager rule
    r"role\"\]\s*!=\s*\"Manager\"",
    r"groupby\(\[\"account_id\", col\]\)",            # a local most-frequent fill
])
def test_no_local_copy_of_a_rule(pattern):
    found = [f for f, text in _sources().items()
             if not f.startswith("core/") and re.search(pattern, text)]
    assert found == []
