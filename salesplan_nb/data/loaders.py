"""Load any source into a :class:`~salesplan_nb.data.dataset.Dataset`.

``load(source, mapping=None)`` reads the source (:mod:`salesplan_nb.data.sources`), applies the
mapping (:mod:`salesplan_nb.data.mapping`; ``None`` = canonical layout, or a preset name such as
``"maven-crm"``), validates everything at once (:mod:`salesplan_nb.data.validate`) and returns the
Dataset, or raises :class:`~salesplan_nb.core.errors.DataError` whose ``report`` lists every problem.
Warnings (handled problems) are logged and kept on ``dataset.report``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesplan_nb.core import secrets
from salesplan_nb.core.errors import ConfigError, DataError, SalesplanError
from salesplan_nb.data import schema, sources
from salesplan_nb.data import sql as sqlmod
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.mapping import (
    SEGMENT_BINS,
    ColumnSpec,
    Mapping,
    TableSpec,
    apply_bins,
    load_mapping,
)
from salesplan_nb.data.validate import (
    Frame,
    Report,
    TableInfo,
    ambiguous_decimals,
    as_text,
    check_deal_territories,
    check_references,
    check_table,
    currencies,
    parse_count,
    parse_dates,
    parse_number,
    row_problems,
)

log = logging.getLogger(__name__)

__all__ = ["load", "load_with_report"]


def load(source: str | Path | dict[str, pd.DataFrame], mapping: str | Path | dict | Mapping | None = None, *,
         as_of: str | pd.Timestamp | None = None, **options: Any) -> Dataset:
    """Load ``source`` (a path, URL, or a dict of DataFrames: table name -> frame) through
    ``mapping`` into a Dataset (``as_of`` overrides the mapping's
    snapshot date; ``options`` go to the reader, e.g. ``queries={"deals": "SELECT ..."}`` for
    SQL). Raises :class:`DataError` (with ``.report``) when the data has errors and
    :class:`ConfigError` for a bad mapping or source location."""
    data, report = load_with_report(source, mapping, as_of=as_of, **options)
    if data is None:
        errs = report.errors
        lines = "\n".join("  " + p.line() for p in errs[:10])
        more = f"\n  ... and {len(errs) - 10:,} more" if len(errs) > 10 else ""
        hint = f" --mapping {mapping}" if isinstance(mapping, str | Path) else ""
        raise DataError(f"cannot load {report.source}: {len(errs):,} error(s)\n{lines}{more}\n"
                        f"run `salesplan validate {report.source}{hint}` for the full report",
                        report)
    for w in report.warnings:
        log.warning(w.line())
    return data


def load_with_report(source: str | Path | dict[str, pd.DataFrame], mapping: str | Path | dict | Mapping | None = None,
                     *, as_of: str | pd.Timestamp | None = None, **options: Any
                     ) -> tuple[Dataset | None, Report]:
    """``(Dataset or None, Report)``: the Dataset is ``None`` when the report has errors.
    Unexpected read/parse failures become report lines, never tracebacks."""
    if isinstance(source, dict):  # DataFrames in memory, one per source table
        key = sources.frames(source)
        try:
            return load_with_report(key, mapping, as_of=as_of, **options)
        finally:
            sources.FRAMES.drop(key.partition(":")[2])
    m = load_mapping(mapping)
    if as_of is not None and str(as_of) != "today":
        try:
            pd.Timestamp(as_of)
        except (ValueError, TypeError):
            raise ConfigError(f"as_of {as_of!r} is not a date; give YYYY-MM-DD") from None
    kind, reader, location = sources.resolve(source)
    report = Report(source=_display(source, kind), mapping=m.name if mapping is not None
                    else "")
    raws: dict[Any, sources.RawTable | None] = {}
    frames: dict[str, Frame] = {}
    for tname, spec in m.tables.items():
        raw = _source_table(report, reader, kind, location, spec, m, options, raws)
        raws[spec.source] = raw
        if raw is None:
            continue
        try:
            frame = _frame(report, raw, spec, currency=m.currency, rates=m.rates)
        except (ConfigError, DataError):
            raise
        except Exception as exc:  # an unforeseen parse failure: report it, do not crash
            report.add("error", raw.origin, f"could not map table {tname}: "
                       f"{type(exc).__name__}: {exc}", "check this file against the mapping",
                       table=tname)
            continue
        frames[tname] = frame
        report.tables[tname] = TableInfo(tname, raw.origin, len(frame.df))
    for tname, t in schema.TABLES.items():
        if tname == "opportunities" and "orders" in frames and tname not in m.tables:
            continue  # orders only: won bookings without a pipeline
        if t.required and tname not in frames and not any(
                p.table == tname for p in report.errors):
            spec = m.tables.get(tname)
            if spec is not None and raws.get(spec.source) is None:
                report.add("error", spec.source, f"required table {tname} is missing: its "
                           f"source table {spec.source!r} could not be read (see above)",
                           "fix the source table", table=tname)
                continue
            extra = (" (or map only orders: won bookings without a pipeline)"
                     if tname == "opportunities" else "")
            report.add("error", f"{tname}", f"required table {tname} is missing",
                       f"provide {tname}.csv (canonical layout) or map it under "
                       f"tables.{tname} in the mapping{extra}", table=tname)
    for tname, f in frames.items():
        try:
            check_table(report, f, f.where)
        except Exception as exc:
            report.add("error", f.origin, f"could not check table {tname}: "
                       f"{type(exc).__name__}: {exc}", table=tname)
    try:
        check_references(report, frames)
    except Exception as exc:
        report.add("error", "(references)", f"could not check references: "
                   f"{type(exc).__name__}: {exc}")
    snapshot = as_of if as_of is not None else m.as_of
    if snapshot is None and kind not in ("sql", "frames"):
        snapshot = _as_of_file(report, location)
    rule = None
    if snapshot == "today":
        snapshot, rule = pd.Timestamp.today().normalize(), "today (mapping as_of: today)"
    elif snapshot is not None:
        rule = ("given as_of" if as_of is not None else
                f"mapping as_of: {m.as_of}" if m.as_of is not None else "as_of.txt")
    if not report.ok:
        return None, report
    tables = {t: f.df.reset_index(drop=True) for t, f in frames.items()}
    tables.setdefault("opportunities", schema.empty("opportunities"))
    check_deal_territories(report, frames)
    try:
        data = Dataset(**tables, as_of=snapshot, name=m.name, as_of_rule=rule,
                       fiscal_year_start=m.fiscal_year_start)
    except Exception as exc:
        report.add("error", "(dataset)", f"could not build the dataset: "
                   f"{type(exc).__name__}: {exc}", "report this as a bug with the file")
        return None, report
    explicit = as_of if as_of is not None else m.as_of
    if explicit is not None and str(explicit) != "today":
        data, changed = data.until(data.as_of)  # nothing after as_of reaches any step
        for what, n in changed.items():
            if n:
                report.add("warning", "(as_of)", f"{what} ({data.as_of.date()})",
                           "nothing to do: a plan as of a past date sees only what was known "
                           "then", count=n, handled="counted as open pipeline"
                           if "open" in what else "blank" if "cleared" in what
                           else "left out")
        data.as_of_rule = rule or data.as_of_rule  # until() rebuilt the Dataset
    report.as_of = data.as_of
    report.as_of_rule = data.as_of_rule
    data.report = report
    return data, report


def _as_of_file(report: Report, source: str | Path) -> pd.Timestamp | None:
    """The snapshot date from ``as_of.txt`` in a folder source (written by
    ``Dataset.to_parquet`` and the sample generator), if there is one."""
    path = Path(str(source)) / "as_of.txt"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        return pd.Timestamp(text)
    except (ValueError, OverflowError):
        report.add("error", "as_of.txt", f"not a date: {text[:40]!r}",
                   "write the snapshot date as YYYY-MM-DD (or delete the file)")
        return None


def _display(source: str | Path, kind: str) -> str:
    if kind == "frames":
        return "DataFrames (" + ", ".join(sources.FRAMES.tables(
            str(source).partition(":")[2])) + ")"
    if kind == "sql":
        return sources._safe_url(str(source))
    return str(source)


def _source_table(report: Report, reader, kind: str, location: str, spec: TableSpec,
                  m: Mapping, options: dict, cache: dict) -> sources.RawTable | None:
    """The source rows of one canonical table: ``from`` (read once per source table and
    options), or the result of ``sql:``; then ``filter:`` and ``unpivot:``. Problems go to
    the report (``None`` when the table cannot be made)."""
    if spec.sql is not None:
        raw = _sql_table(report, reader, kind, location, spec, m, options, cache)
    else:
        opts = {**m.options(spec.source, spec), **options}
        key = (spec.source, repr(sorted(opts.items())))
        if key not in cache:
            cache[key] = _read(report, reader, location, spec, m, opts)
        raw = cache[key]
    if raw is None:
        return None
    if spec.filter is not None:
        try:
            raw = sqlmod.keep_rows(raw, spec.filter)
        except sqlmod.SqlProblem as exc:
            report.add("error", Path(m.origin).name, f"{spec.where}.filter: {exc.reason}",
                       exc.fix, table=spec.table)
            return None
    if spec.unpivot is not None:
        raw = _unpivot(report, raw, spec)
    return raw


def _sql_table(report: Report, reader, kind: str, location: str, spec: TableSpec, m: Mapping,
               options: dict, cache: dict) -> sources.RawTable | None:
    """Run a mapping table's ``sql:``: on the server for SQL sources, else on DuckDB over the
    source's tables (each read like a ``from:`` table)."""
    where = Path(m.origin).name
    if kind == "sql":
        opts = {**m.options(spec.source), **options}
        opts["queries"] = {**(opts.get("queries") or {}), spec.source: spec.sql}
        try:
            raw = reader.read(location, spec.source, **opts)
        except sources.SourceError as exc:
            report.add("error", where, f"{spec.at}.sql: {exc.reason}", exc.fix,
                       table=spec.table)
            return None
        return sources.RawTable(raw.name, raw.df, f"{where} {spec.where}.sql")
    try:
        available = reader.tables(location, **{**m.options(""), **options})
    except sources.SourceError as exc:
        report.add("error", where, exc.reason, exc.fix, table=spec.table)
        return None
    failed: list[str] = []

    def read(name: str) -> sources.RawTable:
        opts = {**m.options(name), **options}
        key = (name, repr(sorted(opts.items())))
        if key not in cache:
            fake = TableSpec(spec.table, name, where=spec.where)
            cache[key] = _read(report, reader, location, fake, m, opts)
        if cache[key] is None:
            failed.append(name)
            raise sources.SourceError(f"source table {name!r} could not be read")
        return cache[key]

    try:
        df, used = sqlmod.run(spec.sql, available, read)
    except sqlmod.SqlProblem as exc:
        report.add("error", where, f"{spec.at}.sql: {exc.reason}", exc.fix, table=spec.table)
        return None
    except sources.SourceError:
        report.add("error", where, f"{spec.at}.sql: source table {failed[-1]!r} could not be "
                   "read (see above)", "fix that table, or its reader options under "
                   f"source.tables.{failed[-1]}", table=spec.table)
        return None
    if len(used) == 1 and df.index.name == "row" and not isinstance(df.index, pd.RangeIndex):
        origin = used[0].origin  # rows carry that file's row numbers (_row selected)
    else:
        origin = f"{where} {spec.where}.sql"
    return sources.RawTable(spec.source, df, origin)


