"""One plan, one number per figure (issue 10): no two sections of a rendered plan print
different values for the same named figure.

Sections print the plan figures (target, baseline, forecast, capacity, sum of quotas,
to-be-hired seats, hires, reps expected at 100%, base / plan scenario, P(reach target),
coverage, budget) through ``render.figures.fig``, which tags each as
``<span data-figure="name">``; this test reads every tag of the rendered HTML of the demo's
plans (company, every region, a territory, an account, long-term) and of a Maven-CRM-based
plan and checks that each shows the unit's run-record value (``figures``), formatted by
core.formats (money in text, whole dollars in tables, percentages).
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from salesplan_nb.core.formats import amount, integer, money, pct
from salesplan_nb.render.figures import FIGURE_KINDS

SPAN = re.compile(r'<span class="figure" data-figure="([a-z0-9_]+)">(.*?)</span>', re.S)
#: figures every seat-level plan (company, region, territory) prints in two or more places
SEAT_FIGURES = {"target", "baseline", "forecast", "capacity", "quota_total",
                "reps_expected_at_100", "base_scenario", "plan_scenario"}


def _build(pr) -> dict:
    """One rendered plan per case of ``pr`` (:class:`helpers.PlanRenders`) with its figures."""
    from salesplan_nb.render.figures import headline_of

    ws = pr.ws
    d = ws.data.deals
    won = d[d["status"] == "won"]
    regions = sorted(str(r) for r in won["region"].dropna().unique())
    top = str(won["region"].value_counts().index[0])
    terr = str(won.loc[won["region"] == top, "territory"].value_counts().index[0])
    account = str(won["account_id"].value_counts().index[0])
    y = ws.period.start.year
    cases = {"company": ("company", None, "annual", None),
             **{f"region {r}": ("region", r, "annual", None) for r in regions},
             "territory": ("territory", terr, "territory", None),
             "account": ("account", account, "account", None),
             "long-term": ("company", None, "long-term", f"{y}..{y + 2}")}
    out = {}
    for name, case in cases.items():
        ctx, html = pr.render(*case)
        out[name] = (ctx, html, headline_of(ctx)["figures"])
    return out


@pytest.fixture(scope="module")
def demo_plans(demo_plan_renders):
    return demo_plan_renders.ws, _build(demo_plan_renders)


@pytest.fixture(scope="module")
def maven_plans(maven_plan_renders):
    return maven_plan_renders.ws, _build(maven_plan_renders)


@pytest.fixture(params=["demo", "maven"])
def plans(request):
    return request.getfixturevalue(f"{request.param}_plans")


def shown_as(name: str, value) -> set[str]:
    """Every way core.formats prints ``value`` of figure ``name``."""
    if value is None:
        return {"n/a", ""}
    v = float(value)
    kind = FIGURE_KINDS[name]
    if kind == "x":
        return {f"{v:.2f}x"}
    if kind == "pct":
        return {pct(v)}
    if kind == "int":
        return {integer(v), f"{v:,.0f}"}
    return {money(v), amount(v), f"{amount(v)} USD"}


def tags(doc: str) -> list[tuple[str, str]]:
    return [(n, unescape(t).strip()) for n, t in SPAN.findall(doc)]


def test_every_tag_of_a_figure_shows_the_run_record_value(plans):
    _, built = plans
    bad = []
    for case, (_, doc, figures) in built.items():
        assert "error" not in figures, (case, figures)
        for name, text in tags(doc):
            assert name in FIGURE_KINDS, (case, name)
            if text not in shown_as(name, figures.get(name)):
                bad.append(f"{case}: {name} printed {text!r}, run record "
                           f"{figures.get(name)!r}")
    assert not bad, "\n".join(bad)


def test_seat_plans_print_their_figures_in_several_sections(plans):
    """Not vacuous: the seat-level plans tag the plan figures, the target and the capacity in
    more than one section."""
    _, built = plans
    for case, (ctx, doc, figures) in built.items():
        names = [n for n, _ in tags(doc)]
        if ctx.scope.level in ("company", "region", "territory") and ctx.period.n_months <= 12:
            present = {n for n in SEAT_FIGURES if figures.get(n) is not None}
            assert present <= set(names), (case, present - set(names))
            assert names.count("target") >= 3, (case, names.count("target"))
            assert names.count("capacity") >= 2, case
        else:
            assert "target" in names or figures.get("target") is None, case


def test_quota_total_is_the_sum_of_the_seat_quotas_and_carries_the_target(plans):
    """The region quotas follow the recorded region goals, so a region's quota is its target;
    the sum of quotas never exceeds target x (1 + over-assignment)."""
    _, built = plans
    for case, (_, _, f) in built.items():
        if f.get("quota_total") is None or not f.get("target"):
            continue
        assert f["quota_total"] <= f["target"] * (1 + (f["over_assignment"] or 0)) + 1, case


def test_hires_over_units_add_up_to_the_hiring_plan(demo_plans):
    """Every to-be-hired seat is placed in one region: regions' hires sum to the company's."""
    _, built = demo_plans
    company = built["company"][2]
    regions = [f for case, (_, _, f) in built.items() if case.startswith("region ")]
    assert company["hires"] == company["tbh_seats"]
    assert sum(f["hires"] or 0 for f in regions) == pytest.approx(company["hires"])


def test_demo_default_decisions_give_a_plan_in_the_healthy_band(demo_plans):
    """The demo's default decisions (hires sized to target + rep over-assignment, hired a
    quarter ahead; reps judged in seat) put the company in the 50-75% band, or the plan
    says loudly why not."""
    _, built = demo_plans
    ctx, doc, f = built["company"]
    share = f["reps_expected_at_100"]
    assert share is not None
    if not 0.5 <= share <= 0.75:
        assert f["flag"] and "healthy" in f["flag"]
        assert "Warning:" in doc


def test_tags_never_reach_plain_text():
    from salesplan_nb.core.formats import tag, tags_to_html, untag

    t = tag("target", "$1.00M")
    assert untag(f"target {t}.") == "target $1.00M."
    assert tags_to_html(f"a {t}") == 'a <span class="figure" data-figure="target">$1.00M</span>'
    with pytest.raises(ValueError):
        tag('x" onclick="y', "1")
