"""Validation of source data (the report behind ``salesplan validate``, see loaders).

Every problem is collected into one :class:`Report` (nothing stops at the first problem):
file, row (as in the source: 1-based, header = row 1, first data row = row 2), column, value,
reason and fix. *Errors* stop the load (:class:`~salesplan_nb.core.errors.DataError` carries the
report); *warnings* say how the loader handled the problem and how many rows it touched.
Nothing is dropped silently. All checks are vectorised (masks over whole columns); only the
reported rows are turned into Python objects.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesplan_nb.data import schema

MAX_ROWS_PER_CHECK = 1000  # row-level problems kept per check; the rest are counted

_Text = pd.StringDtype("pyarrow")


@dataclass
class Problem:
    """One problem: ``severity`` error | warning; ``row`` is the source row (header = 1) or
    ``None`` for a whole-file problem; ``count`` rows share it (warnings, summaries)."""

    severity: str
    file: str
    reason: str
    fix: str = ""
    row: int | None = None
    column: str | None = None
    value: str | None = None
    count: int = 1
    handled: str = ""
    table: str = ""

    def line(self) -> str:
        """One line: ``error: file row 5, column x, value 'v': reason; fix: ...``."""
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        if self.value is not None:
            where.append(f"value {_short(self.value)!r}")
        text = f"{self.severity}: {', '.join(where)}: {self.reason}"
        if self.count > 1 or (self.severity == "warning" and self.row is None):
            text += f" ({self.count:,} row{'s' if self.count != 1 else ''})"
        if self.handled:
            text += f"; handled: {self.handled}"
        if self.fix:
            text += f"; fix: {self.fix}"
        return text


def _short(v: str, n: int = 60) -> str:
    v = str(v)
    return v if len(v) <= n else v[: n - 3] + "..."


@dataclass
class TableInfo:
    """Summary line of one canonical table: where it came from and how many rows."""

    table: str
    origin: str
    rows: int


@dataclass
class Report:
    """All problems found while loading a source."""

    source: str = ""
    mapping: str = ""
    tables: dict[str, TableInfo] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    as_of: pd.Timestamp | None = None
    as_of_rule: str | None = None  # which rule picked as_of (see Dataset)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when the data can be loaded (no errors; warnings allowed)."""
        return not self.errors

    def add(self, severity: str, file: str, reason: str, fix: str = "", **kw) -> Problem:
        p = Problem(severity, file, reason, fix, **kw)
        self.problems.append(p)
        return p

    def to_frame(self) -> pd.DataFrame:
        """The problems as a table (one row per problem)."""
        cols = ["severity", "table", "file", "row", "column", "value", "reason", "fix", "count",
                "handled"]
        return pd.DataFrame([{c: getattr(p, c) for c in cols} for p in self.problems],
                            columns=cols)

    def format(self, limit: int | None = 50) -> str:
        """The report as text: summary (tables and rows), errors, warnings, verdict. At most
        ``limit`` lines per kind of problem (``None`` = all)."""
        out = [f"source: {self.source}" + (f"  (mapping: {self.mapping})" if self.mapping
                                            else "")]
        out.append("tables:")
        for t in self.tables.values():
            out.append(f"  {t.table:<14} {t.rows:>10,} rows  from {t.origin}")
        errs = sorted(self.errors, key=lambda p: (p.file, p.row or 0))
        warns = self.warnings
        out.append(f"errors: {len(errs)}")
        out += ["  " + p.line() for p in _limit(errs, limit)]
        out.append(f"warnings: {len(warns)}")
        out += ["  " + p.line() for p in _limit(warns, limit)]
        if self.ok:
            rule = f": {self.as_of_rule}" if self.as_of_rule else ""
            asof = f" (as of {self.as_of.date()}{rule})" if self.as_of is not None else ""
            out.append(f"result: loadable{asof}")
        else:
            out.append(f"result: NOT loadable - fix the {len(errs)} error(s) above")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()


def kind_of(p: Problem) -> tuple:
    """The kind of a problem, for the per-kind cap: file, column and the reason without its
    quoted values and numbers (``duplicate rep_id (first seen at row 7)`` is one kind)."""
    reason = re.sub(r"\(did you mean .*?\)", "", p.reason)
    reason = re.sub(r"'[^']*'|\d[\d,.]*", "#", reason)
    return (p.file, p.column, reason)


