"""The widgets in a real JupyterLab, driven by Playwright + system Chromium.

Starts ``jupyter lab`` on a free localhost port with a random token over a temporary copy of
``notebooks/steps`` (with a small sample plan at the notebooks' default ``plans/workbook``),
runs the quotas notebook, moves the region over-assignment slider and checks that the chart
title and plan.yaml change; adds a SWOT item in the board and checks plan.yaml. Screenshots of
the widget-heavy notebooks go to ``test-artifacts/`` (git-ignored)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import CHROMIUM, accept_kernel_dialog, jupyter_lab
from helpers import CHROMIUM_ARGS as ARGS
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"



@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install chromium (scripts/system-deps.sh)")
    from salesplan_nb.data.workspace import Workspace

    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks" / "steps", root, dirs_exist_ok=True)
    Workspace.open_or_create_sample(root / "plans" / "workbook", seed=7, accounts=400,
                                    opportunities=6000)
    # import what the notebooks import once, so the kernel's first start is not the one
    # that compiles bytecode on a fresh venv
    subprocess.run([sys.executable, "-c", "import salesplan_nb.ui, salesplan_nb.steps.quotas, "
                    "salesplan_nb.steps.territories, salesplan_nb.steps.swot, ipykernel.kernelapp"],
                   check=True, cwd=root)
    with jupyter_lab(root, root / "lab.log") as (url, token):
        yield {"url": url, "token": token, "root": root}


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(60_000)
        accept_kernel_dialog(pg)
        # let the app finish starting (kernel specs loaded: the launcher shows them) before
        # the first notebook opens; opening one during start-up started a kernel, switched it
        # to the notebook's preferred one and killed the first mid-start
        pg.goto(f"{lab['url']}/lab?token={lab['token']}&reset")
        pg.wait_for_selector(".jp-LauncherCard", timeout=120_000)
        yield pg
        browser.close()


@pytest.fixture(autouse=True)
def _shot_on_failure(request, page):
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        _shot(page, f"FAILED-{request.node.name}")


def _open_and_run(page, lab, name: str) -> None:
    page.goto(f"{lab['url']}/lab/tree/{name}.ipynb?token={lab['token']}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    # On a cold machine (fresh venv: first imports compile bytecode) the kernel may not have
    # taken the request yet; run all again when nothing ran or queued, up to 3 times.
    for attempt in range(3):
        page.locator(".jp-Notebook .jp-Cell").first.click()  # make the notebook current
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.locator(".lm-Menu-item:has-text('Run All Cells')").first.click()
        try:
            page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=90_000)
            return
        except PlaywrightTimeout:
            queued = page.locator(".jp-InputPrompt:has-text('[*]')").count()
            if attempt == 2 or queued:
                page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=120_000)
                return


def _plan(lab) -> dict:
    return yaml.safe_load((lab["root"] / "plans" / "workbook" / "plan.yaml").read_text())


def _wait(cond, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def _shot(page, name: str, selector: str = ".jp-Notebook .widget-vbox") -> None:
    """Screenshot of the first widget (scrolled into view), else of the page."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = page.locator(selector).first
    if target.count():
        target.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    else:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_quota_slider_updates_chart_and_plan(page, lab):
    _open_and_run(page, lab, "09_quotas")
    title = page.locator(".salesplan-quotaallocator svg text", has_text="over-assignment")
    title.first.wait_for()
    before = title.first.text_content()
    assert "over-assignment 5%" in before  # the default region over-assignment
    handle = page.locator(".salesplan-oa-region .noUi-handle")
    handle.focus()
    for _ in range(10):  # +10 steps of 1%
        handle.press("ArrowRight")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.salesplan-quotaallocator svg text')]"
        ".some(t => t.textContent.includes('over-assignment 15%'))", timeout=30_000)

    def saved() -> float | None:
        oa = (_plan(lab)["decisions"].get("quotas") or {}).get("over_assignment")
        return oa and oa["value"]["region"]

    _wait(lambda: saved() == pytest.approx(0.15), "plan.yaml over_assignment.region = 0.15")
    _shot(page, "09_quotas", ".salesplan-quotaallocator")


def test_swot_add_item_saved(page, lab):
    _open_and_run(page, lab, "04_swot")
    box = page.locator(".salesplan-swot .swot-threats")
    box.locator(".swot-add-input").wait_for()
    text = "New low-cost rival <b>entering</b> EMEA"
    box.locator(".swot-add-input").fill(text)
    box.locator(".swot-add-button").click()
    box.locator(".swot-text", has_text="New low-cost rival").wait_for()

    def stored() -> list:
        return [i for i in _plan(lab)["decisions"].get("swot", [])
                if i.get("text") == text and i.get("quadrant") == "threats"]

    _wait(lambda: len(stored()) == 1, "the SWOT item in plan.yaml")
    assert stored()[0]["source"] == "analyst"
    # the name is shown as text, not parsed as HTML
    assert page.locator(".salesplan-swot .swot-text b").count() == 0
    _shot(page, "04_swot", ".salesplan-swotboard")


@pytest.mark.parametrize("name", ["02_goals", "03_kpis", "05_capacity", "scenarios_forecast",
                                  "12_plan_document"])
def test_screenshot_widget_notebooks(page, lab, name):
    _open_and_run(page, lab, name)
    page.locator(".jp-Notebook .widget-vbox").first.wait_for()
    if name == "12_plan_document":  # a new plan has no milestones: add the standard ones
        page.locator("button:has-text('Add standard milestones')").click()
    page.locator(".jp-Notebook .vega-embed svg").first.wait_for(timeout=90_000)
    assert page.locator(".jp-OutputArea-output [data-mime-type*='error']").count() == 0
    _shot(page, name)
