"""Safe, unique file names for unit names taken from data.

Unit names (accounts, reps, territories) are untrusted text: they may contain ``/``, ``..``,
markup, control characters or be empty. :func:`safe_name` turns any string into
``<slug>-<hash8>``: an ASCII slug of at most 40 characters (lower-case letters, digits and
``-``) plus the first 8 hex digits of the SHA-256 of the original name, so two different names
never share a file name even when their slugs are equal (``"A/B"`` and ``"A B"``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from salesplan_nb.core.errors import ConfigError

_NON_SLUG = re.compile(r"[^a-z0-9]+")
SLUG_MAX = 40


def slug(name: str, max_len: int = SLUG_MAX) -> str:
    """ASCII slug of ``name``: accents folded, anything else -> ``-``; ``unit`` when empty."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    s = _NON_SLUG.sub("-", text.lower()).strip("-")[:max_len].strip("-")
    return s or "unit"


def short_hash(name: str, n: int = 8) -> str:
    """First ``n`` hex digits of SHA-256 of ``name`` (UTF-8)."""
    return hashlib.sha256(str(name).encode("utf-8")).hexdigest()[:n]


def safe_name(name: str) -> str:
    """``<slug>-<hash8>``: a file-name stem safe on every OS, unique per distinct ``name``."""
    return f"{slug(name)}-{short_hash(name)}"


def unique_names(names: list[str]) -> dict[str, str]:
    """Map each distinct name to a safe stem; on a (rare) 8-digit hash clash the longer hash is
    used so stems stay unique."""
    out: dict[str, str] = {}
    used: dict[str, str] = {}
    for name in dict.fromkeys(str(n) for n in names):
        n = 8
        stem = safe_name(name)
        while stem in used and used[stem] != name:
            n += 4
            stem = f"{slug(name)}-{short_hash(name, n)}"
        used[stem] = name
        out[name] = stem
    return out


def inside(root: str | Path, path: str | Path) -> Path:
    """``path`` resolved, checked to lie inside ``root``; otherwise a ConfigError."""
    root_r = Path(root).resolve()
    p = Path(path).resolve()
    if p != root_r and root_r not in p.parents:
        raise ConfigError(f"refusing to write {p}: it is outside the output folder {root_r}")
    return p
