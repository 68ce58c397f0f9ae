"""The one HTML table renderer (widgets and plan documents): a :class:`Table` (a DataFrame with
per-column formats) becomes escaped HTML through the Jinja macro
``templates/macros/table.html.j2``, with the number formats and column headers of
:mod:`salesplan_nb.core.formats`. Names from data are untrusted: Jinja's autoescape escapes
every header, cell and caption.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from salesplan_nb.core import formats

__all__ = ["Table", "TEMPLATES", "environment", "table_view", "table_html"]

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@dataclass
class Table:
    """A table to show: ``df`` with display ``formats`` per column (money, pct, int, num, date;
    float columns without one are inferred from their names), an optional ``caption`` and
    ``labels`` overriding column headers (default :func:`formats.column_label`)."""

    df: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    caption: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja environment over ``salesplan_nb/templates`` (autoescape on)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=False)


def table_view(t: Table | pd.DataFrame, max_rows: int | None = None,
               css_class: str = "") -> dict[str, Any]:
    """What the macro draws: caption, headers (label, numeric) and rows of cells (text,
    numeric), at most ``max_rows`` rows (``more`` counts the rest)."""
    if isinstance(t, pd.DataFrame):
        t = Table(t)
    df = t.df
    kinds = {c: t.formats.get(c) or formats.infer_format(c, df[c]) for c in df.columns}
    shown = df if max_rows is None else df.head(max_rows)
    headers = [{"label": t.labels.get(c) or formats.column_label(c, kinds[c]),
                "numeric": kinds[c] in formats.NUMERIC_KINDS} for c in df.columns]
    rows = [[{"text": formats.cell(v, kinds[c]), "numeric": kinds[c] in formats.NUMERIC_KINDS}
             for c, v in zip(df.columns, rec)]
            for rec in shown.itertuples(index=False, name=None)]
    return {"caption": t.caption, "headers": headers, "rows": rows,
            "more": len(df) - len(shown), "css_class": css_class}


def table_html(t: Table | pd.DataFrame, max_rows: int | None = None,
               css_class: str = "") -> str:
    """Escaped HTML of ``t`` (a :class:`Table` or a DataFrame) through the table macro."""
    return environment().get_template("macros/render_table.html.j2").render(
        t=table_view(t, max_rows, css_class))