def _unpivot(report: Report, raw: sources.RawTable, spec: TableSpec) -> sources.RawTable:
    """Wide month/quarter columns -> one row per (source row, column); rows keep their
    source row number. Missing columns are reported; blank cells are dropped (counted)."""
    u = spec.unpivot
    df = raw.df
    cols = [c for c in (_match_column(df, c) for c in u.columns) if c is not None]
    missing = [c for c in u.columns if _match_column(df, c) is None]
    if missing:
        report.add("error", raw.origin, f"unpivot: no column(s) {', '.join(map(repr, missing))}",
                   f"fix {spec.where}.unpivot.columns to name the file's columns",
                   table=spec.table)
    labels = {_match_column(df, c): lab for c, lab in u.columns.items()}
    keep = [c for c in df.columns if c not in cols]
    parts = []
    for c in cols:
        part = df[keep].copy()
        part[u.name] = pd.Series(labels[c], index=df.index, dtype=sources.STRING)
        part[u.value] = df[c]
        parts.append(part)
    out = pd.concat(parts) if parts else df[keep].assign(**{u.name: None, u.value: None})
    return sources.RawTable(raw.name, out, raw.origin, raw.notes)


def _read(report: Report, reader, location: str, spec: TableSpec, m: Mapping,
          opts: dict) -> sources.RawTable | None:
    table = schema.TABLES[spec.table]
    try:
        raw = reader.read(location, spec.source, **opts)
    except sources.SourceError as exc:
        if spec.optional and exc.missing:
            report.add("warning", exc.origin or spec.source, exc.reason,
                       f"{exc.fix} to fill table {spec.table}", count=0,
                       handled=f"table {spec.table} left empty ({spec.where}.optional)",
                       table=spec.table)
        elif m.explicit or table.required or not exc.missing:
            report.add("error", exc.origin or spec.source, exc.reason, exc.fix,
                       table=spec.table)
        return None
    except ConfigError:
        raise
    except Exception as exc:
        report.add("error", spec.source, f"could not read: {type(exc).__name__}: "
                   f"{secrets.mask(exc)}",
                   "check that the file is a valid, complete export", table=spec.table)
        return None
    for note in raw.notes:
        note = dict(note)
        if note.get("count") == -1:  # the whole file
            note["count"] = len(raw.df)
        report.add(note.pop("severity"), raw.origin, note.pop("reason"), note.pop("fix", ""),
                   table=spec.table, **note)
    return raw


