"""Results cached in the plan workspace, keyed on data, decisions and code.

Plan-wide results that many plan documents share and that take seconds to compute (the
company quota split, forecasts) are stored under ``<plan>/outputs/_cache/`` so a second
``salesplan run`` - or the JupyterLab "Render plans" action - with nothing changed reuses
them. An entry's key is the SHA-256 of:

* the *content* of every file of the data snapshot (``data/*``),
* the values of the decision sections the result reads (who/when are left out, so
  re-recording the same value keeps the entry),
* the result's name and arguments, and
* the code: every ``.py`` file of the package plus the Python, numpy and pandas versions.

Change any of them and the key changes: a stale result can never be served. Entries are
stored without pickle (nothing in them can run code): DataFrames as Parquet, everything else
as tagged JSON, and only dataclasses of the package (``salesplan_nb.*``) are rebuilt. A value
that cannot be stored that way is simply not cached. ``SALESPLAN_NO_CACHE=1`` turns the cache
off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")
CACHE_DIR = Path("outputs") / "_cache"
PACKAGE = Path(__file__).resolve().parents[1]
_MEMO: dict[Any, str] = {}
STATS = {"hits": 0, "misses": 0}


class Uncacheable(TypeError):
    """A value the cache cannot store without pickle."""


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()


def data_fingerprint(plan_dir: str | Path) -> str:
    """SHA-256 of the data snapshot's files (names and contents); memoised per process while
    their sizes and modification times are unchanged."""
    folder = Path(plan_dir) / "data"
    files = sorted(f for f in folder.glob("*") if f.is_file()) if folder.is_dir() else []
    stamp = ("data", str(folder.resolve()), tuple((f.name, f.stat().st_size,
                                                    f.stat().st_mtime_ns) for f in files))
    if stamp not in _MEMO:
        _MEMO[stamp] = _sha(*(f.name.encode() + b"\0" + f.read_bytes() for f in files))
    return _MEMO[stamp]


def code_fingerprint() -> str:
    """SHA-256 of the package's source files and the Python / numpy / pandas versions."""
    if "code" not in _MEMO:
        files = sorted(PACKAGE.rglob("*.py"))
        _MEMO["code"] = _sha(sys.version.encode(), np.__version__.encode(),
                             pd.__version__.encode(),
                             *(str(f.relative_to(PACKAGE)).encode() + b"\0" + f.read_bytes()
                               for f in files))
    return _MEMO["code"]


def key(ws, name: str, args: tuple = (), sections: tuple[str, ...] = ()) -> str:
    """The cache key of result ``name(args)`` in workspace ``ws`` (see the module doc)."""
    decisions = {s: ws.get(s) for s in sections}
    return _sha(name.encode(), json.dumps([list(map(str, args)), decisions], sort_keys=True,
                                          default=str).encode(),
                data_fingerprint(ws.path).encode(), code_fingerprint().encode())


def enabled() -> bool:
    return os.environ.get("SALESPLAN_NO_CACHE", "") in ("", "0")


def cached(ws, name: str, build: Callable[[], T], *, args: tuple = (),
           sections: tuple[str, ...] = ()) -> T:
    """``build()``, or the stored result of an earlier ``build()`` with the same key. An
    exception from ``build`` propagates and nothing is stored."""
    if not enabled() or ws is None or getattr(ws, "path", None) is None:
        return build()
    folder = Path(ws.path) / CACHE_DIR
    k = key(ws, name, args, sections)
    stem = f"{_safe(name)}-{k[:32]}"
    meta = folder / f"{stem}.json"
    if meta.exists():
        with contextlib.suppress(Exception):  # unreadable / partial: recompute
            value = _decode(json.loads(meta.read_text()), folder)
            STATS["hits"] += 1
            return value
    STATS["misses"] += 1
    value = build()
    with contextlib.suppress(Uncacheable, OSError):
        _store(folder, stem, value)
    return value


def stored(ws, name: str, *, args: tuple = (), sections: tuple[str, ...] = ()) -> bool:
    """True when :func:`cached` would find ``name(args)`` stored (a batch run skips
    computing what an earlier run left)."""
    if not enabled() or ws is None or getattr(ws, "path", None) is None:
        return False
    k = key(ws, name, args, sections)
    return (Path(ws.path) / CACHE_DIR / f"{_safe(name)}-{k[:32]}.json").exists()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:40]


