"""Territories (step 10): solver checked against brute force, locks, tolerance and moves."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import one_scope_per_level

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Scope
from salesplan_nb.steps import territories as T


def brute_force_min_moves(p, cur, locked, n_units, tol):
    p = np.asarray(p, float)
    mean = p.sum() / n_units
    best = None
    for combo in itertools.product(range(n_units), repeat=len(p)):
        a = np.array(combo)
        if (a[locked] != cur[locked]).any():
            continue
        load = np.bincount(a, weights=p, minlength=n_units)
        if ((load >= mean * (1 - tol) - 1e-9) & (load <= mean * (1 + tol) + 1e-9)).all():
            moves = int((a != cur).sum())
            best = moves if best is None else min(best, moves)
    return best


def per_seat_ratios(data, plan, col: str = "potential"):
    """Each territory's ``col`` per seat / its region's, recomputed from the assignment, the
    seats (reps employed at as_of, counted here from the reps table) and the territories
    table's regions - independent of the solver's bookkeeping."""
    from salesplan_nb.core.seats import employed_mask, quota_seat_mask

    reps = data.reps
    now = reps[quota_seat_mask(reps).to_numpy() & employed_mask(reps, data.as_of).to_numpy()]
    seats = now.groupby("territory").size().astype(float)
    region = data.territories.set_index("territory_id")["region"]
    load = plan.assignment.groupby("proposed")[col].sum()
    units = seats.index[seats > 0]
    load = load.reindex(units).fillna(0.0)
    reg = region.reindex(units)
    mean = load.groupby(reg).transform("sum") / seats[units].groupby(reg).transform("sum")
    return (load / seats[units]) / mean


def test_hand_example_one_move_and_locked_three_moves():
    p = np.array([40.0, 30.0, 20.0, 10.0])
    cur = np.array([0, 0, 0, 1])
    sol = T.solve(p, cur, np.zeros(4, bool), 2, tolerance=0.05)
    assert sol.moves == 1 and sol.within_tolerance  # move the 40: 50 / 50
    assert list(sol.assign) == [1, 0, 0, 1]
    # lock the 40 in unit 0: best is {40, 10} vs {30, 20} -> 3 moves
    locked = np.array([True, False, False, False])
    sol = T.solve(p, cur, locked, 2, tolerance=0.05)
    assert sol.moves == 3 and sol.assign[0] == 0 and sol.within_tolerance


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mip_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    p = rng.lognormal(3, 0.6, 8)
    cur = rng.integers(0, 3, 8)
    locked = np.zeros(8, bool)
    locked[0] = True
    tol = 0.10
    want = brute_force_min_moves(p, cur, locked, 3, tol)
    sol = T.solve(p, cur, locked, 3, tolerance=tol, method="mip")
    if want is None:
        assert not sol.within_tolerance
    else:
        assert sol.within_tolerance and sol.moves == want
        assert sol.assign[0] == cur[0]


def test_infeasible_falls_back_to_heuristic():
    p = np.array([100.0, 1.0, 1.0, 1.0])  # one account exceeds the band on its own
    sol = T.solve(p, np.array([0, 0, 1, 1]), np.zeros(4, bool), 2, tolerance=0.05)
    assert not sol.within_tolerance
    assert sol.method == "heuristic" and "HiGHS" in sol.status


def test_sample_company_locked_tolerance_fewer_moves(sample_data):
    acc = sample_data.accounts
    locked = acc["account_id"].iloc[::7].tolist()
    plan = T.rebalance(sample_data, tolerance=0.05, locked=locked)
    a = plan.assignment
    lk = a[a["account_id"].isin(locked)]
    assert len(lk) == len(locked)
    assert (lk["proposed"] == lk["current"]).all() and lk["locked"].all()
    # tolerance from the assignment itself (independent of the solver's bookkeeping)
    load = a.groupby("proposed")["potential"].sum()
    assert plan.summary["within_tolerance"]
    assert per_seat_ratios(sample_data, plan).between(0.95 - 1e-9, 1.05 + 1e-9).all()
    assert plan.summary["moves"] == int((a["proposed"] != a["current"]).sum())
    base = T.rebalance(sample_data, tolerance=0.05, locked=locked, baseline=True)
    b = base.assignment
    assert (b.loc[b["locked"], "proposed"] == b.loc[b["locked"], "current"]).all()
    assert plan.summary["moves"] < base.summary["moves"]
    heur = T.rebalance(sample_data, tolerance=0.05, locked=locked, method="heuristic")
    hl = heur.assignment
    assert (hl.loc[hl["locked"], "proposed"] == hl.loc[hl["locked"], "current"]).all()
    assert plan.summary["moves"] <= heur.summary["moves"]
    # balance table agrees with the assignment
    bal = plan.balance.set_index("unit")
    assert np.allclose(bal["potential"].reindex(load.index).to_numpy(), load.to_numpy())
    assert bal["potential_vs_mean"].min() == pytest.approx(plan.summary["potential_min_vs_mean"])


def test_workload_tolerance_is_respected(sample_data):
    free = T.rebalance(sample_data, tolerance=0.05)
    plan = T.rebalance(sample_data, tolerance=0.05, workload_tolerance=0.15)
    assert free.summary["workload_max_vs_mean"] > 1.15  # potential alone leaves workload uneven
    assert plan.summary["within_tolerance"]
    assert per_seat_ratios(sample_data, plan, "workload").between(0.85 - 1e-9,
                                                                  1.15 + 1e-9).all()
    assert per_seat_ratios(sample_data, plan).between(0.95 - 1e-9, 1.05 + 1e-9).all()
    calls = T.rebalance(sample_data, Scope("region", "EMEA"), workload="calls")
    seg = calls.assignment["segment"].map({**T.CALLS_PER_YEAR, "Unknown": 6.0})
    assert (calls.assignment["workload"] == seg.astype(float)).all()


@pytest.mark.parametrize("fixture", ["sample_data", "maven_data"])
def test_every_scope_level_runs(request, fixture):
    data = request.getfixturevalue(fixture)
    for sc in one_scope_per_level(data):
        plan = T.rebalance(data, sc, tolerance=0.10, time_limit=5)
        assert plan.summary["moves"] == int(plan.assignment["moved"].sum())
        assert len(plan.balance) == plan.summary["units"]
        T.compare(data, sc, tolerance=0.10, time_limit=5)
    empty = T.rebalance(data, Scope("region", "Atlantis"))
    assert empty.assignment.empty and "Atlantis" in empty.note
    assert list(empty.balance.columns)[:4] == ["unit", "group", "seats", "accounts"]


def test_save_and_load(tmp_path, sample_data):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "p", data=sample_data)
    locked = sample_data.accounts["account_id"].iloc[:3].tolist()
    plan = T.rebalance(sample_data, locked=locked, tolerance=0.05)
    T.save_territories(ws, plan)
    got = T.load_territories(Workspace.open(tmp_path / "p"))
    assert got["locked"] == sorted(locked) and got["tolerance"] == 0.05
    assert len(got["accepted_moves"]) == plan.summary["moves"]
    mv = plan.moves.iloc[0]
    assert {"account_id": mv["account_id"], "from": mv["current"], "to": mv["proposed"],
            "level": "territory", "potential": round(mv["potential"], 2),
            "open_pipeline": round(mv["open_pipeline"], 2)} in got["accepted_moves"]


def test_bad_options(sample_data):
    with pytest.raises(ConfigError, match="tolerance"):
        T.rebalance(sample_data, tolerance=1.5)
    with pytest.raises(ConfigError, match="workload"):
        T.rebalance(sample_data, workload="vibes")
    with pytest.raises(ConfigError, match="method"):
        T.solve(np.ones(3), np.zeros(3, int), np.zeros(3, bool), 2, method="magic")


def test_solver_without_solution_falls_back(monkeypatch):
    """When HiGHS returns no solution (e.g. its time limit), the heuristic's plan is used."""
    monkeypatch.setattr(T, "_mip", lambda *a, **k: (None, "no solution (Time limit reached)"))
    p = np.array([40.0, 30.0, 20.0, 10.0])
    sol = T.solve(p, np.array([0, 0, 0, 1]), np.zeros(4, bool), 2, tolerance=0.05)
    assert sol.method == "heuristic" and "Time limit" in sol.status
    assert sol.within_tolerance and sol.moves == 1
    monkeypatch.setattr(T, "HEURISTIC_ONLY_ABOVE", 2)
    monkeypatch.setattr(T, "_mip", lambda *a, **k: pytest.fail("HiGHS must not run"))
    sol = T.solve(p, np.array([0, 0, 0, 1]), np.zeros(4, bool), 2)
    assert "heuristic only" in sol.status


