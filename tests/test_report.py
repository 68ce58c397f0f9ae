"""Plan-document sections (report.py) and safe names, without a kernel."""

from __future__ import annotations

import hashlib
import re

import altair as alt
import pandas as pd
import pytest

from salesplan_nb.batch.runner import chart_json
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.formats import untag
from salesplan_nb.core.safenames import inside, safe_name, slug, unique_names
from salesplan_nb.render import report


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

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
    t0 = data.as_of + pd.Timedelta(days=1) - pd.DateOffset(years=1)
    ttm = o[(reg == region) & (o["status"] == "won") & (o["close_date"] >= t0)
            & (o["close_date"] <= data.as_of)]
    assert h["ttm_bookings"] == pytest.approx(ttm["amount"].sum())
    text = untag(report.executive_summary(ctx).blocks[0])  # plain text, figure marks off
    assert report.money(h["baseline_bookings"]) in text and ctx.unit_label in text
    if h["target"]:
        assert h["growth_vs_ttm"] == pytest.approx(
            h["target"] / (ttm["amount"].sum() * ctx.period.n_months / 12) - 1)
        # one baseline in the summary; coverage = open pipeline expected to close in the plan
        # period / (target - bookings already won in it)
        assert "last 12 months" not in text
        yr = ctx.period.start.year
        pipe = o.loc[(reg == region) & (o["status"] == "open")
                     & (o["close_date"].dt.year == yr), "amount"].sum()
        won_in = o.loc[(reg == region) & (o["status"] == "won")
                       & (o["close_date"].dt.year == yr), "amount"].sum()
        assert h["coverage"] == pytest.approx(pipe / (h["target"] - won_in))
        assert f"Pipeline coverage {h['coverage']:.2f}x: open pipeline expected to close in " \
            f"{yr} / remaining target" in text


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
    from salesplan_nb.steps.strategy import Tactic, save_tactic

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
    from salesplan_nb.steps.goals import Goal, save_goal

    save_goal(ws, Goal(metric="bookings", target=9_876_543.0, scope="company",
                       deadline="2027-12-31", owner="CRO", name="<i>Grow</i>"))
    ctx = report.context(ws.path, "company", None, None, "annual")
    h = report.headline(ctx)
    assert (h["target"], h["target_source"]) == (9_876_543.0, "recorded goal")
    goals_html = "".join(report.block_html(b) for b in report.sales_goals(ctx).blocks)
    assert "&lt;i&gt;Grow&lt;/i&gt;" in goals_html and "9,876,543 USD" in goals_html
    assert "2027-12-31" in goals_html
    # a 2027 goal is an interim milestone of a 2027..2029 plan, not its target; a one-year
    # quota target is not a three-year target either
    long = report.context(ws.path, "company", None, "2027..2029", "long-term")
    h3 = report.headline(long)
    assert h3["target"] is None and "annual" in h3["target_note"]
    save_goal(ws, Goal(metric="bookings", target=30_000_000.0, scope="company",
                       deadline="2029-12-31", owner="CRO", name="Three-year goal"))
    h3 = report.headline(report.context(ws.path, "company", None, "2027..2029", "long-term"))
    assert (h3["target"], h3["target_source"]) == (30_000_000.0, "recorded goal")
    assert report.headline(report.context(ws.path, "company", None, None, "annual"))[
        "target"] == 9_876_543.0  # the annual plan keeps its own goal
    from salesplan_nb.steps import resources as res
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


# ---- account plan target ----------------------------------------------------------------------
def _t12m_by_territory(data, account_id: str) -> tuple[pd.Series, pd.Series]:
    """Independent check: won bookings of the 12 months to as_of by territory (owner rep's,
    else the account's) - of the account, and of everyone."""
    o = data.opportunities
    rep_t = o["owner_id"].map(dict(zip(data.reps["rep_id"], data.reps["territory"])))
    acc_t = o["account_id"].map(dict(zip(data.accounts["account_id"],
                                         data.accounts["territory"])))
    o = o.assign(terr=rep_t.where(rep_t.notna(), acc_t))
    end = data.as_of + pd.Timedelta(days=1)
    won = o[(o["status"] == "won") & (o["close_date"] >= end - pd.DateOffset(years=1))
            & (o["close_date"] < end)]
    return (won[won["account_id"] == account_id].groupby("terr")["amount"].sum(),
            won.groupby("terr")["amount"].sum())


@pytest.fixture(scope="module")
def target_ws(tmp_path_factory):
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.steps import quotas
    from salesplan_nb.steps.goals import Goal, save_goal

    data = generate(seed=5, accounts=300, opportunities=2500)
    ws = Workspace.create(tmp_path_factory.mktemp("tgt") / "plan", data=data)
    quotas.save_quotas(ws, quotas.QuotaDecisions(target=5_000_000.0))  # the company's target
    save_goal(ws, Goal(metric="bookings", target=9_876_543.0, scope="company",
                       deadline="2027-12-31", owner="CRO"))
    return ws


