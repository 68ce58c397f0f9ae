"""SWOT board widget (step 4): four quadrants of data suggestions and analyst items.

The live board is an anywidget (``widgets/swot_board.js`` / ``.css``); every accept, reject,
edit or add is saved at once in the workspace's ``swot`` section through
:mod:`salesplan_nb.steps.swot`.
"""

from __future__ import annotations

import html
from typing import Any

import anywidget
import pandas as pd
import traitlets

from salesplan_nb.core.errors import SalesplanError
from salesplan_nb.steps import swot
from salesplan_nb.ui import StepWidget, asset_path, html_table

__all__ = ["SwotBoard"]


def _evidence(e: Any) -> str:
    if isinstance(e, dict):
        return "; ".join(f"{k}={v}" for k, v in e.items())
    return str(e or "")


class SwotBoardView(anywidget.AnyWidget):
    """The front-end board; ``items`` are plain dicts (id, quadrant, text, status, ...)."""

    _esm = asset_path("swot_board.js")
    _css = asset_path("swot_board.css")
    items = traitlets.List([]).tag(sync=True)
    quadrants = traitlets.List(list(swot.QUADRANTS)).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)


class SwotBoard(StepWidget):
    """Suggestions from :func:`swot.suggest` merged with the stored items; the analyst
    accepts, edits, rejects or adds items (each action saved in ``swot``)."""

    section = swot.SECTION
    title = "SWOT"

    def __init__(self, ws, scope=None, period=None, **kwargs) -> None:
        self.analysis_period = period
        super().__init__(ws, scope, period, **kwargs)

    def build(self) -> None:
        # suggestions look at history: the explicit period, else the year of the data's as_of
        self.items = swot.refresh_swot(self.ws, scope=self.scope, period=self.analysis_period,
                                       by=self.by)
        self.board = SwotBoardView()
        self.board.on_msg(lambda _w, content, _b: self.handle(content))

    def extra(self) -> list:
        return [self.board]

    # ---- actions (also the Python API used by tests) -------------------------------------------
    def handle(self, msg: dict) -> None:
        """Apply a board action: ``{"action": "add", "quadrant", "text"}`` or
        ``{"action": "accept"|"reject"|"edit", "id", "text"?}``."""
        try:
            action = msg.get("action")
            if action == "add":
                swot.add_item(self.ws, str(msg.get("quadrant")), str(msg.get("text", "")).strip(),
                              scope=self.scope, by=self.by)
            elif action in ("accept", "reject"):
                swot.set_status(self.ws, str(msg["id"]),
                                "accepted" if action == "accept" else "rejected", by=self.by)
            elif action == "edit":
                item = next((i for i in self.items if i.id == msg.get("id")), None)
                status = "edited" if item is not None and item.source == "data" else \
                    (item.status if item is not None else "edited")
                swot.set_status(self.ws, str(msg["id"]), status,
                                text=str(msg.get("text", "")).strip(), by=self.by)
            else:
                raise SalesplanError(f"unknown SWOT board action {action!r}")
            self.board.message = ""
        except (SalesplanError, KeyError) as exc:
            self.board.message = str(exc)
        self.refresh()

    def add(self, quadrant: str, text: str) -> None:
        self.handle({"action": "add", "quadrant": quadrant, "text": text})

    def accept(self, item_id: str) -> None:
        self.handle({"action": "accept", "id": item_id})

    def reject(self, item_id: str) -> None:
        self.handle({"action": "reject", "id": item_id})

    def edit(self, item_id: str, text: str) -> None:
        self.handle({"action": "edit", "id": item_id, "text": text})

    # ---- StepWidget ---------------------------------------------------------------------------
    def compute(self) -> list[swot.SwotItem]:
        self.items = swot.load_swot(self.ws, self.scope)
        return self.items

    def _render_live(self) -> None:
        self.board.items = [{"id": i.id, "quadrant": i.quadrant, "text": i.text,
                             "status": i.status, "source": i.source,
                             "evidence": _evidence(i.evidence)} for i in self.items]
        counts = pd.Series([i.quadrant for i in self.items if i.status != "rejected"],
                           dtype=object).value_counts()
        self.summary_view.value = html.escape(", ".join(
            f"{q}: {int(counts.get(q, 0))}" for q in swot.QUADRANTS))

    def summary(self, result: list[swot.SwotItem]) -> str:
        kept = [i for i in result if i.status != "rejected"]
        pending = sum(i.status == "suggested" for i in result)
        return html.escape(f"{len(kept)} items kept ({pending} suggestions not yet reviewed), "
                           f"{len(result) - len(kept)} rejected")

    def chart(self, result):
        return swot.chart_swot(result) if any(i.status != "rejected" for i in result) else None

    def table(self, result) -> pd.DataFrame:
        df = swot.swot_table(result)
        return df[["quadrant", "text", "status", "source", "evidence"]]


def swot_html(items: list[swot.SwotItem]) -> str:
    """The items as an escaped HTML table (for reports)."""
    return html_table(swot.swot_table(items)[["quadrant", "text", "status", "evidence"]])