def _match_column(df: pd.DataFrame, name: str) -> str | None:
    if name in df.columns:
        return name
    want = name.strip().lower().replace(" ", "_")
    for c in df.columns:
        if str(c).strip().lower().replace(" ", "_") == want:
            return c
    return None


def _frame(report: Report, raw: sources.RawTable, spec: TableSpec, *, currency: str = "USD",
           rates: dict[str, float] | None = None) -> Frame:
    """Apply a table mapping: pick/derive columns, parse types (reporting every bad value).
    Money is in ``currency``; values written in another currency are converted with
    ``rates`` (``currency`` per unit) or reported as errors."""
    tname = spec.table
    table = schema.TABLES[tname]
    df = raw.df
    frame = Frame(tname, raw.origin, pd.DataFrame(index=df.index), distinct=spec.distinct)
    if (df.shape[1] == 0 or len(df) == 0) and table.required:
        # optional tables may be empty (the summary shows 0 rows); required ones may not
        report.add("error", raw.origin, f"no data rows (table {tname} needs at least one)",
                   "export the table again with its data", table=tname, count=0)
    if spec.columns is None:
        colspecs = {}
        for c in table.names:
            found = _match_column(df, c)
            if found is not None:
                colspecs[c] = ColumnSpec(c, [found], where=f"{spec.where}.columns.{c}")
    else:
        colspecs = dict(spec.columns)
    for c in table.required_columns:
        if c not in colspecs:
            fix = (f"add a column named {c}" if spec.columns is None else
                   f"map a source column to it under {spec.where}.columns.{c}")
            report.add("error", raw.origin, f"missing required column {c}", fix,
                       column=c, table=tname)
    out: dict[str, pd.Series] = {}
    for c, cs in colspecs.items():
        # several `from` columns: the first non-blank of those present (export variants)
        resolved = [f for f in (_match_column(df, src) for src in cs.sources) if f is not None]
        if cs.template is not None and len(resolved) != len(cs.sources):
            gone = [x for x in cs.sources if _match_column(df, x) is None]
            report.add("error", raw.origin, f"missing column(s) {', '.join(map(repr, gone))} "
                       f"(needed for {tname}.{c})", f"add the column, or change the template "
                       f"at {cs.at}", column=gone[0], table=tname)
            continue
        if cs.sources and not resolved:
            names = " or ".join(repr(x) for x in cs.sources)
            if cs.optional or (c not in table.required_columns and spec.columns is None):
                report.add("warning", raw.origin, f"no column {names}", f"add the column to "
                           f"the export to fill {tname}.{c}", column=cs.sources[0],
                           count=len(df), handled=f"{tname}.{c} left blank", table=tname)
            else:
                report.add("error", raw.origin, f"missing column {names} (needed for "
                           f"{tname}.{c})", f"add the column, or change {cs.at}",
                           column=cs.sources[0], table=tname)
            continue
        cs = ColumnSpec(**{**cs.__dict__, "sources": resolved})
        frame.columns[c] = "|".join(resolved) if resolved else f"{c} (constant)"
        frame.where[c] = cs.where
        out[c] = _column(report, frame, cs, table.column(c).dtype, cs.pre(df),
                         money=(currency, rates or {}),
                         delimiter=getattr(raw, "delimiter", None))
    if tname == "accounts" and "segment" not in out:
        emp = out.get("employees")
        out["segment"] = apply_bins(emp if emp is not None else
                                    pd.Series(pd.NA, index=df.index, dtype="Float64"),
                                    SEGMENT_BINS)
        frame.columns["segment"] = "segment (from employees)"
    if spec.multiply is not None:
        for c in out:
            if table.column(c).dtype == schema.MONEY:
                out[c] = out[c] * spec.multiply
    frame.df = pd.DataFrame(out, index=df.index)
    if spec.aggregate:
        frame.df = aggregate(frame.df, table, report=report, frame=frame, spec=spec)
    if spec.distinct:
        frame.df = frame.df.drop_duplicates()
    return frame


