"""The widget framework and widgets without a browser: decisions saved in plan.yaml, static
rendering, escaping, errors shown instead of raised."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from salesplan_nb import ui
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data.workspace import Workspace
from salesplan_nb.steps import quotas, swot


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory, sample_data):
    path = tmp_path_factory.mktemp("ui") / "plan"
    Workspace.create(path, data=sample_data, source={"kind": "sample", "seed": 7})
    return path


@pytest.fixture
def ws(plan_dir):
    return Workspace.open(plan_dir)


def _yaml(ws) -> dict:
    return yaml.safe_load((ws.path / "plan.yaml").read_text())["decisions"]


def test_assets_found_and_missing_asset_is_clear(monkeypatch, tmp_path):
    assert ui.asset_path("swot_board.js").read_text().startswith("// SWOT board")
    monkeypatch.setenv("SALESPLAN_WIDGETS", str(tmp_path))
    with pytest.raises(ConfigError, match="SALESPLAN_WIDGETS"):
        ui.asset_path("swot_board.js")


def test_scope_of_and_output_name():
    assert str(ui.scope_of("company", "ignored")) == "company"
    assert str(ui.scope_of("region", "EMEA")) == "region:EMEA"
    with pytest.raises(ConfigError, match="unit"):
        ui.scope_of("rep", "")
    name = ui.output_name(ui.scope_of("rep", "../../etc/passwd"))
    assert name.startswith("rep-") and "/" not in name and "." not in name


def test_html_table_escapes_names():
    df = pd.DataFrame({"name": ["<script>alert(1)</script>"], "v": [1.5]})
    out = ui.html_table(df)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "more rows not shown" in ui.html_table(pd.DataFrame({"a": range(50)}), max_rows=10)


def test_quota_slider_saves_and_recomputes(ws, sample_data):
    w = ui.QuotaAllocator(ws, interactive=True)
    w.set_over_assignment("region", 0.2)
    assert _yaml(ws)["quotas"]["over_assignment"]["value"]["region"] == 0.2
    # regions sum to the target x 1.2 (cents), checked against the module called directly
    plan = quotas.quotas(sample_data, None, ws.period, over_assignment={"region": 0.2})
    assert w.table(w.result)["quota"].sum() == pytest.approx(plan.target * 1.2, abs=0.05)
    assert "over-assignment 20%" in w.chart_view.spec["title"]
    assert w.last_ms > 0
    # the fast path swapped the data of the same spec
    units = {r["shown"] for r in w.chart_view.spec["datasets"]["units"]}
    assert units == set(plan.level("region")["name"])
    # a lock is recorded and honoured
    w.override("region:EMEA", 1_000_000.0)
    assert _yaml(ws)["quotas"]["overrides"]["value"] == {"region:EMEA": 1_000_000.0}
    t = w.table(w.result).set_index("unit_id")
    assert t.loc["EMEA", "quota"] == 1_000_000.0 and bool(t.loc["EMEA", "locked"])
    w.override("region:EMEA", None)


def test_bad_decision_shown_not_saved(ws):
    w = ui.QuotaAllocator(ws, interactive=True)
    w.set("method", "blend")
    before = _yaml(ws)["quotas"].get("target")
    assert not w.commit("target", -5.0)  # rejected by quotas: shown, not recorded
    assert "target" in w.message.value and "non-negative" in w.message.value
    assert _yaml(ws)["quotas"].get("target") == before


def test_quota_scope_views_show_their_part_of_the_company_split(ws, sample_data):
    """The saved target is the company's: a region view shows the region's quota in the
    company split as its target (like the plan document), split over its territories; a
    rep view shows the rep's quota in that split."""
    from salesplan_nb.core.scope import Scope
    from salesplan_nb.render import report

    before = quotas.load_quotas(ws)
    ws.record("quotas", "target", 9_000_000.0)
    try:
        w = ui.QuotaAllocator(ws, "region:EMEA", interactive=True)
        company = quotas.quotas_from(sample_data, quotas.load_quotas(ws), None, ws.period)
        assert company.target == 9_000_000.0
        emea = float(company.level("region").set_index("unit_id").loc["EMEA", "quota"])
        assert w.result["plan"].target == emea < 9_000_000.0 / 2
        terr = company.level("territory")
        terr = terr[terr["parent"] == "EMEA"].set_index("unit_id")["quota"]
        shown = w.table(w.result).set_index("unit_id")["quota"]
        assert w.result["level"] == "territory" and len(shown) >= 2
        pd.testing.assert_series_equal(shown.sort_index(), terr.sort_index())
        # over-assignment totals: territories carry (1 + F_territory) / (1 + F_region) of it
        dec = quotas.load_quotas(ws)
        f = quotas.level_factor(dec, "territory", dec.over_assignment.get("region", 0.0))
        assert shown.sum() == pytest.approx(emea * (1 + f), abs=0.01 * len(shown))
        assert "its part of the company target 9,000,000 USD" in w.summary_view.value
        assert "Company target" in w.controls["target"][0].description
        # the plan document shows the same region split
        ctx = report.PlanContext(ws, Scope.parse("region:EMEA"), ws.period,
                                 ws.period.previous(), "annual", "EMEA")
        doc = report._quota_plan(ctx)
        assert doc.target == emea
        pd.testing.assert_frame_equal(doc.table.reset_index(drop=True),
                                      w.result["plan"].table.reset_index(drop=True))
        # a region over-assignment move changes EMEA's share of the company target
        w.set_over_assignment("region", 0.33)
        assert quotas.load_quotas(ws).over_assignment["region"] == 0.33
        moved = quotas.quotas_from(sample_data, quotas.load_quotas(ws), None, ws.period)
        assert w.result["plan"].target != emea
        assert w.result["plan"].target == float(
            moved.level("region").set_index("unit_id").loc["EMEA", "quota"])
        rep = company.level("rep").iloc[0]
        r = ui.QuotaAllocator(ws, f"rep:{rep['unit_id']}", interactive=True)
        assert list(r.table(r.result)["unit_id"]) == [rep["unit_id"]]
        assert float(r.table(r.result)["quota"].iloc[0]) == pytest.approx(
            float(moved.level("rep").set_index("unit_id").loc[rep["unit_id"], "quota"]))
        assert "its part of the company target" in r.summary_view.value
        # a rep who left before the plan period carries no quota: an empty, labelled view
        gone = ui.QuotaAllocator(ws, "rep:R-0002", interactive=True)
        assert sample_data.reps.set_index("rep_id").loc["R-0002", "end_date"] < ws.period.start
        assert gone.table(gone.result).empty
        assert "has no quota in the company split" in gone.summary_view.value
    finally:
        ws.record("quotas", "target", before.target)
        ws.record("quotas", "over_assignment", before.over_assignment)


