"""The plan workspace: a folder holding one plan.

Layout::

    PLAN_DIR/
      plan.yaml          # human-readable, diffable: plan, source and every decision (who, when)
      data/*.parquet     # the data snapshot the plan was built from (canonical tables)
      outputs/<step>/<name>.parquet   # step outputs

``plan.yaml`` carries ``schema_version``. Every read-modify-write goes through the one locked
method :meth:`Workspace.modify` (file lock, re-read, change, atomic write: temp file, fsync,
rename, mode from the umask), so a widget and a batch run never lose each other's decisions.
A hand-broken ``plan.yaml`` gives a :class:`WorkspaceError` naming the line. Integrity: the
file ends with the line :data:`END_MARKER` (announced in its first line); a file cut short is
refused, and the previous good version is kept as ``plan.yaml.bak`` (a hard link made before
every write). YAML aliases/anchors are refused (no alias bombs), as are ``.inf``/``.nan``.

Decisions live under ``decisions.<section>``. A section is either *keyed*
(``record(section, key, value)`` stores ``{value, by, at}``) or a *list* of items
(``add_item(section, item)`` stores the item with ``id``, ``by`` and ``at``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import logging
import math
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import yaml

from salesplan_nb.core import secrets
from salesplan_nb.core.errors import WorkspaceError
from salesplan_nb.core.scope import PLAN_TYPES, SCOPE_LEVELS, Period, Scope
from salesplan_nb.data.dataset import Dataset

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1
PLAN_FILE = "plan.yaml"
BACKUP_FILE = "plan.yaml.bak"
HEADER = ("# salesplan-nb plan workspace - written by salesplan; safe to read and diff "
          "(keep the end line).\n")
END_MARKER = "# end of plan.yaml"
T = TypeVar("T")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def current_user() -> str:
    """Who is deciding: ``$SALESPLAN_USER``, else the login name."""
    user = os.environ.get("SALESPLAN_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "analyst"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """Convert ``value`` to YAML-safe builtins (numpy scalars, Timestamps, dataclasses...)."""
    if value is None or type(value) in (str, bool, int):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float):
        if math.isinf(value):
            raise WorkspaceError(f"cannot store {value} in plan.yaml: give a finite number")
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.floating):
        return plain(float(value))
    if isinstance(value, pd.Timestamp | dt.datetime):
        if isinstance(value, pd.Timestamp) and pd.isna(value):
            return None
        return value.isoformat() if (value.hour or value.minute or value.second) \
            else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Scope | Period):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, pd.Series):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    raise WorkspaceError(f"cannot store a {type(value).__name__} in plan.yaml: {value!r}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, text: str, backup: Path | None = None) -> None:
    """Write ``text`` to ``path`` (temp file, fsync, rename; mode ``0666 & ~umask`` like any
    other file). With ``backup``, the current ``path`` is first hard-linked there."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        if backup is not None and path.exists():
            link = backup.with_name(f".{backup.name}.{uuid.uuid4().hex[:8]}.tmp")
            try:
                os.link(path, link)
            except OSError:  # no hard links here (some network file systems): copy
                import shutil

                shutil.copy2(path, link)
            os.replace(link, backup)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# libyaml's C loader/dumper when available: 5-8x faster than the pure-Python safe ones.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader whose timestamps that are not real dates (2017-02-30) are a YAML error
    naming the line, not a ValueError."""


def _timestamp(loader: Any, node: yaml.Node) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a real date ({exc})", node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Never writes anchors/aliases (they are refused when reading)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def refuse_aliases(text: str, origin: str) -> str | None:
    """A message naming the line of the first YAML anchor or alias in ``text`` (``None`` when
    there is none): aliases can expand exponentially (a "billion laughs" bomb), and
    salesplan never writes them. Cheap when the text has no ``&`` or ``*``."""
    if "&" not in text or "*" not in text:
        return None
    try:
        for ev in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None):
                line = ev.start_mark.line + 1
                return (f"{origin} line {line}: YAML anchors/aliases (&name / *name) are not "
                        "allowed; write the value out in full")
    except yaml.YAMLError:
        return None  # the loader reports the syntax error with its line
    return None


def _non_finite(doc: Any, path: tuple = ()) -> tuple | None:
    """Key path of the first .inf/.nan number in ``doc`` (``None`` when all are finite)."""
    if isinstance(doc, float) and not math.isfinite(doc):
        return path
    if isinstance(doc, dict):
        for k, v in doc.items():
            hit = _non_finite(v, (*path, str(k)))
            if hit is not None:
                return hit
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            hit = _non_finite(v, (*path, i))
            if hit is not None:
                return hit
    return None


def _key_line(text: str, *keys: str | int) -> int | None:
    """1-based line of the key path ``keys`` (mapping keys, list indexes) in YAML ``text``
    (best effort)."""
    try:
        node = yaml.compose(text, Loader=_BaseLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key in keys:
        if isinstance(node, yaml.SequenceNode) and isinstance(key, int) \
                and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
            continue
        if not isinstance(node, yaml.MappingNode):
            return line
        for k, v in node.value:
            if k.value == key:
                line, node = k.start_mark.line + 1, v
                break
        else:
            return line
    return line


def _check_end(text: str, path: Path) -> None:
    """A file whose first line announces the end marker must end with it (else it was cut
    short); older files without the announcement are read as they are."""
    if not (text.startswith(HEADER.rstrip("\n")) or HEADER.startswith(text)):
        return
    if text.rstrip().endswith(END_MARKER):
        return
    backup = path.with_name(BACKUP_FILE)
    keep = (f"the last good version is kept in {backup}: restore it with `cp {backup} {path}`"
            if backup.exists() else "restore it from version control")
    raise WorkspaceError(
        f"{path} line {text.count(chr(10)) + 1}: the file is incomplete (its last line "
        f"{END_MARKER!r} is missing: cut short by a crash, a full disk or a partial copy); "
        f"{keep}. Nothing was changed.")


def _parse(text: str, path: Path) -> dict:
    """Parse and check plan.yaml; errors name the line and the fix."""
    _check_end(text, path)
    alias = refuse_aliases(text, str(path))
    if alias:
        raise WorkspaceError(alias + "; salesplan never writes them")
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise WorkspaceError(
            f"{path}{where}: not valid YAML ({problem}). Fix the file by hand or restore it "
            "from version control.") from None

    def bad(msg: str, *keys: str) -> WorkspaceError:
        line = _key_line(text, *keys) if keys else None
        return WorkspaceError(f"{path}{f' line {line}' if line else ''}: {msg}")

    if not isinstance(doc, dict):
        raise bad("expected a mapping with schema_version, plan, source and decisions")
    version = doc.get("schema_version")
    if version is None:
        raise bad("missing schema_version (this file was not written by salesplan)")
    if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
        raise bad(f"schema_version {version!r} is not supported (this salesplan reads "
                  f"1..{SCHEMA_VERSION}); upgrade salesplan-nb", "schema_version")
    plan = doc.get("plan")
    if not isinstance(plan, dict):
        raise bad("'plan' must be a mapping with type and period", "plan")
    if plan.get("type") not in PLAN_TYPES:
        raise bad(f"plan.type {plan.get('type')!r} is not one of {', '.join(PLAN_TYPES)}",
                  "plan", "type")
    try:
        Period.parse(plan.get("period"))
    except ValueError as exc:
        raise bad(f"plan.period: {exc}", "plan", "period") from None
    try:
        Scope.parse(plan.get("scope"))
    except ValueError as exc:
        raise bad(f"plan.scope: {exc}", "plan", "scope") from None
    bad_number = _non_finite(doc)
    if bad_number is not None:
        raise bad(f"{'.'.join(map(str, bad_number))} is not a finite number (.inf/.nan are "
                  "not allowed); write a plain number", *bad_number)
    decisions = doc.setdefault("decisions", {}) or {}
    if not isinstance(decisions, dict):
        raise bad("'decisions' must be a mapping of section -> decisions", "decisions")
    for name, section in decisions.items():
        if not isinstance(section, dict | list):
            raise bad(f"decisions.{name} must be a mapping or a list", "decisions", name)
    doc["decisions"] = decisions
    doc.setdefault("source", {})
    return doc


@dataclass
class Workspace:
    """A plan folder. Open with :meth:`open`, make with :meth:`create`."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._doc: dict | None = None
        self._mtime: float | None = None
        self._data: Dataset | None = None

    # ---- creating and opening -----------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, *, data: Dataset, plan_type: str = "annual",
               period: str | int | Period | None = None, source: dict | None = None,
               name: str | None = None, scope: Scope | str | None = None,
               hierarchy: list[str] | None = None, overwrite: bool = False,
               by: str | None = None) -> Workspace:
        """Create a plan folder from ``data`` (snapshotted as Parquet).

        ``period`` defaults to the calendar year after ``data.as_of`` for annual, territory and
        account plans and the next three years for long-term plans.
        """
        path = Path(path)
        if plan_type not in PLAN_TYPES:
            raise WorkspaceError(
                f"unknown plan type {plan_type!r}; use one of {', '.join(PLAN_TYPES)}")
        if path.exists() and not path.is_dir():
            raise WorkspaceError(f"{path} is a file, not a folder; give a new folder name for "
                                 "the plan")
        if (path / PLAN_FILE).exists() and not overwrite:
            raise WorkspaceError(
                f"{path / PLAN_FILE} already exists; open it, or choose another folder")
        if period is None:
            year = data.as_of.year + 1
            period = f"{year}..{year + 2}" if plan_type == "long-term" else str(year)
        try:
            period = Period.parse(period)
            scope = Scope.parse(scope)
        except ValueError as exc:
            raise WorkspaceError(f"{exc}") from None
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create the plan folder {path}: {exc.strerror}; "
                                 "choose a folder you can write to") from None
        data.to_parquet(path / "data")
        doc = {
            "schema_version": SCHEMA_VERSION,
            "plan": {
                "name": name or f"{plan_type.capitalize()} plan {period.label}",
                "type": plan_type,
                "period": period.label,
                "as_of": data.as_of.date().isoformat(),
                "scope": str(scope),
                "hierarchy": list(hierarchy or ["company", "region", "territory", "rep"]),
                "created": {"by": by or current_user(), "at": _now()},
            },
            "source": plain(source or {"kind": "dataset", "name": data.name}),
            "decisions": {},
        }
        ws = cls(path)
        with ws._lock():
            ws._write(doc, backup=overwrite)
        ws._data = data
        return ws

    @classmethod
    def open(cls, path: str | Path) -> Workspace:
        """Open an existing plan folder; a missing or broken plan.yaml is a WorkspaceError."""
        ws = cls(Path(path))
        if not (ws.path / PLAN_FILE).exists():
            raise WorkspaceError(
                f"no plan at {ws.path}: {PLAN_FILE} is missing. Create one with "
                f"`salesplan init {ws.path} --sample`.")
        ws._clean_stale_tmp()
        ws._load()
        return ws

    def _clean_stale_tmp(self) -> None:
        """Remove ``.plan.yaml.*.tmp`` left by a killed writer. Writers hold the lock while
        their temp file exists, so any found under the lock is stale."""
        if not any(self.path.glob(f".{PLAN_FILE}.*.tmp")) and \
                not any(self.path.glob(f".{BACKUP_FILE}.*.tmp")):
            return
        with self._lock():
            for pattern in (f".{PLAN_FILE}.*.tmp", f".{BACKUP_FILE}.*.tmp"):
                for tmp in self.path.glob(pattern):
                    with contextlib.suppress(OSError):
                        tmp.unlink()

    @classmethod
    def open_or_create_sample(cls, path: str | Path, *, seed: int = 42, plan_type: str = "annual",
                              period: str | None = None, **sample_options: Any) -> Workspace:
        """Open ``path``; if it holds no plan yet, create one from the seeded sample data.

        Safe when several processes call it at once (the first creates, the others wait)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with open(path / ".create.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (path / PLAN_FILE).exists():
                return cls.open(path)
            from salesplan_nb.data.sample import generate

            data = generate(seed=seed, **sample_options)
            return cls.create(path, data=data, plan_type=plan_type, period=period,
                              source={"kind": "sample", "seed": seed, **sample_options})

    # ---- plan properties ------------------------------------------------------------------
    @property
    def doc(self) -> dict:
        """The parsed plan.yaml (re-read when another process changed it)."""
        self._refresh()
        return self._doc

    @property
    def plan(self) -> dict:
        return self.doc["plan"]

    @property
    def plan_type(self) -> str:
        return self.plan["type"]

    @property
    def period(self) -> Period:
        return Period.parse(self.plan["period"])

    @property
    def scope(self) -> Scope:
        return Scope.parse(self.plan.get("scope"))

    @property
    def hierarchy(self) -> list[str]:
        return [lvl for lvl in self.plan.get("hierarchy", []) if lvl in SCOPE_LEVELS]

    @property
    def source(self) -> dict:
        return self.doc.get("source", {})

    @property
    def data(self) -> Dataset:
        """The data snapshot (loaded once from ``data/*.parquet``)."""
        if self._data is None:
            folder = self.path / "data"
            if not (folder / "opportunities.parquet").exists():
                raise WorkspaceError(f"{folder}: the data snapshot is missing; re-create the "
                                     "plan with `salesplan init`")
            self._data = Dataset.from_parquet(folder, name=self.plan.get("name", "data"))
        return self._data

    # ---- keyed decisions --------------------------------------------------------------------
    def get(self, section: str, key: str | None = None, default: Any = None) -> Any:
        """A decision's value; with no ``key`` the whole section (dict key -> value, or the
        list of items); ``default`` when absent."""
        sec = self.doc["decisions"].get(section)
        if sec is None:
            return default
        if key is None:
            if isinstance(sec, list):
                return [dict(item) for item in sec]
            return {k: (v.get("value") if isinstance(v, dict) and "value" in v else v)
                    for k, v in sec.items()}
        if not isinstance(sec, dict) or key not in sec:
            return default
        entry = sec[key]
        return entry.get("value") if isinstance(entry, dict) and "value" in entry else entry

    def decision(self, section: str, key: str) -> dict | None:
        """The full record ``{value, by, at}`` of a keyed decision."""
        sec = self.doc["decisions"].get(section) or {}
        return dict(sec[key]) if isinstance(sec, dict) and key in sec else None

    def record(self, section: str, key: str, value: Any, *, by: str | None = None) -> None:
        """Store a keyed decision with who made it and when (atomic write)."""
        entry = {"value": plain(value), "by": by or current_user(), "at": _now()}

        def change(doc: dict) -> None:
            sec = doc["decisions"].setdefault(section, {})
            if isinstance(sec, list):
                raise WorkspaceError(f"decisions.{section} is a list section; use add_item")
            old = sec.get(key)
            if isinstance(old, dict) and old.get("value") == entry["value"]:
                return  # unchanged: keep the original who/when
            sec[key] = entry

        self._mutate(change)

    def update(self, section: str, key: str, change: Callable[[Any], Any], *,
               by: str | None = None) -> Any:
        """Set keyed decision ``key`` to ``change(current value)`` (``None`` when absent) in
        one locked read-modify-write; returns the new value. For values edited piecewise
        (a dict of overrides) by several processes at once."""

        def edit(doc: dict) -> Any:
            sec = doc["decisions"].setdefault(section, {})
            if isinstance(sec, list):
                raise WorkspaceError(f"decisions.{section} is a list section; use add_item")
            old = sec.get(key)
            cur = old.get("value") if isinstance(old, dict) and "value" in old else old
            new = plain(change(cur))
            if not (isinstance(old, dict) and old.get("value") == new):
                sec[key] = {"value": new, "by": by or current_user(), "at": _now()}
            return new

        return self.modify(edit)

    def record_many(self, section: str, values: dict[str, Any], *,
                    by: str | None = None) -> None:
        """Store several keyed decisions in one write."""
        who, when = by or current_user(), _now()

        def change(doc: dict) -> None:
            sec = doc["decisions"].setdefault(section, {})
            for key, value in values.items():
                v = plain(value)
                old = sec.get(key)
                if not (isinstance(old, dict) and old.get("value") == v):
                    sec[key] = {"value": v, "by": who, "at": when}

        self._mutate(change)

    # ---- list decisions ---------------------------------------------------------------------
    def items(self, section: str) -> list[dict]:
        """The items of a list section (copies), in insertion order."""
        sec = self.doc["decisions"].get(section) or []
        if not isinstance(sec, list):
            raise WorkspaceError(f"decisions.{section} is a keyed section; use get()")
        return [dict(item) for item in sec]

    def add_item(self, section: str, item: dict, *, by: str | None = None) -> dict:
        """Append ``item`` to a list section; returns it with ``id``, ``by`` and ``at``."""
        stored = plain(dict(item))
        stored.setdefault("id", uuid.uuid4().hex[:8])
        stored["by"] = by or stored.get("by") or current_user()
        stored["at"] = _now()

        def change(doc: dict) -> None:
            sec = doc["decisions"].setdefault(section, [])
            if not isinstance(sec, list):
                raise WorkspaceError(f"decisions.{section} is a keyed section; use record()")
            if any(i.get("id") == stored["id"] for i in sec):
                raise WorkspaceError(f"decisions.{section} already has an item {stored['id']!r}")
            sec.append(stored)

        self._mutate(change)
        return dict(stored)

    def update_item(self, section: str, item_id: str, changes: dict, *,
                    by: str | None = None) -> dict:
        """Change fields of one item; records who changed it and when."""
        result: dict = {}

        def change(doc: dict) -> None:
            for item in doc["decisions"].get(section) or []:
                if item.get("id") == item_id:
                    item.update(plain(dict(changes)))
                    item["by"], item["at"] = by or current_user(), _now()
                    result.update(item)
                    return
            raise WorkspaceError(f"decisions.{section} has no item {item_id!r}")

        self._mutate(change)
        return result

    def remove_item(self, section: str, item_id: str) -> None:
        def change(doc: dict) -> None:
            sec = doc["decisions"].get(section) or []
            keep = [i for i in sec if i.get("id") != item_id]
            if len(keep) == len(sec):
                raise WorkspaceError(f"decisions.{section} has no item {item_id!r}")
            doc["decisions"][section] = keep

        self._mutate(change)

    def upsert_item(self, section: str, item: dict, *, by: str | None = None) -> dict:
        """Update the item with ``item["id"]`` when it is stored, else append it (one locked
        read-modify-write); returns the stored item."""
        body = plain(dict(item))
        result: dict = {}

        def change(doc: dict) -> None:
            sec = doc["decisions"].setdefault(section, [])
            if not isinstance(sec, list):
                raise WorkspaceError(f"decisions.{section} is a keyed section; use record()")
            for stored in sec:
                if body.get("id") is not None and stored.get("id") == body["id"]:
                    stored.update(body)
                    stored["by"], stored["at"] = by or current_user(), _now()
                    result.update(stored)
                    return
            new = {**body, "id": body.get("id") or uuid.uuid4().hex[:8],
                   "by": by or body.get("by") or current_user(), "at": _now()}
            sec.append(new)
            result.update(new)

        self._mutate(change)
        return dict(result)

    def replace_items(self, section: str, items: list[dict], *, by: str | None = None,
                      keep: Callable[[dict], bool] | None = None) -> None:
        """Replace a whole list section (e.g. an edited table), stamping new/changed rows.
        With ``keep``, stored items for which ``keep(item)`` is true stay in front (decided
        under the lock, e.g. other scopes' items)."""
        who, when = by or current_user(), _now()

        def change(doc: dict) -> None:
            current = doc["decisions"].get(section) or []
            old = {i.get("id"): i for i in current}
            out = [dict(i) for i in current if keep(i)] if keep is not None else []
            for item in items:
                row = plain(dict(item))
                row.setdefault("id", uuid.uuid4().hex[:8])
                prev = old.get(row["id"])
                body = {k: v for k, v in row.items() if k not in ("by", "at")}
                if prev and {k: v for k, v in prev.items() if k not in ("by", "at")} == body:
                    row["by"], row["at"] = prev.get("by"), prev.get("at")
                else:
                    row["by"], row["at"] = who, when
                out.append(row)
            doc["decisions"][section] = out

        self._mutate(change)

    # ---- step outputs -------------------------------------------------------------------------
    def _output_path(self, step: str, name: str) -> Path:
        for part in (step, name):
            if not _NAME.match(part):
                raise WorkspaceError(f"output name {part!r} must be letters, digits, - _ .")
        return self.path / "outputs" / step / f"{name}.parquet"

    def save_output(self, step: str, name: str, df: pd.DataFrame) -> Path:
        """Write a step output as Parquet (atomic)."""
        target = self._output_path(step, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".tmp")
        os.close(fd)
        try:
            df.to_parquet(tmp)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return target

    def load_output(self, step: str, name: str) -> pd.DataFrame | None:
        """A step output, or ``None`` when the step has not written it."""
        target = self._output_path(step, name)
        return pd.read_parquet(target) if target.exists() else None

    # ---- internals ----------------------------------------------------------------------------
    @property
    def _file(self) -> Path:
        return self.path / PLAN_FILE

    def _load(self) -> None:
        try:
            stat = self._file.stat()
            text = self._file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise WorkspaceError(f"{self._file} is missing") from None
        except UnicodeDecodeError as exc:
            raise WorkspaceError(f"{self._file}: not UTF-8 text ({exc.reason} at byte "
                                 f"{exc.start}); restore it from version control") from None
        self._doc = _parse(text, self._file)
        self._mtime = stat.st_mtime_ns

    def _refresh(self) -> None:
        try:
            mtime = self._file.stat().st_mtime_ns
        except FileNotFoundError:
            raise WorkspaceError(f"{self._file} is missing") from None
        if self._doc is None or mtime != self._mtime:
            self._load()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".plan.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def _write(self, doc: dict, backup: bool = True) -> None:
        text = (HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                                   width=100) + END_MARKER + "\n")
        if secrets.has_password(text):  # no secret on disk, whatever a caller recorded
            text = secrets.strip(text)
            doc = yaml.load(text, Loader=_Loader)
        _atomic_write(self._file, text, self.path / BACKUP_FILE if backup else None)
        self._doc = doc
        self._mtime = self._file.stat().st_mtime_ns

    def modify(self, change: Callable[[dict], T]) -> T:
        """The one read-modify-write of plan.yaml: under the file lock, re-read the file,
        call ``change(doc)`` (it edits ``doc`` in place and may return a value), write it back
        atomically (the previous version kept as ``plan.yaml.bak``); returns ``change``'s
        value. Every saver goes through here, so concurrent processes lose nothing."""
        with self._lock():
            self._load()
            out = change(self._doc)
            self._write(self._doc)
        return out

    _mutate = modify


# ---- CLI: salesplan init ----------------------------------------------------------------------
def init_plan(plan_dir: str | Path, *, sample: bool = False, data: str | None = None,
              mapping: str | None = None, plan_type: str = "annual", period: str | None = None,
              name: str | None = None, seed: int = 42, overwrite: bool = False,
              as_of: str | None = None) -> Workspace:
    """Create a plan folder from the sample data or from a source + mapping. ``as_of``
    (YYYY-MM-DD) replays a past date: the snapshot holds only what was known then
    (:meth:`Dataset.until`), so every step ignores later data."""
    if sample == bool(data):
        raise WorkspaceError("give either --sample or --data SOURCE (with --mapping)")
    if Path(plan_dir).exists() and not Path(plan_dir).is_dir():
        raise WorkspaceError(f"{plan_dir} is a file, not a folder; give a new folder name for "
                             "the plan")
    if sample:
        from salesplan_nb.data.sample import generate

        dataset = generate(seed=seed)
        source = {"kind": "sample", "seed": seed}
    else:
        from salesplan_nb.data.loaders import load
        from salesplan_nb.data.sources import resolve, storable

        dataset = load(data, mapping=mapping)
        kind = resolve(data)[0]
        source = {"kind": "sql", "url": storable(data), "mapping": mapping} if kind == "sql" \
            and "://" in str(data) or str(data).startswith("env:") else \
            {"kind": "path", "path": storable(data), "mapping": mapping}
        if secrets.has_password(str(data)):
            log.warning("the database password was not saved in plan.yaml (%s); later loads "
                        "read it from PGPASSWORD or ~/.pgpass, or give the URL in an "
                        "environment variable as --data env:NAME", source.get("url"))
    if as_of is not None:
        try:
            day = pd.Timestamp(as_of)
        except (ValueError, TypeError):
            raise WorkspaceError(f"--as-of {as_of!r} is not a date; give YYYY-MM-DD") from None
        dataset, changed = dataset.until(day)
        source["as_of"] = day.date().isoformat()
        source["left_out_after_as_of"] = {k: v for k, v in changed.items() if v}
    return Workspace.create(plan_dir, data=dataset, plan_type=plan_type, period=period,
                            source=source, name=name, overwrite=overwrite)


def _cli_init(args) -> int:
    ws = init_plan(args.plan_dir, sample=args.sample, data=args.data, mapping=args.mapping,
                   plan_type=args.type, period=args.period, name=args.name, seed=args.seed,
                   overwrite=args.force, as_of=args.as_of)
    d = ws.data
    print(f"created {ws.path / PLAN_FILE}: {ws.plan['name']} ({ws.plan_type}, {ws.period})")
    if not args.no_notebooks:
        from salesplan_nb.data.plan_notebooks import copy_step_notebooks

        copies = copy_step_notebooks(ws.path)
        print(f"  {len(copies)} step notebooks in {ws.path} (open them in JupyterLab)")
    print(f"  snapshot as of {d.as_of.date()} ({d.as_of_rule}): {len(d.accounts):,} accounts, "
          f"{len(d.opportunities):,} opportunities, {len(d.reps):,} reps")
    for what, n in (ws.doc.get("source", {}).get("left_out_after_as_of") or {}).items():
        print(f"  --as-of: {n:,} {what}")
    return 0


def register_cli(subparsers) -> None:
    p = subparsers.add_parser("init", help="create a plan workspace folder",
                              description="Create a plan workspace (plan.yaml + data snapshot).")
    p.add_argument("plan_dir", help="folder to create")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--sample", action="store_true", help="use the seeded sample company")
    src.add_argument("--data", metavar="SOURCE", help="folder, workbook or SQLAlchemy URL")
    p.add_argument("--mapping", metavar="FILE|PRESET", help="mapping file or preset name")
    p.add_argument("--type", default="annual", choices=PLAN_TYPES, help="plan type")
    p.add_argument("--period", help="plan period, e.g. 2027 (default: year after the data)")
    p.add_argument("--name", help="plan name")
    p.add_argument("--seed", type=int, default=42, help="sample data seed")
    p.add_argument("--as-of", dest="as_of", metavar="DATE",
                   help="replay a past date: keep only what was known on DATE (YYYY-MM-DD)")
    p.add_argument("--force", action="store_true", help="overwrite an existing plan.yaml")
    p.add_argument("--no-notebooks", action="store_true",
                   help="do not copy the step notebooks into the plan folder")
    p.set_defaults(func=_cli_init)
