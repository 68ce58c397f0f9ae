"""Mapping files: how a source's tables, columns and values become the canonical tables.

A mapping is YAML (format and examples in ``docs/mapping.md``)::

    name: my-crm
    as_of: latest                    # snapshot date: latest date in the data, today, or a date
    source: {queries: {deals: "SELECT * FROM crm.deals"}}   # reader options (optional)
    tables:
      opportunities:
        from: deals                  # source table (CSV/Parquet stem, sheet, SQL table/query)
        columns:
          opportunity_id: Id         # canonical column: source column
          status: {from: Stage, values: {Closed Won: won, Closed Lost: lost}, default: open}
          amount: {from: Amount, multiply: 1}
          close_date: {from: Close Date, format: "%m/%d/%Y"}

A table may instead be ``sql: SELECT ... FROM a JOIN b ... WHERE ...`` over the source's tables
(DuckDB; :mod:`salesplan_nb.data.sql`), or keep ``from:`` with ``filter:`` (an SQL condition),
``unpivot:``, ``multiply:``, ``aggregate:`` and reader options (``header: false`` + ``names:``,
``delimiter``, ``encoding``, ``skip``); a column may be a ``template: "{First} {Last}"``.
``fiscal_year_start: 7`` sets the month fiscal years (``FY2027``) start.

``mapping=None`` means the canonical layout (``opportunities.csv`` with canonical column names
etc.). Built-in presets live in ``salesplan_nb/data/presets/<name>.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data import schema

PRESET_DIR = Path(__file__).parent / "presets"

TOP_KEYS = {"name", "description", "as_of", "currency", "rates", "source", "tables",
            "fiscal_year_start"}
TABLE_KEYS = {"from", "distinct", "columns", "sql", "filter", "unpivot", "multiply",
              "aggregate", "header", "names", "delimiter", "encoding", "skip", "optional"}
#: how ``aggregate:`` picks the product of a key whose lines have several products
PRODUCT_RULES = ("first", "most_valuable", "mixed")
READ_KEYS = ("header", "names", "delimiter", "encoding", "skip")  # per-table reader options
COLUMN_KEYS = {"from", "value", "values", "default", "missing", "multiply", "format", "split",
               "bins", "optional", "decimal", "template"}


class _LDict(dict):
    """A YAML mapping that remembers the line of each key."""

    line: int = 0

    def __init__(self, *a: Any, **k: Any):
        super().__init__(*a, **k)
        self.lines: dict[Any, int] = {}


class _Loader(yaml.SafeLoader):
    """Safe loader that refuses anchors/aliases (no alias bombs) and reports impossible
    dates (``2017-02-30``) as YAML errors with their line."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            ev = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in mapping files; write the "
                "value out in full", ev.start_mark)
        return super().compose_node(parent, index)


def _timestamp(loader: Any, node: yaml.Node) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a real date ({exc}); write a real date as YYYY-MM-DD",
            node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LDict:
    loader.flatten_mapping(node)
    d = _LDict()
    d.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        d[key] = loader.construct_object(value_node, deep=True)
        d.lines[key] = key_node.start_mark.line + 1
    return d


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class ColumnSpec:
    """How one canonical column is made from the source (see ``docs/mapping.md``)."""

    target: str
    sources: list[str] = field(default_factory=list)
    value: Any = None
    values: dict[str, str] | None = None
    default: str | None = None
    missing: Any = None
    multiply: float | None = None
    formats: list[str] = field(default_factory=list)
    split: str | None = None
    bins: list[tuple[float | None, str]] | None = None
    optional: bool = False
    decimal: str | None = None  # None: not set in the mapping ('.' with an ambiguity check)
    where: str = ""
    line: int | None = None  # line in the mapping file
    template: str | None = None  # "{First} {Last}": sources are the placeholders, in order

    @property
    def at(self) -> str:
        """``where`` plus the mapping line, for messages."""
        return f"{self.where} (mapping line {self.line})" if self.line else self.where

    @property
    def constant(self) -> bool:
        return not self.sources

    def parse_kind(self, dtype: str) -> str:
        """How source values are parsed: ``number``, ``count``, ``date`` or ``string``."""
        if self.bins is not None:
            return "number"
        return {schema.DATE: "date", schema.MONEY: "number",
                schema.COUNT: "count"}.get(dtype, "string")

    def pre(self, df: pd.DataFrame) -> pd.Series:
        """The source values before type parsing: first non-blank of ``from`` columns, then
        ``split`` (keep the first item), ``values`` / ``default`` and ``missing``."""
        n = len(df)
        if self.template is not None:
            s = fill_template(self.template, [df[c] for c in self.sources])
        elif self.constant:
            s = pd.Series([self.value] * n, index=df.index,
                          dtype=schema.STRING if isinstance(self.value, str) or self.value is None
                          else None)
        else:
            s = df[self.sources[0]]
            if len(self.sources) > 1:
                s = _blank_to_na(s)
            for extra in self.sources[1:]:
                s = s.fillna(_blank_to_na(df[extra]))
        if self.split is not None:
            s = _text(s).str.split(self.split, n=1).str[0].str.strip()
            s = _blank_to_na(s)
        if self.values is not None:
            s = _map_values(s, self.values, self.default)
        if self.missing is not None and self.bins is None:  # with bins: the label of blanks
            s = s.fillna(self.missing) if not _is_text(s) else \
                _blank_to_na(s).fillna(str(self.missing))
        return s

    def post(self, s: pd.Series) -> pd.Series:
        """Transforms on parsed values: ``multiply`` then ``bins``."""
        if self.multiply is not None:
            s = s * self.multiply
        if self.bins is not None:
            s = apply_bins(s, self.bins, "Unknown" if self.missing is None else str(self.missing))
        return s