def test_quota_account_view_shows_the_account_territory(ws, sample_data):
    """Accounts carry no quota: the allocator opened for an account shows its territory's
    split and says so (a labelled view, not an error)."""
    acc = sample_data.accounts.dropna(subset=["territory"]).iloc[0]
    w = ui.QuotaAllocator(ws, f"account:{acc['account_id']}", interactive=True)
    assert w.scope.level == "territory" and w.scope.id == acc["territory"]
    assert "accounts carry no quota" in w.summary_view.value
    t = ui.QuotaAllocator(ws, f"territory:{acc['territory']}", interactive=True)
    pd.testing.assert_frame_equal(w.table(w.result), t.table(t.result))
    with pytest.raises(ConfigError, match="no territory"):
        ui.QuotaAllocator(ws, "account:NO-SUCH-ACCOUNT", interactive=True)


def test_swot_board_actions_saved(ws):
    b = ui.SwotBoard(ws, interactive=True)
    assert b.items and all(i.scope == "company" for i in b.items)
    b.add("threats", "New rival <b>X</b>")
    stored = [i for i in ws.items("swot") if i["text"] == "New rival <b>X</b>"]
    assert len(stored) == 1 and stored[0]["source"] == "analyst"
    first = next(i for i in b.items if i.source == "data")
    b.reject(first.id)
    assert next(i for i in ws.items("swot") if i["id"] == first.id)["status"] == "rejected"
    b.edit(first.id, "reworded")
    item = next(i for i in ws.items("swot") if i["id"] == first.id)
    assert (item["text"], item["status"]) == ("reworded", "edited")
    assert any(i["text"] == "New rival <b>X</b>" for i in b.board.items)
    b.handle({"action": "explode"})
    assert "unknown SWOT board action" in b.board.message
    # a fresh board keeps the decisions (merge, no duplicates)
    again = ui.SwotBoard(ws, interactive=False)
    assert sum(i.text == "reworded" for i in again.items) == 1
    assert len({i.key for i in again.items if i.key}) == len([i for i in again.items if i.key])


