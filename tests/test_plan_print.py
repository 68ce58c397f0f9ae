"""Plans a VP can print: Chromium screenshots of a company, region, territory, account and
long-term plan; printed to PDF, page 1 carries the title block and every page a page number
and (after page 1) the running header."""

from __future__ import annotations

import re

import pytest
from helpers import render_plan_html

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]
PLANS = {"company": ("company", None, "annual", None),
         "region": ("region", "EMEA", "annual", None),
         "territory": ("territory", "first", "territory", None),
         "account": ("account", "top", "account", None),
         "long-term": ("company", None, "long-term", "2027..2029")}


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.render import report

    root = tmp_path_factory.mktemp("print")
    data = generate(seed=3, accounts=300, opportunities=2500)
    ws = Workspace.create(root / "plan", data=data)
    won = data.deals[data.deals["status"] == "won"]
    out = {}
    for name, (level, unit, ptype, period) in PLANS.items():
        unit = {"first": str(data.territories["territory_id"].iloc[0]),
                "top": str(won.groupby("account_id")["amount"].sum().idxmax())}.get(unit, unit)
        ctx = report.context(ws.path, level, unit, period, ptype)
        path = root / f"{name}.html"
        path.write_text(render_plan_html(ctx), encoding="utf-8")
        out[name] = (path, ctx.title)
    return out


def test_plans_print_with_title_page_numbers_and_header(plans, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    pypdf = pytest.importorskip("pypdf")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    results = {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://")
                       else r.abort())
            for name, (path, title) in plans.items():
                page.goto(path.as_uri())
                page.wait_for_function(
                    "() => [...document.querySelectorAll('figure.chart')].every(f => "
                    "f.querySelector('.vega-chart svg, .vega-chart canvas'))", timeout=30_000)
                png = shots / f"{name}.png"
                page.screenshot(path=str(png), full_page=False)
                # wide tables scroll inside their box on screen, never widen the page
                overflow = page.evaluate("() => document.documentElement.scrollWidth - "
                                         "document.documentElement.clientWidth")
                pdf = tmp_path / f"{name}.pdf"
                page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True)
                reader = pypdf.PdfReader(str(pdf))
                texts = [p.extract_text() or "" for p in reader.pages]
                results[name] = (title, texts, png.stat().st_size, overflow)
        finally:
            browser.close()
    for name, (title, texts, png_size, overflow) in results.items():
        assert png_size > 20_000, f"{name}: screenshot looks empty"
        assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"
        n = len(texts)
        assert n >= 2, name
        flat = [re.sub(r"\s+", " ", t) for t in texts]
        assert re.sub(r"\s+", " ", title) in flat[0], f"{name}: title not on page 1"
        for i, t in enumerate(flat, start=1):
            assert f"Page {i} of {n}" in t, f"{name}: page {i} has no page number"
        # the running header repeats the title on every page after the first
        assert all(title.split(":")[0] in t for t in flat[1:]), f"{name}: no running header"
