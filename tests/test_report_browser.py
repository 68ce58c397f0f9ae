"""A rendered plan opens offline in Chromium: every chart is drawn, no console errors, and the
page asks for nothing over the network."""

from __future__ import annotations

import pytest

from salesplan_nb.batch.runner import run

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

    root = tmp_path_factory.mktemp("browser")
    data = generate(seed=3, accounts=300, opportunities=2500)
    Workspace.create(root / "plan", data=data)
    out = root / "out"
    s = run(root / "plan", "territory", out, only=[data.territories["territory_id"].iloc[0]],
            workers=1, progress=False)
    assert s.exit_code == 0
    (html,) = (out / "territory").glob("*.html")
    return html


def test_plan_draws_every_chart_offline(rendered):
    sync_api = pytest.importorskip("playwright.sync_api")
    requests, errors = [], []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()

            def route(r):
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:
                    requests.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(rendered.as_uri())
            n = page.locator("figure.chart").count()
            assert n >= 3, "a territory plan has several charts"
            page.wait_for_function(
                "n => document.querySelectorAll('figure.chart .vega-chart svg, "
                "figure.chart .vega-chart canvas').length >= n", arg=n, timeout=20_000)
            drawn = page.evaluate(
                "() => [...document.querySelectorAll('figure.chart')].map(f => "
                "!!f.querySelector('.vega-chart svg, .vega-chart canvas'))")
            toc = page.locator("nav.toc a").count()
            marks = page.locator("figure.chart svg .mark-rect path, figure.chart svg "
                                 ".mark-symbol path, figure.chart svg .mark-line path").count()
        finally:
            browser.close()
    assert requests == [], f"the page tried the network: {requests}"
    assert errors == [], errors
    assert all(drawn) and len(drawn) == n
    assert toc >= 8
    assert marks > 0, "charts have data marks, not only axes"
