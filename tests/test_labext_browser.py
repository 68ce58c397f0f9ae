"""The JupyterLab extension in a real JupyterLab, driven by Playwright + system Chromium.

Starts ``jupyter lab`` (free port, random token, ``--allow-root``) on an empty temporary root
holding only a copy of ``tests/data/broken``, then:

1. a broken data source: the New Sales Plan dialog shows the validation problems (file, row,
   column) and no plan folder is created;
2. the launcher card creates a plan from the sample company; the side panel lists the steps of
   the method in order; step 1's notebook opens; choosing a mapping preset in its data-source
   widget records a decision and the step turns "decided" in the panel; the panel shows the
   plan model's biggest gap; it renders the top territory plan, links the index (opened in a
   new tab) and the report opens from it; the gap's link opens the step notebook that closes it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import CHROMIUM, accept_kernel_dialog, jupyter_lab
from helpers import CHROMIUM_ARGS as ARGS

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"



@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install chromium (scripts/system-deps.sh)")
    if not (ROOT / "salesplan_nb" / "labextension" / "package.json").exists():
        pytest.fail("the JupyterLab extension is not built: run `make setup`")
    root = tmp_path_factory.mktemp("labext")
    shutil.copytree(ROOT / "tests" / "data" / "broken", root / "broken")
    subprocess.run([sys.executable, "-c", "import salesplan_nb.ui, salesplan_nb.steps.market, "
                    "salesplan_nb.server.handlers, ipykernel.kernelapp"], check=True, cwd=root)
    log = root.parent / f"{root.name}-lab.log"
    with jupyter_lab(root, log) as (url, token):
        yield {"url": url, "token": token, "root": root, "log": log}


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, lab, request):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    accept_kernel_dialog(pg)
    pg.goto(f"{lab['url']}/lab?token={lab['token']}&reset")
    failed = request.session.testsfailed
    yield pg
    if request.session.testsfailed > failed:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"))
    ctx.close()


def _open_dialog(page):
    card = page.locator(".jp-LauncherCard", has_text="Sales plan")
    card.first.click()
    page.locator(".jp-Dialog .salesplan-dialog").wait_for()


def _plan(root: Path, folder: str) -> dict:
    return yaml.safe_load((root / folder / "plan.yaml").read_text())


def _numbered_steps() -> list:
    from salesplan_nb.server.steps import step_list

    return [s for s in step_list() if s.number is not None]


def test_broken_source_shows_problems_and_creates_nothing(page, lab):
    _open_dialog(page)
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input[name=folder]").fill("plans/broken-plan")
    dialog.locator("input[name=kind][value=source]").check()
    dialog.locator("input[name=source]").fill("broken")
    dialog.locator("button:has-text('Create plan')").click()
    problems = page.locator(".jp-Dialog .salesplan-problem-error")
    problems.first.wait_for(timeout=60_000)
    texts = problems.all_text_contents()
    assert len(texts) >= 5
    assert any("opportunities.csv, row 3, column created_date" in t for t in texts), texts
    assert "nothing was created" in page.locator(".salesplan-report-head").text_content()
    # the form keeps what was typed, and nothing is on disk
    assert dialog.locator("input[name=source]").input_value() == "broken"
    assert not (lab["root"] / "plans" / "broken-plan").exists()
    dialog.locator("button:has-text('Cancel')").click()
    assert not (lab["root"] / "plans").exists()


def test_create_navigate_decide_render(page, lab):
    root = lab["root"]
    _open_dialog(page)
    page.locator(".jp-Dialog input[name=folder]").fill("plans/tour")
    page.locator(".jp-Dialog select[name=sampleSize]").select_option("small")
    page.locator(".jp-Dialog button:has-text('Create plan')").click()

    # the panel lists the method's steps in order; step 1's notebook opens
    steps = _numbered_steps()
    rows = page.locator("#salesplan-panel .salesplan-step")
    page.wait_for_function(
        f"() => document.querySelectorAll('#salesplan-panel .salesplan-step').length >= "
        f"{len(steps)}", timeout=90_000)
    numbers = [t.strip() for t in rows.locator(".salesplan-step-number").all_text_contents()]
    assert [n for n in numbers if n != "·"] == [str(s.number) for s in steps]
    assert len(steps) >= 12
    assert (root / "plans" / "tour" / "plan.yaml").exists()
    first = root / "plans" / "tour" / steps[0].notebook
    assert first.exists()
    params = next(c for c in json.loads(first.read_text())["cells"]
                  if "parameters" in c["metadata"].get("tags", []))
    assert 'plan_dir = "."' in "".join(params["source"])
    tab = page.locator(".lm-TabBar-tab", has_text=steps[0].notebook)
    tab.first.wait_for()
    headline = page.locator("#salesplan-panel .salesplan-headline td", has_text="accounts")
    headline.first.wait_for(timeout=90_000)  # the panel fetches the headline after opening
    assert headline.count() == 1
    # the plan model's biggest gap, with the step whose decision closes it
    gap = page.locator("#salesplan-panel .salesplan-gap-text")
    gap.wait_for(timeout=120_000)
    assert gap.text_content().startswith("Biggest gap: target vs ")
    assert page.locator("#salesplan-panel .salesplan-figures td",
                        has_text="Target (USD)").count() == 1
    step1 = page.locator(f"#salesplan-panel .salesplan-step[data-key='{steps[0].key}']")
    assert step1.get_attribute("data-status") == "not yet"

    # run step 1 and record a decision in its data-source widget
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=120_000)
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.locator(".lm-Menu-item:has-text('Run All Cells')").first.click()
    preset = page.locator(".jp-NotebookPanel .widget-dropdown:has(label:text-is('Mapping')) "
                          "select")
    preset.first.wait_for(timeout=150_000)
    preset.first.select_option("maven-crm")

    def recorded() -> bool:
        sec = _plan(root, "plans/tour")["decisions"].get("data_source") or {}
        return (sec.get("preset") or {}).get("value") == "maven-crm"

    deadline = time.monotonic() + 60
    while not recorded():
        assert time.monotonic() < deadline, "the preset was not recorded in plan.yaml"
        time.sleep(0.5)
    page.wait_for_function(
        f"() => document.querySelector(\"#salesplan-panel .salesplan-step[data-key="
        f"'{steps[0].key}']\").dataset.status === 'decided'", timeout=30_000)
    assert step1.locator(".salesplan-step-status").text_content().startswith("decided by ")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "labext-panel.png"))

    # render the top territory plan from the panel; open the index, then one report
    panel = page.locator("#salesplan-panel")
    panel.locator(".salesplan-render-by").select_option("territory")
    panel.locator(".salesplan-render-top").fill("1")
    panel.locator(".salesplan-render-button").click()
    panel.locator(".salesplan-render progress").wait_for()
    link = panel.locator(".salesplan-index-link")
    link.wait_for(timeout=240_000)
    assert "done: 1 of 1 territory plans" in panel.locator(
        ".salesplan-progress-text").text_content()
    assert link.get_attribute("target") == "_blank"
    with page.context.expect_page() as new_tab:
        link.click()
    index = new_tab.value
    index.wait_for_load_state()
    assert "Sales plans" in index.title() or index.locator("table").count()
    report_link = index.locator("a[href$='.html']").first
    report_link.click()
    index.wait_for_load_state()
    assert index.url.endswith(".html") and "/territory/" in index.url
    assert index.locator("h1, h2").count() > 0
    assert list((root / "plans" / "tour" / "reports" / "territory").glob("*.html"))

    # the gap line's link opens the notebook of the step that closes the gap
    gap_link = panel.locator(".salesplan-gap-link")
    target = gap_link.get_attribute("title").removeprefix("open ")
    step = next(s for s in steps if target.endswith("/" + s.notebook))
    assert f"({step.key} step)" in panel.locator(".salesplan-gap-text").text_content()
    gap_link.click()
    page.locator(".lm-TabBar-tab", has_text=step.notebook).first.wait_for(timeout=60_000)
