"""HTML of plan-document blocks through the Jinja templates ``templates/plan/*.html.j2`` and the
one table macro (``templates/macros/table.html.j2``), autoescaped: names from data never reach
the page unescaped.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from salesplan_nb.core.formats import tags_to_html
from salesplan_nb.core.tables import Table, environment, table_view
from salesplan_nb.render.blocks import Missing, Section

__all__ = ["render_block", "block_html", "table_html", "heading", "title_html", "contents"]


def render_block(kind: str, **values: Any) -> str:
    """Render one block of ``kind`` (table, missing, heading, title, contents, text); named
    plan figures (:func:`salesplan_nb.core.formats.tag`) become ``<span data-figure>``."""
    return tags_to_html(environment().get_template("plan/block.html.j2").render(
        kind=kind, **values))


def table_html(t: Table | pd.DataFrame) -> str:
    """Escaped HTML of a table (the one table renderer)."""
    return render_block("table", view=table_view(t))


def block_html(block: Any) -> str:
    """Escaped HTML of a non-chart block: Missing note, Table or DataFrame, else a paragraph."""
    if isinstance(block, Missing):
        return render_block("missing", text=block.text())
    if isinstance(block, Table | pd.DataFrame):
        return table_html(block)
    return render_block("text", text=str(block))


def heading(anchor: str, title: str) -> str:
    """A section heading ``<h2 id=anchor>``."""
    return render_block("heading", anchor=anchor, title=title)


def title_html(title: str, subtitle: str = "") -> str:
    """The document's title block."""
    return render_block("title", title=title, subtitle=subtitle)


def contents(ctx: Any, sections: list[Section]) -> str:
    """List of the plan's sections linking to their headings, with the count of sections that
    miss a decision or data."""
    items = [{"key": s.key, "title": s.title, "missing": bool(s.missing)} for s in sections]
    return render_block("contents", items=items, n_missing=sum(i["missing"] for i in items))