@dataclass
class TableSpec:
    """One canonical table: its source table, whether to keep distinct rows, its columns
    (``None`` = source columns already carry the canonical names)."""

    table: str
    source: str
    columns: dict[str, ColumnSpec] | None = None
    distinct: bool = False
    where: str = ""
    sql: str | None = None  # a query over the source's tables (DuckDB; the server's for SQL)
    filter: str | None = None  # an SQL condition on the rows of ``source``
    unpivot: Unpivot | None = None
    multiply: float | None = None  # every money column of the table (e.g. 1000: USD thousands)
    aggregate: bool = False  # lines -> one row per key: money summed, first of the rest
    product: str | None = None  # aggregate's rule for several products: PRODUCT_RULES
    optional: bool = False  # the source table may be absent: the table stays empty (warned)
    read: dict[str, Any] = field(default_factory=dict)  # reader options for ``source``
    line: int | None = None

    @property
    def at(self) -> str:
        """``where`` plus the mapping line, for messages."""
        return f"{self.where} (mapping line {self.line})" if self.line else self.where


@dataclass
class Unpivot:
    """Wide columns (M01..M12) -> rows: ``columns`` source column -> label, written to
    column ``name``; their values go to column ``value``; other columns repeat."""

    columns: dict[str, str]
    name: str = "column"
    value: str = "value"


@dataclass
class Mapping:
    """A parsed mapping file."""

    name: str = "canonical"
    description: str = ""
    as_of: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, TableSpec] = field(default_factory=dict)
    explicit: bool = False  # tables listed by the user must exist
    origin: str = "canonical layout"
    currency: str = "USD"  # the plan currency: money columns are in it
    rates: dict[str, float] = field(default_factory=dict)  # plan currency per unit of a code
    fiscal_year_start: int = 1  # month the fiscal year starts; FY2027 ends in 2027

    def options(self, source_table: str, spec: TableSpec | None = None) -> dict[str, Any]:
        """Reader options for ``source_table``: ``source:`` options, then
        ``source.tables.<name>``, then the read keys of ``spec`` when it reads that table."""
        base = {k: v for k, v in self.source.items() if k != "tables"}
        per = self.source.get("tables") or {}
        match = next((v for k, v in per.items() if str(k).lower() == source_table.lower()),
                     None)
        out = {**base, **(match or {})}
        if spec is not None and spec.source == source_table and spec.sql is None:
            out.update(spec.read)
        return out


