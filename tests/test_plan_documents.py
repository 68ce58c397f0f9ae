"""Plan documents a VP would sign (issue 11), read from the rendered HTML of the demo's plans
(the demo's default decisions on a small sample company) and of a Maven-CRM-based plan:

- every decision kind recorded in plan.yaml appears in the plans it concerns, and a section
  without its decision says what to decide and in which notebook;
- every plan is scoped to its unit: no region shows another region's target segments, no unit
  shows the company budget, hires or tactics budget as its own, an account plan shows no
  company tactic or milestone;
- headlines that cannot mislead: coverage over the plan period, growth labelled with years;
- a company plan; long-term plans year by year with a readable title;
- account plans: zero quarters in the history, product names and overdue flags on open deals,
  whitespace by product family.
"""

from __future__ import annotations

import re
from html import escape

import pandas as pd
import pytest

from salesplan_nb.core.formats import money, pct

LEVEL_PLANS = ("company", "region", "territory", "account", "long-term")


def _build(pr) -> dict:
    """One plan per level of ``pr`` (:class:`helpers.PlanRenders`: the demo's decisions)."""
    ws = pr.ws
    d = ws.data.deals
    won = d[d["status"] == "won"]
    region = str(won["region"].value_counts().index[0])
    terr = str(won.loc[won["region"] == region, "territory"].value_counts().index[0])
    actions = pd.DataFrame(ws.items("account_actions"))
    account = str(actions["account_id"].iloc[0])  # a key account with recorded actions
    y = ws.period.start.year
    cases = {"company": ("company", None, "annual", None),
             "region": ("region", region, "annual", None),
             "territory": ("territory", terr, "territory", None),
             "account": ("account", account, "account", None),
             "long-term": ("company", None, "long-term", f"{y}..{y + 2}")}
    return {name: pr.render(*case) for name, case in cases.items()}


@pytest.fixture(scope="module")
def demo_plans(demo_plan_renders):
    return demo_plan_renders.ws, _build(demo_plan_renders)


@pytest.fixture(scope="module")
def maven_plans(maven_plan_renders):
    return maven_plan_renders.ws, _build(maven_plan_renders)


@pytest.fixture(params=["demo", "maven"])
def plans(request):
    return request.getfixturevalue(f"{request.param}_plans")


def section(doc: str, key: str) -> str:
    """The HTML of section ``key`` (from its heading to the next section heading)."""
    start = doc.index(f'id="sec-{key}"')
    nxt = doc.find('<h2 id="sec-', start + 10)
    return doc[start: nxt if nxt > 0 else len(doc)]