def _limit(problems: list[Problem], limit: int | None) -> list[Problem]:
    if limit is None:
        return problems
    out, seen = [], {}
    kinds = [kind_of(p) for p in problems]
    for p, key in zip(problems, kinds):
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= limit:
            out.append(p)
        elif seen[key] == limit + 1:
            n = kinds.count(key)
            out.append(Problem(p.severity, p.file, f"... {n - limit:,} more like the above "
                               "(use --all to list them)", column=p.column))
    return out


# --------------------------------------------------------------------------- mapped frames

@dataclass
class Frame:
    """A canonical table in the making: ``df`` has canonical column names, typed values and
    the source row numbers as index; ``columns`` names each column's source column(s)."""

    table: str
    origin: str
    df: pd.DataFrame
    columns: dict[str, str] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)  # canonical column -> mapping key
    distinct: bool = False  # the table keeps one row per distinct mapped row

    def col(self, name: str) -> str:
        return self.columns.get(name, name)


def row_problems(report: Report, severity: str, frame: Frame, mask: pd.Series | np.ndarray,
                 column: str | None, reason: str, fix: str, values: pd.Series | None = None,
                 reason_fn=None, summary: str | None = None) -> int:
    """Add one problem per row where ``mask`` is true (at most :data:`MAX_ROWS_PER_CHECK`,
    then a summary line ``N more rows with: <summary or reason>``). ``values`` are the raw
    values to show; ``reason_fn(value, row)`` may specialise the reason. Returns the number
    of rows hit."""
    mask = np.asarray(mask, dtype=bool)
    n = int(mask.sum())
    if not n:
        return 0
    idx = np.flatnonzero(mask)
    shown = idx[:MAX_ROWS_PER_CHECK]
    rows = frame.df.index.to_numpy()[shown]
    vals = None
    if values is not None:
        vals = values.iloc[shown].tolist()
    elif column is not None and column in frame.df:
        vals = frame.df[column].iloc[shown].tolist()
    src = frame.col(column) if column else None
    for i, r in enumerate(rows):
        v = None if vals is None else vals[i]
        v = None if v is None or (not isinstance(v, str) and pd.isna(v)) else _show(v)
        why = reason_fn(v, int(r)) if reason_fn else reason
        report.add(severity, frame.origin, why, fix, row=int(r), column=src, value=v,
                   table=frame.table)
    if n > len(shown):
        report.add(severity, frame.origin,
                   f"{n - len(shown):,} more rows with: {summary or reason}", fix,
                   column=src, count=n - len(shown), table=frame.table)
    return n