def presets() -> list[str]:
    """Names of the built-in presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def canonical() -> Mapping:
    """The identity mapping: every canonical table from the source table of the same name."""
    return Mapping(tables={t: TableSpec(t, t, None, where=f"tables.{t}") for t in schema.TABLES})


def load_mapping(mapping: str | Path | dict | Mapping | None) -> Mapping:
    """A :class:`Mapping` from ``None`` (canonical layout), a preset name, a YAML file path, a
    dict, or a Mapping. Raises :class:`ConfigError` naming the key and line of any mistake."""
    if mapping is None:
        return canonical()
    if isinstance(mapping, Mapping):
        return mapping
    if isinstance(mapping, dict):
        return parse(mapping, origin="mapping dict")
    text = str(mapping)
    path = Path(text)
    if not path.exists():
        if text in presets():
            path = PRESET_DIR / f"{text}.yaml"
        else:
            raise ConfigError(f"mapping {text!r} is neither a file nor a preset; give a YAML "
                              f"file or one of the presets: {', '.join(presets())}")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        fix = ("" if "write the value out" in str(exc.problem) or "real date" in
               str(exc.problem) else "; fix the indentation / quoting there (quote values "
               "containing ': ' or '#')")
        raise ConfigError(f"mapping file {path}{where}: invalid YAML: {exc.problem}{fix}"
                          ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read mapping file {path}: {' '.join(str(exc).split())}"
                          ) from None
    return parse(raw, origin=str(path))


def _line(d: Any, key: Any) -> str:
    if isinstance(d, _LDict) and key in d.lines:
        return f" (line {d.lines[key]})"
    if isinstance(d, _LDict) and d.line:
        return f" (line {d.line})"
    return ""


def _fail(origin: str, where: str, d: Any, key: Any, msg: str) -> ConfigError:
    return ConfigError(f"mapping {origin}: {where}{_line(d, key)}: {msg}")


def _check_keys(origin: str, where: str, d: dict, allowed: set[str]) -> None:
    for k in d:
        if k not in allowed:
            raise _fail(origin, f"{where}.{k}" if where else str(k), d, k,
                        f"unknown key {k!r}; allowed: {', '.join(sorted(allowed))}")


def parse(raw: Any, origin: str = "mapping") -> Mapping:
    """Validate a mapping loaded from YAML (or given as a dict) into a :class:`Mapping`."""
    if raw is None:
        raise ConfigError(f"mapping {origin} is empty; it needs a 'tables:' section")
    if not isinstance(raw, dict):
        raise ConfigError(f"mapping {origin}: the top level must be a mapping with a 'tables:' "
                          f"section, not {type(raw).__name__}")
    _check_keys(origin, "", raw, TOP_KEYS)
    tables = raw.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise _fail(origin, "tables", raw, "tables",
                    "needs a 'tables:' section mapping canonical tables "
                    f"({', '.join(schema.TABLES)}) to source tables")
    source = raw.get("source") or {}
    if not isinstance(source, dict):
        raise _fail(origin, "source", raw, "source", "must be a mapping of reader options")
    as_of = raw.get("as_of")
    if as_of is not None and str(as_of) != "latest":
        if str(as_of) != "today":
            try:
                pd.Timestamp(str(as_of))
            except (ValueError, OverflowError):
                raise _fail(origin, "as_of", raw, "as_of",
                            f"{as_of!r} is not a date; use latest, today or YYYY-MM-DD"
                            ) from None
    for key in ("name", "description"):
        if raw.get(key) is not None and not isinstance(raw.get(key), str | int | float):
            raise _fail(origin, key, raw, key, "must be plain text")
    currency, rates = _currency(origin, raw)
    fy = raw.get("fiscal_year_start", 1)
    if isinstance(fy, bool) or not isinstance(fy, int) or not 1 <= fy <= 12:
        raise _fail(origin, "fiscal_year_start", raw, "fiscal_year_start",
                    f"{fy!r} is not a month; give 1-12 (7 = the year starts on 1 July)")
    per = source.get("tables")
    if per is not None and (not isinstance(per, dict) or any(
            not isinstance(v, dict) or set(v) - set(READ_KEYS) for v in per.values())):
        raise _fail(origin, "source.tables", source, "tables",
                    "must map source table names to reader options "
                    f"({', '.join(READ_KEYS)}), e.g. {{employees: {{delimiter: '|'}}}}")
    for name, opts in (per or {}).items():
        _read_options(origin, f"source.tables.{name}", opts)
    m = Mapping(name=str(raw.get("name") or Path(origin).stem),
                description=str(raw.get("description") or ""),
                as_of=None if as_of in (None, "latest") else str(as_of),
                source=dict(source), explicit=True, origin=origin, fiscal_year_start=fy,
                currency=currency, rates=rates)
    for tname, tspec in tables.items():
        where = f"tables.{tname}"
        if tname not in schema.TABLES:
            raise _fail(origin, where, tables, tname,
                        f"unknown canonical table {tname!r}; use one of "
                        f"{', '.join(schema.TABLES)}")
        tspec = tspec if tspec is not None else {}
        if isinstance(tspec, str):
            tspec = {"from": tspec}
        if not isinstance(tspec, dict):
            raise _fail(origin, where, tables, tname,
                        "must be a mapping with 'from:' and 'columns:'")
        _check_keys(origin, where, tspec, TABLE_KEYS)
        cols = tspec.get("columns")
        colspecs = None
        if cols is not None:
            if not isinstance(cols, dict):
                raise _fail(origin, f"{where}.columns", tspec, "columns",
                            "must map canonical column names to source columns")
            colspecs = {c: _column(origin, f"{where}.columns.{c}", tname, c, v, cols)
                        for c, v in cols.items()}
        m.tables[tname] = _table(origin, where, tname, tspec, colspecs, tables)
    return m


def _table(origin: str, where: str, tname: str, tspec: dict, colspecs: Any, parent: dict
           ) -> TableSpec:
    """The table-level keys: sql / filter / unpivot / multiply / aggregate / read options."""
    sql = tspec.get("sql")
    if sql is not None:
        if "from" in tspec or "filter" in tspec:
            raise _fail(origin, f"{where}.sql", tspec, "sql",
                        "give either 'sql:' (a query) or 'from:' (+ 'filter:'), not both")
        if not isinstance(sql, str) or not sql.strip():
            raise _fail(origin, f"{where}.sql", tspec, "sql",
                        "must be a query such as SELECT ... FROM employees WHERE ...")
    filt = tspec.get("filter")
    if filt is not None and (not isinstance(filt, str) or not filt.strip()):
        raise _fail(origin, f"{where}.filter", tspec, "filter",
                    "must be an SQL condition such as \"SalesPersonFlag = 1\"")
    multiply = _finite(origin, f"{where}.multiply", tspec, "multiply")
    agg, product = _aggregate(origin, where, tname, tspec)
    optional = _flag(origin, f"{where}.optional", tspec, "optional")
    if optional and schema.TABLES[tname].required:
        raise _fail(origin, f"{where}.optional", tspec, "optional",
                    f"table {tname} is required by every plan and cannot be optional; "
                    "remove 'optional: true'")
    read = {k: tspec[k] for k in READ_KEYS if k in tspec}
    _read_options(origin, where, read, tspec)
    unpivot = None
    if tspec.get("unpivot") is not None:
        unpivot = _unpivot(origin, f"{where}.unpivot", tspec)
    out = TableSpec(tname, str(tspec.get("from") or tname) if sql is None else f"sql:{tname}",
                    colspecs, _flag(origin, f"{where}.distinct", tspec, "distinct"), where,
                    sql=sql, filter=filt, unpivot=unpivot,
                    multiply=multiply,
                    aggregate=agg, product=product, optional=optional, read=read)
    if isinstance(parent, _LDict):
        out.line = parent.lines.get(tname)
    return out


def _aggregate(origin: str, where: str, tname: str, tspec: dict) -> tuple[bool, str | None]:
    """``aggregate:``: ``true`` / ``false``, or ``{product: first | most_valuable | mixed}``
    (aggregate, with that rule for keys whose lines have several products)."""
    agg = tspec.get("aggregate", False)
    keyed = ", ".join(t for t, v in schema.TABLES.items() if v.key)
    if isinstance(agg, dict):
        rule = agg.get("product")
        if set(agg) != {"product"} or rule not in PRODUCT_RULES:
            raise _fail(origin, f"{where}.aggregate", tspec, "aggregate",
                        f"write true, false or {{product: {' | '.join(PRODUCT_RULES)}}} "
                        "(how an order whose lines have several products gets its product)")
        if "product_id" not in schema.TABLES[tname].names:
            raise _fail(origin, f"{where}.aggregate.product", agg, "product",
                        f"table {tname} has no product_id; write aggregate: true")
        return True, str(rule)
    if not isinstance(agg, bool) or (agg and schema.TABLES[tname].key is None):
        raise _fail(origin, f"{where}.aggregate", tspec, "aggregate",
                    f"must be true or false (only for tables with a key: {keyed})")
    return agg, None


def _read_options(origin: str, where: str, opts: dict, parent: Any = None) -> None:
    parent = opts if parent is None else parent
    if "header" in opts and not isinstance(opts["header"], bool):
        raise _fail(origin, f"{where}.header", parent, "header", "must be true or false")
    names = opts.get("names")
    if names is not None and (not isinstance(names, list) or not names
                              or len({str(n) for n in names}) != len(names)):
        raise _fail(origin, f"{where}.names", parent, "names",
                    "must be a list of distinct column names, one per column of the file")
    if opts.get("header") is False and names is None:
        raise _fail(origin, f"{where}.header", parent, "header",
                    "a file without a header row needs 'names:' (its column names, in order)")
    skip = opts.get("skip")
    if skip is not None and (isinstance(skip, bool) or not isinstance(skip, int) or skip < 0):
        raise _fail(origin, f"{where}.skip", parent, "skip",
                    "must be the number of lines to skip before the header (0 or more)")
    d = opts.get("delimiter")
    if d is not None and (not isinstance(d, str) or len(d) != 1):
        raise _fail(origin, f"{where}.delimiter", parent, "delimiter",
                    "must be one character, e.g. '|' or ';' (quote it in YAML)")


def _unpivot(origin: str, where: str, tspec: dict) -> Unpivot:
    u = tspec["unpivot"]
    if not isinstance(u, dict) or "columns" not in u or set(u) - {"columns", "name", "value"}:
        raise _fail(origin, where, tspec, "unpivot",
                    "must be {columns: [M01, M02, ...] or {M01: '01', ...}, name: month, "
                    "value: amount}")
    cols = u["columns"]
    if isinstance(cols, list) and cols:
        cols = {str(c): str(c) for c in cols}
    elif isinstance(cols, dict) and cols:
        cols = {str(k): _key(v) for k, v in cols.items()}
    else:
        raise _fail(origin, f"{where}.columns", u, "columns",
                    "must be a list of source columns, or a mapping column -> label")
    return Unpivot(cols, str(u.get("name", "column")), str(u.get("value", "value")))


def _flag(origin: str, where: str, d: dict, key: str) -> bool:
    """A strict boolean: YAML ``true``/``false`` only (``"no"``, ``1`` are errors)."""
    v = d.get(key, False)
    if not isinstance(v, bool):
        raise _fail(origin, where, d, key, f"{v!r} is not a boolean; write true or false")
    return v


def _finite(origin: str, where: str, d: dict, key: str) -> float | None:
    """A finite number (``.inf``, ``.nan``, text and booleans are errors) or ``None``."""
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(float(v)):
        raise _fail(origin, where, d, key, f"must be a number (finite: not .inf or .nan), "
                    f"not {v!r}; write a plain number such as 1.5")
    return float(v)


CURRENCY_CODE = r"[A-Z]{3}"


def _currency(origin: str, raw: dict) -> tuple[str, dict[str, float]]:
    """``currency:`` (the plan currency, ISO code, default USD) and ``rates:`` (``{EUR:
    1.08}``: plan-currency units per unit of that currency, finite and > 0)."""
    import re

    cur = raw.get("currency", "USD")
    if not isinstance(cur, str) or not re.fullmatch(CURRENCY_CODE, cur):
        raise _fail(origin, "currency", raw, "currency",
                    f"{cur!r} is not a currency code; write a 3-letter code such as USD")
    rates_raw = raw.get("rates") or {}
    if not isinstance(rates_raw, dict):
        raise _fail(origin, "rates", raw, "rates",
                    f"must map currency codes to {cur} per unit, e.g. {{EUR: 1.08}}")
    rates: dict[str, float] = {}
    for code, _ in rates_raw.items():
        if not isinstance(code, str) or not re.fullmatch(CURRENCY_CODE, code):
            raise _fail(origin, f"rates.{code}", rates_raw, code,
                        f"{code!r} is not a 3-letter currency code")
        r = _finite(origin, f"rates.{code}", rates_raw, code)
        if r is None or r <= 0:
            raise _fail(origin, f"rates.{code}", rates_raw, code,
                        f"give the rate as {cur} per {code}, a number above 0")
        rates[code] = r
    return cur, rates


_STRFTIME = "aAwdbBmyYHIpMSfzZjUWcxXGuV%"


def _check_format(origin: str, where: str, spec: dict, fmt: str) -> None:
    """A date format is ``ISO8601``, ``mixed`` or strftime codes (``%d/%m/%Y``)."""
    if fmt in ("ISO8601", "mixed"):
        return
    import re

    codes = re.findall(r"%(.)", fmt.replace("%%", ""))
    bad = [c for c in codes if c not in _STRFTIME]
    if not codes or bad:
        what = f"unknown code %{bad[0]}" if bad else "no %-codes"
        raise _fail(origin, f"{where}.format", spec, "format",
                    f"{fmt!r}: {what}; write the date layout with strftime codes such as "
                    "'%d/%m/%Y' or '%Y-%m-%d' (or ISO8601)")


def _column(origin: str, where: str, table: str, col: str, spec: Any, parent: dict) -> ColumnSpec:
    out = _column_spec(origin, where, table, col, spec, parent)
    if isinstance(parent, _LDict):
        out.line = parent.lines.get(col)
    return out


def _column_spec(origin: str, where: str, table: str, col: str, spec: Any, parent: dict
                 ) -> ColumnSpec:
    t = schema.TABLES[table]
    if col not in t.names:
        raise _fail(origin, where, parent, col,
                    f"unknown column {col!r} of table {table}; columns: {', '.join(t.names)}")
    if isinstance(spec, str | int | float) and not isinstance(spec, bool):
        return ColumnSpec(col, [str(spec)], where=where)
    if isinstance(spec, list):
        spec = {"from": spec}
    if not isinstance(spec, dict):
        raise _fail(origin, where, parent, col,
                    "give a source column name or a mapping with from/value/values/...")
    _check_keys(origin, where, spec, COLUMN_KEYS)
    if sum(k in spec for k in ("from", "value", "template")) != 1:
        raise _fail(origin, where, parent, col,
                    "give exactly one of 'from:' (source column), 'value:' (a constant) or "
                    "'template:' (e.g. \"{FirstName} {LastName}\")")
    template = spec.get("template")
    if template is not None:
        names = _placeholders(str(template))
        if not names:
            raise _fail(origin, f"{where}.template", spec, "template",
                        "must name source columns in braces, e.g. \"{OrderNo}-{LineNo}\"")
        spec = {**spec, "from": names}
    src = spec.get("from")
    sources = [str(s) for s in (src if isinstance(src, list) else [src])] if src is not None \
        else []
    values = spec.get("values")
    if values is not None:
        if not isinstance(values, dict):
            raise _fail(origin, f"{where}.values", spec, "values",
                        "must map source values to canonical values, e.g. {Won: won}")
        values = {_key(k): (None if v is None else str(v)) for k, v in values.items()}
    multiply = _finite(origin, f"{where}.multiply", spec, "multiply")
    value = spec.get("value")
    if value is not None and not isinstance(value, str | int | float | bool):
        raise _fail(origin, f"{where}.value", spec, "value",
                    f"must be one constant (text or number), not {type(value).__name__}")
    if isinstance(value, float) and not np.isfinite(value):
        raise _fail(origin, f"{where}.value", spec, "value", "must be a finite number")
    fmt = spec.get("format")
    formats = [str(f) for f in (fmt if isinstance(fmt, list) else [fmt])] if fmt else []
    for f in formats:
        _check_format(origin, where, spec, f)
    decimal = spec.get("decimal")
    if decimal is not None and decimal not in (".", ","):
        raise _fail(origin, f"{where}.decimal", spec, "decimal", "must be '.' or ','")
    bins = None
    if spec.get("bins") is not None:
        bins = _bins(origin, f"{where}.bins", spec)
    return ColumnSpec(col, sources, value, values,
                      None if spec.get("default") is None else str(spec["default"]),
                      spec.get("missing"), multiply,
                      formats, None if spec.get("split") is None else str(spec["split"]),
                      bins, _flag(origin, f"{where}.optional", spec, "optional"), decimal, where,
                      template=None if template is None else str(template))


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _placeholders(template: str) -> list[str]:
    """Source columns named in a template, in order (each once)."""
    return list(dict.fromkeys(m.strip() for m in _PLACEHOLDER.findall(template)))


def fill_template(template: str, columns: list[pd.Series]) -> pd.Series:
    """``template`` with each ``{column}`` replaced by that row's value (blank -> empty text;
    a row whose placeholders are all blank is blank). ``columns`` follow
    :func:`_placeholders` order. Vectorised string concatenation."""
    from salesplan_nb.data.validate import as_text

    names = _placeholders(template)
    texts = {n: as_text(c) for n, c in zip(names, columns)}
    parts = _PLACEHOLDER.split(template)  # literal, name, literal, name, ...
    index = columns[0].index
    out = pd.Series("", index=index, dtype=schema.STRING)
    allblank = pd.Series(True, index=index)
    for i, part in enumerate(parts):
        if i % 2:
            t = texts[part.strip()]
            allblank &= t.isna()
            out = out + t.fillna("")
        elif part:
            out = out + part
    out = out.str.strip().mask(allblank)
    return out.mask(out == "")


def _key(k: Any) -> str:
    if isinstance(k, float) and k.is_integer():
        return str(int(k))
    return str(k)


def _bins(origin: str, where: str, spec: dict) -> list[tuple[float | None, str]]:
    raw = spec["bins"]
    if not isinstance(raw, list) or not raw:
        raise _fail(origin, where, spec, "bins",
                    "must be a list like [{below: 200, value: SMB}, {value: Enterprise}]")
    out: list[tuple[float | None, str]] = []
    for i, b in enumerate(raw):
        if not isinstance(b, dict) or "value" not in b or set(b) - {"below", "value"}:
            raise _fail(origin, f"{where}[{i}]", b if isinstance(b, dict) else spec,
                        "value" if isinstance(b, dict) else "bins",
                        "each bin is {below: <number>, value: <label>}; the last may omit below")
        below = _finite(origin, f"{where}[{i}].below", b, "below")
        if below is None and i != len(raw) - 1:
            raise _fail(origin, f"{where}[{i}]", b, "value",
                        "only the last bin may omit 'below'")
        out.append((below, str(b["value"])))
    bounds = [b for b, _ in out if b is not None]
    if bounds != sorted(bounds):
        raise _fail(origin, where, spec, "bins", "'below' bounds must increase")
    return out


SEGMENT_BINS: list[tuple[float | None, str]] = [(200.0, "SMB"), (1000.0, "Mid-Market"),
                                                 (None, "Enterprise")]
"""The segment rule of docs/architecture.md: employees < 200 SMB, 200-999 Mid-Market,
>= 1000 Enterprise (unknown -> Unknown)."""


def apply_bins(s: pd.Series, bins: list[tuple[float | None, str]], missing: str = "Unknown"
               ) -> pd.Series:
    """Label numbers by the first bin whose ``below`` bound exceeds them (vectorised)."""
    x = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    out = np.full(len(x), missing, dtype=object)
    done = np.isnan(x)
    for below, label in bins:
        hit = ~done if below is None else (~done & (x < below))
        out[hit] = label
        done |= hit
    return pd.Series(out, index=s.index, dtype=schema.STRING)


def _is_text(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.StringDtype) or s.dtype == object


def _text(s: pd.Series) -> pd.Series:
    return s if isinstance(s.dtype, pd.StringDtype) else s.astype(schema.STRING)


def _blank_to_na(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.StringDtype):
        return s.mask(s.str.strip() == "")
    return s


def _map_values(s: pd.Series, values: dict[str, str | None], default: str | None) -> pd.Series:
    """Replace values by the ``values`` table (exact, then case-insensitive); others keep
    their value, or become ``default`` when one is given. Works on the distinct values."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    lower = {k.strip().lower(): v for k, v in values.items()}
    mapped = []
    for u in uniques:
        key = _key(u) if not isinstance(u, str) else u.strip()
        if key in values:
            mapped.append(values[key])
        elif key.lower() in lower:
            mapped.append(lower[key.lower()])
        else:
            mapped.append(default if default is not None else key)
    out = pd.array(mapped + [None], dtype=schema.STRING)
    return pd.Series(out.take(np.where(codes < 0, len(mapped), codes)), index=s.index)
