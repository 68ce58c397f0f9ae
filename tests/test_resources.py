"""Resources (step 11): optimal budget split checked by closed form and by a second method."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import one_scope_per_level

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Scope
from salesplan_nb.steps import resources as R


def items():
    return [R.Investment("headcount", a=3e6, b=8e5, kind="headcount", current=9e5),
            R.Investment("events", a=40.0, k=0.7, curve="power", current=2e5),
            R.Investment("ads", a=1.2e6, b=3e5, current=4e5),
            R.Investment("crm tool", a=4e5, b=5e4, kind="tool", current=1e5, max_spend=6e4)]


def test_two_exp_items_closed_form():
    # equal b: (a1/b) e^{-s1/b} = (a2/b) e^{-s2/b}  =>  s1 - s2 = b ln(a1/a2)
    a1, a2, b, B = 2e6, 1e6, 4e5, 1e6
    alloc = R.allocate(B, [R.Investment("x", a=a1, b=b), R.Investment("y", a=a2, b=b)])
    s1 = (B + b * math.log(a1 / a2)) / 2
    assert alloc.table["spend"].iloc[0] == pytest.approx(s1, abs=0.01)
    assert alloc.table["spend"].sum() == pytest.approx(B, abs=1e-6)
    mr = alloc.table["marginal_roi"]
    assert mr.iloc[0] == pytest.approx(mr.iloc[1], rel=1e-6)
    assert mr.iloc[0] == pytest.approx(a1 / b * math.exp(-s1 / b), rel=1e-6)


def test_budget_sums_in_cents_and_beats_current_split():
    alloc = R.allocate(1_600_000.37, items())
    cents = (alloc.table["spend"] * 100).round().astype("int64")
    assert cents.sum() == 160_000_037
    assert alloc.total_return > alloc.current_return
    assert alloc.uplift == pytest.approx(alloc.table["return"].sum()
                                         - alloc.table["return_current"].sum())
    # the capped tool sits at its maximum, its marginal above lambda
    tool = alloc.table.set_index("name").loc["crm tool"]
    assert tool["spend"] == pytest.approx(6e4) and tool["bound"] == "max"
    assert tool["marginal_roi"] >= alloc.lam


def test_marginal_rois_equal_at_optimum_by_second_method():
    inv = items()
    budget = 1_600_000.0
    kkt = R.allocate(budget, inv, method="kkt")
    chk = R.kkt_check(kkt, inv)
    assert chk["interior_spread"] < 1e-4 and chk["bound_violation"] < 1e-6
    # greedy increments (independent of the lambda search) land on the same split
    greedy = R.allocate(budget, inv, method="greedy", steps=20_000)
    step = budget / 20_000
    assert np.allclose(greedy.table["spend"], kkt.table["spend"], atol=2 * step)
    g = R.kkt_check(greedy, inv)
    assert g["interior_spread"] < 0.01
    assert greedy.total_return == pytest.approx(kkt.total_return, rel=1e-5)
    slsqp = R.allocate(budget, inv, method="slsqp")
    assert slsqp.total_return == pytest.approx(kkt.total_return, rel=1e-6)
    # no random feasible split beats the optimum
    rng = np.random.default_rng(0)
    for _ in range(200):
        w = rng.dirichlet(np.ones(4))
        s = w * budget
        if s[3] > 6e4:
            continue
        assert sum(float(i.value(v)) for i, v in zip(inv, s)) <= kkt.total_return + 1e-6


def test_fit_curve_recovers_parameters_and_states_fit():
    x = np.linspace(1e4, 2e6, 15)
    y = 5e6 * -np.expm1(-x / 7e5)
    inv = R.fit_curve(x, y, "exp", name="programs")
    assert inv.a == pytest.approx(5e6, rel=1e-4) and inv.b == pytest.approx(7e5, rel=1e-4)
    assert "R^2 = 1.00" in inv.fit and "15 points" in inv.fit
    p = R.fit_curve(x, 30 * x ** 0.6, "power")
    assert p.k == pytest.approx(0.6, rel=1e-4)
    with pytest.raises(ConfigError, match="3 points"):
        R.fit_curve([1, 2], [3, 4])


def test_bad_inputs():
    with pytest.raises(ConfigError, match="min_spend"):
        R.allocate(10.0, [R.Investment("a", a=5, b=1, min_spend=20)])
    with pytest.raises(ConfigError, match="max_spend"):
        R.allocate(100.0, [R.Investment("a", a=5, b=1, max_spend=20)])
    with pytest.raises(ConfigError, match="0 < k < 1"):
        R.Investment("a", a=5, k=1.5, curve="power")
    with pytest.raises(ConfigError, match="unique"):
        R.allocate(1.0, [{"name": "a", "a": 1, "b": 1}, {"name": "a", "a": 1, "b": 1}])


def test_saturating_curve_from_a_point_and_an_elasticity():
    inv = R.saturating("demand generation", 250_000.0, 1_200_000.0, 0.3, current=250_000.0)
    s0, h = 250_000.0, 1.0
    assert inv.curve == "exp" and float(inv.value(s0)) == pytest.approx(1_200_000.0)
    # elasticity d ln R / d ln s at the point = the given 0.3
    el = (math.log(inv.value(s0 + h)) - math.log(inv.value(s0 - h))) / (
        math.log(s0 + h) - math.log(s0 - h))
    assert el == pytest.approx(0.3, abs=1e-6)
    # diminishing returns: marginal falls with spend, the return saturates at a
    m = [float(inv.marginal(x)) for x in (1e5, 2.5e5, 1e6, 1e7)]
    assert m == sorted(m, reverse=True) and float(inv.value(1e9)) == pytest.approx(inv.a)
    assert "elasticity 0.30" in inv.fit
    with pytest.raises(ConfigError, match="elasticity"):
        R.saturating("x", 1.0, 1.0, 1.5)


def _tactics_ws(tmp_path, data):
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.steps import strategy

    ws = Workspace.create(tmp_path / "p", data=data, period="2027")
    ws.record("capacity", "hires", [{"month": "2027-02", "count": 2}])
    for t in (strategy.Tactic("Webinars", "lead generation & nurturing", "pipeline", 8.0,
                              "2027-01-01", "2027-12-31", budget=200_000.0),
              strategy.Tactic("Half-year partners", "channels", "pipeline", 4.0,
                              "2026-07-01", "2027-06-30", budget=100_000.0)):
        strategy.save_tactic(ws, t)
    return ws


def test_allocation_never_below_committed_tactic_spend(tmp_path, sample_data):
    ws = _tactics_ws(tmp_path, sample_data)
    # committed in 2027: the webinars' whole budget, half of the partners' (6 of 12 months)
    assert R.committed_spend(ws, "2027") == {"lead generation & nurturing": 200_000.0,
                                             "channels": pytest.approx(50_000.0)}
    # a tool with a far steeper curve would take everything without the floors
    tool = R.Investment("crm", a=5e6, b=1e5, kind="tool")
    alloc, inv = R.from_workspace(ws, budget=300_000.0, investments=[tool])
    t = alloc.table.set_index("name")
    assert t.loc["lead generation & nurturing", "spend"] >= 200_000.0 - 0.01
    assert t.loc["channels", "spend"] >= 50_000.0 - 0.01
    assert t["spend"].sum() == pytest.approx(300_000.0, abs=0.01)
    chan = {i.name: i for i in inv}["lead generation & nurturing"]
    assert chan.min_spend == chan.current == 200_000.0 and "elasticity" in chan.fit
    # the floor holds when the channel is also given by hand
    own = R.Investment("channels", a=1.0, b=1e6)
    t2 = R.from_workspace(ws, budget=300_000.0, investments=[tool, own])[0].table
    assert float(t2.set_index("name").loc["channels", "spend"]) >= 50_000.0 - 0.01
    with pytest.raises(ConfigError, match="minimum spends"):
        R.from_workspace(ws, budget=100_000.0, investments=[tool])


def test_headcount_is_the_capacity_plan(tmp_path, sample_data):
    from salesplan_nb.steps import capacity

    ws = _tactics_ws(tmp_path, sample_data)
    cs = capacity.load_capacity_settings(ws)
    plan = capacity.capacity_plan(sample_data, "company", "2027", **cs)
    line = R.headcount_line(sample_data, "company", "2027", cost_per_rep=150_000.0,
                            capacity_settings=cs)
    seats = float(plan.monthly["headcount"].mean())
    assert line.current == line.min_spend == line.max_spend == pytest.approx(seats * 150_000)
    assert float(line.value(line.current)) == pytest.approx(plan.capacity)
    # "one more rep returns $X": a hire from the first plan month x productivity
    one = capacity.hire_yield("2027", "2027-01", ramp=cs["ramp"], attrition=cs["attrition"],
                              backfill_lag=cs["backfill_lag"]) * plan.productivity
    assert line.k * 150_000.0 == pytest.approx(one) and f"{one:,.0f} USD" in line.fit
    # the optimiser never moves it, even when a rep returns more per dollar than anything
    budget = line.current + 400_000.0
    alloc, _ = R.from_workspace(ws, budget=budget, cost_per_rep=150_000.0)
    t = alloc.table.set_index("name")
    assert t.loc["headcount", "spend"] == pytest.approx(line.current, abs=0.01)
    assert t.loc["headcount", "bound"] == "fixed"
    assert t.loc["headcount", "marginal_roi"] > t.drop("headcount")["marginal_roi"].max()
    assert t.loc["headcount", "current"] == pytest.approx(line.current)  # not rescaled


@pytest.mark.parametrize("fixture", ["sample_data", "maven_data"])
def test_every_scope_level_runs(request, fixture):
    data = request.getfixturevalue(fixture)
    for sc in one_scope_per_level(data):
        a = R.plan_resources(data, sc, budget=1e6, investments=items(), cost_per_rep=100_000)
        assert a.table["spend"].sum() == pytest.approx(1e6, abs=0.005)
    empty = R.plan_resources(data, Scope("region", "Atlantis"), budget=1e6, investments=items())
    assert empty.table.empty and "Atlantis" in empty.note


def test_save_and_load(tmp_path, sample_data):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "p", data=sample_data)
    inv = items()
    alloc = R.allocate(1e6, inv)
    R.save_resources(ws, alloc, inv)
    got = R.load_resources(Workspace.open(tmp_path / "p"))
    assert got["budget"] == 1e6 and [i.name for i in got["investments"]] == [i.name for i in inv]
    again = R.allocate(got["budget"], got["investments"])
    assert again.table["spend"].tolist() == alloc.table["spend"].tolist()
    assert got["accepted"]["ads"] == alloc.table.set_index("name").loc["ads", "spend"]