def text(doc: str) -> str:
    """Visible text with tags removed (entities kept), whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", doc))


def test_every_decision_kind_reaches_the_plans_it_concerns(plans):
    from salesplan_nb.steps import evaluate, kpis, monitor, swot

    ws, docs = plans
    dec = ws.doc["decisions"]
    kinds = {"goals", "kpis", "swot", "capacity", "segments", "stakeholders", "tactics",
             "account_actions", "quotas", "territories", "resources", "forecast", "scenarios",
             "reviews", "lessons", "next_plan"}
    # Maven's last full year has no quota history, so evaluate suggests no lesson there
    assert kinds - {"lessons"} <= set(dec), f"decisions missing: {kinds - set(dec)}"
    unit_plans = ("company", "region", "territory", "long-term")
    for name, (ctx, doc) in docs.items():
        assert len(doc.encode()) <= 3_000_000, name
        # goals: the unit's own goals (or the company's as context) by name
        goals = [g for g in ws.items("goals") if g["scope"] == str(ctx.scope)]
        if not goals and name != "account":
            goals = [g for g in ws.items("goals") if g["scope"] == "company"]
        sg = section(doc, "sales_goals")
        if goals:
            assert all(escape(g["name"]) in sg for g in goals), name
        else:
            assert "To decide: SMART goals" in sg, name
        if name == "account":
            acts = [a for a in ws.items("account_actions")
                    if a["account_id"] == ctx.scope.id]
            assert acts and all(escape(a["action"]) in section(doc, "account_actions")
                                for a in acts)
            assert "decisions.forecast" in section(doc, "growth_forecast")
            continue
        assert name in unit_plans
        # KPI targets for the plan period, against actuals (company targets as context; a
        # company goal of the same metric wins over the KPI step's target)
        from salesplan_nb.steps import goals as goals_step

        k = section(doc, "metrics_kpis")
        assert kpis.load_kpi_targets(ws, "company")
        targets, _ = goals_step.plan_kpi_targets(ws, "company", ctx.period)
        if ctx.scope.level != "company":  # additive company goals are not a unit's target
            targets = {m: v for m, v in targets.items() if not kpis.REGISTRY[m].additive}
        for key, value in targets.items():
            assert kpis.format_value(value, kpis.REGISTRY[key].unit) in k, (name, key)
        table = k[:k.find("<figure")] if "<figure" in k else k
        table = re.sub(r"<span[^>]*>|</span>", "", table)  # plan-figure tags off
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
        with_target = [r for r in rows if re.findall(r"<td[^>]*>([^<]*)</td>", r)[3:4] != [""]]
        assert len(with_target) >= len(targets) + 1, name  # header row + one per target
        # SWOT items (the company's, as context in unit plans)
        items = [i for i in swot.load_swot(ws) if i.status != "rejected"]
        assert all(escape(i.text) in section(doc, "swot") for i in items), name
        # hiring plan, ICP weights, chosen segments, sign-off, tactics, budget
        ra = section(doc, "resource_allocation")
        for h in ws.get("capacity", "hires") or []:
            assert f"{float(h['count']):g} {h['role']} from {h['month']}" in ra, name
        ts = section(doc, "target_segments")
        weights = ws.get("segments", "attractiveness_weights")
        assert "Attractiveness weights (ICP)" in ts and all(
            f"{k.replace('_', ' ')} {pct(float(v), 0)}" in ts for k, v in weights.items())
        st = section(doc, "stakeholders")
        assert "approved" in st and "requested" in st and "CRO" in st
        tactics = [t for t in ws.items("tactics") if not t.get("segment")]
        assert all(escape(t["name"]) in section(doc, "strategy_tactics") for t in tactics)
        # reviews, lessons (or what to decide), next-plan figures
        rl = section(doc, "reviews_lessons")
        for r in monitor.reviews(ws).itertuples():
            assert escape(r.notes) in rl, name
        les = evaluate.lessons(ws)
        if len(les):
            assert all(escape(t) in rl for t in les["text"])
        else:
            assert "To decide: lessons learned" in rl and "15_evaluate.ipynb" in rl
        assert "Next-plan figures" in rl
        # scenarios: the saved ones beside base / best / worst
        sc = text(section(doc, "scenarios"))
        for n in ws.get("scenarios"):
            assert re.search(rf"\b{re.escape(n)}\b", sc, re.I), (name, n)
        if name != "long-term":
            q = section(doc, "quotas")
            assert f"split by {ws.get('quotas', 'method')}" in q
            assert "decisions.territories" in q
            assert "decisions.forecast" in section(doc, "growth_forecast")


def test_each_plan_is_scoped_to_its_unit(plans):
    ws, docs = plans
    data = ws.data
    budget = float(ws.get("resources", "budget"))
    regions = set(data.deals["region"].dropna().astype(str))
    for name, (ctx, doc) in docs.items():
        if ctx.scope.level in ("company",):
            assert money(budget) in section(doc, "resource_allocation")
            continue
        # the company budget appears only as labelled context, never as the unit's own
        assert doc.count(money(budget)) == doc.count(f"Company budget {money(budget)} (context")
        ra = text(section(doc, "resource_allocation")) if name != "account" else ""
        if name != "account":
            assert "This unit's part of the company budget" in ra
            assert "Hiring plan (company)" in ra  # company hires are context, apportioned
        # no other region's target segments
        if name in ("region", "territory"):
            ts = text(section(doc, "target_segments"))
            chosen = re.search(r"(Chosen target segments[^.]*\.|None of the[^.]*\.)", ts)
            assert chosen, name
            for other in regions - {ctx.region}:
                assert other not in chosen.group(0), (name, other)
        if name == "account":  # no company tactic, milestone or sign-off in an account plan
            for t in ws.items("tactics"):
                assert escape(t["name"]) not in doc, t["name"]
            assert "Quota letters" not in doc and "sign off" not in doc


def test_headlines_cannot_mislead(plans):
    ws, docs = plans
    for _ctx, doc in docs.values():
        es = text(section(doc, "executive_summary"))
        assert "last 12 months" not in es  # one baseline: the baseline period
        if "Pipeline coverage" in es:
            assert "open pipeline expected to close in" in es and "remaining target" in es
    ctx, doc = docs["long-term"]
    y = ws.period.start.year
    assert ctx.title.startswith(f"Long-term sales plan {y}-{y + 2}")
    assert ".." not in ctx.title and "-01-01" not in ctx.title
    yy = section(doc, "year_by_year")
    assert all(f"<td>{year}</td>" in yy for year in (y, y + 1, y + 2))
    sc = section(doc, "scenarios")
    assert "each year" in sc and f"<td>{y + 2}</td>" in sc
    assert docs["company"][0].title.startswith("Company annual sales plan")


def test_account_plan_is_about_the_account(plans):
    ws, docs = plans
    ctx, doc = docs["account"]
    data = ws.data
    h = section(doc, "account_history")
    # every quarter from the first win to the as_of quarter is in the chart data, zeros too
    won = ctx.deals[ctx.deals["status"] == "won"]
    first = won["close_date"].min().to_period("Q")
    n_q = len(pd.period_range(first, pd.Period(data.as_of, "Q"), freq="Q"))
    assert len(re.findall(r'"quarter":\s*"\d{4}Q[1-4]"', h)) == n_q
    acts = section(doc, "account_actions")
    opens = ctx.deals[ctx.deals["status"] == "open"]
    if len(opens):
        names = dict(zip(data.products["product_id"], data.products["name"]))
        for pid in opens["product_id"].dropna().unique():
            if pd.notna(names.get(pid)):
                assert escape(str(names[pid])) in acts
        late = opens[opens["close_date"] < data.as_of]
        assert acts.count("overdue ") >= len(late)
    ws_sec = text(section(doc, "whitespace"))
    mine = ctx.deals
    fam = dict(zip(data.products["product_id"], data.products["family"]))
    held = {fam.get(p) for p in mine.loc[mine["status"].isin(["won", "open"]), "product_id"]}
    m = re.search(r"are whitespace \(not owned, no open deal\): ([^;]*);", ws_sec)
    listed = set(m.group(1).split(", ")) if m else set()
    assert not (listed & held), "a family the account owns or has a deal for is no whitespace"
    assert listed == set(data.products["family"]) - held
    assert "Mitigation" in section(doc, "account_risks") or "No risk signals" in \
        section(doc, "account_risks")
    prof = section(doc, "account_profile")
    if len(data.contacts):  # the demo: the buying committee, contact details masked
        mine_c = data.contacts[data.contacts["account_id"] == ctx.scope.id]
        assert "Buying committee" in prof and len(mine_c)
        for name in mine_c["name"]:
            assert escape(str(name)) in prof
        assert not any(str(e) in doc for e in mine_c["email"].dropna())
    else:  # Maven has no contacts: one line saying so and how to map it
        assert "the source has no contacts table; map one under tables.contacts" in prof


def test_kpi_targets_follow_the_goals(plans):
    """One number per KPI: the KPI table's plan-period target is the SMART goal's target when a
    goal of the same scope and metric exists (the demo's win-rate goal is +2 points on the
    baseline year); a territory never shows a company bookings goal as its own KPI target;
    the demo's goal names state their growth on the plan's one baseline."""
    from salesplan_nb.steps import goals as goals_step
    from salesplan_nb.steps import kpis as kpis_step

    ws, docs = plans
    ctx, doc = docs["company"]
    kpi = text(section(doc, "metrics_kpis"))
    goals = {g.metric: g for g in goals_step.load_goals(ws) if g.scope == "company"}
    win = goals["win_rate"]
    assert f"on {ctx.baseline.label}" in win.name
    shown = kpis_step.format_value(win.target, "fraction")
    row = kpi[kpi.index("Win rate"):kpi.index("Opportunity-to-win")]
    assert shown in row and "goal" in row, row
    assert win.target == pytest.approx(win.baseline + 0.02, abs=1e-3)
    bookings = goals["bookings"]
    assert f"{bookings.implied_growth:+.0%} on {ctx.baseline.label}" in bookings.name
    tctx, tdoc = docs["territory"]
    tkpi = text(section(tdoc, "metrics_kpis"))
    assert kpis_step.format_value(bookings.target, "USD") not in tkpi
