"""Roll-out (step 13, issue 11): rep plans that work as quota letters, the letters' acceptance
record in plan.yaml (shown in the rep letter and the territory / region / company plans), the
comp terms the plan records, and long-term plans year by year with capacity."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from helpers import render_plan_html

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.formats import money
from salesplan_nb.core.scope import Period
from salesplan_nb.render import report
from salesplan_nb.steps import capacity, quotas, rollout

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A small sample plan with saved quota decisions and a hiring plan (to-be-hired seats)."""
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

    data = generate(seed=5, accounts=300, opportunities=2500)
    ws = Workspace.create(tmp_path_factory.mktemp("rollout") / "plan", data=data)
    quotas.save_quotas(ws, quotas.QuotaDecisions(method="blend"), by="test")
    capacity.save_capacity_settings(ws, hires=[{"month": "2027-03", "count": 2}], by="test")
    return ws


def _text(doc: str) -> str:
    doc = re.sub(r"<script.*?</script>", "", doc, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", doc))


def _section(doc: str, key: str) -> str:
    start = doc.index(f'id="sec-{key}"')
    nxt = doc.find('<h2 id="sec-', start + 10)
    return doc[start: nxt if nxt > 0 else len(doc)]


def test_letters_are_the_quotas_section_split_with_to_be_hired_seats(ws):
    ctx = report.context(ws.path, "company", None, None, "annual")
    plan = report.company_quota_plan(ctx)
    sheet = rollout.letters(ws)
    reps = plan.level("rep")
    assert plan.tbh_seats == 2
    assert sheet["rep_id"].str.startswith(quotas.TBH_PREFIX).sum() == 2
    assert dict(zip(sheet["rep_id"], sheet["quota"])) == dict(zip(reps["unit_id"],
                                                                   reps["quota"]))
    quarters = [c for c in sheet.columns if str(c)[4:6] == "-Q"]
    assert (sheet[quarters].sum(axis=1).round(2) == sheet["quota"].round(2)).all()


def test_acceptance_validation(ws):
    sheet = rollout.letters(ws)
    rep = str(sheet.loc[~sheet["rep_id"].str.startswith("TBH"), "rep_id"].iloc[0])
    tbh = str(sheet.loc[sheet["rep_id"].str.startswith("TBH"), "rep_id"].iloc[0])
    bad = [({"rep": "R-9999"}, "no quota letter"), ({"rep": tbh}, "to-be-hired seat"),
           ({"status": "disputed"}, "needs a comment"), ({"by": "  "}, "is required"),
           ({"status": "maybe"}, "accepted, pending, disputed"),
           ({"by": "Ana\x00"}, "control characters"),
           ({"comment": "x" * 3000}, "keep it to")]
    for change, msg in bad:
        kw = {"rep": rep, "status": "accepted", "by": "Ana Chen", "comment": "", **change}
        with pytest.raises(ConfigError, match=msg):
            rollout.record_acceptance(ws, kw.pop("rep"), kw.pop("status"), **kw)
    assert ws.items(rollout.SECTION) == []  # nothing saved


def test_acceptance_reaches_the_rep_letter_and_the_territory_plan(ws):
    sheet = rollout.letters(ws)
    mine = sheet[~sheet["rep_id"].str.startswith("TBH")]
    terr_id = str(quotas.quotas_from_workspace(ws).level("rep").set_index("unit_id")
                  .loc[mine["rep_id"].iloc[0], "parent"])
    plan = quotas.quotas_from_workspace(ws)
    in_terr = plan.level("rep").query("parent == @terr_id")["unit_id"].tolist()
    a, b = in_terr[0], in_terr[1] if len(in_terr) > 1 else None
    # the rep's name may be typed instead of the id; the name of who answers is untrusted
    name = str(sheet.set_index("rep_id").loc[a, "rep"])
    item = rollout.record_acceptance(ws, name, "accepted", by=XSS, comment=f"ok {XSS}")
    assert item["rep_id"] == a and item["status"] == "accepted"
    assert item["quota"] == pytest.approx(float(sheet.set_index("rep_id").loc[a, "quota"]))
    if b:
        rollout.record_acceptance(ws, b, "disputed", by="Lee", comment="two accounts moved")
        rollout.record_acceptance(ws, b, "accepted", by="Lee", comment="agreed after review")
        stored = rollout.acceptance_records(ws)[b]
        assert stored["status"] == "accepted"
        assert [h["status"] for h in stored["history"]] == ["disputed"]
    acc = rollout.acceptance(ws, sheet).set_index("rep_id")
    assert acc.loc[a, "status"] == "accepted" and acc.loc[a, "by"] == XSS
    assert (acc.loc[acc.index.str.startswith("TBH"), "status"] == "pending").all()
    counts = rollout.acceptance_counts(acc)
    assert counts["accepted"] == (2 if b else 1) and sum(counts.values()) == len(sheet)

    # the rep letter: quota, quarters with ramp, accounts, drivers, terms, acceptance
    ctx = report.context(ws.path, "rep", a, None, report.default_plan_type("rep", "annual"))
    assert ctx.plan_type == "rep" and ctx.title.startswith("Quota letter and rep plan 2027")
    doc = render_plan_html(ctx)
    assert XSS not in doc and "&lt;img src=x onerror=alert(1)&gt;" in doc
    toc = re.search(r'<nav[^>]*class="toc"[^>]*>.*?</nav>', doc, re.S).group(0)
    assert re.findall(r'href="#sec-([^"]+)"', toc) == report.PLAN_SECTIONS["rep"]
    q = _text(_section(doc, "rep_quota"))
    quota = float(sheet.set_index("rep_id").loc[a, "quota"])
    assert money(quota) in q and "2027-Q1" in q and "2027-Q4" in q and "Ramp" in q
    acc_html = _text(_section(doc, "rep_acceptance"))
    assert "Status: accepted by &lt;img" in acc_html
    assert "Signature" in acc_html
    terms = _text(_section(doc, "rep_terms"))
    assert "Quota period" in terms and "2027" in terms
    assert terms.count(rollout.NOT_RECORDED) == len(rollout.TERMS)  # nothing invented
    drivers = _text(_section(doc, "rep_drivers"))
    assert "Baseline" in drivers and "over assignment" in drivers and "ramp" in drivers
    named = _text(_section(doc, "rep_accounts"))
    assert "Bookings 2025" in named and "Open pipeline" in named

    # the territory plan lists every rep with accepted / pending
    tctx = report.context(ws.path, "territory", terr_id, None, "territory")
    tdoc = render_plan_html(tctx)
    ro = _section(tdoc, "rollout_status")
    assert XSS not in tdoc
    rows = re.findall(r"<tr>(.*?)</tr>", ro, re.S)
    status = {re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[1]:
              re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[3] for r in rows if "<td" in r}
    assert status[a] == "accepted"
    assert set(status) == set(in_terr)
    assert all(status[r] in ("accepted", "pending", "disputed") for r in status)
    # the region and company plans count them
    region = str(sheet.set_index("rep_id").loc[a, "region"])
    for level, unit in (("region", region), ("company", None)):
        c = report.context(ws.path, level, unit, None, "annual")
        sec = report.build(c, ["rollout_status"])[0]
        assert f"{counts['accepted'] if level == 'company' else ''}" in sec.blocks[0]
        assert re.search(r"\d+ accepted, \d+ pending, \d+ disputed", sec.blocks[0])


def test_accepted_quota_that_changes_is_pending_again(ws):
    sheet = rollout.letters(ws)
    rep = str(sheet.loc[~sheet["rep_id"].str.startswith("TBH"), "rep_id"].iloc[-1])
    rollout.record_acceptance(ws, rep, by="Kim")
    quotas.set_override(ws, f"rep:{rep}", 123_456.0, by="test")
    try:
        acc = rollout.acceptance(ws, rollout.letters(ws)).set_index("rep_id")
        assert acc.loc[rep, "status"] == "pending"
        assert "changed since" in acc.loc[rep, "note"]
    finally:
        quotas.set_override(ws, f"rep:{rep}", None, by="test")


def test_terms_recorded_or_said_not_recorded(ws):
    t = rollout.comp_terms(ws).set_index("term")
    assert t.loc["Accelerators", "value"] == rollout.NOT_RECORDED
    rollout.record_terms(ws, by="CFO", accelerators="1.5x above 100% of quota")
    try:
        t = rollout.comp_terms(ws).set_index("term")
        assert t.loc["Accelerators", "value"] == "1.5x above 100% of quota"
        assert "CFO" in t.loc["Accelerators", "source"]
        assert t.loc["Crediting rule", "value"] == rollout.NOT_RECORDED
        with pytest.raises(ConfigError, match="unknown term"):
            rollout.record_terms(ws, bonus="lots")
    finally:
        rollout.record_terms(ws, accelerators=None)
    assert rollout.comp_terms(ws).set_index("term").loc["Accelerators", "value"] \
        == rollout.NOT_RECORDED


def test_cli_accept(ws, capsys):
    from salesplan_nb.cli import main

    sheet = rollout.letters(ws)
    rep = str(sheet.loc[~sheet["rep_id"].str.startswith("TBH"), "rep_id"].iloc[2])
    assert main(["accept", str(ws.path), "--rep", rep, "--by", "Ana Chen", "--status",
                 "disputed", "--comment", "territory too small"]) == 0
    assert "disputed" in capsys.readouterr().out
    assert rollout.acceptance_records(ws)[rep]["comment"] == "territory too small"
    assert main(["accept", str(ws.path), "--rep", "nobody", "--by", "Ana"]) == 1
    assert "no quota letter" in capsys.readouterr().err


def test_widget_records_an_answer(ws):
    from salesplan_nb import ui

    sheet = rollout.letters(ws)
    rep = str(sheet.loc[~sheet["rep_id"].str.startswith("TBH"), "rep_id"].iloc[3])
    w = ui.QuotaLetterAcceptance(ws, "company", interactive=False, by="Widget User")
    assert w.answer(rep, "disputed") is None  # no comment: shown, not saved
    assert "needs a comment" in w.message.value
    assert rep not in rollout.acceptance_records(ws)
    assert w.answer(rep, "accepted")["by"] == "Widget User"
    assert (w.result.set_index("rep_id").loc[rep, "status"]) == "accepted"
    assert "accepted" in w.summary(w.result)


def test_batch_renders_rep_plans_as_letters():
    from salesplan_nb.batch.runner import default_plan_type, notebook_for

    assert default_plan_type("rep", "annual") == "rep"
    assert notebook_for("rep").name == "rep.ipynb"


def test_long_term_plan_year_by_year_with_capacity(ws):
    from salesplan_nb.render.sections.longterm import capacity_by_year

    for level, unit in (("company", None), ("region", "EMEA")):
        ctx = report.context(ws.path, level, unit, "2027..2029", "long-term")
        assert ctx.title.startswith("Long-term sales plan 2027-2029")
        cap = capacity_by_year(ctx)
        assert list(cap["year"]) == ["2027", "2028", "2029"]
        assert (cap["capacity"] > 0).all() and (cap["rre"] > 0).all()
        # year 1 is the annual plan's capacity for the same scope (same call, same settings)
        annual = report.context(ws.path, level, unit, None, "annual")
        settings = capacity.load_capacity_settings(ws)
        want = capacity.capacity_plan(annual.data, annual.scope, annual.period,
                                      **settings).capacity
        assert cap["capacity"].iloc[0] == pytest.approx(want, rel=1e-12)
        # hires carried forward: the hiring plan's seats count in every later year
        if level == "company":
            assert cap["hires"].tolist() == [2.0, 0.0, 0.0]
            no_hires = capacity.capacity_plan(annual.data, annual.scope, Period.year(2028),
                                              **{**settings, "hires": []}).capacity
            assert cap["capacity"].iloc[1] > no_hires
        sec = report.build(ctx, ["year_by_year"])[0]
        table = next(b for b in sec.blocks if hasattr(b, "df"))
        df = table.df.set_index("year")
        assert list(df.index) == ["2027", "2028", "2029"]
        assert df.loc["2027", "capacity"] == pytest.approx(want, rel=1e-12)
        for col in ("target", "coverage", "base quota", "base bookings", "best bookings",
                    "worst bookings", "hires", "headcount"):
            assert col in df.columns
        assert sec.title == "Year by year 2027-2029"
        assert isinstance(df.loc["2029", "base quota"], float) and \
            pd.notna(df.loc["2029", "base quota"])


def test_rep_without_quota_says_why_once(ws):
    reps = ws.data.reps
    mgr = reps[reps["role"].astype(str).str.contains("Manager", case=False)]
    if mgr.empty:
        pytest.skip("the sample has no manager")
    ctx = report.context(ws.path, "rep", str(mgr["rep_id"].iloc[0]), None, "rep")
    secs = {s.key: s for s in report.build(ctx)}
    assert "manager role" in secs["rep_quota"].missing[0].text()
    assert "see Quota" in secs["rep_drivers"].missing[0].text()


def test_to_decide_lines_name_notebooks_that_exist():
    from pathlib import Path

    from salesplan_nb.render.sections.where import to_decide

    root = Path(__file__).resolve().parents[1]
    for step in ("market", "goals", "kpis", "swot", "capacity", "segments", "strategy",
                 "quotas", "territories", "resources", "scenarios", "forecast",
                 "stakeholders", "timeline", "actions", "monitor", "evaluate"):
        line = to_decide("x", step).text()
        path = re.search(r"in (notebooks/\S+\.ipynb)", line).group(1)
        assert (root / path).exists(), (step, line)