def test_account_plan_never_shows_the_company_target(target_ws):
    from salesplan_nb.steps import quotas
    ws, data = target_ws, target_ws.data
    company = quotas.quotas_from(data, quotas.load_quotas(ws), None, ws.period)
    assert company.target == 5_000_000.0
    t = data.targets
    company_values = {5_000_000.0, 9_876_543.0,
                      *t.loc[t["scope_level"] == "company", "amount"].astype(float)}
    won = data.deals[data.deals["status"] == "won"].groupby("account_id")["amount"].sum()
    accounts = [won.idxmax(), won.idxmin(), data.accounts["account_id"].iloc[0]]
    derived = 0
    for period in (None, str(data.as_of.year)):  # the data's year has a company target row
        for acc in accounts:
            ctx = report.context(ws.path, "account", acc, period, "account")
            h = report.headline(ctx)
            assert h["target"] not in company_values, (acc, period, h["target_source"])
            from salesplan_nb.render.figures import ACCOUNT_GROWTH_CAP, account_targets
            plan = report.company_quota_plan(ctx)
            tab = account_targets(ws, data, plan).set_index("account_id")
            if acc not in tab.index:  # no won bookings in the last 24 months
                assert h["target"] is None and "no won bookings" in h["target_note"]
                summary = report.executive_summary(ctx).blocks[0]
                assert "No bookings target" in summary and "no won bookings" in summary
                continue
            terr_q = plan.table[plan.table["level"] == "territory"].set_index("unit_id")
            row = tab.loc[acc]
            mine, total = _t12m_by_territory(data, acc)  # independent history shares
            assert row["hist_share"] == pytest.approx(
                sum(mine[x] / total[x] for x in mine.index if mine[x] > 0), rel=1e-9)
            # the share of the territory's quota by the quota weights, capped on growth
            assert h["target"] == pytest.approx(min(row["uncapped"], row["cap"]), rel=1e-9)
            assert h["target"] <= (1 + ACCOUNT_GROWTH_CAP) * row["reference"] + 0.01
            assert h["target_source"].startswith("derived: ")
            assert f"territory {terr_q.loc[row['territory'], 'name']}'s quota" \
                in h["target_source"]
            assert ("capped at" in h["target_source"]) == bool(row["capped"])
            derived += 1
            doc = "".join(report.block_html(b) for s in report.build(ctx)
                          for b in s.blocks if not isinstance(b, alt.TopLevelMixin))
            for v in company_values:
                assert report.money(v) not in doc and f"{v:,.0f}" not in doc
    assert derived >= 2
    # a given target for the account beats the derived one; a recorded goal beats both
    from salesplan_nb.steps.goals import Goal, save_goal

    acc = won.idxmax()
    given = pd.concat([t, pd.DataFrame({"scope_level": ["account"], "scope_id": [acc],
                                        "period": [ws.period.label], "metric": ["bookings"],
                                        "amount": [123_456.0]})], ignore_index=True)
    from salesplan_nb.data.dataset import Dataset

    d2 = Dataset(accounts=data.accounts, opportunities=data.opportunities, reps=data.reps,
                 products=data.products, territories=data.territories, targets=given,
                 market=data.market, as_of=data.as_of)
    from salesplan_nb.data.workspace import Workspace

    ws2 = Workspace.create(ws.path.parent / "given", data=d2)
    h = report.headline(report.context(ws2.path, "account", acc, None, "account"))
    assert (h["target"], h["target_source"]) == (123_456.0, "given target")
    save_goal(ws2, Goal(metric="bookings", target=250_000.0, scope=f"account:{acc}"))
    h = report.headline(report.context(ws2.path, "account", acc, None, "account"))
    assert (h["target"], h["target_source"]) == (250_000.0, "recorded goal")


def test_unit_plans_use_their_quota_in_the_company_split(target_ws):
    from salesplan_nb.steps import quotas
    ws, data = target_ws, target_ws.data
    company = quotas.quotas_from(data, quotas.load_quotas(ws), None, ws.period).table
    terr = str(company.loc[company["level"] == "territory", "unit_id"].iloc[0])
    ctx = report.context(ws.path, "territory", terr, None, "territory")
    h = report.headline(ctx)
    quota = float(company.loc[(company["level"] == "territory")
                              & (company["unit_id"] == terr), "quota"].iloc[0])
    assert h["target"] == pytest.approx(quota) and h["target"] != 5_000_000.0
    assert h["target_source"] == "quota in the company split"
    sec = report.quotas_section(ctx)
    assert not sec.missing and "in the company split" in sec.blocks[0]
    table = next(b.df for b in sec.blocks if isinstance(b, report.Table))
    reps = company[(company["level"] == "rep") & (company["parent"] == terr)]
    assert table["quota"].iloc[0] == pytest.approx(quota)
    assert sorted(table.loc[table["level"] == "rep", "quota"]) == \
        pytest.approx(sorted(reps["quota"]))  # the same quotas as the company plan
    rep = str(reps["unit_id"].iloc[0])
    h = report.headline(report.context(ws.path, "rep", rep, None, "annual"))
    assert h["target"] == pytest.approx(float(reps["quota"].iloc[0]))