def _show(v) -> str:
    if isinstance(v, pd.Timestamp):
        return str(v.date()) if v == v.normalize() else str(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# --------------------------------------------------------------------------- parsing

def _arrow(s: pd.Series) -> pa.Array | None:
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return pa.array(s.array)
    return None


def is_blank(s: pd.Series) -> pd.Series:
    """True where a value is missing or only whitespace."""
    na = s.isna()
    if isinstance(s.dtype, pd.StringDtype):
        return na | (s.str.strip() == "").fillna(True)
    return na


_GROUPED = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"     # 1,234,567.89
_GROUPED_EU = r"[-+]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?"  # 1.234.567,89


def _finite(v: pd.Series, bad: pd.Series, blank: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Mark non-blank values that are not finite (``inf``, ``NaN`` text, ``1e309``) bad."""
    arr = v.to_numpy(dtype="float64", na_value=np.nan)
    nonfinite = ~np.isfinite(arr) & ~np.asarray(blank, dtype=bool)
    if nonfinite.any():
        bad = pd.Series(np.asarray(bad, dtype=bool) | nonfinite, index=v.index)
        v = v.mask(pd.Series(nonfinite, index=v.index))
    return v, bad


def parse_number(s: pd.Series, decimal: str | None = ".") -> tuple[pd.Series, pd.Series]:
    """``(float64 values, bad)``: text like ``1234.5``, ``$1,234.50``, ``USD 1,234``,
    ``12 EUR`` or ``(50)`` (negative) becomes a number (the currency is checked by
    :func:`currencies`); with ``decimal=","`` also ``1.234,50``. ``bad`` marks non-blank
    values that are not finite numbers (``1,5`` is bad unless ``decimal=","``: a comma is
    only a thousands separator in groups of three; ``inf``, ``NaN``, ``1e309`` are bad)."""
    decimal = decimal or "."
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype("Int64")
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.astype("float64")
        return _finite(v, pd.Series(False, index=s.index), s.isna())
    if decimal == "," and (isinstance(s.dtype, pd.StringDtype) or s.dtype == object):
        t = s.astype(_Text).str.strip()
        eu = t.str.fullmatch(_GROUPED_EU).fillna(False).astype(bool)
        s = t.where(~eu, t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    arr = _arrow(s)
    if arr is not None:
        try:
            v = pd.Series(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False),
                          index=s.index)
            return _finite(v, pd.Series(False, index=s.index), is_blank(s))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    v = pd.to_numeric(s.astype(object), errors="coerce").astype("float64")
    bad = v.isna() & ~is_blank(s)
    if bad.any():
        raw = s[bad].astype(str).str.strip()
        neg = raw.str.fullmatch(r"\(.*\)")
        body = raw.str.replace(r"^\(?\s*(?:[A-Z]{3}|US\$)\s*|\s*[A-Z]{3}\s*\)?$|[\s$€£¥₹()]",
                               "", regex=True)
        if decimal == ",":
            grouped = body.str.fullmatch(_GROUPED_EU)
            body = body.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        else:
            grouped = body.str.fullmatch(_GROUPED)
            body = body.str.replace(",", "", regex=False)
        fixed = pd.to_numeric(body.where(grouped), errors="coerce").astype("float64")
        v.loc[bad] = fixed.where(~neg, -fixed)
        bad = v.isna() & ~is_blank(s)
    return _finite(v, bad, is_blank(s))


CURRENCY_SIGNS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
_CURRENCY = (r"^\(?\s*(?P<pre>US\$|[$€£¥₹]|[A-Z]{3})?\s*[-+(]?\s*[$€£¥₹]?[\d.,\s]*?\d[\d.,]*"
             r"\s*(?P<post>[A-Z]{3}|[€£¥₹])?\s*\)?$")


def currencies(s: pd.Series) -> pd.Series:
    """The currency code written with each money value (``$``/``US$`` -> USD, ``€`` -> EUR,
    ``£`` -> GBP, ``¥`` -> JPY, ``₹`` -> INR, or a 3-letter code before/after the number);
    missing where the value is a bare number or not text."""
    out = pd.Series(pd.NA, index=s.index, dtype=_Text)
    if not (isinstance(s.dtype, pd.StringDtype) or s.dtype == object):
        return out
    t = s.astype(_Text).str.strip()
    marked = t.str.contains(r"[^\d.,\s()+\-eE]", regex=True).fillna(False).astype(bool)
    if not marked.any():
        return out
    m = t[marked].str.extract(_CURRENCY)
    code = m["pre"].fillna(m["post"]).astype(object)
    code = code.map(lambda c: CURRENCY_SIGNS.get(c, c) if isinstance(c, str) else pd.NA)
    out.loc[marked] = code.astype(_Text)
    return out


# 1.054 / 12.500.000: a dot followed by groups of exactly three digits (a thousands separator
# in European files, a decimal point elsewhere)
_DOTTED_THOUSANDS = r"[-+(]?\s*\D{0,4}\s*[1-9]\d{0,2}(?:\.\d{3})+\s*\D{0,4}\)?"


def ambiguous_decimals(s: pd.Series) -> pd.Series:
    """True where a text value reads as a number either way (``1.054`` = 1054 or 1.054)."""
    if not (isinstance(s.dtype, pd.StringDtype) or s.dtype == object):
        return pd.Series(False, index=s.index)
    t = s.astype(_Text).str.strip()
    return t.str.fullmatch(_DOTTED_THOUSANDS).fillna(False).astype(bool)


def parse_count(s: pd.Series, decimal: str = ".") -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(Int64 values, bad, fractional)`` for whole-number columns (beyond 2**53 is bad:
    not exactly representable)."""
    v, bad = parse_number(s, decimal)
    huge = (v.abs() > 2.0 ** 53).fillna(False)
    if huge.any():
        bad = bad | huge
        v = v.mask(huge)
    frac = v.notna() & (v != np.floor(v.fillna(0)))
    v = v.where(~frac)
    return v.round().astype("Int64"), bad, frac


DATE_YEARS = (1900, 2200)  # plausible years; others are placeholders such as 9999-12-31


def parse_date(s: pd.Series, formats: Iterable[str] = ()) -> tuple[pd.Series, pd.Series]:
    """``(datetime64[ns] day-precision values, bad)``: :func:`parse_dates` with every kind of
    bad value in one mask."""
    v, bad, out_of_range, ambiguous = parse_dates(s, formats)
    return v, bad | out_of_range | ambiguous


def _in_range(v: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(values as datetime64[ns] with implausible years blanked, out_of_range)``."""
    year = v.dt.year
    out = (year < DATE_YEARS[0]) | (year > DATE_YEARS[1])
    out = out.fillna(False).astype(bool)
    return v.mask(out).astype(schema.DATE), out


_NUMERIC_DATE = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}\b"


def parse_dates(s: pd.Series, formats: Iterable[str] = ()
                ) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """``(datetime64[ns] day-precision values, bad, out_of_range, ambiguous)``. Without
    ``formats`` ISO 8601 (``2025-03-01``, ``2025-03-01 10:00``) is expected; ``formats``
    (strftime patterns or ``ISO8601`` / ``mixed``) are tried in order on the values still
    unparsed. Time zones are converted to UTC, then dropped. ``out_of_range``: years outside
    :data:`DATE_YEARS` (placeholders such as 9999-12-31); ``ambiguous``: with ``mixed``,
    ``01/03/2017``-style values whose day and month could be swapped (never guessed)."""
    formats = list(formats) or ["ISO8601"]
    none = pd.Series(False, index=s.index)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        v = s
        if getattr(v.dt, "tz", None) is not None:
            v = v.dt.tz_convert("UTC").dt.tz_localize(None)
        v, out = _in_range(v)
        return v.dt.normalize(), none, out, none
    blank = is_blank(s)
    arr = _arrow(s)
    if arr is not None and formats == ["ISO8601"]:
        try:
            ts = pc.cast(arr, pa.timestamp("ns"))
            v = pd.Series(ts.to_numpy(zero_copy_only=False), index=s.index).astype(schema.DATE)
            v, out = _in_range(v)
            return v.dt.normalize(), none, out, none
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    text = s.astype(object).where(~blank, None)
    v = pd.Series(pd.NaT, index=s.index, dtype=schema.DATE)
    todo = ~blank
    out_of_range, ambiguous = none.copy(), none.copy()
    for fmt in formats:
        if not todo.any():
            break
        part = text[todo]
        if fmt == "mixed":
            dm = part.astype(str).str.extract(_NUMERIC_DATE)
            a, b = pd.to_numeric(dm[0]), pd.to_numeric(dm[1])
            amb = ((a <= 12) & (b <= 12) & (a != b)).fillna(False).astype(bool)
            if amb.any():
                ambiguous.loc[amb[amb].index] = True
                todo = todo & ~ambiguous
                part = text[todo]
        try:
            parsed = pd.to_datetime(part, errors="coerce", format=fmt, utc=True)
        except (ValueError, TypeError, OverflowError):
            parsed = pd.to_datetime(part.astype(str), errors="coerce", format=fmt, utc=True)
        parsed = parsed.dt.tz_localize(None)
        year = parsed.dt.year
        oor = ((year < DATE_YEARS[0]) | (year > DATE_YEARS[1])).fillna(False).astype(bool)
        out_of_range.loc[oor[oor].index] = True
        parsed = parsed.mask(oor).astype(schema.DATE)
        ok = parsed.notna()
        v.loc[ok[ok].index] = parsed[ok]
        todo = todo & v.isna() & ~out_of_range
    return v.dt.normalize(), todo & ~ambiguous, out_of_range, ambiguous


def as_text(s: pd.Series) -> pd.Series:
    """Any column as ``string[pyarrow]`` ids/labels: whole floats lose their ``.0``, dates
    become ``YYYY-MM-DD``, whitespace is stripped, blanks become missing."""
    if isinstance(s.dtype, pd.StringDtype):
        t = s.astype(_Text)
    elif pd.api.types.is_float_dtype(s.dtype):
        whole = s.notna() & (s == np.floor(s.fillna(0)))
        t = s.astype(object).where(~whole, s.where(whole).astype("Int64").astype(object))
        t = t.astype(str).where(s.notna()).astype(_Text)
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        t = s.dt.strftime("%Y-%m-%d").astype(_Text)
    elif s.dtype == object:
        t = s.map(lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v))
                  else _show(v)).astype(_Text)
    else:
        t = s.astype(str).where(s.notna()).astype(_Text)
    t = t.str.strip()
    return t.mask(t == "")


# --------------------------------------------------------------------------- checks

NON_NEGATIVE = {
    "opportunities": ["amount"], "orders": ["amount"], "products": ["list_price", "unit_cost"],
    "accounts": ["revenue", "employees"], "market": ["potential", "accounts"],
    "targets": ["amount"],
}

# (table, column, referenced table, its key, severity of unknown ids)
REFERENCES = [
    ("opportunities", "account_id", "accounts", "account_id", "error"),
    ("opportunities", "owner_id", "reps", "rep_id", "error"),
    ("opportunities", "product_id", "products", "product_id", "error"),
    ("orders", "account_id", "accounts", "account_id", "error"),
    ("orders", "owner_id", "reps", "rep_id", "error"),
    ("orders", "product_id", "products", "product_id", "error"),
    ("accounts", "owner_id", "reps", "rep_id", "warning"),
    ("accounts", "parent_id", "accounts", "account_id", "warning"),
    ("reps", "territory", "territories", "territory_id", "warning"),
    ("accounts", "territory", "territories", "territory_id", "warning"),
    ("contacts", "account_id", "accounts", "account_id", "warning"),
    ("contacts", "opportunity_id", "opportunities", "opportunity_id", "warning"),
]


def isin(s: pd.Series, values: pd.Series) -> pd.Series:
    """``s.isin(values)`` through ``pyarrow.compute.is_in`` for text (pandas' Arrow-string
    ``isin`` loops over the values in Python); missing values are never in."""
    a, b = _arrow(s), _arrow(values.astype(_Text)) if len(values) else None
    if a is not None and (b is not None or not len(values)):
        if not len(values):
            return pd.Series(False, index=s.index)
        hit = pc.fill_null(pc.is_in(a, value_set=b.drop_null()), False)
        return pd.Series(hit.to_numpy(zero_copy_only=False), index=s.index)
    return s.isin(values) & s.notna()


def _norm(s: pd.Series) -> pd.Series:
    return s.str.lower().str.replace(r"[^0-9a-z]+", "", regex=True)


def _replace(s: pd.Series, mapping: dict) -> pd.Series:
    """Replace whole values (vectorised over the distinct values)."""
    codes, uniques = pd.factorize(s)
    new = pd.array([mapping.get(u, u) for u in uniques] + [None], dtype=_Text)
    return pd.Series(new.take(np.where(codes < 0, len(uniques), codes)), index=s.index)


def check_required_values(report: Report, f: Frame) -> None:
    """Required canonical columns must not be blank."""
    for c in schema.TABLES[f.table].required_columns:
        if c in f.df:
            blank = f.df[c].isna()
            row_problems(report, "error", f, blank, c, f"required {c} is blank",
                         f"fill in {f.col(c)} on every row (or map another column to {c})")


def check_keys(report: Report, f: Frame) -> None:
    """Primary keys must be unique (every repeat reported with the row of the first)."""
    key = schema.TABLES[f.table].key
    if not key or key not in f.df:
        return
    k = f.df[key]
    dup = k.duplicated(keep="first") & k.notna()
    if not dup.any():
        return
    first_rows = pd.Series(f.df.index[~k.duplicated(keep="first")],
                           index=k[~k.duplicated(keep="first")].array)
    idmap = first_rows.to_dict()
    what, fix = f"duplicate {key}", f"give every row its own {f.col(key)}"
    if f.distinct:  # rows that still share a key after distinct differ in some attribute
        rep = k.isin(k[dup].unique()) & k.notna()
        sub = f.df[rep]
        varies = [c for c in f.df.columns if c != key
                  and (sub.groupby(key, observed=True)[c].nunique(dropna=False) > 1).any()]
        names = ", ".join(f.col(c) for c in varies) or "some column"
        what = f"{key} with different {', '.join(varies) or 'values'}"
        fix = (f"make {names} the same on every row with the same {f.col(key)} (distinct: "
               f"true keeps one row per distinct combination), or do not map "
               f"{'them' if len(varies) > 1 else 'it'} for this table")
    row_problems(report, "error", f, dup, key, "", fix, summary=what,
                 reason_fn=lambda v, r: f"{what} (first seen at row {idmap.get(v, '?')})")


def check_non_negative(report: Report, f: Frame) -> None:
    for c in NON_NEGATIVE.get(f.table, []):
        if c in f.df:
            neg = (f.df[c] < 0).fillna(False)
            row_problems(report, "error", f, neg, c, f"{c} is negative",
                         "correct the sign; record refunds/credits as separate lost deals")


def check_status(report: Report, f: Frame, where: str) -> None:
    if f.table != "opportunities" or "status" not in f.df:
        return
    st = f.df["status"]
    bad = st.notna() & ~st.isin(schema.STATUSES)
    row_problems(report, "error", f, bad, "status", "status is not one of open, won, lost",
                 f"map this value to open, won or lost under {where}.values in the mapping "
                 "(or fix it in the source)")


def check_dates(report: Report, f: Frame) -> None:
    df = f.df
    if f.table == "opportunities" and {"created_date", "close_date"} <= set(df):
        before = (df["close_date"] < df["created_date"]).fillna(False)
        if before.any():
            pair = pd.Series(None, index=df.index, dtype=object)
            sub = df.loc[before]
            pair[before] = (sub["close_date"].dt.strftime("%Y-%m-%d") + " < "
                            + sub["created_date"].dt.strftime("%Y-%m-%d"))
            row_problems(report, "error", f, before, "close_date", "close date is before the "
                         "created date", f"correct {f.col('close_date')} or "
                         f"{f.col('created_date')}", values=pair)
    if f.table == "opportunities" and {"status", "close_date"} <= set(df):
        closed = df["status"].isin(["won", "lost"]).fillna(False)
        nodate = closed & df["close_date"].isna()
        n = int(nodate.sum())
        if n:
            report.add("warning", f.origin, "won/lost deals without a close date",
                       f"fill in {f.col('close_date')} for closed deals", column=f.col(
                           "close_date"), count=n, handled="kept; they count in no period",
                       table=f.table)
        if "amount" in df:
            won_no_amount = (df["status"] == "won").fillna(False) & df["amount"].isna()
            n = int(won_no_amount.sum())
            if n:
                report.add("warning", f.origin, "won deals without an amount",
                           f"fill in {f.col('amount')}", column=f.col("amount"), count=n,
                           handled="kept with a blank amount (adds 0 to bookings)",
                           table=f.table)


def check_references(report: Report, frames: dict[str, Frame]) -> None:
    """Ids pointing at other tables. A blank deal account is a warning (kept). An id that
    matches a known id apart from case, spaces and punctuation (``GTXPro`` vs ``GTX Pro``) is
    mapped to it with a warning; other unknown ids are errors (with a close match as hint)."""
    for table, col, ref, key, severity in REFERENCES:
        f, r = frames.get(table), frames.get(ref)
        if f is None or col not in f.df or r is None or key not in r.df:
            continue
        if not len(r.df):
            if table == "reps" or (table == "accounts" and col == "territory"):
                continue  # no territories table: territory ids stand alone
        s = f.df[col]
        if table == "opportunities" and col == "account_id":
            n = int(s.isna().sum())
            if n:
                report.add("warning", f.origin, "deals without an account",
                           f"fill in {f.col(col)} where known", column=f.col(col), count=n,
                           handled="kept with a blank account_id", table=table)
        if table == "contacts" and col == "account_id":
            n = int(s.isna().sum())
            if n:
                report.add("warning", f.origin, "contacts without an account",
                           f"fill in {f.col(col)} to show them in their account's plan",
                           column=f.col(col), count=n,
                           handled="kept; they appear in no account plan", table=table)
        known = r.df[key].dropna()
        unknown = s.notna() & ~isin(s, known)
        if not unknown.any():
            continue
        uniq = pd.Series(s[unknown].unique(), dtype=_Text)
        norm_known = _norm(known.astype(_Text))
        once = norm_known.map(norm_known.value_counts()) == 1  # ambiguous forms never match
        by_norm = dict(zip(norm_known[once], known[once]))
        matches = {u: by_norm[n] for u, n in zip(uniq, _norm(uniq)) if n in by_norm}
        if matches:
            counts = s[isin(s, pd.Series(list(matches), dtype=_Text))].value_counts()
            for u, m in matches.items():
                report.add("warning", f.origin, f"{col} {u!r} is not in {r.origin}; "
                           f"matched to {m!r}", f"spell it {m!r} in the source (or map it "
                           f"under {f.where.get(col, col)}.values)", column=f.col(col),
                           count=int(counts.get(u, 0)), handled=f"mapped to {m!r}",
                           table=table)
            s = _replace(s, matches)
            f.df[col] = s
            unknown = s.notna() & ~isin(s, known)
        if not unknown.any():
            continue
        # "did you mean" hints for the first few distinct ids (difflib is O(ids x known))
        choices = known.astype(str).tolist() if len(known) <= 5000 else []
        hints = {u: difflib.get_close_matches(str(u), choices, n=1, cutoff=0.6)
                 for u in s[unknown].unique()[:20]} if choices else {}
        label = {"accounts": "account", "reps": "rep", "products": "product",
                 "territories": "territory", "opportunities": "opportunity"}[ref]
        if severity == "warning":
            for u, cnt in s[unknown].value_counts().items():
                report.add("warning", f.origin, f"{col} {u!r} is not in {r.origin}",
                           f"add {label} {u!r} to {r.origin}", column=f.col(col),
                           count=int(cnt), handled="kept as is", table=table)
            continue
        row_problems(report, "error", f, unknown, col, "",
                     f"add the {label} to {r.origin} or correct the id",
                     summary=f"unknown {label}: not in {r.origin}",
                     reason_fn=lambda v, r_, lb=label, ro=r.origin, h=hints: (
                         f"unknown {lb}: not in {ro}"
                         + (f" (did you mean {h[v][0]!r}?)" if h.get(v) else "")))


DISAGREE_SHARE = 0.05  # deals whose own territory differs from the rep's: warn above this


def check_deal_territories(report: Report, frames: dict[str, Frame]) -> None:
    """Deal-level ``territory`` / ``region`` win over the owning rep's home ones; warn when
    they disagree for more than :data:`DISAGREE_SHARE` of the deals that have both (the
    numbers then follow the deal's, as the export says)."""
    reps = frames.get("reps")
    if reps is None or "rep_id" not in reps.df:
        return
    for table in ("opportunities", "orders"):
        f = frames.get(table)
        if f is None or "owner_id" not in f.df:
            continue
        for col in ("territory", "region"):
            if col not in f.df or col not in reps.df or f.df[col].isna().all():
                continue
            by_rep = reps.df.drop_duplicates("rep_id").set_index("rep_id")[col]
            codes, uniques = pd.factorize(f.df["owner_id"])  # map the few reps, not 1M rows
            home_u = pd.array(list(by_rep.reindex(uniques).astype(object)) + [None],
                              dtype=_Text)
            home = pd.Series(home_u.take(np.where(codes < 0, len(uniques), codes)),
                             index=f.df.index)
            own = f.df[col].astype(_Text)
            both = own.notna() & home.notna()
            differ = both & (own != home).fillna(False)
            n, m = int(differ.sum()), int(both.sum())
            if m and n / m > DISAGREE_SHARE:
                report.add("warning", f.origin, f"{n / m:.0%} of the {table} have a {col} "
                           f"other than their rep's home {col} in {reps.origin}",
                           f"nothing to do if the export's {f.col(col)} is right; otherwise "
                           f"map the rep's {col} only", column=f.col(col), count=n,
                           handled=f"each deal counts in its own {col}", table=table)


def check_contacts(report: Report, f: Frame) -> None:
    """Contact roles: CRM spellings become the canonical deal roles
    (:func:`salesplan_nb.data.contacts.normalize_roles`); other values are kept as written
    and warned once per value (they count as no key role in the buying committee)."""
    if f.table != "contacts" or "role" not in f.df:
        return
    from salesplan_nb.data.contacts import ROLES, normalize_roles

    roles, unknown = normalize_roles(f.df["role"])
    f.df["role"] = roles
    if not unknown.any():
        return
    where = f.where.get("role", "tables.contacts.columns.role")
    for value, n in roles[unknown].value_counts().items():
        report.add("warning", f.origin, f"contact role {value!r} is not a known deal role "
                   f"({', '.join(ROLES)})", f"map it under {where}.values, e.g. "
                   f"{{{value!r}: influencer}}", column=f.col("role"), count=int(n),
                   handled="shown as written; counts as no key role", table=f.table)


def check_table(report: Report, f: Frame, where: dict[str, str]) -> None:
    """All single-table checks."""
    check_contacts(report, f)
    check_required_values(report, f)
    check_keys(report, f)
    check_non_negative(report, f)
    check_status(report, f, where.get("status", "tables.opportunities.columns.status"))
    check_dates(report, f)