def aggregate(df: pd.DataFrame, table: schema.Table, *, report: Report | None = None,
              frame: Frame | None = None, spec: TableSpec | None = None) -> pd.DataFrame:
    """Lines -> one row per key (``aggregate:``): money columns summed (returns, as negative
    lines, net out); the row keeps the first line's row number. Rows without a key stay as
    they are (validation reports them).

    ``product_id`` is never guessed: when a key's lines have several products, the
    mapping's rule decides (``spec.product``): ``first`` (the first line's),
    ``most_valuable`` (the product with the largest summed ``amount``; ties: the first
    seen) or ``mixed`` (blank: a multi-product order); without a rule each such key is an
    error naming its first line. Other columns take the first line's value; when one varies
    within a key that is a warning with the number of keys."""
    key = table.key
    if key not in df:
        return df
    has = df[key].notna()
    lines = df[has]
    first = lines[~lines[key].duplicated(keep="first")].copy()
    money = [c for c in df.columns if table.column(c).dtype == schema.MONEY]
    by = lines.groupby(key, sort=False, observed=True)
    if money:
        sums = by[money].sum(min_count=1)
        first[money] = sums.reindex(first[key].to_numpy()).to_numpy()
    others = [c for c in df.columns if c != key and c not in money]
    varies = {}
    if others and len(first) < len(lines):
        n_distinct = by[others].nunique(dropna=False)
        varies = {c: n_distinct.index[n_distinct[c] > 1] for c in others
                  if (n_distinct[c] > 1).any()}
    rule = spec.product if spec is not None else None
    if "product_id" in varies:
        several = varies.pop("product_id")
        first = _aggregate_product(first, lines, key, several, rule, report, frame, spec)
    if report is not None and frame is not None:
        for c, keys in varies.items():
            report.add("warning", frame.origin, f"{key} with different {c} on its lines",
                       f"make {frame.col(c)} the same on every line of a {frame.col(key)}, "
                       "or aggregate in sql: (e.g. MIN or MAX)", column=frame.col(c),
                       count=int(lines[key].isin(keys).sum()),
                       handled=f"the first line's value kept ({len(keys):,} {key}s)",
                       table=table.name)
    return pd.concat([first, df[~has]]) if (~has).any() else first


