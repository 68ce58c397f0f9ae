"""One reconciled plan (issue 10): the rules a RevOps auditor checks first, each failing on the
code before it, and the plan model's figures reconciling."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from test_quotas import tiny
from test_scenarios import _flat

from salesplan_nb.core.scope import Period
from salesplan_nb.steps import capacity, evaluate, plan_model, quotas, scenarios, strategy

FIVE_TEN_TEN = {"region": 0.05, "territory": 0.10, "rep": 0.10}


def test_over_assignment_is_one_total_per_level():
    plan = quotas.quotas(tiny(), period="2026", target=2000.0, over_assignment=FIVE_TEN_TEN)
    # reps carry 110% of the target, not 1.05 x 1.10 x 1.10 = 127%
    assert plan.level("territory")["quota"].sum() == pytest.approx(2200.0, abs=0.01)
    assert plan.quota_total() <= 2000.0 * 1.10 + 0.01
    assert quotas.total_over_assignment(plan.decisions) == pytest.approx(0.10)
    comp = quotas.quotas(tiny(), period="2026", target=2000.0, over_assignment=FIVE_TEN_TEN,
                         compound=True, redistribute_ramp=True)
    assert comp.quota_total() == pytest.approx(2000 * 1.05 * 1.10 * 1.10, abs=0.01)
    assert quotas.total_over_assignment(comp.decisions) == pytest.approx(0.2705)


def test_to_be_hired_seats_carry_ramped_quota_not_their_peers():
    hires = [{"month": "2026-01", "count": 1, "territory": "T2"}]
    plan = quotas.quotas(tiny(), period="2026", target=2000.0, over_assignment=FIVE_TEN_TEN,
                         hires=hires)
    assert plan.tbh_seats == 1
    reps = plan.level("rep").set_index("unit_id")
    tbh = [i for i in reps.index if i.startswith("TBH-")][0]
    assert reps.loc[tbh, "parent"] == "T2"
    # a new seat from January ramps 3 x 25% + 3 x 60% + 3 x 85% + 3 x 100% = 8.1 / 12
    assert reps.loc[tbh, "ramp"] == pytest.approx(0.675)
    # T2 (R3 with history 400 + the new seat at its peers' mean) splits the territory quota
    # equally before ramp; the new seat carries its ramped half, R3 keeps its own half (the
    # shortfall is not loaded onto R3)
    t2 = float(plan.level("territory").set_index("unit_id").loc["T2", "quota"])
    assert reps.loc["R3", "quota"] == pytest.approx(t2 / 2, abs=0.01)
    assert reps.loc[tbh, "quota"] == pytest.approx(t2 / 2 * 0.675, abs=0.01)
    assert plan.quota_total() <= 2000.0 * 1.10


def test_expected_attainment_from_planned_productivity(sample_data):
    cs = {"ramp": None, "attrition": 0.14, "backfill_lag": 2}
    per = Period.year(2027)
    cap = capacity.capacity_plan(sample_data, "company", per, attrition=0.14).capacity
    low = quotas.quotas(sample_data, period=per, target=0.4 * cap, capacity_settings=cs)
    f = quotas.fairness(low, "rep")
    assert f.basis == "planned productivity"
    t = f.table.set_index("unit_id")
    # a seat's plan = its own productivity shrunk to its territory's x its expected RRE-months
    own = {r: capacity.productivity(sample_data, f"rep:{r}", per) for r in t.index}
    rid = max(own, key=lambda r: own[r].rre_months)
    rep = sample_data.reps[sample_data.reps["rep_id"] == rid]
    terr = rep["territory"].iloc[0]
    k = quotas.SHRINK_RRE_MONTHS
    prod = (own[rid].bookings + k * capacity.productivity(
        sample_data, f"territory:{terr}", per).value) / (own[rid].rre_months + k)
    # in seat: ramp and known end dates, no random attrition (attainment is judged on the
    # quota of the time in seat; attrition is the team's loss, in capacity)
    rre = capacity.rre_by_month(rep, per, as_of=sample_data.as_of, attrition=0.0)["rre"].sum()
    assert t.loc[rid, "planned"] == pytest.approx(prod * rre, rel=1e-9)
    assert t.loc[rid, "expected_attainment"] == pytest.approx(
        t.loc[rid, "planned"] / t.loc[rid, "quota"])
    # planned bookings add up to about the capacity without attrition (same model, per seat),
    # and to more than the capacity with it
    cap_in_seat = capacity.capacity_plan(sample_data, "company", per, attrition=0.0).capacity
    assert low.planned.sum() == pytest.approx(cap_in_seat, rel=0.05)
    assert low.planned.sum() > cap
    # quotas well below productivity: nearly every rep expected at 100%, flagged; far above:
    # few, flagged the other way
    assert f.share_100_normal > 0.75 and "above the healthy" in f.flag
    high = quotas.fairness(quotas.quotas(sample_data, period=per, target=2.0 * cap,
                                         capacity_settings=cs), "rep")
    assert high.share_100_normal < 0.5 and "below the healthy" in high.flag
    # the old proxy (trailing bookings / quota) is still there without capacity settings
    assert quotas.fairness(quotas.quotas(sample_data, period=per, target=cap), "rep").basis \
        == "trailing bookings"


def test_longer_cycle_never_raises_bookings_and_no_deal_is_lost_or_counted_twice():
    m = scenarios.build(_flat(61), "2025", assumptions=scenarios.Assumptions(attrition=0.0))
    base = m.recompute(scenarios.Scenario()).total("company", "bookings")
    slow = m.recompute(scenarios.Scenario().with_change("cycle", 1.0)).total(
        "company", "bookings")
    fast = m.recompute(scenarios.Scenario().with_change("cycle", -0.5)).total(
        "company", "bookings")
    assert slow < base < fast
    # a longer cycle from July: the deals created from July decide two months later, so the
    # two months of decisions they would have made slip past December (none counted twice)
    mid = m.recompute(scenarios.Scenario().with_change("cycle", 1.0, start="2025-07"))
    per_month = base / 12
    assert mid.total("company", "bookings") == pytest.approx(base - 2 * per_month, rel=0.02)


def test_evaluate_without_recorded_targets_invents_no_quota():
    data = tiny()
    a = evaluate.attainment_distribution(data, "company", "2025")
    assert a.quota_source == evaluate.NO_QUOTAS
    assert a.summary["reps"] == 0 and math.isnan(a.summary["share_100"])
    assert a.table["attainment"].isna().all()
    lessons = evaluate.suggest_lessons(data, "2025")
    assert not any("quota" in x["text"] for x in lessons)


def test_strategy_win_rate_points_use_the_segment_rate():
    data = tiny()
    # R1's deal is segment "Enterprise": 1 won of 2 decided there (50%); company 4 of 5 (80%)
    extra = [("L1", "A0", "R1", "P1", "Lost", "lost", "2025-03-01", "2025-06-20", 50.0)]
    data = tiny(extra)
    acc = data.accounts.assign(segment=["Enterprise", "SMB", "SMB", "SMB"])
    data = dataclasses.replace(data, accounts=acc)
    t = strategy.Tactic("Enterprise push", "promotions", "win_rate", 5.0, "2026-01-01",
                        "2026-12-31", "Enterprise", "VP", 1000.0)
    eff = strategy.driver_effects([t], "2026", data)
    share = strategy.segment_share(data, strategy.Scope.parse("company"), Period.year(2026),
                                   "Enterprise")
    seg_wr = 0.5
    assert eff["effect"].iloc[0] == pytest.approx(0.05 / seg_wr * share)


def test_plan_figures_reconcile(tmp_path, sample_data):
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.create(tmp_path / "plan", data=sample_data, period="2027")
    ws.record("capacity", "hires", [{"month": "2027-01", "count": 4}])
    quotas.save_quotas(ws, quotas.QuotaDecisions(
        method="blend", weights={"history": 0.6, "potential": 0.4},
        over_assignment={"region": 0.0, "territory": 0.05, "rep": 0.10}))
    target = 0.95 * capacity.capacity_plan(sample_data, "company", "2027",
                                           **capacity.load_capacity_settings(ws)).capacity
    model = scenarios.from_workspace(ws)
    f = plan_model.plan_figures(ws, "company", target=target, model=model, n_draws=500)
    d = f.as_dict()
    assert sum(x["amount"] for x in d["bridge"]) == pytest.approx(target, abs=1.0)
    last = "not yet covered" if d["bridge"][-1]["amount"] >= 0 else "cushion above the target"
    assert [x["step"] for x in d["bridge"]] == ["last year's bookings", "forecast change",
                                                "hires", "tactics", last]
    assert d["quota_total"] / target <= 1 + d["over_assignment"] + 1e-9
    assert d["tbh_seats"] == 4
    # the scenario model prices the plan's own quota total and its target
    res = model.recompute(scenarios.plan_scenario(model, ws))
    assert res.total("company", "quota") == pytest.approx(d["quota_total"], rel=1e-9)
    assert 0 <= d["p_reach_target"] <= 1
    # base = the forecast; plan = the quota plan's seats at planned productivity with
    # attrition and backfill (the seats' expected bookings, as capacity) + tactics (none
    # recorded here); reps_expected_at_100 reads the same productivity in seat (more)
    assert d["base_scenario"] == pytest.approx(d["forecast"], abs=1.0)
    qp = quotas.quotas_from_workspace(ws, None, "2027", target)
    team = float(qp.planned_team.reindex(qp.level("rep")["unit_id"].astype("string")).sum())
    assert d["plan_scenario"] == pytest.approx(team, rel=1e-9)
    assert float(quotas.fairness(qp, "rep").table["planned"].sum()) > team
    assert d["bridge"][3]["amount"] == pytest.approx(0.0, abs=0.01)  # no tactics
    assert d["bridge"][2]["amount"] > 0  # the hires add bookings
    assert 0 <= d["reps_expected_at_100"] <= 1
    assert d["biggest_gap"] in {"capacity", "sum of quotas", "forecast"}
    assert np.isfinite(d["capacity"]) and d["capacity"] > d["capacity_no_hires"]
    pd.DataFrame(d["gaps"])  # gap rows are a table


def test_goal_achievability_uses_the_baseline_window_and_capacity(sample_data):
    from salesplan_nb.steps import goals

    d = sample_data.deals
    won = d[d["status"] == "won"]
    b2025 = float(won.loc[won["close_date"].dt.year == 2025, "amount"].sum())
    ttm = float(won.loc[won["close_date"] > "2025-06-30", "amount"].sum())
    # a goal recorded on the last 12 months is judged on the baseline year the growth is
    # annualised from (2025, two years before 2027), not on its trailing baseline
    g = goals.Goal("bookings", ttm * 1.15, "company", baseline=ttm, deadline="2027-12-31")
    r = goals.smart_check(g, sample_data, "2027", capacity=ttm * 1.10, forecast=ttm * 1.05)
    assert r.baseline == pytest.approx(b2025)
    assert r.implied_growth == pytest.approx(ttm * 1.15 / b2025 - 1)
    # above capacity fails with the gap; above the forecast says what must close it
    assert r.status("A") == "fail" and "above what the seats can deliver" in r.reason("A")
    assert "of the forecast" in r.reason("A")


def test_sections_print_the_same_plan_figures(tmp_path, sample_data):
    """The executive summary's figures and the quota section's fairness text come from one
    model: the rendered HTML shows the same share of reps expected at 100% and a bridge that
    ends at the target."""
    import re

    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.render import report

    ws = Workspace.create(tmp_path / "plan", data=sample_data, period="2027")
    ws.record("capacity", "hires", [{"month": "2027-02", "count": 2}])
    quotas.save_quotas(ws, quotas.QuotaDecisions(target=20_000_000.0))
    ctx = report.context(ws.path, "region", "EMEA")
    h = report.headline_of(ctx)
    f = h["figures"]
    summary = "".join(report.block_html(b) for b in report.executive_summary(ctx).blocks)
    quota = "".join(report.block_html(b) for b in report.quotas_section(ctx).blocks)
    summary, quota = (re.sub(r"<span[^>]*>|</span>", "", x) for x in (summary, quota))
    shown = re.search(r"Reps expected at 100%\+</td><td>([0-9.]+%)", summary).group(1)
    assert shown == report.pct(f["reps_expected_at_100"])
    assert f"{shown} expected to reach 100% of quota" in quota
    assert sum(x["amount"] for x in f["bridge"]) == pytest.approx(h["target"], abs=1.0)
    assert f["quota_total"] / h["target"] <= 1 + f["over_assignment"] + 1e-9


def test_document_api_and_scenario_base_agree(tmp_path, sample_data):
    """Issue 14: the plan document's forecast, the API's default forecast
    (``forecast.forecast`` with its defaults) and the scenarios' base case are one number for
    the company, a region and a territory (to the dollar)."""
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.render import report
    from salesplan_nb.steps import forecast

    ws = Workspace.create(tmp_path / "plan", data=sample_data, period="2027")
    ws.record("capacity", "hires", [{"month": "2027-02", "count": 2}])
    terr = str(sample_data.territories["territory_id"].iloc[0])
    region = str(sample_data.territories["region"].iloc[0])
    model = scenarios.from_workspace(ws)
    for level, uid in (("company", None), ("region", region), ("territory", terr)):
        scope = level if uid is None else f"{level}:{uid}"
        api = float(forecast.forecast(sample_data, scope, "2027").total["point"])
        ctx = report.context(ws.path, level, uid)
        f = report.headline_of(ctx)["figures"]
        assert f["forecast"] == pytest.approx(api, abs=1.0)
        assert f["base_scenario"] == pytest.approx(api, abs=1.0)
        base = scenarios.calibrate_to_forecast(model, scope, data=sample_data).recompute()
        assert base.total(scope, "bookings") == pytest.approx(api, abs=1.0)
        # the rendered scenarios section prints the same base
        html = "".join(report.block_html(b) for b in report.scenarios_section(ctx).blocks)
        assert report.money(api) in html