def test_static_mode_renders_svg_and_table(ws):
    w = ui.CapacitySliders(ws, interactive=False)
    assert w.chart_view is None  # no live widgets made
    w.show_static()
    out = ws.load_output("ui", "CapacitySliders_company")
    assert out is not None and "capacity" in set(out["figure"])
    bundle = ui.svg_bundle(w.chart(w.result))
    assert bundle["image/svg+xml"].startswith("<svg")


def test_capacity_settings_round_trip(ws):
    from salesplan_nb.steps import capacity
    w = ui.CapacitySliders(ws, interactive=True)
    cap0 = w.result.capacity
    w.set("attrition", 0.3)
    assert capacity.load_capacity_settings(ws)["attrition"] == 0.3
    assert w.result.capacity < cap0  # more attrition, less capacity
    w.add_hires("2027-03", 2)
    assert [h.count for h in capacity.load_capacity_settings(ws)["hires"]] == [2.0]
    assert w.result.capacity > capacity.capacity_plan(ws.data, None, ws.period,
                                                      attrition=0.3).capacity


def test_milestones_validate_and_chart(ws):
    w = ui.MilestoneEditor(ws, interactive=True)
    w.add_standard()
    names = list(w.result["name"])
    assert "Plan sign-off" in names and "Review 2027Q4" in names
    w.add_standard()  # idempotent
    assert list(w.result["name"]) == names
    with pytest.raises(ConfigError, match="before it starts"):
        w.add("Kick-off", "2027-02-01", "2027-01-01")
    w._add_clicked()  # empty name from the form: shown, not raised
    assert "needs a name" in w.message.value
    assert w.chart(w.result) is not None


def test_goal_builder_checks_each_letter(ws):
    w = ui.SmartGoalBuilder(ws, interactive=True)
    assert list(w.result.table["letter"]) == list("SMART")
    assert w.result.status("R") == "fail"
    w.set("objective", "Grow revenue")
    assert w.result.status("R") == "pass"
    assert _yaml(ws)["goal_draft"]["objective"]["value"] == "Grow revenue"
    g = w.save()
    assert any(i["id"] == g.id and i["objective"] == "Grow revenue" for i in ws.items("goals"))


def test_scenario_sliders_save_scenario(ws):
    from salesplan_nb.steps import forecast

    w = ui.ScenarioManager(ws, "region:EMEA", interactive=True)
    base = w.result["compare"].loc["bookings", "base"]
    # the base is the forecast of the scope (the plan document's and the API's number)
    assert base == pytest.approx(forecast.forecast(ws.data, "region:EMEA", ws.period)
                                 .total["point"], abs=1.0)
    w.clone("push")
    w.set_driver("win_rate", 0.1)
    saved = ws.get("scenarios", "push")
    assert saved["changes"] == [{"driver": "win_rate", "value": 0.1, "scope": "region:EMEA",
                                 "start": None, "end": None, "source": ""}]
    assert w.result["compare"].loc["bookings", "push"] > base
    assert w.result["tornado_stale"]
    w.refresh(tornado=True)
    assert not w.result["tornado_stale"]