def test_per_seat_band_by_hand():
    """Two units with 1 and 3 seats: the band is per seat (25% / 75% of the potential), not
    per unit (50% / 50%)."""
    p = np.array([30.0, 25.0, 25.0, 10.0, 10.0])
    cur = np.array([0, 0, 0, 1, 1])  # 80 vs 20 today
    for method in ("mip", "heuristic"):
        sol = T.solve(p, cur, np.zeros(5, bool), 2, tolerance=0.05, seats=[1, 3], method=method)
        load = np.bincount(sol.assign, weights=p, minlength=2)
        assert sol.within_tolerance and list(load) == [25.0, 75.0]  # 25 per seat each
        assert sol.moves == 2  # the 30 and one 25 leave the one-seat unit
    per_unit = T.solve(p, cur, np.zeros(5, bool), 2, tolerance=0.05)
    assert list(np.bincount(per_unit.assign, weights=p, minlength=2)) == [50.0, 50.0]


def test_per_seat_spread_and_within_region_by_default(sample_data):
    """Company scope balances potential per seat within each region: every territory within
    +-10% of its region's mean per seat (today's books: far outside), and no account changes
    region; cross_region=True balances against the company's mean instead."""
    before = T.rebalance(sample_data, tolerance=0.10, method="heuristic")
    assert before.summary["basis"] == "per seat" and before.summary["within"] == "region"
    plan = T.rebalance(sample_data, tolerance=0.10)
    r = per_seat_ratios(sample_data, plan)
    assert r.between(0.90 - 1e-9, 1.10 + 1e-9).all(), r
    assert plan.summary["potential_max_vs_mean"] == pytest.approx(r.max())
    assert plan.summary["before_potential_max_vs_mean"] > 1.10  # the books were unbalanced
    region = sample_data.territories.set_index("territory_id")["region"]
    mv = plan.moves
    assert len(mv) and (mv["current"].map(region) == mv["proposed"].map(region)).all()
    free = T.rebalance(sample_data, tolerance=0.10, cross_region=True)
    assert free.summary["within"] == "all units"
    assert set(free.balance["group"]) == {""}