def _aggregate_product(first: pd.DataFrame, lines: pd.DataFrame, key: str, several: pd.Index,
                       rule: str | None, report: Report | None, frame: Frame | None,
                       spec: TableSpec | None) -> pd.DataFrame:
    """The product of the keys in ``several`` (lines with more than one product) by
    ``rule`` (see :func:`aggregate`); ``None`` reports each key as an error."""
    multi = first[key].isin(several).to_numpy()
    if rule == "first":
        return first
    if rule == "mixed":
        first.loc[multi, "product_id"] = pd.NA
        return first
    if rule == "most_valuable":
        sub = lines[lines[key].isin(several)]
        value = sub["amount"] if "amount" in sub else pd.Series(1.0, index=sub.index)
        tot = (value.fillna(0.0).groupby([sub[key], sub["product_id"]], sort=False,
                                         observed=True, dropna=False).sum())
        best = tot.reset_index(name="_v").sort_values("_v", ascending=False, kind="stable")
        best = best.drop_duplicates(key).set_index(key)["product_id"]
        first.loc[multi, "product_id"] = best.reindex(first.loc[multi, key]).to_numpy()
        return first
    if report is not None and frame is not None:
        sub = lines[lines[key].isin(several)]
        names = sub.groupby(key, sort=False, observed=True)["product_id"].agg(
            lambda p: ", ".join(repr(str(x)) for x in dict.fromkeys(p.dropna())))
        where = spec.where if spec is not None else f"tables.{frame.table}"
        view = Frame(frame.table, frame.origin, first, frame.columns, frame.where)
        row_problems(report, "error", view, pd.Series(multi, index=first.index), key, "",
                     f"say how an order with several products gets its product: "
                     f"{where}.aggregate: {{product: most_valuable}} (the product with the "
                     "largest amount), {product: first} (the first line's) or {product: "
                     "mixed} (blank product); or load one row per line (a line id "
                     "template) without aggregate",
                     summary=f"{key} whose lines have several products",
                     reason_fn=lambda v, r: f"{key} {v!r} has lines with several products "
                     f"({names.get(v, '')})")
    return first


