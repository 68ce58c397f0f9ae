"""Names from data, made safe to *show* (the data itself is never changed).

Names (accounts, reps, territories, products) are untrusted text. For display
:func:`label` removes bidirectional control characters (U+202A-202E, U+2066-2069, U+200E/F,
U+061C: they can reverse how a title reads, "Trojan Source") and other control characters,
and truncates to :data:`LABEL_MAX` characters with an ellipsis, so a 1 MB name cannot blow a
plan document past its size budget (3 MB). HTML escaping stays the template's job.
"""

from __future__ import annotations

import re
from typing import Any

LABEL_MAX = 120  # characters of a name shown in titles, tables, charts and the index
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[{_BIDI}\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]")


def label(text: Any, limit: int = LABEL_MAX) -> str:
    """``text`` as a display string: bidi and control characters removed, at most ``limit``
    characters (the last one ``…`` when cut)."""
    s = _UNSAFE.sub("", str(text))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def clean_spec(spec: Any, limit: int = LABEL_MAX) -> Any:
    """A Vega-Lite spec (dict from Altair) with every text value in its inline data
    (``datasets`` and ``data.values``) passed through :func:`label`."""
    if isinstance(spec, dict):
        out = {}
        for k, v in spec.items():
            if k in ("datasets", "values"):
                out[k] = _clean_data(v, limit)
            else:
                out[k] = clean_spec(v, limit)
        return out
    if isinstance(spec, list):
        return [clean_spec(v, limit) for v in spec]
    return spec


def _clean_data(v: Any, limit: int) -> Any:
    if isinstance(v, str):
        return label(v, limit)
    if isinstance(v, dict):
        return {k: _clean_data(x, limit) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean_data(x, limit) for x in v]
    return v


__all__ = ["LABEL_MAX", "label", "clean_spec"]
