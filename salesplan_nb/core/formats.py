"""How numbers are shown: one rule for money, rates, counts, dates and column headers.

Every widget, plan document, index page and console summary formats through here, so a value
reads the same everywhere:

- money in text, compact: ``$1.23M``, ``$12.00k``, ``$512`` (:func:`money`);
- money in a table cell: whole dollars above $1k (``15,513,163``), cents only below $1k
  (``512.50``); the currency is in the column header, ``"Bookings (USD)"`` (:func:`amount`);
- rates and shares (fractions) as percentages: ``0.256`` -> ``25.6%`` (:func:`pct`);
- counts as whole numbers with thousands separators (:func:`integer`); other numbers with
  two decimals (:func:`number`); dates as ISO ``2027-03-31``;
- column headers in words with units: ``win_rate`` -> ``Win rate``, ``avg_deal`` ->
  ``Avg deal (USD)`` (:func:`column_label`).

Missing values (None, NaN, infinity, NA) are ``n/a`` in text and empty in table cells.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from salesplan_nb.core import display

__all__ = ["KINDS", "money", "amount", "pct", "integer", "number", "date", "cell",
           "infer_format", "column_label", "is_missing", "tag", "untag", "tags_to_html",
           "TAG_RE"]

KINDS = ("money", "pct", "int", "num", "date", "text")
NUMERIC_KINDS = ("money", "pct", "int", "num")


def is_missing(v: Any) -> bool:
    """No value to show: None, NaN, infinity, pandas NA/NaT."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and not math.isfinite(v)


def money(x: float | None) -> str:
    """Compact USD for text: ``1234567.8`` -> ``$1.23M``, ``12000`` -> ``$12.00k``,
    ``512.4`` -> ``$512``; missing -> ``n/a``."""
    if is_missing(x):
        return "n/a"
    x = float(x)
    a = abs(x)
    sign = "-" if x < 0 else ""
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{sign}${a / div:,.2f}{suf}"
    return f"{sign}${a:,.0f}"