def _column(report: Report, frame: Frame, cs: ColumnSpec, dtype: str, pre: pd.Series,
            money: tuple[str, dict[str, float]] = ("USD", {}), delimiter: str | None = None
            ) -> pd.Series:
    kind = cs.parse_kind(dtype)
    col = frame.columns.get(cs.target, cs.target)
    frame.columns[cs.target] = col
    if kind == "string":
        return as_text(pre)
    if kind == "date":
        v, bad, out_of_range, ambiguous = parse_dates(pre, cs.formats)
        fmt = " or ".join(cs.formats) if cs.formats else "YYYY-MM-DD"
        row_problems(report, "error", frame, bad, cs.target, f"not a date (expected {fmt})",
                     f"write real dates as YYYY-MM-DD, or set format: under {cs.where}",
                     values=pre)
        row_problems(report, "error", frame, out_of_range, cs.target,
                     "date out of range (a placeholder for 'no date'?)",
                     "leave the cell blank when there is no date, or correct the year",
                     values=pre)
        row_problems(report, "error", frame, ambiguous, cs.target,
                     "ambiguous date: day-first or month-first?",
                     f"set format: '%d/%m/%Y' (day first) or '%m/%d/%Y' (month first) under "
                     f"{cs.where} instead of mixed", values=pre)
        return v
    if cs.decimal is None and delimiter == ";":
        amb = ambiguous_decimals(pre)
        row_problems(report, "error", frame, amb, cs.target,
                     "ambiguous number in a ';'-separated file: '.' may be a thousands "
                     "separator (1.054 = 1054) or a decimal point",
                     f"set decimal: ',' (1.234,50) or decimal: '.' (1234.50) under {cs.where}",
                     values=pre)
        pre = pre.mask(amb)
    rate = None
    if kind == "number" and dtype == schema.MONEY:
        pre, rate = _currency(report, frame, cs, pre, *money)
    if kind == "count":
        v, bad, frac = parse_count(pre, cs.decimal)
        row_problems(report, "error", frame, bad, cs.target, "not a whole number (or beyond "
                     "2^53)",
                     "write a plain whole number such as 250", values=pre)
        row_problems(report, "error", frame, frac, cs.target, "not a whole number",
                     "write a plain whole number such as 250", values=pre)
        return cs.post(v) if cs.multiply is None else cs.post(v.astype("float64")).round(
        ).astype("Int64")
    v, bad = parse_number(pre, cs.decimal)
    null = bad & null_words(pre)
    row_problems(report, "error", frame, bad & ~null, cs.target, "not a number",
                 "write plain numbers such as 1234.50 (or set decimal: ',' under "
                 f"{cs.where} for 1.234,50)", values=pre)
    row_problems(report, "error", frame, null, cs.target, "a placeholder for a missing "
                 "number, not a number", "export missing numbers as empty cells, or map the "
                 f"placeholder to blank under {cs.where}: values: {{'NULL': null}}",
                 values=pre)
    if rate is not None:
        v = v * rate
    return cs.post(v)


