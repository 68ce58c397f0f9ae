"""Step 5 capacity: RRE by hand, attrition/backfill by hand and by simulation, productivity,
capacity vs target and hires, every scope of the sample and Maven data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import all_scopes

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps import capacity as C


def make_tiny() -> Dataset:
    """3 reps (A, B, C), 4 accounts, 6 deals; as_of 2025-06-30 (hand-checked numbers)."""
    reps = pd.DataFrame({
        "rep_id": ["A", "B", "C", "M"], "name": ["Ann", "Bob", "<b>Cy</b>", "Meg"],
        "manager_id": ["M", "M", "M", None], "region": ["East", "West", "East", "East"],
        "territory": ["E1", "W1", "E1", "E1"], "role": ["AE", "AE", "AE", "Manager"],
        "hire_date": pd.to_datetime(["2024-01-01", "2025-02-01", "2024-11-01", "2010-01-01"]),
        "end_date": pd.to_datetime([None, None, "2025-04-01", None])})
    accounts = pd.DataFrame({
        "account_id": ["a1", "a2", "a3", "a4"], "name": ["Rita", "Rex", "Bea", "Ben"],
        "industry": ["Retail", "Retail", "Bank", "Bank"],
        "segment": ["SMB", "Enterprise", "SMB", "Enterprise"],
        "revenue": [10e6, 500e6, 20e6, 900e6], "region": ["East", "West", "East", "West"],
        "territory": ["E1", "W1", "E1", "W1"], "owner_id": ["A", "B", "A", "B"]})
    d = pd.to_datetime
    opps = pd.DataFrame({
        "opportunity_id": [f"o{i}" for i in range(1, 7)],
        "account_id": ["a1", "a1", "a2", "a3", "a3", "a2"],
        "owner_id": ["A", "A", "B", "C", "A", "B"],
        "product_id": ["P1", "P1", "P2", "P1", "P2", "P1"],
        "stage": ["Won", "Lost", "Won", "Lost", "Won", "Open"],
        "status": ["won", "lost", "won", "lost", "won", "open"],
        "created_date": d(["2025-02-08", "2025-03-02", "2025-03-21", "2025-01-16", "2024-08-16",
                           "2025-06-01"]),
        "close_date": d(["2025-03-10", "2025-04-01", "2025-05-20", "2025-02-15", "2024-09-15",
                         "2025-09-01"]),
        "amount": [40_000.0, 10_000.0, 54_000.0, 5_000.0, 30_000.0, 20_000.0]})
    products = pd.DataFrame({"product_id": ["P1", "P2"], "name": ["Core", "Care"],
                             "family": ["Core", "Services"], "list_price": [100.0, 1000.0],
                             "unit_cost": [40.0, 600.0]})
    return Dataset(accounts=accounts, opportunities=opps, reps=reps, products=products,
                   as_of="2025-06-30", name="tiny")


@pytest.fixture(scope="module")
def tiny() -> Dataset:
    return make_tiny()


# ---- ramp and RRE by hand -------------------------------------------------------------------
def test_ramp_curve_and_parse():
    r = C.DEFAULT_RAMP
    assert r.share([-1, 0, 2.9, 3, 5, 6, 8, 9, 40]).tolist() == \
        [0, .25, .25, .60, .60, .85, .85, 1, 1]
    assert C.RampCurve.parse("3:25%,6:60%,9:85%") == r
    assert C.RampCurve.parse({6: .5, 2: 0.1}).steps == ((2.0, 0.1), (6.0, 0.5))
    assert tuple((float(a), float(b)) for a, b in C.RAMP) == ((3, .25), (6, .6), (9, .85))
    assert C.ramp_pct(np.array([0.5, 7.0])).tolist() == [.25, .85]
    assert r.label() == "0-3 m 25%, 3-6 m 60%, 6-9 m 85%, then 100%"
    with pytest.raises(ConfigError, match="fraction"):
        C.RampCurve(((3, 25),))
    with pytest.raises(ConfigError, match="increase"):
        C.RampCurve(((6, .5), (3, .2)))
    with pytest.raises(ConfigError, match="ramp"):
        C.RampCurve.parse("three months")


def test_rre_three_reps_by_hand(tiny):
    # A hired 2024-01 (ramped), B hired 2025-02-01, C hired 2024-11-01 and left 2025-04-01
    reps = tiny.reps[tiny.reps["rep_id"].isin(["A", "B", "C"])]
    r = C.rre_by_month(reps, "2025-H1", as_of=None)
    # Jan: A 1 + C(t=2) .25 ; Feb: 1 + B(t=0) .25 + C(t=3) .6 ; Mar: 1 + .25 + .6 ;
    # Apr: 1 + B(t=2) .25 (C gone) ; May, Jun: 1 + B(t=3,4) .6
    assert r["rre"].round(10).tolist() == [1.25, 1.85, 1.85, 1.25, 1.6, 1.6]
    assert r["headcount"].tolist() == [2, 3, 3, 2, 2, 2]
    assert r["month"].tolist() == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05",
                                   "2025-06"]
    assert r["actual"].all()


def test_rre_mid_month_hire_is_pro_rated():
    reps = pd.DataFrame({"hire_date": pd.to_datetime(["2025-01-16"]), "end_date": [pd.NaT]})
    r = C.rre_by_month(reps, "2025-Q1", as_of=None)
    assert r["headcount"].iloc[0] == pytest.approx(16 / 31)  # 16..31 Jan employed
    assert r["rre"].tolist() == pytest.approx([16 / 31 * .25, .25, .25])


def test_attrition_and_backfill_by_hand():
    a, lag = 0.2, 2
    q = (1 - a) ** (1 / 12)
    reps = pd.DataFrame({"hire_date": pd.to_datetime(["2020-01-01"]), "end_date": [pd.NaT]})
    r = C.rre_by_month(reps, "2025-01..2025-04-30", as_of=pd.Timestamp("2024-12-31"),
                       attrition=a, backfill_lag=lag)
    h0, h1 = .25, .25 * q  # a backfill's first two months
    expected = [q, q ** 2, q ** 3 + (1 - q) * h0, q ** 4 + (1 - q) * h1 + (q - q ** 2) * h0]
    assert r["rre"].tolist() == pytest.approx(expected)
    assert r["rre_existing"].tolist() == pytest.approx([q, q ** 2, q ** 3, q ** 4])
    assert not r["actual"].any()


def test_seat_renewal_matches_simulation():
    """Second method: simulate 40,000 seats month by month (leave with 1 - q, backfill after
    ``lag`` months, ramp from 0) and compare the mean RRE with the renewal formula."""
    a, lag, n, seats = 0.3, 2, 24, 40_000
    q = (1 - a) ** (1 / 12)
    rng = np.random.default_rng(1)
    tenure = np.zeros(seats)  # months since the current person started
    vacant = np.zeros(seats)  # months left until a backfill starts (0 = filled)
    sim = []
    for _ in range(n):
        filled = vacant == 0
        sim.append(float(np.mean(np.where(filled, C.DEFAULT_RAMP.share(tenure), 0.0))))
        leave = filled & (rng.random(seats) > q)
        tenure = np.where(filled & ~leave, tenure + 1, tenure)
        vacant = np.where(leave, lag + 1, vacant)
        vacant = np.where(~filled | leave, vacant - 1, vacant)
        tenure = np.where((~filled | leave) & (vacant == 0), 0, tenure)
    h = C.fresh_seat(n, C.DEFAULT_RAMP, a, lag)
    assert np.abs(h - np.array(sim)).max() < 0.01
    assert h[0] == .25 and h[9] < 1


# ---- productivity, capacity, hires -----------------------------------------------------------
def test_productivity_by_hand(tiny):
    p = C.productivity(tiny, "company", "2025-H1")
    assert p.rre_months == pytest.approx(9.4)  # 1.25 + 1.85 + 1.85 + 1.25 + 1.6 + 1.6
    assert p.bookings == 94_000 and p.value == pytest.approx(10_000)
    # plan period after as_of: the 12 months to 2025-06-30 (A .85x3 + 1x3, C .25x2 in H2 2024)
    p = C.productivity(tiny, "company", "2025-H2")
    assert p.rre_months == pytest.approx(9.4 + 5.55 + 0.5)
    assert p.bookings == 124_000
    east = C.productivity(tiny, "region:East", "2025-H1")  # A 6 + C (.25 + .6 + .6)
    assert east.value == pytest.approx(40_000 / 7.45)


def test_capacity_plan_target_and_hires_by_hand(tiny):
    plan = C.capacity_plan(tiny, "company", "2025-H2", attrition=0, productivity_usd=10_000,
                           target=200_000)
    # A: 1 x 6; B (hired 2025-02): .6, .85, .85, .85, 1, 1 -> 11.15 RRE-months
    assert plan.rre_months == pytest.approx(11.15)
    assert plan.capacity == pytest.approx(111_500)
    assert plan.gap == pytest.approx(88_500)
    # one hire from 2025-07 adds .25 x 3 + .6 x 3 = 2.55 RRE-months = 25,500 USD -> 4 hires
    assert plan.hires_needed == 4
    table = C.hires_table(plan)
    oct_ = table.set_index("start_month").loc["2025-10"]
    assert oct_["rre_months_per_hire"] == pytest.approx(.75)
    assert oct_["hires"] == math.ceil(88_500 / 7_500)
    assert plan.monthly["target"].sum() == pytest.approx(200_000)
    s = plan.summary().set_index("figure")["value"]
    assert s["hires needed"] == 4 and s["capacity"] == pytest.approx(111_500)


def test_hiring_plan_and_hire_scoping(tiny):
    hires = [C.Hire("2025-09", 2, region="East"), {"month": "2025-12", "count": 1,
                                                    "territory": "W1"}]
    plan = C.capacity_plan(tiny, "company", "2025-H2", attrition=0, productivity_usd=1,
                           hires=hires)
    assert plan.monthly["rre_hires"].tolist() == pytest.approx([0, 0, .5, .5, .5, .6 * 2 + .25])
    east = C.capacity_plan(tiny, "region:East", "2025-H2", attrition=0, productivity_usd=1,
                           hires=hires)
    assert east.monthly["rre_hires"].sum() == pytest.approx(.5 * 3 + 1.2)
    w1 = C.capacity_plan(tiny, "territory:W1", "2025-H2", attrition=0, productivity_usd=1,
                         hires=hires)
    assert w1.monthly["rre_hires"].sum() == pytest.approx(.25)
    # the manager (role Manager) carries no quota: East = A only after C left
    assert east.monthly["rre_existing"].tolist() == pytest.approx([1] * 6)


def test_known_leaver_is_backfilled():
    data = make_tiny()
    reps = data.reps.copy()
    reps.loc[reps["rep_id"] == "A", "end_date"] = pd.Timestamp("2025-08-01")
    r = C.rre_by_month(reps[reps["rep_id"] == "A"], "2025-H2", as_of=data.as_of,
                       attrition=0, backfill_lag=1)
    # A works July, leaves 2025-08-01; backfill starts 1 month after August -> Sept (t=0)
    assert r["rre"].tolist() == pytest.approx([1, 0, .25, .25, .25, .6])


def test_goals_read_capacity(tiny):
    from salesplan_nb.steps import goals
    usd = goals.capacity_from_plan(tiny, "company", "2025-H2", attrition=0,
                                   productivity_usd=10_000)
    assert usd == pytest.approx(111_500)
    assert C.capacity_usd(tiny, "company", "2025-H2", attrition=0,
                          productivity_usd=10_000) == pytest.approx(111_500)


def test_ramp_adjustment():
    # hired 2025-05-01, period 2025 -> Jan-Apr 0, May-Jul .25, Aug-Oct .6, Nov-Dec .85
    assert C.ramp_adjustment("2025-05-01", "2025") == pytest.approx((.75 + 1.8 + 1.7) / 12)
    assert C.ramp_adjustment(None, "2025") == 1.0


def test_bad_input_is_a_clear_error(tiny):
    with pytest.raises(ConfigError, match="annual fraction"):
        C.capacity_plan(tiny, attrition=14)
    with pytest.raises(ConfigError, match="backfill_lag"):
        C.capacity_plan(tiny, backfill_lag=-1)
    with pytest.raises(ConfigError, match="YYYY-MM"):
        C.Hire("next spring")
    with pytest.raises(ConfigError, match="bad scope"):
        C.capacity_plan(tiny, "planet:Mars")
    with pytest.raises(ConfigError, match="period"):
        C.capacity_plan(tiny, "company", "someday")


def test_empty_scope_is_labelled(tiny):
    plan = C.capacity_plan(tiny, "region:Atlantis", "2025-H2")
    assert plan.capacity == 0 and len(plan.monthly) == 6
    assert "no reps in Region Atlantis" in plan.note
    assert math.isnan(plan.productivity)


def test_workspace_round_trip(tmp_path, tiny):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "plan", data=tiny, period="2025-H2")
    C.save_capacity_settings(ws, ramp="2:30%,4:70%", attrition=0.1, backfill_lag=3,
                             hires=[C.Hire("2025-08", 2, region="East")], by="ops")
    kw = Workspace.open(tmp_path / "plan").get  # re-read from disk
    assert kw("capacity", "attrition") == 0.1
    s = C.load_capacity_settings(Workspace.open(tmp_path / "plan"))
    assert s["ramp"].steps == ((2.0, 0.3), (4.0, 0.7)) and s["backfill_lag"] == 3
    assert s["hires"] == [C.Hire("2025-08", 2.0, region="East")]
    plan = C.capacity_plan(tiny, "company", "2025-H2", **s)
    assert plan.monthly["rre_hires"].iloc[1] == pytest.approx(2 * .3)


# ---- every scope, real and sample data ---------------------------------------------------------
def _check_all(data: Dataset, period: str):
    for sc in all_scopes(data, empty_region=True):
        plan = C.capacity_plan(data, sc, period, target=1e6)
        assert len(plan.monthly) == Period.parse(period).n_months
        assert (plan.monthly["rre"] >= 0).all()
        assert plan.capacity >= 0
        if plan.capacity == 0:
            assert plan.note
        C.hires_table(plan)
        C.chart_capacity(plan).to_dict()


def test_every_scope_sample(sample_data):
    _check_all(sample_data, str(sample_data.as_of.year + 1))
    plan = C.capacity_plan(sample_data)
    # productivity x RRE-months is the capacity
    assert plan.capacity == pytest.approx(plan.productivity * plan.rre_months)


def test_every_scope_maven(maven_data):
    _check_all(maven_data, "2018")
    # Maven has no hire dates: every agent is fully ramped; productivity = 2017 won value /
    # (agents x 12 months), computed independently from the CSV
    raw = pd.read_csv(maven_data_dir() / "sales_pipeline.csv")
    teams = pd.read_csv(maven_data_dir() / "sales_teams.csv")
    won = raw.loc[raw["deal_stage"] == "Won", "close_value"].sum()
    p = C.productivity(maven_data, "company", "2018")
    assert p.value == pytest.approx(won / (len(teams) * 12))
    east = C.productivity(maven_data, "region:East", "2018")
    agents = teams.loc[teams["regional_office"] == "East", "sales_agent"]
    east_won = raw.loc[(raw["deal_stage"] == "Won") & raw["sales_agent"].isin(agents),
                       "close_value"].sum()
    assert east.value == pytest.approx(east_won / (len(agents) * 12))


def maven_data_dir():
    from conftest import MAVEN_DIR

    return MAVEN_DIR


# ---- memo: decision-independent work reused on the Dataset ----------------------------------
def _same_plan(a: C.CapacityPlan, b: C.CapacityPlan) -> None:
    pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)
    for f in ("productivity", "rre_months", "capacity", "target", "gap", "hires_needed",
              "settings", "note"):
        x, y = getattr(a, f), getattr(b, f)
        assert x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)), f


def test_memoised_plan_equals_a_fresh_computation():
    from salesplan_nb.data.sample import generate

    data = generate(seed=3, accounts=300, opportunities=3000)
    year = str(data.as_of.year + 1)
    changes = [dict(attrition=0.3, backfill_lag=0),
               dict(attrition=0.05, backfill_lag=4, ramp="2:30%,5:70%"),
               dict(attrition=0.2, hires=[C.Hire(f"{year}-03", 3)], roles=["AE", "Manager"])]
    scopes = [Scope(), Scope("region", str(data.reps["region"].dropna().iloc[0]))]
    for sc in scopes:
        C.capacity_plan(data, sc, year)  # fills the memo
    for sc in scopes:
        for kw in changes:
            memo = C.capacity_plan(data, sc, year, **kw)
            fresh = generate(seed=3, accounts=300, opportunities=3000)  # nothing memoised
            _same_plan(memo, C.capacity_plan(fresh, sc, year, **kw))
            assert C.productivity(data, sc, year, kw.get("ramp")) == \
                C.productivity(fresh, sc, year, kw.get("ramp"))
    # the memo holds the bases and is dropped when a table is reassigned
    assert any(k[0] == "plan" for k in data.__dict__[C._MEMO])
    before = C.capacity_plan(data, None, year, attrition=0.3)
    data.reps = data.reps.iloc[: len(data.reps) // 2]
    after = C.capacity_plan(data, None, year, attrition=0.3)
    assert after.monthly["rre_existing"].sum() < before.monthly["rre_existing"].sum()


def test_rre_matches_a_rep_by_rep_loop(tiny):
    """The vectorised seats give the same figures as summing single-rep frames in order."""
    reps = tiny.reps.copy()
    reps.loc[reps["rep_id"] == "A", "end_date"] = pd.Timestamp("2025-10-15")  # known leaver
    kw = dict(as_of=tiny.as_of, attrition=0.25, backfill_lag=1)
    full = C.rre_by_month(reps, "2025-01..2026-06-30", **kw)
    parts = [C.rre_by_month(reps.iloc[[i]], "2025-01..2026-06-30", **kw)
             for i in range(len(reps))]
    for col in ("headcount", "rre_existing", "rre_backfill", "rre"):
        total = np.zeros(len(full))
        for p in parts:
            total += p[col].to_numpy()
        if col.startswith("rre_"):  # summed rep by rep in order: exactly equal
            assert np.array_equal(full[col].to_numpy(), total), col
        assert full[col].to_numpy() == pytest.approx(total, abs=1e-12), col
    assert full["rre_backfill"].iloc[-1] > 0 and not full["actual"].iloc[-1]


def test_regional_capacity_includes_the_hires_and_sums_to_the_company(sample_data):
    """Company-level hires become to-be-hired seats in territories (the quotas step's rule),
    so they count in their region's and territory's capacity; regions sum to the company and
    territories to their region, with and without the hiring plan (issue 10)."""
    from salesplan_nb.steps import quotas

    hires = [{"month": "2027-01", "count": 4}, {"month": "2027-04", "count": 2.5}]
    tr = C._territory_region(sample_data)
    regions = sorted({str(r) for r in tr.values()})
    # where the quotas step puts the to-be-hired seats
    reps = quotas.quota_reps(sample_data, C.resolve(sample_data, None, "2027")[1])
    seats = quotas.tbh_seats(sample_data, reps, quotas._hire_key(hires),
                             C.resolve(sample_data, None, "2027")[1])
    assert len(seats) == 7
    for h in (hires, []):
        co = C.capacity_plan(sample_data, "company", "2027", hires=h).capacity
        reg = {r: C.capacity_plan(sample_data, f"region:{r}", "2027", hires=h) for r in regions}
        assert sum(p.capacity for p in reg.values()) == pytest.approx(co, rel=1e-9)
        for r in regions:
            terr = [C.capacity_plan(sample_data, f"territory:{t}", "2027", hires=h).capacity
                    for t, rr in tr.items() if str(rr) == r]
            assert sum(terr) == pytest.approx(reg[r].capacity, rel=1e-9)
    with_h = {r: C.capacity_plan(sample_data, f"region:{r}", "2027", hires=hires)
              for r in regions}
    without = {r: C.capacity_plan(sample_data, f"region:{r}", "2027") for r in regions}
    for r in regions:
        n_seats = int((seats["region"] == r).sum())
        if n_seats:  # a region given to-be-hired seats gains capacity
            assert with_h[r].capacity > without[r].capacity
            assert with_h[r].monthly["rre_hires"].sum() > 0
        else:
            assert with_h[r].monthly["rre_hires"].sum() == 0
    # a hire never lowers another unit's capacity
    for t in tr:
        assert C.capacity_plan(sample_data, f"territory:{t}", "2027", hires=hires).capacity \
            >= C.capacity_plan(sample_data, f"territory:{t}", "2027").capacity - 1e-6
    # every hire is counted once: the placed seats' counts add up to the plan's 6.5 hires
    assert sum(h["count"] for p in with_h.values() for h in p.settings["hires"]) == 6.5