def amount(x: float | None) -> str:
    """USD in a table cell (the header carries the unit): no cents from $1k up
    (``15513162.59`` -> ``15,513,163``), cents below (``512.5`` -> ``512.50``; whole amounts
    without: ``512``); missing -> empty."""
    if is_missing(x):
        return ""
    x = float(x)
    if abs(x) >= 1000 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def pct(x: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.256`` -> ``25.6%``; missing -> ``n/a``."""
    if is_missing(x):
        return "n/a"
    return f"{float(x) * 100:.{digits}f}%"


def integer(x: float | None) -> str:
    """``1234.6`` -> ``1,235``; missing -> empty."""
    return "" if is_missing(x) else f"{int(round(float(x))):,}"


def number(x: float | None, digits: int = 2) -> str:
    """``1234.567`` -> ``1,234.57``; missing -> empty."""
    return "" if is_missing(x) else f"{float(x):,.{digits}f}"


def date(x: Any) -> str:
    """ISO date ``2027-03-31``; missing or unparseable text is shown as given."""
    if is_missing(x):
        return ""
    try:
        return pd.Timestamp(x).date().isoformat()
    except (ValueError, TypeError):
        return str(x)


def cell(v: Any, kind: str = "") -> str:
    """Text of one table cell of format ``kind`` (see :data:`KINDS`); missing -> empty."""
    if is_missing(v):
        return ""
    if kind == "money":
        return amount(v)
    if kind == "pct":
        return pct(v)
    if kind == "int":
        return integer(v)
    if kind == "num":
        return number(v)
    if kind == "date":
        return date(v)
    if isinstance(v, float):  # an unformatted float never shows 15 digits
        return number(v)
    return display.label(v)  # names from data: no bidi controls, at most 120 characters


# words in a column name that make a float column a rate (shown in %) or money (USD)
_PCT_WORDS = ("share", "rate", "penetration", "growth", "pct", "attainment", "adoption",
              "probability", "ramp")
_MONEY_WORDS = ("potential", "bookings", "amount", "usd", "value", "revenue", "deal", "quota",
                "budget", "spend", "return", "pipeline", "tam", "sam", "som", "capacity",
                "target", "gap", "history", "forecast", "current", "change")


def _words(name: str) -> str:
    return re.sub(r"[_\s]+", " ", str(name)).strip().lower()


def infer_format(name: str, series: pd.Series) -> str:
    """Display format of a float column without one, from its name: rates and shares as %,
    money-like names as USD, other floats with two decimals; non-floats as text."""
    if not pd.api.types.is_float_dtype(series):
        return ""
    n = _words(name)
    if any(w in n for w in _PCT_WORDS) and "roi" not in n:
        return "pct"
    if any(w in n for w in _MONEY_WORDS):
        return "money"
    return "num"


# field names whose words need more than capitalising
_LABELS = {
    "avg_deal": "Avg deal", "avg deal": "Avg deal", "win_rate": "Win rate",
    "cycle_days": "Sales cycle (days)", "unit_id": "Unit id", "rep_name": "Rep",
    "owner_id": "Owner id", "account_id": "Account id", "opportunity_id": "Opportunity",
    "product_id": "Product id", "yoy_growth": "Growth on the year before",
    "marginal_roi": "Marginal ROI (x)", "avg_roi": "Average ROI (x)", "tam": "TAM",
    "sam": "SAM", "som": "SOM", "kpi": "KPI", "roi": "ROI (x)", "cv": "CV",
    "nrr": "NRR", "icp": "ICP", "rre": "Ramped rep equivalents",
    "peer_adoption": "Peer adoption", "typical_deal": "Typical deal",
    "gap_score": "Gap score", "implied_growth": "Implied growth",
    "S": "S", "M": "M", "A": "A", "R": "R", "T": "T",
}


def column_label(name: Any, kind: str = "") -> str:
    """A column header in words with its unit: ``win_rate`` -> ``Win rate``, ``avg_deal``
    (money) -> ``Avg deal (USD)``, ``cycle_days`` -> ``Sales cycle (days)``. Money columns get
    ``(USD)`` unless the name already says it; percentages carry ``%`` in their cells."""
    raw = str(name)
    label = _LABELS.get(raw) or _LABELS.get(_words(raw))
    if label is None:
        words = re.sub(r"[_\s]+", " ", raw).strip()
        words = re.sub(r"\busd\b", "USD", words, flags=re.I)
        label = (words[:1].upper() + words[1:]) if words else raw
    if kind == "money" and "usd" not in label.lower():
        label += " (USD)"
    return label


# ---- named plan figures in text ------------------------------------------------------------
#: private-use marks around a named plan figure in text: ``\ue000name\ue001text\ue002``
TAG_RE = re.compile("\ue000([a-z0-9_]{1,40})\ue001([^\ue000-\ue002]*)\ue002")


def tag(name: str, text: str) -> str:
    """``text`` (already formatted) marked as the plan figure ``name`` (``target``,
    ``capacity`` ...): the plan document renders it as ``<span data-figure="name">text</span>``
    (:func:`tags_to_html`), plain text shows ``text`` (:func:`untag`)."""
    if not re.fullmatch(r"[a-z0-9_]{1,40}", name):
        raise ValueError(f"figure name {name!r}: lower-case letters, digits and _ only")
    return f"\ue000{name}\ue001{text}\ue002"


def untag(s: str) -> str:
    """Plain text of ``s`` with the figure marks of :func:`tag` removed."""
    return TAG_RE.sub(lambda m: m.group(2), s)


def tags_to_html(escaped: str) -> str:
    """Escaped HTML with each :func:`tag` mark as ``<span data-figure="name">``; the name is
    ``[a-z_]`` and the text was escaped before, so nothing unescaped reaches the page."""
    return TAG_RE.sub(lambda m: f'<span class="figure" data-figure="{m.group(1)}">'
                                f"{m.group(2)}</span>", escaped)