def test_budget_allocator_keeps_committed_spend_and_capacity_headcount(ws):
    from salesplan_nb.steps import capacity, resources, strategy

    strategy.save_tactic(ws, strategy.Tactic("Webinars", "lead generation & nurturing",
                                             "pipeline", 8.0, f"{ws.period.start:%Y-%m-%d}",
                                             f"{ws.period.end:%Y-%m-%d}", budget=100_000.0))
    w = ui.BudgetAllocator(ws, "company", interactive=True)
    w.set("budget", 20_000_000.0)
    w.set("cost_per_rep", 150_000.0)
    t = w.result.table.set_index("name")
    line = resources.headcount_line(ws.data, "company", ws.period, cost_per_rep=150_000.0,
                                    capacity_settings=capacity.load_capacity_settings(ws))
    assert t.loc["headcount", "spend"] == pytest.approx(line.current, abs=0.01)
    assert t.loc["lead generation & nurturing", "spend"] >= 100_000.0 - 0.01
    w.accept()
    names = [i.name for i in resources.load_resources(ws)["investments"]]
    assert "headcount" in names and "lead generation & nurturing" in names


def test_decisions_table_lists_sections(ws):
    swot.add_item(ws, "strengths", "Loyal base")
    ws.record("quotas", "method", "history", by="test")  # self-contained (no test order)
    t = ui.decisions_table(ws)
    assert {"swot", "quotas"} <= set(t["section"])


def _count_charts(w) -> list:
    """Record calls of ``w.chart`` (the slow path) in the returned list."""
    calls, slow = [], w.chart
    w.chart = lambda result: calls.append(1) or slow(result)
    return calls


def _layer_values(spec: dict) -> list:
    """Each layer's data values (dataset names may differ: Altair names inline data by hash)."""
    return [spec["datasets"][layer["data"]["name"]] for layer in spec["layer"]]


def test_fast_path_specs_equal_the_slow_specs(ws):
    """The live fast path (datasets and title swapped in the shown spec) gives the spec the
    widget's chart() builds through Altair for the same result."""
    c = ui.CapacitySliders(ws, interactive=True)
    first = c.chart_view.spec["datasets"]["rre"]
    calls = _count_charts(c)
    c.set("attrition", 0.45)
    assert not calls  # no Altair chart built
    fast = c.chart_view.spec
    assert fast["datasets"]["rre"] != first  # the fast path showed the new plan
    assert fast == c.chart(c.result).to_dict(validate=False)
    c.set("backfill_lag", 5)
    assert c.chart_view.spec == c.chart(c.result).to_dict(validate=False)

    g = ui.IcpSegments(ws, interactive=True)
    before = g.chart_view.spec["datasets"]["segments"]
    calls = _count_charts(g)
    g.att["potential"].set_trait("value", 0.95)
    g.fit["industry"].set_trait("value", 0.0)
    assert not calls
    fast = g.chart_view.spec
    assert fast["datasets"]["segments"] != before
    assert fast == g.chart(g.result).to_dict(validate=False)
    top = g.result["fit"].head(g.FIT_TOP)
    shown = sorted({(r["order"], r["name"]) for r in fast["datasets"]["fit"]})
    assert [n for _, n in shown] == list(top["name"])

    t = ui.TerritoryBalancer(ws, interactive=True)
    calls = _count_charts(t)
    t.set("tolerance", 0.02)
    assert not calls
    fast = t.chart_view.spec
    slow = t.chart(t.result).to_dict(validate=False)
    assert fast["title"] == slow["title"] == t._title(t.result)
    assert "2%" in fast["title"]
    assert _layer_values(fast) == _layer_values(slow)
    assert {r["unit"] for r in _layer_values(fast)[0]} == set(t.result.balance["unit"])