def test_disruption_in_dollars(sample_data):
    """Moved potential and moved open pipeline (USD) per proposal and in total, computed here
    from the opportunities table."""
    plan = T.rebalance(sample_data, tolerance=0.05)
    o = sample_data.opportunities
    pipe = o[o["status"] == "open"].groupby("account_id")["amount"].sum()
    mv = plan.moves
    assert len(mv) > 0
    want_pipe = float(mv["account_id"].map(pipe).fillna(0).sum())
    assert want_pipe > 0
    assert plan.summary["moved_pipeline"] == pytest.approx(want_pipe)
    assert plan.summary["moved_potential"] == pytest.approx(float(mv["potential"].sum()))
    d = T.disruption(plan)
    assert d.iloc[-1]["from"] == "total" and d.iloc[-1]["accounts"] == len(mv)
    assert d.iloc[:-1]["open_pipeline"].sum() == pytest.approx(want_pipe)
    assert "open pipeline" in T.summary_text(plan)


def test_widget_proposes_moves_within_region(tmp_path, sample_data):
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.ui.quotas import TerritoryBalancer

    ws = Workspace.create(tmp_path / "p", data=sample_data)
    w = TerritoryBalancer(ws, interactive=False)
    region = sample_data.territories.set_index("territory_id")["region"]
    mv = w.result.moves
    assert len(mv) and (mv["current"].map(region) == mv["proposed"].map(region)).all()
    assert w.result.summary["within"] == "region"