def _currency(report: Report, frame: Frame, cs: ColumnSpec, pre: pd.Series, plan: str,
              rates: dict[str, float]) -> tuple[pd.Series, np.ndarray | None]:
    """Check the currency written with money values: values in ``plan`` (or bare numbers)
    pass; others are converted with ``rates`` (the returned factor per row, 1 for the plan
    currency; ``None`` when all are in it) or reported as errors naming the row (and
    blanked)."""
    codes = currencies(pre)
    foreign = codes.notna() & (codes != plan)
    foreign = foreign.fillna(False).astype(bool)
    if not foreign.any():
        return pre, None
    factor = codes.map(lambda c: rates.get(c) if isinstance(c, str) else None).astype("float64")
    missing = foreign & factor.isna()
    if missing.any():
        found = sorted(set(codes[missing].astype(str)))
        example = ", ".join(f"{c}: <{plan} per {c}>" for c in found)
        row_problems(report, "error", frame, missing, cs.target, "", f"convert the amounts "
                     f"to {plan} in the source, or add rates: {{{example}}} to the mapping",
                     values=pre, reason_fn=lambda v, r: (
                         f"amount in {codes.get(r, 'another currency')}, but the plan "
                         f"currency is {plan}"))
        pre = pre.mask(missing)
    return pre, factor.where(foreign, 1.0).fillna(1.0).to_numpy()


# --------------------------------------------------------------------------- CLI: salesplan validate

def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """``salesplan validate SOURCE [--mapping FILE|PRESET] [--all]``."""
    p = subparsers.add_parser(
        "validate", help="check a data source and list every problem",
        description="Load SOURCE (a folder of CSV or Parquet files, an .xlsx workbook, an "
                    "SQLite file or an SQLAlchemy URL) through a mapping and print every "
                    "problem: exit 0 when it can be loaded, 1 when not.")
    p.add_argument("source", help="folder, workbook, SQLite file or SQLAlchemy URL")
    p.add_argument("--mapping", "-m", default=None,
                   help="mapping YAML file or preset (maven-crm, salesforce, salesforce-users, "
                        "hubspot, hubspot-users); "
                        "default: canonical layout")
    p.add_argument("--all", action="store_true", help="list every problem row (default: at "
                   "most 50 per kind of problem)")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    try:
        _data, report = load_with_report(args.source, args.mapping)
    except SalesplanError:
        raise
    except Exception as exc:  # never a traceback for bad data: one line and exit 1
        print(f"error: could not validate {args.source}: {type(exc).__name__}: {exc}; "
              "please report this with the file that caused it", file=sys.stderr)
        return 1
    print(report.format(limit=None if args.all else 50))
    return 0 if report.ok else 1

NULL_WORDS = ("null", "none", "nan", "n/a", "na", "#n/a", "nil", "-")


def null_words(s: pd.Series) -> pd.Series:
    """True where a value is a literal placeholder for blank (``NULL``, ``N/A``, ``-``...)."""
    if not (isinstance(s.dtype, pd.StringDtype) or s.dtype == object):
        return pd.Series(False, index=s.index)
    return s.astype(schema.STRING).str.strip().str.lower().isin(NULL_WORDS).fillna(False)
