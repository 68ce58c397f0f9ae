"""SQL in the mapping, on an embedded DuckDB engine: ``sql:`` tables and ``filter:`` rows.

A mapping table may be a query over the source's own tables (CSV/TSV/PSV files, Parquet files,
workbook sheets, DataFrames)::

    reps:
      sql: |
        SELECT e.EmployeeKey, e.FirstName || ' ' || e.LastName AS name, t.Region
        FROM employees e JOIN territories t USING (TerritoryKey)
        WHERE e.SalesPersonFlag = 1

Each table the query names is read once by the source's reader (so encodings, header-less files
and per-table options work as for ``from:``) and handed to DuckDB as an Arrow table, in place.
Text columns that hold only plain numbers (``42``, ``-1.5``; no leading zeros, so ids such as
``007`` stay text) are numbers in SQL and ISO dates (``2025-03-31``) are DATEs; everything else
stays text. Every table has a hidden-by-default column ``_row``: the source row number (header =
row 1); a query that selects ``_row`` (``SELECT o._row, ...``) gets its problems reported at
that source row, otherwise at the result row.

``filter:`` is an SQL condition on the rows of ``from:`` (``filter: "SalesPersonFlag = 1"``);
the rows it keeps keep their original text values and row numbers.

Queries run with DuckDB's external access off: they see the source's tables only (no
``read_csv('/etc/...')``, no ``COPY ... TO``, no extensions). For SQL-server sources (:class:`~salesplan_nb.data.sources.SqlReader`) a ``sql:`` table is sent
to the server as it is (like ``source.queries``), in the server's own dialect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesplan_nb.data.sources import STRING, RawTable, SourceError

ROW = "_row"

# queries see only the registered source tables: no files, no network, no extensions
CONFIG = {"enable_external_access": False, "autoinstall_known_extensions": False,
          "autoload_known_extensions": False}


def _connect():
    import duckdb

    return duckdb.connect(config=CONFIG)


@dataclass
class SqlProblem(Exception):
    """A query failed: ``reason`` (DuckDB's message, first line) and ``fix``."""

    reason: str
    fix: str

    def __str__(self) -> str:
        return self.reason


def typed(df: pd.DataFrame) -> pa.Table:
    """``df`` as an Arrow table for SQL, with column ``_row`` (its index: source row numbers).
    Text columns holding only plain numbers become int64/float64 (not when a value has a
    leading zero), ISO dates become date32; mixed object columns (Excel) become text."""
    cols, names = [], []
    for c in df.columns:
        cols.append(_typed_column(df[c]))
        names.append(str(c))
    if ROW not in names:  # a source column of that name wins
        cols.append(pa.array(np.asarray(df.index, dtype="int64")))
        names.append(ROW)
    return pa.Table.from_arrays(cols, names=names)


_LEADING_ZERO = r"^\s*[+-]?0\d"


def _typed_column(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        arr = pa.array(s.array)
        arr = arr.cast(pa.string()) if arr.type == pa.large_string() else arr
        sample = arr.slice(0, SAMPLE).drop_null()
        if not len(sample):
            return arr
        for target in _candidates(sample):
            try:
                out = pc.cast(arr if target == pa.date32() else pc.utf8_trim_whitespace(arr),
                              target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            if target != pa.date32() and pc.any(
                    pc.match_substring_regex(arr, _LEADING_ZERO)).as_py():
                return arr
            return out
        return arr
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "mixed-integer-float":
        return pa.array(pd.to_numeric(s).astype("float64"), from_pandas=True)
    if s.dtype == object:
        return pa.array([None if v is None or (not isinstance(v, str) and pd.isna(v))
                         else (v if isinstance(v, str) else _obj(v)) for v in s],
                        type=pa.string()) if not _uniform(s) else pa.array(s, from_pandas=True)
    return pa.array(s, from_pandas=True)


SAMPLE = 2000  # values tried first: a full-column cast is attempted only when these pass


def _candidates(sample: pa.Array) -> list[pa.DataType]:
    """The types the first values of a text column fit: int64, float64 or date32 (ISO)."""
    if pc.all(pc.match_substring_regex(sample, r"^\d{4}-\d{2}-\d{2}$")).as_py():
        return [pa.date32()]
    out = []
    for target in (pa.int64(), pa.float64()):
        try:
            pc.cast(pc.utf8_trim_whitespace(sample), target)
            out.append(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return out


def _uniform(s: pd.Series) -> bool:
    kind = pd.api.types.infer_dtype(s, skipna=True)
    return kind in ("integer", "floating", "mixed-integer-float", "boolean", "datetime",
                    "date", "empty")


def _obj(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, pd.Timestamp):
        return str(v.date()) if v == v.normalize() else str(v)
    return str(v)


def referenced(sql: str, available: list[str]) -> list[str]:
    """Source tables that ``sql`` names (DuckDB's parser; a word match as fall-back)."""
    import duckdb

    try:
        names = {n.lower() for n in duckdb.get_table_names(sql)}
        return [a for a in available if a.lower() in names]
    except Exception:  # parse errors are reported when the query runs
        low = sql.lower()
        return [a for a in available
                if re.search(r"(?<![\w.])\"?" + re.escape(a.lower()) + r"\"?(?![\w])", low)]


def run(sql: str, tables: list[str], read: Callable[[str], RawTable]) -> tuple[
        pd.DataFrame, list[RawTable]]:
    """Run ``sql`` over the source tables it names: ``(result, the RawTables read)``. The
    result is indexed by ``_row`` when the query selects it, else by result row (2, 3, ...).
    Raises :class:`SqlProblem` for a query DuckDB rejects, :class:`SourceError` for a named
    table that cannot be read."""
    import duckdb

    con = _connect()
    raws = []
    try:
        for name in referenced(sql, tables):
            raw = read(name)
            raws.append(raw)
            con.register(name, typed(raw.df))
        try:
            rel = con.sql(sql)
            if rel is None:
                raise SqlProblem("the query returns no rows (it is not a SELECT)",
                                 "write a SELECT ... FROM ... query")
            res = (rel.to_arrow_table() if hasattr(rel, "to_arrow_table")
                   else rel.arrow())
        except duckdb.Error as exc:
            raise SqlProblem(*_explain(exc, tables)) from None
    finally:
        con.close()
    df = res.to_pandas(types_mapper={pa.string(): STRING, pa.large_string(): STRING}.get,
                       date_as_object=False)
    if ROW in df.columns and df[ROW].notna().all():
        df.index = pd.Index(df.pop(ROW).astype("int64").to_numpy(), name="row")
    else:
        df = df.drop(columns=[c for c in df.columns if c == ROW])
        df.index = pd.RangeIndex(2, len(df) + 2, name="row")
    dupes = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dupes:
        raise SqlProblem(f"the query returns column(s) {', '.join(map(repr, dupes))} twice",
                         "give each selected column its own name with AS")
    return df, raws


def keep_rows(raw: RawTable, condition: str) -> RawTable:
    """The rows of ``raw`` where the SQL ``condition`` is true (text values and row numbers
    unchanged). Raises :class:`SqlProblem` when DuckDB rejects the condition."""
    import duckdb

    con = _connect()
    try:
        con.register("t", typed(raw.df))
        try:
            rows = con.execute(f"SELECT {ROW} FROM t WHERE {condition}").fetchnumpy()[ROW]
        except duckdb.Error as exc:
            raise SqlProblem(*_explain(exc, [raw.name])) from None
    finally:
        con.close()
    keep = raw.df.index.isin(np.asarray(rows))
    return RawTable(raw.name, raw.df[keep], raw.origin, raw.notes)


def _explain(exc: Exception, tables: list[str]) -> tuple[str, str]:
    """DuckDB's message (first line, without the ``LINE n:`` echo) and a fix."""
    msg = str(exc).strip().split("\n")[0]
    kind = type(exc).__name__.replace("Exception", "").lower()
    if kind == "catalog" and "does not exist" in msg:
        fix = f"name one of the source's tables: {', '.join(tables) or '(none)'} " \
              "(quote names with spaces: \"Sales Territory\")"
    elif kind == "binder":
        fix = "check the column names against the file's header (quote names with spaces or " \
              "capitals: \"Close Date\"); text columns may need CAST(x AS DOUBLE)"
    elif kind == "parser":
        fix = "check the SQL syntax (DuckDB dialect)"
    elif kind == "permission":
        fix = "query only the source's tables (files, network and extensions are off)"
    elif kind == "conversion":
        fix = "use TRY_CAST(x AS ...) for columns that hold text as well as numbers or dates"
    else:
        fix = "check the query (DuckDB dialect)"
    return f"SQL problem: {msg}", fix


__all__ = ["ROW", "SqlProblem", "SourceError", "keep_rows", "referenced", "run", "typed"]