# ---- rendered documents: the must-shows --------------------------------------------------
XSS = "<img src=x onerror=alert(1)>"
CODE_MARKER = "SECRET_CODE_CELL_MARKER"
NETWORK_REF = re.compile(r"<(\w+)\b[^<>]*?\b(?:src|href|srcset|action|poster)\s*=\s*[\"']?\s*"
                         r"(?:https?:)?//", re.I)


@pytest.fixture(scope="module")
def hostile_ws(tmp_path_factory):
    """A plan whose top account, its territory and a product carry a hostile name."""
    from salesplan_nb.data.dataset import Dataset
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

    d = generate(seed=5, accounts=300, opportunities=2500)
    won = d.opportunities[d.opportunities["status"] == "won"]
    acc = won.groupby("account_id")["amount"].sum().idxmax()
    accounts = d.accounts.assign(name=d.accounts["name"].where(d.accounts["account_id"] != acc,
                                                               XSS))
    terr = str(d.accounts.loc[d.accounts["account_id"] == acc, "territory"].iloc[0])
    territories = d.territories.assign(name=d.territories["name"].where(
        d.territories["territory_id"] != terr, XSS))
    products = d.products.assign(name=[XSS] + list(d.products["name"].iloc[1:]))
    data = Dataset(accounts=accounts, opportunities=d.opportunities, reps=d.reps,
                   products=products, territories=territories, targets=d.targets,
                   market=d.market, as_of=d.as_of)
    ws = Workspace.create(tmp_path_factory.mktemp("hostile") / "plan", data=data)
    from salesplan_nb.steps import actions
    actions.add_action(ws, acc, XSS, XSS, "2027-03-31", "in progress")
    return ws, acc, terr


def _render(ctx, monkeypatch) -> str:
    """The plan document as ``salesplan run`` exports it: report.show_plan's display outputs in
    a code cell, through the runner's exporter (no kernel needed)."""
    import IPython.display
    import nbformat

    from salesplan_nb.batch.runner import PlanExporter

    outs = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False, **_: outs.append(
        nbformat.v4.new_output("display_data", data=obj)))
    report.show_plan(ctx)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"# {CODE_MARKER} markdown"),
        nbformat.v4.new_code_cell(f"{CODE_MARKER} = report.show_plan(ctx)", outputs=outs,
                                  execution_count=1)])
    return PlanExporter().export(nb, ctx.title)


@pytest.mark.parametrize("level, plan_type", [("company", "annual"), ("territory", "territory"),
                                              ("account", "account"),
                                              ("region", "long-term")])
def test_rendered_plan_must_shows(hostile_ws, monkeypatch, level, plan_type):
    ws, acc, terr = hostile_ws
    unit = {"company": None, "territory": terr, "account": acc, "region": "EMEA"}[level]
    ctx = report.context(ws.path, level, unit, None, plan_type)
    doc = _render(ctx, monkeypatch)
    assert len(doc.encode()) <= 3_000_000
    # self-contained: no network address in a src/href (links <a> are inert), CSP forbids all
    assert [m.group(0)[:80] for m in NETWORK_REF.finditer(doc)
            if m.group(1).lower() != "a"] == []
    assert "default-src 'none'" in doc and "<link" not in doc and "@import" not in doc
    for lib in ("window.vega=", "window.vegaLite=", "window.vegaEmbed="):
        assert doc.count(lib) == 1, lib  # Vega, Vega-Lite, vega-embed inlined once
    assert doc.count('class="vega-chart"') >= 1
    # a table of contents linking every section, print styles, no code
    toc = re.search(r'<nav[^>]*class="toc"[^>]*>.*?</nav>', doc, re.S).group(0)
    keys = re.findall(r'href="#(sec-[^"]+)"', toc)
    assert len(keys) == len(report.PLAN_SECTIONS[plan_type])
    assert all(f'id="{k}"' in doc for k in keys)
    assert "@media print" in doc
    assert CODE_MARKER not in doc and "jp-InputArea" not in doc
    # names from data are escaped everywhere (title, TOC, text, tables, chart specs)
    assert XSS not in doc and "onerror=alert(1)>" not in doc
    if level in ("territory", "account"):
        assert "&lt;img src=x onerror=alert(1)&gt;" in doc
    if plan_type == "account":  # the brief's account plan: profile, history, whitespace,
        titles = re.findall(r'href="#sec-[^"]+">([^<]+)<', toc)  # forecast, actions, risks
        for want in ("Account profile", "History", "Whitespace by product family", "Growth forecast",
                     "Actions", "Risks"):
            assert want in titles, want
        actions_html = doc[doc.index('id="sec-account_actions"'):
                           doc.index('id="sec-account_risks"')]
        assert "<th>Owner</th><th>Due</th><th>Status</th>" in actions_html  # headers in words
        assert "2027-03-31" in actions_html and "in progress" in actions_html
