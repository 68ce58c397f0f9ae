"""Plan-document sections (report.py) and safe names, without a kernel."""

from __future__ import annotations

import hashlib

import altair as alt
import pandas as pd
import pytest

from salesplan_nb import report
from salesplan_nb.errors import ConfigError
from salesplan_nb.runner import chart_json
from salesplan_nb.safenames import inside, safe_name, slug, unique_names


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from salesplan_nb.sample import generate
    from salesplan_nb.workspace import Workspace

    data = generate(seed=5, accounts=300, opportunities=2500)
    return Workspace.create(tmp_path_factory.mktemp("rep") / "plan", data=data)


def test_safe_names():
    for hostile in ["<img src=x onerror=alert(1)>", "../../etc/x", "/abs/path", "", "..",
                    "a\x00b", "Ünïcødé 東京"]:
        s = safe_name(hostile)
        assert "/" not in s and "\\" not in s and ".." not in s and "\x00" not in s
        assert s.split("-")[-1] == hashlib.sha256(hostile.encode()).hexdigest()[:8]
    assert slug("../../etc/x") == "etc-x"
    assert slug("Ünïcödé") == "unicode"
    assert safe_name("A/B") != safe_name("A B") and slug("A/B") == slug("A B")
    names = unique_names(["x", "x", "y"])
    assert len(set(names.values())) == 2
    with pytest.raises(ConfigError, match="outside"):
        inside("/tmp/out", "/tmp/out/../etc/x")
    assert inside("/tmp/out", "/tmp/out/a/b.html").name == "b.html"


def test_headline_matches_hand_computation(ws):
    data = ws.data
    region = sorted(data.territories["region"].dropna().unique())[0]
    ctx = report.context(ws.path, "region", region, None, "annual")
    h = report.headline(ctx)
    assert ctx.baseline.label == str(data.as_of.year - 1)  # last complete year
    o = data.opportunities
    reg = o["owner_id"].map(dict(zip(data.reps["rep_id"], data.reps["region"])))
    reg = reg.where(reg.notna(), o["account_id"].map(dict(zip(data.accounts["account_id"],
                                                              data.accounts["region"]))))
    yr = o["close_date"].dt.year
    base = o[(reg == region) & (o["status"] == "won") & (yr == data.as_of.year - 1)]
    closed = o[(reg == region) & o["status"].isin(["won", "lost"]) & (yr == data.as_of.year - 1)]
    assert h["baseline_bookings"] == pytest.approx(base["amount"].sum())
    assert h["win_rate"] == pytest.approx((closed["status"] == "won").mean())
    assert h["open_pipeline"] == pytest.approx(o.loc[(reg == region) & (o["status"] == "open"),
                                                     "amount"].sum())
    text = report.executive_summary(ctx).blocks[0]
    assert report.money(h["baseline_bookings"]) in text and ctx.unit_label in text


def test_sections_per_plan_type_and_missing_decisions(ws):
    data = ws.data
    acc = data.accounts["account_id"].iloc[0]
    for level, unit, ptype in [("territory", data.territories["territory_id"].iloc[0],
                                "territory"), ("account", acc, "account"),
                               ("company", None, "long-term")]:
        ctx = report.context(ws.path, level, unit, None, ptype)
        secs = report.build(ctx)
        assert [s.key for s in secs][0] == "executive_summary"
        assert len(secs) == len(report.PLAN_SECTIONS[ptype])
        charts = [b for s in secs for b in s.blocks if isinstance(b, alt.TopLevelMixin)]
        assert charts, ptype
        for c in charts:  # specs carry aggregated data only
            assert len(report.chart_spec(c).__repr__()) < 400_000
    # a fresh workspace has no tactics: the section says so instead of inventing them
    ctx = report.context(ws.path, "company", None, None, "annual")
    st = report.strategy_tactics(ctx)
    assert st.missing and "decisions.tactics" in st.missing[0].text()


def test_recorded_tactics_and_milestones_show(ws):
    from salesplan_nb.strategy import Tactic, save_tactic

    save_tactic(ws, Tactic(name="<b>Webinars</b>", category="lead generation & nurturing",
                           driver="pipeline", effect=5, start="2027-02-01",
                           end="2027-05-31", owner="Ana", budget=12000))
    ws.add_item("milestones", {"name": "Kick-off", "owner": "VP", "start": "2027-01-05",
                               "end": "2027-01-06", "status": "planned", "scope": "company"})
    ctx = report.context(ws.path, "company", None, None, "annual")
    st = report.strategy_tactics(ctx)
    assert not st.missing
    html = "".join(report.block_html(b) for b in st.blocks
                   if not isinstance(b, alt.TopLevelMixin))
    assert "&lt;b&gt;Webinars&lt;/b&gt;" in html and "<b>Webinars" not in html
    assert "$12.00k" in html
    from salesplan_nb.goals import Goal, save_goal

    save_goal(ws, Goal(metric="bookings", target=9_876_543.0, scope="company",
                       deadline="2027-12-31", owner="CRO", name="<i>Grow</i>"))
    ctx = report.context(ws.path, "company", None, None, "annual")
    h = report.headline(ctx)
    assert (h["target"], h["target_source"]) == (9_876_543.0, "recorded goal")
    goals_html = "".join(report.block_html(b) for b in report.sales_goals(ctx).blocks)
    assert "&lt;i&gt;Grow&lt;/i&gt;" in goals_html and "9,876,543.00" in goals_html
    assert "2027-12-31" in goals_html
    from salesplan_nb import resources as res

    inv = [res.Investment("Inside sales", a=500_000, b=200_000, current=50_000),
           res.Investment("Events", a=120_000, b=40_000, current=50_000)]
    alloc = res.allocate(100_000, inv)
    res.save_resources(ws, alloc, inv)
    ra = report.resource_allocation(report.context(ws.path, "company", None, None, "annual"))
    assert not [m for m in ra.missing if "budget" in m.text()]
    table = next(b.df for b in ra.blocks if isinstance(b, report.Table))
    assert table["spend"].sum() == pytest.approx(100_000, abs=0.01)
    tl = report.timeline(ctx)
    df = next(b.df for b in tl.blocks if isinstance(b, report.Table))
    assert list(df["name"]) == ["Kick-off", "<b>Webinars</b>"]
    assert "recorded milestones" in tl.blocks[0]


def test_table_html_escapes_and_formats():
    t = report.Table(pd.DataFrame({"name": ["<script>x</script>"], "v": [1234567.0],
                                   "r": [0.256]}), {"v": "money", "r": "pct"})
    h = report.table_html(t)
    assert "<script>" not in h and "&lt;script&gt;" in h
    assert "1,234,567" in h and "25.6%" in h
    assert report.money(1_234_567) == "$1.23M" and report.money(float("nan")) == "n/a"


def test_chart_json_cannot_close_script():
    s = chart_json({"title": "</script><script>alert(1)</script>"})
    assert "</script" not in s and "<" not in s
    import json
    assert json.loads(s)["title"] == "</script><script>alert(1)</script>"