def test_accepted_moves_feed_quotas_and_plan_figures(tmp_path, sample_data):
    """Accepting a territory move changes the split the quota step makes (it reads the books
    after the moves from plan.yaml) and the plan figures: the receiving territory's quota
    rises, the giving one's falls, the company's target and territory total stay."""
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.steps import plan_model, quotas

    ws = Workspace.create(tmp_path / "p", data=sample_data, period="2027")
    ws.record("capacity", "hires", [{"month": "2027-01", "count": 2}])
    quotas.save_quotas(ws, quotas.QuotaDecisions(method="blend"))
    before = quotas.quotas_from_workspace(ws)
    acc, _, _ = T.accounts_frame(sample_data)
    region = sample_data.territories.set_index("territory_id")["region"]
    src = acc.groupby("current")["potential"].sum().idxmax()
    dst = next(t for t in sorted(region.index) if t != src and region[t] == region[src])
    big = acc[acc["current"] == src].sort_values("potential").iloc[-1]
    plan = T.rebalance(sample_data, f"region:{region[src]}", tolerance=0.9)  # nothing to do
    assert plan.summary["moves"] == 0
    a = plan.assignment
    a.loc[a["account_id"] == big["account_id"], ["proposed", "moved"]] = [dst, True]
    T.save_territories(ws, plan)  # accept the one move
    assert T.load_territories(ws)["accepted_moves"][0]["to"] == dst
    after = quotas.quotas_from_workspace(ws)
    q0 = before.level("territory").set_index("unit_id")["quota"]
    q1 = after.level("territory").set_index("unit_id")["quota"]
    assert q1[dst] > q0[dst] and q1[src] < q0[src]
    assert after.target == before.target
    assert q1.sum() == pytest.approx(q0.sum(), abs=0.01)
    pot = after.level("territory").set_index("unit_id")["potential"]
    pot0 = before.level("territory").set_index("unit_id")["potential"]
    assert pot[dst] - pot0[dst] == pytest.approx(big["potential"])
    f = plan_model.plan_figures(ws, f"territory:{dst}", target=float(q1[dst]), n_draws=200)
    ws.record("territories", "accepted_moves", [])
    f0 = plan_model.plan_figures(ws, f"territory:{dst}", target=float(q0[dst]), n_draws=200)
    assert f.quota_total > f0.quota_total


def test_plan_section_states_moves_in_dollars(tmp_path, sample_data):
    """The plan document's territory-moves line gives the moved potential and open pipeline
    of the moves touching the unit, and says the quotas use the books after them."""
    import types

    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.render.sections.quotas import territory_moves

    ws = Workspace.create(tmp_path / "p", data=sample_data)
    plan = T.rebalance(sample_data, tolerance=0.05)
    T.save_territories(ws, plan)
    dst = plan.moves["proposed"].iloc[0]
    mv_in = plan.moves[plan.moves["proposed"] == dst]
    ctx = types.SimpleNamespace(ws=ws, data=sample_data, scope=Scope("territory", dst))
    text = territory_moves(ctx)
    assert f"{len(mv_in)} accounts move in" in text
    from salesplan_nb.core.formats import money

    assert f"({money(mv_in['potential'].sum())} potential, " \
        f"{money(mv_in['open_pipeline'].sum())} open pipeline)" in text
    assert "books after the moves" in text
