"""Small helpers shared by test modules (imported as ``from helpers import ...``)."""
from __future__ import annotations

import contextlib
import io
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from salesplan_nb import Dataset, Scope

LEVEL_COLUMN = {"region": "region", "territory": "territory", "rep": "owner_id",
                "account": "account_id"}


def busiest_scope(data: Dataset, level: str) -> Scope:
    """The scope at ``level`` with the most won deals (the company scope for ``company``)."""
    if level == "company":
        return Scope()
    won = data.deals[data.deals["status"] == "won"]
    return Scope(level, str(won[LEVEL_COLUMN[level]].value_counts().index[0]))


def all_scopes(data: Dataset, empty_region: bool = False) -> list[Scope]:
    """Company, every region, every territory, one rep, one account (and, with
    ``empty_region``, a region without data)."""
    d = data.deals
    won = d[d["status"] == "won"]
    return ([Scope()]
            + [Scope("region", r) for r in sorted(d["region"].dropna().unique())]
            + [Scope("territory", t) for t in sorted(d["territory"].dropna().unique())]
            + [Scope("rep", str(won["owner_id"].iloc[0])),
               Scope("account", str(won["account_id"].dropna().iloc[0]))]
            + ([Scope("region", "Atlantis")] if empty_region else []))


def one_scope_per_level(data: Dataset) -> list[Scope]:
    """Company and the first region, territory, rep and account found in the deals."""
    d = data.deals
    return [Scope(), Scope("region", d["region"].dropna().iloc[0]),
            Scope("territory", d["territory"].dropna().iloc[0]),
            Scope("rep", d["owner_id"].dropna().iloc[0]),
            Scope("account", d["account_id"].dropna().iloc[0])]


def orders_only_dataset() -> Dataset:
    """Two orders (USD 10 and 30, 2025) and no opportunities: a bookings-only source."""
    orders = pd.DataFrame({"order_id": ["x1", "x2"], "account_id": ["A", "B"],
                           "owner_id": ["R", "R"], "product_id": ["P", "P"],
                           "order_date": ["2025-02-01", "2025-03-01"], "amount": [10.0, 30.0]})
    return Dataset(accounts=pd.DataFrame({"account_id": ["A", "B"], "name": ["a", "b"]}),
                   opportunities=pd.DataFrame(columns=["opportunity_id", "owner_id", "stage",
                                                       "status"]),
                   reps=pd.DataFrame({"rep_id": ["R"], "name": ["r"]}),
                   products=pd.DataFrame({"product_id": ["P"]}), orders=orders)


def render_plan_html(ctx) -> str:
    """The plan document of ``ctx`` as ``salesplan run`` exports it - report.show_plan's display
    outputs in one code cell through the runner's PlanExporter - without a kernel."""
    import IPython.display
    import nbformat

    from salesplan_nb.batch.runner import PlanExporter
    from salesplan_nb.render import report

    outs = []
    saved = IPython.display.display
    IPython.display.display = lambda obj, raw=False, **_: outs.append(
        nbformat.v4.new_output("display_data", data=obj))
    try:
        report.show_plan(ctx)
    finally:
        IPython.display.display = saved
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "report.show_plan(ctx)", outputs=outs, execution_count=1)])
    return PlanExporter().export(nb, ctx.title)


class PlanRenders:
    """A workspace with the demo's default decisions (``demo.run_steps``) and its plan
    documents, each rendered once per session (``render``: context and HTML of one case).
    Shared by the plan-document and plan-consistency tests, which only read them."""

    def __init__(self, ws) -> None:
        from salesplan_nb.batch import demo

        demo.run_steps(ws, io.StringIO())
        self.ws = ws
        self._done: dict[tuple, tuple] = {}

    def render(self, level: str, unit: str | None, ptype: str, period: str | None = None):
        from salesplan_nb.render import report

        key = (level, unit, ptype, period)
        if key not in self._done:
            ctx = report.context(self.ws.path, level, unit, period, ptype)
            self._done[key] = (ctx, render_plan_html(ctx))
        return self._done[key]


# ---- JupyterLab + Chromium for the browser tests ---------------------------------------------
def accept_kernel_dialog(page) -> None:
    """JupyterLab asks which kernel to use when a notebook's kernel did not start in time (a
    loaded machine): accept the proposed one (salesplan-nb) whenever the dialog shows."""
    page.add_locator_handler(
        page.locator(".jp-Dialog:has-text('Select Kernel')"),
        lambda dlg: dlg.locator("button.jp-mod-accept").first.click())


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(root: Path, log_path: Path) -> Iterator[tuple[str, str]]:
    """``jupyter lab`` on a free localhost port with a random token over ``root`` (as root:
    ``--allow-root``); yields ``(url, token)`` once it answers, stops it afterwards."""
    import pytest

    port, token = free_port(), secrets.token_hex(16)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
             "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.news_url=None", "--allow-root"],
            stdout=log, stderr=subprocess.STDOUT, cwd=root)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail("jupyter lab did not start:\n" + Path(log_path).read_text())
                time.sleep(0.5)
        try:
            yield url, token
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