def _store(folder: Path, stem: str, value: Any) -> None:
    frames: list[pd.DataFrame] = []
    doc = _encode(value, frames)
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# results cache of salesplan run: never commit\n*\n")
    for i, df in enumerate(frames):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}.{i}.", suffix=".tmp")
        os.close(fd)
        df.to_parquet(tmp)
        os.replace(tmp, folder / f"{stem}.{i}.parquet")
    doc = {"frames": stem, "value": doc}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    os.replace(tmp, folder / f"{stem}.json")  # last: its presence means the entry is whole


def _encode(v: Any, frames: list) -> Any:
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, int | np.integer):
        return {"i": int(v)}
    if isinstance(v, float | np.floating):
        return {"f": repr(float(v))}
    if isinstance(v, pd.DataFrame):
        frames.append(v)
        return {"df": len(frames) - 1}
    if isinstance(v, pd.Series):  # one column "v" of a frame; index and name kept
        frames.append(v.to_frame("v"))
        return {"series": [len(frames) - 1, _encode(v.name, frames), str(v.index.dtype),
                           str(v.dtype)]}
    if isinstance(v, list | tuple):
        return {"list" if isinstance(v, list) else "tuple": [_encode(x, frames) for x in v]}
    if isinstance(v, dict):
        return {"dict": [[_encode(k, frames), _encode(x, frames)] for k, x in v.items()]}
    if isinstance(v, pd.Timestamp):
        return {"ts": v.isoformat()}
    if isinstance(v, np.ndarray) and v.dtype.kind in "biuf":  # exact: float repr per value
        return {"nd": [v.dtype.str, list(v.shape), [repr(x) for x in v.ravel().tolist()]]}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        cls = type(v)
        if not cls.__module__.startswith("salesplan_nb."):
            raise Uncacheable(f"{cls.__module__}.{cls.__qualname__}")
        return {"dc": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: _encode(getattr(v, f.name), frames)
                           for f in dataclasses.fields(v) if f.init}}
    raise Uncacheable(type(v).__name__)


def _read_frame(path: Path) -> pd.DataFrame:
    """A stored frame: one Parquet file read directly (``pd.read_parquet`` goes through
    pyarrow's dataset discovery, ~20x the time for these small files)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read().to_pandas()


def _decode(doc: dict, folder: Path) -> Any:
    stem = doc["frames"]

    def dec(v: Any) -> Any:
        if v is None or isinstance(v, bool | str):
            return v
        if "dc" in v:
            return _dataclass(v["dc"], {k: dec(y) for k, y in v["fields"].items()})
        (tag, x), = v.items()
        if tag == "i":
            return int(x)
        if tag == "f":
            return float(x)
        if tag == "df":
            return _read_frame(folder / f"{stem}.{int(x)}.parquet")
        if tag == "series":
            s = _read_frame(folder / f"{stem}.{int(x[0])}.parquet")["v"].rename(dec(x[1]))
            if str(s.index.dtype) != x[2]:
                s.index = s.index.astype(x[2])
            return s if str(s.dtype) == x[3] else s.astype(x[3])
        if tag == "list":
            return [dec(y) for y in x]
        if tag == "tuple":
            return tuple(dec(y) for y in x)
        if tag == "dict":
            return {dec(k): dec(y) for k, y in x}
        if tag == "ts":
            return pd.Timestamp(x)
        if tag == "nd":
            dtype, shape, values = x
            return np.array([float(s) if dtype[1] == "f" else int(s) if dtype[1] in "iu"
                             else s == "True" for s in values], dtype=dtype).reshape(shape)
        raise ValueError(f"unknown cache tag {tag!r}")

    def _dataclass(path: str, fields: dict) -> Any:
        mod, _, qual = path.partition(":")
        if not mod.startswith("salesplan_nb."):
            raise ValueError(f"cache entry names {path}, not a salesplan_nb class")
        cls = importlib.import_module(mod)
        for part in qual.split("."):
            cls = getattr(cls, part)
        if not dataclasses.is_dataclass(cls):
            raise ValueError(f"{path} is not a dataclass")
        return cls(**fields)

    return dec(doc["value"])


__all__ = ["cached", "stored", "key", "data_fingerprint", "code_fingerprint", "Uncacheable", "STATS",
           "CACHE_DIR"]
