"""Scenarios: driver model hand calculations, Monte Carlo, tornado, storage, every scope."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesplan_nb import Dataset
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.steps import scenarios as S

LEVELS = ("company", "region", "territory", "rep")


def _flat(cycle_days: int = 0) -> Dataset:
    """Two identical reps (T1, T2 in region R1), tenured, no leavers. Each month of 2024 each rep
    closes 2 deals: 1 won at 1,000 USD, 1 lost. Plan period 2025."""
    rows = []
    for rep in ("A", "B"):
        for m in range(1, 13):
            close = pd.Timestamp(2024, m, 15)
            for won in (True, False):
                rows.append({"owner_id": rep, "status": "won" if won else "lost",
                             "stage": "Won" if won else "Lost",
                             "created_date": close - pd.Timedelta(days=cycle_days),
                             "close_date": close, "amount": 1000.0 if won else 0.0})
    o = pd.DataFrame(rows)
    o["opportunity_id"] = [f"O{i}" for i in range(len(o))]
    reps = pd.DataFrame({"rep_id": ["A", "B"], "name": ["Ann", "Bob"], "region": ["R1", "R1"],
                         "territory": ["T1", "T2"], "role": ["AE", "AE"]})
    terr = pd.DataFrame({"territory_id": ["T1", "T2"], "name": ["West 1", "West 2"],
                         "region": ["R1", "R1"]})
    return Dataset(accounts=pd.DataFrame({"account_id": ["X"], "name": ["X"]}),
                   opportunities=o, reps=reps, territories=terr,
                   products=pd.DataFrame({"product_id": ["P"], "name": ["P"]}),
                   as_of="2024-12-31")


@pytest.fixture(scope="module")
def flat_model():
    # no pipeline ceiling: the hand calculations of headcount stay linear (the ceiling has
    # its own test)
    return S.build(_flat(), "2025", assumptions=S.Assumptions(attrition=0.0,
                                                              pipeline_ceiling=1e9))


def total(model, sc, scope="company", metric="bookings"):
    return model.recompute(sc).total(scope, metric)


def test_base_reproduces_last_year_by_hand(flat_model):
    r = flat_model.recompute()
    # 2 decided deals/month x 50% won x 1,000 USD = 1,000 USD per rep-month
    assert r.series("company").to_numpy() == pytest.approx([2000.0] * 12)
    assert r.series("rep:A", "capacity").to_numpy() == pytest.approx([1.0] * 12)
    # no targets: quota = 110% of last 12 months = 26,400 USD
    assert r.total("company", "quota") == pytest.approx(26_400)
    assert r.total("company", "attainment") == pytest.approx(24_000 / 26_400)
    assert r.total("company", "win_rate") == pytest.approx(0.5)
    assert r.total("company", "deal_size") == pytest.approx(1000)
    b = flat_model.base_drivers().set_index("rep_id")
    assert b.loc["A", "win_rate"] == pytest.approx(0.5) and b.loc["B", "deal_size"] == 1000
    assert b.loc["A", "productivity"] == pytest.approx(2.0) and b.loc["A", "cycle_days"] == 0


@pytest.mark.parametrize(("driver", "value", "expected"), [
    ("win_rate", 0.10, 26_400),    # x 1.1
    ("deal_size", 0.10, 26_400),   # x 1.1
    ("pipeline", -0.25, 18_000),   # x 0.75 (cycle 0: no lag)
    ("price", 0.10, 24_000 * 1.1 * (1 - 0.5 * 0.10)),  # size x1.1, win x(1 + -0.5 x 0.1)
    ("spend", 1.0, 24_000 * 2 ** 0.3),  # pipeline ~ spend^0.3
])
def test_driver_change_moves_bookings_by_hand_calc(flat_model, driver, value, expected):
    sc = S.Scenario("base").with_change(driver, value)
    assert total(flat_model, sc) == pytest.approx(expected)


def test_headcount_pipeline_saturates_at_the_ceiling():
    ramp = np.repeat([0.25, 0.60, 0.85, 1.0], 3)  # new seats' ramp by month
    sc = S.Scenario("base").with_change("headcount", 0.5)
    # no limit: new seats ramp 3 x 25% + 3 x 60% + 3 x 85% + 3 x 100% = 8.1 seat-months each
    free = S.build(_flat(), "2025", assumptions=S.Assumptions(attrition=0.0,
                                                              pipeline_ceiling=1e9))
    assert total(free, sc) == pytest.approx(24_000 + 0.5 * 8.1 * 2 * 1000, rel=1e-6)
    # the flat data has no account potential: the stated ceiling, 2x the base pipeline per
    # territory. A territory's base is x0 = 2 decided deals/month, +0.5 seats add x - x0 =
    # ramp deals; f(x) = x0 + (C - x0)(1 - exp(-(x - x0)/(C - x0))), C - x0 = 2
    m = S.build(_flat(), "2025", assumptions=S.Assumptions(attrition=0.0))
    assert np.all(m.ceiling == S.PIPELINE_CEILING) and "no account potential" in " ".join(
        m.notes)
    sat = 24_000 + 2 * 1000 * float((1 - np.exp(-ramp / 2)).sum())
    assert total(m, sc) == pytest.approx(sat, rel=1e-9)
    # the limit holds however many seats are added: never above 2x the base bookings
    huge = S.Scenario("base").with_change("headcount", 50.0)
    assert 24_000 < total(m, huge) < 2 * 24_000
    assert total(free, huge) > 10 * 24_000
    # a headcount cut is not limited (linear) and the base is untouched
    cut = S.Scenario("base").with_change("headcount", -0.5)
    assert total(m, cut) == pytest.approx(12_000) and total(m, S.Scenario()) == 24_000
    # the pipeline driver (yield per account) still has its sign
    assert total(m, S.Scenario().with_change("pipeline", 0.1)) > 24_000


def test_scoped_and_dated_changes(flat_model):
    sc = S.Scenario("x").with_change("win_rate", 0.2, scope="rep:A")
    assert total(flat_model, sc, "rep:A") == pytest.approx(14_400)
    assert total(flat_model, sc, "rep:B") == pytest.approx(12_000)
    assert total(flat_model, sc, "region:R1") == pytest.approx(26_400)
    q2 = S.Scenario("q2").with_change("deal_size", 0.5, start="2025-04", end="2025-06")
    s = flat_model.recompute(q2).series("company").to_numpy()
    assert s == pytest.approx([2000] * 3 + [3000] * 3 + [2000] * 6)
    # repeated changes compound: 1.1 x 1.1
    two = S.Scenario().with_change("win_rate", 0.1).with_change("win_rate", 0.1)
    assert total(flat_model, two) == pytest.approx(24_000 * 1.21)


def test_attrition_and_ramp_reduce_capacity():
    m = S.build(_flat(), "2025", assumptions=S.Assumptions(attrition=0.12, backfill_months=3))
    cap = m.recompute().series("rep:A", "capacity").to_numpy()
    # month 0: nobody left yet; later months: survivors (0.88^(m/12)) + ramping backfill < 1
    assert cap[0] == pytest.approx(1.0)
    assert (cap[1:] < 1).all()
    assert cap[4] == pytest.approx(0.88 ** (4 / 12) + (1 - 0.88 ** (1 / 12)) * 0.25)
    worse = m.recompute(S.Scenario().with_change("attrition", 1.0))  # 24% a year
    assert worse.total("company") < m.recompute().total("company")


def test_known_end_date_empties_the_seat():
    d = _flat()
    reps = d.reps.assign(end_date=[pd.NaT, pd.Timestamp("2025-03-20")])
    d = Dataset(**{**d.tables, "reps": reps}, as_of=d.as_of)
    m = S.build(d, "2025", assumptions=S.Assumptions(attrition=0.0))
    cap = m.recompute().series("rep:B", "capacity").to_numpy()
    assert cap == pytest.approx([1, 1, 1] + [0] * 9)
    # cycle 0: B books 1,000 USD a month while seated
    assert m.recompute().total("rep:B") == pytest.approx(3000)


def test_cycle_lag_delays_new_capacity():
    # cycle 61 days ~ 2.0 months: extra seats from 2025-01 show in bookings from March
    m = S.build(_flat(61), "2025", assumptions=S.Assumptions(attrition=0.0,
                                                             pipeline_ceiling=1e9))
    base = m.recompute().series("company").to_numpy()
    more = m.recompute(S.Scenario().with_change("headcount", 1.0)).series("company").to_numpy()
    diff = more - base
    assert diff[:2] == pytest.approx([0, 0], abs=1e-9)
    lag = 61 / S.DAYS_PER_MONTH
    # month 2 (March) draws on creation month 2 - lag, a blend of December (no extra) and
    # January (extra 0.25 seat x 2 reps x 1,000 USD)
    f = (2 - lag) - np.floor(2 - lag)
    assert diff[2] == pytest.approx(f * 0.25 * 2 * 1000, rel=1e-6)


def test_monte_carlo_is_reproducible_with_a_seed(flat_model):
    a = S.monte_carlo(flat_model, n=2000, seed=7)
    b = S.monte_carlo(flat_model, n=2000, seed=7)
    c = S.monte_carlo(flat_model, n=2000, seed=8)
    assert np.array_equal(a.totals, b.totals) and a.probability == b.probability
    assert not np.array_equal(a.totals, c.totals)
    assert 0 <= a.probability <= 1 and a.target == pytest.approx(26_400)
    assert a.probability == pytest.approx((a.totals >= 26_400).mean())
    # mean-1 noise: the simulated mean is close to the scenario total
    assert a.mean == pytest.approx(24_000, rel=0.05)
    assert S.monte_carlo(flat_model, target=1.0, n=500).probability == 1.0


def test_sensitivity_tornado(flat_model):
    t = S.sensitivity(flat_model, pct=0.1)
    assert list(t.columns[:4]) == ["driver", "low", "base", "high"]
    assert set(t["driver"]) == set(S.DRIVERS)
    w = t.set_index("driver")
    assert w.loc["win_rate", "delta_high"] == pytest.approx(2400)
    assert w.loc["win_rate", "delta_low"] == pytest.approx(-2400)
    assert (t["swing"].diff().dropna() <= 1e-9).all()
    with pytest.raises(ConfigError):
        S.sensitivity(flat_model, pct=10)


def test_clone_compare_and_presets(flat_model):
    base = S.Scenario("base")
    up = base.clone("up").with_change("deal_size", 0.2)
    assert base.changes == []  # clone + change leaves the original alone
    cmp = S.compare(flat_model, [base, up])
    assert cmp.loc["bookings", "up vs base"] == pytest.approx(4800)
    assert cmp.loc["quota", "up vs base"] == 0
    p = S.presets(flat_model)
    totals = {k: total(flat_model, v) for k, v in p.items()}
    assert totals["worst"] <= totals["base"] <= totals["best"]


def test_bad_changes_are_clear_errors(flat_model):
    with pytest.raises(ConfigError, match="unknown driver"):
        S.Change("charisma", 0.1)
    with pytest.raises(ConfigError, match="above -1"):
        S.Change("win_rate", -1.5)
    with pytest.raises(ConfigError, match="YYYY-MM"):
        flat_model.recompute(S.Scenario().with_change("price", 0.1, start="2025-13"))
    with pytest.raises(ConfigError, match="region:EMEA"):
        S.Scenario().with_change("price", 0.1, scope="galaxy:far")
    with pytest.raises(ConfigError, match="not account"):
        flat_model.recompute(S.Scenario().with_change("win_rate", 0.1, scope="account:X"))


def test_scenarios_are_stored_in_the_workspace(tmp_path):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "plan", data=_flat(), period="2025")
    sc = S.Scenario("hire", description="more reps").with_change("headcount", 0.2,
                                                                 start="2025-03")
    S.save_scenario(ws, sc, by="analyst")
    again = S.load_scenarios(Workspace.open(tmp_path / "plan"))
    assert again["hire"] == sc
    assert ws.decision("scenarios", "hire")["by"] == "analyst"


def test_tactics_become_dated_changes():
    ch = S.tactic_changes([{"name": "promo", "driver": "win_rate", "effect": 0.05,
                            "scope": "region:R1", "start": "2025-03", "end": "2025-05"}])
    assert ch == [S.Change("win_rate", 0.05, "region:R1", "2025-03", "2025-05", "tactic:promo")]


@pytest.mark.parametrize("which", ["sample_data", "maven_data"])
def test_every_scope_level(request, which):
    data = request.getfixturevalue(which)
    model = S.build(data)
    res = model.recompute(S.Scenario().with_change("win_rate", 0.05))
    for level in LEVELS:
        ids, metrics = res.levels[level]
        assert len(ids) >= 1
        assert metrics["bookings"].shape == (len(ids), 12)
        assert (metrics["bookings"] >= 0).all() and (metrics["capacity"] >= 0).all()
        t = res.table(level)
        assert len(t) == 12 * len(ids)
        sid = None if level == "company" else ids[0]
        scope = "company" if sid is None else f"{level}:{sid}"
        assert len(res.scope_table(scope)) == 12
    # levels add up
    co = res.total("company")
    assert sum(res.total(f"region:{g}") for g in model.reg_ids) == pytest.approx(co)
    assert sum(res.total(f"rep:{r}") for r in model.rep_ids) == pytest.approx(co)
    assert S.monte_carlo(model, S.Scenario(), scope=f"region:{model.reg_ids[0]}",
                         n=200, seed=1).n == 200


def test_rates_do_not_depend_on_how_far_ahead_the_plan_is(sample_data):
    near, far = S.build(sample_data), S.build(sample_data, "2027")
    assert far.base_prod == pytest.approx(near.base_prod)
    assert far.base_win == pytest.approx(near.base_win)
    # same seats, same rates: a year further out differs only by attrition and ramp timing
    assert far.recompute().total() == pytest.approx(near.recompute().total(), rel=0.05)


def test_empty_scope_gives_empty_labelled_result(flat_model):
    res = flat_model.recompute()
    t = res.scope_table("region:Nowhere")
    assert len(t) == 0 and "bookings" in t.columns
    assert res.total("region:Nowhere") == 0
    mc = S.monte_carlo(flat_model, scope="region:Nowhere", n=100)
    assert "Region Nowhere" in mc.note


def test_charts_are_valid_vega_lite(flat_model):
    tor = S.sensitivity(flat_model)
    res = {n: flat_model.recompute(s) for n, s in S.presets(flat_model).items()}
    mc = S.monte_carlo(flat_model, n=200)
    for chart in (S.chart_tornado(tor), S.chart_compare(res), S.chart_monte_carlo(mc)):
        assert "$schema" in chart.to_dict()


def test_hiring_plan_becomes_headcount(flat_model):
    ch = S.hire_changes(flat_model, [{"month": "2025-01", "count": 2, "territory": "T1"}])
    assert ch == [S.Change("headcount", 2.0, "territory:T1", "2025-01", None, ch[0].source)]
    more = total(flat_model, S.Scenario("h", ch), "rep:A")
    assert more == pytest.approx(12_000 + 2 * 8.1 * 1000)  # 2 ramping seats x 8.1 seat-months
    with pytest.raises(ConfigError, match="no seat"):
        S.hire_changes(flat_model, [{"month": "2025-01", "count": 1, "territory": "T9"}])


def test_tactics_from_strategy_module_are_relative_monthly_changes(flat_model):
    strategy = pytest.importorskip("salesplan_nb.steps.strategy")
    t = strategy.Tactic(name="bundle", category="pricing", driver="deal_size", effect=10,
                        start="2025-02-01", end="2025-03-31", scope="region:R1")
    ch = S.tactic_changes([t], "2025")
    assert [(c.driver, c.start, c.end, c.scope) for c in ch] == [
        ("deal_size", "2025-02", "2025-02", "region:R1"),
        ("deal_size", "2025-03", "2025-03", "region:R1")]
    assert all(c.value == pytest.approx(0.10) for c in ch)
    s = flat_model.recompute(S.Scenario("t", ch)).series("company").to_numpy()
    assert s == pytest.approx([2000, 2200, 2200] + [2000] * 9)


def test_model_from_workspace_uses_capacity_and_quota_decisions(tmp_path):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "plan", data=_flat(), period="2025")
    ws.record("capacity", "backfill_lag", 5)
    ws.record("capacity", "attrition", 0.0)
    ws.record("capacity", "ramp", [[2, 0.5]])
    ws.record("capacity", "hires", [{"month": "2025-01", "count": 1, "territory": "T2"}])
    m = S.from_workspace(ws)
    assert m.backfill == 5 and m.base_attrition == 0.0 and m.ramp_curve == ((2.0, 0.5),)
    plan = S.plan_scenario(m, ws)
    # one new seat in T2 ramping 50% for 2 months then 100% adds x - x0 = 1, 1, then 2
    # decided deals a month to T2's x0 = 2, under its ceiling 2 x x0 (no potential in the
    # data): 2 (1 - exp(-(x - x0) / 2)) deals, half of them won at 1,000 USD (11,000 USD
    # without the ceiling)
    sat = 500 * (2 * 2 * (1 - np.exp(-0.5)) + 10 * 2 * (1 - np.exp(-1.0)))
    assert total(m, plan, "rep:B") - total(m, S.Scenario(), "rep:B") == pytest.approx(sat)
    q = pytest.importorskip("salesplan_nb.steps.quotas")
    # the workspace's quota plan: its to-be-hired seat's quota rides on its territory's seats,
    # so the model's quota is the plan's whole quota total (issue 10)
    expected = q.quotas_from_workspace(ws).level("rep")
    assert expected["unit_id"].str.startswith("TBH-").sum() == 1
    assert m.recompute().total("company", "quota") == pytest.approx(expected["quota"].sum())
    assert any("quotas.py" in n for n in m.notes)


def test_coverage_is_the_kpi_definition():
    from salesplan_nb.steps import kpis

    assert S.coverage_ratio is kpis.coverage_ratio  # one definition, imported
    # cycle 61 days ~ 2 months: at the start of 2025 the deals created in Nov and Dec 2024
    # (2 reps x 2 decided deals x 2 months, valued at the 1,000 USD deal size) are open and
    # close in the period; nothing is booked yet; quota 26,400 USD
    m = S.build(_flat(61), "2025", assumptions=S.Assumptions(attrition=0.0))
    r = m.recompute()
    lag = 61 / S.DAYS_PER_MONTH
    open0 = 4 * 1000 * lag  # cohorts whose decision falls on or after January
    assert r.total("company", "open_pipeline") == pytest.approx(open0, rel=1e-6)
    assert r.total("company", "coverage") == pytest.approx(open0 / 26_400, rel=1e-6)
    # later months: open pipeline / (quota - bookings before the month)
    s = r.series("company", "coverage").to_numpy()
    b = r.series("company", "bookings").to_numpy()
    op = r.series("company", "open_pipeline").to_numpy()
    assert s[5] == pytest.approx(kpis.coverage_ratio(op[5], 26_400, b[:5].sum()))
    # a cycle change from the plan start moves later cohorts, not the opening pipeline
    fast = m.recompute(S.Scenario().with_change("cycle", -0.5))
    assert fast.total("company", "coverage") == pytest.approx(r.total("company", "coverage"))
    assert kpis.coverage_ratio(10.0, 20.0, 20.0) != kpis.coverage_ratio(10.0, 20.0, 20.0)


def test_uncertain_tactics_widen_the_monte_carlo(flat_model):
    plain = S.Scenario("p").with_change("pipeline", 0.2)
    tact = S.Scenario("t", [S.Change("pipeline", 0.2, source="tactic:demand gen"),
                            S.Change("win_rate", 0.1, source="tactic:training")])
    assert S.tactic_groups(tact) == {"demand gen": [0], "training": [1]}
    a = S.monte_carlo(flat_model, plain, n=4000, seed=3)
    b = S.monte_carlo(flat_model, tact, n=4000, seed=3, tactic_spread=0.0)
    c = S.monte_carlo(flat_model, tact, n=4000, seed=3)
    # the same expected bookings (triangular draws are mean 1) ...
    assert c.mean == pytest.approx(b.mean, rel=0.01)
    assert c.tactic_spread == S.TACTIC_SPREAD and set(c.tactics) == {"demand gen", "training"}
    # ... but a wider spread of outcomes once the tactics' effects are uncertain (same
    # seed: the same process and drift draws, plus the tactics' triangular draws whose sd is
    # spread / sqrt(6) x the bookings each tactic adds)
    tri = S.TACTIC_SPREAD / np.sqrt(6)
    extra = np.sqrt(sum((tri * v) ** 2 for v in c.tactics.values()))
    assert c.totals.std() ** 2 == pytest.approx(b.totals.std() ** 2 + extra ** 2, rel=0.1)
    assert c.p90 - c.p10 > b.p90 - b.p10 and c.p10 < b.p10 and c.p90 > b.p90
    # a plain driver change (not a tactic) has no tactic draw
    assert a.tactics == {} and a.note == ""
    # and P(reach target) reflects it: a target between the two P90s
    tgt = (b.p90 + c.p90) / 2
    assert S.monte_carlo(flat_model, tact, target=tgt, n=4000, seed=3).probability > \
        S.monte_carlo(flat_model, tact, target=tgt, n=4000, seed=3, tactic_spread=0).probability
    with pytest.raises(ConfigError, match="tactic_spread"):
        S.monte_carlo(flat_model, tact, tactic_spread=2.0)


def test_calibrated_base_books_the_given_total(flat_model):
    cal = flat_model.calibrated("territory:T1", 15_000.0)
    assert cal.recompute().total("territory:T1") == pytest.approx(15_000.0, abs=1e-6)
    assert cal.recompute().total("territory:T2") == pytest.approx(12_000.0)  # untouched
    assert flat_model.recompute().total("territory:T1") == pytest.approx(12_000.0)  # a copy
    assert cal.calibration == {"territory:T1": pytest.approx(1.25)}
