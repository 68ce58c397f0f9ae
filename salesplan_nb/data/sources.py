"""Source readers: a folder of CSV files, an Excel workbook, a folder of Parquet files, SQL.

A reader turns one *source table* (a CSV file's stem, a sheet, a Parquet file's stem, an SQL
table or query) into a :class:`RawTable`: a DataFrame whose index is the row number as the user
sees it in the source (1-based, the header is row 1, so the first data row is row 2). CSV values
stay text (``string[pyarrow]``); parsing and validation happen in :mod:`salesplan_nb.data.validate`,
so one bad value never stops the read. Excel, Parquet and SQL keep their own cell types.

Readers are pluggable, papermill-style::

    from salesplan_nb.data import sources
    sources.register("mycrm", MyCrmReader())   # has .detect(location), .tables(location),
                                               # .read(location, name, **options)

:func:`resolve` picks the reader: an explicit ``"kind:location"`` prefix, else the first
registered reader whose ``detect`` accepts the location.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from salesplan_nb.core import secrets
from salesplan_nb.core.errors import ConfigError

STRING = pd.StringDtype("pyarrow")


@dataclass
class RawTable:
    """One source table as read: ``df`` indexed by source row number, ``origin`` the name to
    show in reports (file name, ``book.xlsx[sheet]``, SQL table), ``notes`` problems found
    while reading, as keyword arguments of :meth:`salesplan_nb.data.validate.Report.add`
    (``severity, reason, fix`` and optionally ``row, value, handled, count``)."""

    name: str
    df: pd.DataFrame
    origin: str
    notes: list[dict[str, Any]] = field(default_factory=list)
    delimiter: str | None = None  # CSV field delimiter (';' files: European number format)


class Reader(Protocol):
    """What :func:`register` expects."""

    def detect(self, location: str) -> bool: ...

    def tables(self, location: str, **options: Any) -> list[str]: ...

    def read(self, location: str, name: str, **options: Any) -> RawTable: ...


class SourceError(Exception):
    """A source table could not be read; ``reason`` and ``fix`` go into the report."""

    def __init__(self, reason: str, fix: str = "", missing: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.fix = fix
        self.missing = missing  # the table does not exist (vs. exists but is unreadable)
        self.origin: str | None = None  # file name, when known


_READERS: dict[str, Reader] = {}


def register(kind: str, reader: Reader) -> None:
    """Register (or replace) the reader for ``kind``; later registrations are tried first."""
    _READERS.pop(kind, None)
    _READERS[kind] = reader


def readers() -> dict[str, Reader]:
    """The registered readers by kind, in detection order."""
    return dict(reversed(list(_READERS.items())))


def resolve(source: str | Path) -> tuple[str, Reader, str]:
    """``(kind, reader, location)`` for a source path, URL or ``"kind:location"``."""
    text = str(source)
    kind, sep, rest = text.partition(":")
    if sep and kind in _READERS and not rest.startswith("//"):
        return kind, _READERS[kind], rest
    for kind, reader in readers().items():
        if reader.detect(text):
            return kind, reader, text
    if not Path(text).exists() and "://" not in text:
        raise ConfigError(f"source {text!r} does not exist: give a folder of CSV or Parquet "
                          "files, an .xlsx workbook, an SQLite file or an SQLAlchemy URL")
    raise ConfigError(f"cannot tell what kind of source {text!r} is; use a folder of .csv or "
                      f".parquet files, an .xlsx workbook or an SQLAlchemy URL, or prefix the "
                      f"kind, e.g. 'csv:{text}' (kinds: {', '.join(_READERS)})")


def _numbered(df: pd.DataFrame) -> pd.DataFrame:
    df.index = pd.RangeIndex(2, len(df) + 2, name="row")
    return df


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    mapper = {pa.string(): STRING, pa.large_string(): STRING}.get
    return table.to_pandas(types_mapper=mapper)


def _strings(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding only text (or blanks) as ``string[pyarrow]``."""
    text = [c for c in df.columns if df[c].dtype == object
            and pd.api.types.infer_dtype(df[c], skipna=True) in ("string", "empty")]
    return df.astype({c: STRING for c in text}) if text else df


def _stems(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith("."):
            out.setdefault(p.stem, p)
    return out


def _find(files: dict[str, Any], name: str, where: str, what: str) -> Any:
    if name in files:
        return files[name]
    lower = {k.lower(): v for k, v in files.items()}
    if name.lower() in lower:
        return lower[name.lower()]
    add = {"CSV file": f"{name}.csv", "Parquet file": f"{name}.parquet"}.get(
        what, f"a {what} named {name}")
    raise SourceError(f"no {what} named {name!r} in {where}",
                      f"add {add}, or map the table to one of: "
                      f"{', '.join(files) or '(none)'}", missing=True)


class _FolderReader:
    """A folder of ``<table><suffix>`` files, or one such file."""

    suffixes: tuple[str, ...] = ()

    def detect(self, location: str) -> bool:
        p = Path(location)
        return (p.is_dir() and bool(_stems(p, self.suffixes))) or (
            p.is_file() and p.suffix.lower() in self.suffixes)

    def _files(self, location: str) -> dict[str, Path]:
        p = Path(location)
        return {p.stem: p} if p.is_file() else _stems(p, self.suffixes)

    def tables(self, location: str, **options: Any) -> list[str]:
        return list(self._files(location))


NOT_TABLES = {"as_of", "fiscal_year_start"}  # snapshot metadata written next to the tables


class CsvReader(_FolderReader):
    """A folder of ``<table>.csv`` files (also ``.tsv``, ``.psv`` pipe-separated and ``.txt``;
    UTF-8, other encodings are detected, decoded and warned). Read with ``pyarrow.csv``;
    every column is text. Options (per table through the mapping): ``delimiter``,
    ``encoding``, ``header: false`` with ``names: [...]``, ``skip`` (lines before the
    header)."""

    suffixes = (".csv", ".tsv", ".psv")
    text_suffixes = (".txt",)  # read as tables, but not enough to detect a CSV folder

    def _files(self, location: str) -> dict[str, Path]:
        p = Path(location)
        if p.is_file():
            return {p.stem: p}
        files = _stems(p, self.suffixes + self.text_suffixes)
        return {k: v for k, v in files.items() if k not in NOT_TABLES}

    def read(self, location: str, name: str, **options: Any) -> RawTable:
        path = _find(self._files(location), name, location, "CSV file")
        try:
            return self._read_file(path, name, options)
        except SourceError as exc:
            exc.origin = path.name
            raise
        except (csv.Error, pa.ArrowException, UnicodeError, ValueError) as exc:
            err = SourceError(f"cannot read CSV: {type(exc).__name__}: {exc}",
                              "check that the file is a complete CSV export (text, one "
                              "header row, quoted values)")
            err.origin = path.name
            raise err from None

    def _read_file(self, path: Path, name: str, options: dict[str, Any]) -> RawTable:
        if options.get("header", True) is False or options.get("skip"):
            return self._read_plain(path, name, options)
        delimiter = options.get("delimiter") or {".tsv": "\t", ".psv": "|"}.get(
            path.suffix.lower())
        notes: list[dict[str, Any]] = []
        if path.stat().st_size == 0:
            raise SourceError("file is empty (no header row)",
                              "export the table again with a header row and data")
        data: Any = str(path)
        encoding = options.get("encoding")
        if encoding:
            data = io.BytesIO(path.read_bytes().decode(encoding).encode("utf-8"))
        try:
            try:
                df, delimiter = self._read(data, delimiter)
                df = _numbered(df)
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                if "UTF8" not in str(exc) and not isinstance(exc, UnicodeDecodeError):
                    raise
                raw = path.read_bytes()
                enc = _detect_encoding(raw)
                data = io.BytesIO(raw.decode(enc, errors="replace").encode("utf-8"))
                notes.append(dict(severity="warning",
                                  reason=f"file is not UTF-8; detected encoding {enc}",
                                  fix="save the file as UTF-8 (or set source.encoding in the "
                                  "mapping)", handled=f"decoded as {enc}", count=-1))
                df, delimiter = self._read(data, delimiter)
                df = _numbered(df)
        except pa.ArrowInvalid as exc:
            if "CSV parse error" not in str(exc):
                raise SourceError(f"cannot parse CSV: {exc}",
                                  "check quoting and the delimiter of this file") from None
            if delimiter is None:
                delimiter = _header(data, None)[1]
            df, bad = _read_slow(data, delimiter)  # ragged rows: find each with its row number
            notes += [dict(severity="error", row=r, reason=f"{n} fields, but the header has "
                           f"{len(df.columns)}", fix="check the quoting / delimiter on this row")
                      for r, n in bad]
        return RawTable(name, df, path.name, notes, delimiter=delimiter)

    @staticmethod
    def _read(data: Any, delimiter: str | None) -> tuple[pd.DataFrame, str]:
        header, delimiter = _header(data, delimiter)
        if not header or all(not h for h in header):
            raise SourceError("file is empty (no header row)",
                              "export the table again with a header row and data")
        dupes = sorted({h for h in header if header.count(h) > 1})
        if _looks_like_data(header) or any(_looks_like_data([h]) for h in dupes):
            shown = ", ".join(repr(h) for h in header[:4])
            raise SourceError(f"the first line looks like data, not a header row ({shown}"
                              f"{', ...' if len(header) > 4 else ''}): the file seems to have "
                              "no header row",
                              "set header: false and names: [column, names, ...] for this "
                              "table in the mapping (or add a header row)")
        header = [h or f"unnamed_{i + 1}" for i, h in enumerate(header)]
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise SourceError(f"duplicate column header(s) {', '.join(map(repr, dupes))}",
                              "give every column a distinct name in the header row")
        if _blank_lines_inside(data):  # pyarrow would skip them and shift the row numbers
            raise pa.ArrowInvalid("CSV parse error: blank line")
        if isinstance(data, io.BytesIO):
            data.seek(0)
        table = pacsv.read_csv(
            data,
            read_options=pacsv.ReadOptions(block_size=1 << 24, column_names=header,
                                           skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=True,
                null_values=[""], quoted_strings_can_be_null=True))
        return _to_pandas(table), delimiter


    def _read_plain(self, path: Path, name: str, options: dict[str, Any]) -> RawTable:
        """A file read with explicit options: ``skip`` lines first, then the header row (or
        ``header: false`` and ``names``). Row numbers stay the file's line numbers."""
        skip = int(options.get("skip") or 0)
        header = options.get("header", True) is not False
        names = [str(n) for n in options.get("names") or []]
        enc = options.get("encoding") or "utf-8-sig"
        delimiter = options.get("delimiter") or {".tsv": "\t", ".psv": "|"}.get(
            path.suffix.lower())
        try:
            raw = path.read_bytes().decode(enc)
        except UnicodeDecodeError:
            raise SourceError(f"file is not {enc}", "set encoding: for this table (e.g. "
                              "cp1252) in the mapping") from None
        lines = raw.splitlines(keepends=True)
        body = "".join(lines[skip:])
        if delimiter is None:
            first = body.split("\n", 1)[0]
            counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
            delimiter = max(counts, key=lambda d: (counts[d], d == ","))
        data = io.BytesIO(body.encode("utf-8"))
        if header:
            cols = _header(data, delimiter)[0]
            if names:
                if len(names) != len(cols):
                    raise SourceError(f"names: gives {len(names)} columns, the file has "
                                      f"{len(cols)}", "give one name per column")
                cols = names
        else:
            width = len(next(csv.reader(io.StringIO(body.split("\n", 1)[0]),
                                        delimiter=delimiter), []))
            if width != len(names):
                raise SourceError(f"names: gives {len(names)} columns, the file has {width} "
                                  "(first line)", "give one name per column, in file order")
            cols = names
        data.seek(0)
        table = pacsv.read_csv(
            data,
            read_options=pacsv.ReadOptions(block_size=1 << 24, column_names=cols,
                                           skip_rows=1 if header else 0),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in cols}, strings_can_be_null=True,
                null_values=[""], quoted_strings_can_be_null=True))
        df = _to_pandas(table)
        first = skip + (2 if header else 1)
        df.index = pd.RangeIndex(first, len(df) + first, name="row")
        return RawTable(name, df, path.name)


_DATA_LIKE = r"^(?:[-+]?[\d.,$€£]+|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}.*|NA|NULL|N/A)$"


def _looks_like_data(header: list[str]) -> bool:
    """Whether a header row is really a data row: most names are numbers, dates or NA (the
    caller also asks this of repeated names: ``NA`` twice is data, not two headers)."""
    import re

    filled = [h for h in header if h]
    hits = sum(bool(re.match(_DATA_LIKE, h, re.IGNORECASE)) for h in filled)
    return bool(filled) and hits * 2 > len(filled)


def _blank_lines_inside(data: Any) -> bool:
    """True when an empty line is followed by more data (a fast byte scan; trailing blank
    lines do not count)."""
    import mmap

    def scan(buf: Any) -> bool:
        first = buf.find(b"\n")
        if first == -1:
            return False
        pat = b"\n\r\n" if first > 0 and buf[first - 1: first] == b"\r" else b"\n\n"
        i = buf.find(pat)  # only line breaks after the first one -> none after later ones
        return i != -1 and _data_after(buf, i + len(pat))

    if isinstance(data, io.BytesIO):
        return scan(data.getvalue())
    with open(data, "rb") as fh:
        if fh.seek(0, 2) == 0:
            return False
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return scan(mm)


def _data_after(buf: Any, i: int) -> bool:
    """Whether anything but line breaks follows position ``i``."""
    while i < len(buf):
        if buf[i: i + 65536].strip(b"\r\n"):
            return True
        i += 65536
    return False


def _read_slow(data: Any, delimiter: str) -> tuple[pd.DataFrame, list[tuple[int, int]]]:
    """Read a CSV with ragged rows record by record (only for broken files): the good records
    keep their row numbers (header = row 1), the bad ones are returned as ``(row, fields)``."""
    if isinstance(data, io.BytesIO):
        text = io.StringIO(data.getvalue().decode("utf-8-sig"))
    else:
        text = open(data, encoding="utf-8-sig", newline="")  # noqa: SIM115
    with text:
        reader = csv.reader(text, delimiter=delimiter)
        header = [h.strip() or f"unnamed_{i + 1}" for i, h in enumerate(next(reader))]
        rows, index, bad = [], [], []
        for i, rec in enumerate(reader, start=2):
            if len(rec) == len(header):
                rows.append(rec)
                index.append(i)
            elif any(v.strip() for v in rec):
                bad.append((i, len(rec)))
    df = pd.DataFrame(rows, columns=header, dtype=STRING)
    df = df.mask(df == "")
    df.index = pd.Index(index, dtype="int64", name="row")
    return df, bad


def _header(data: Any, delimiter: str | None) -> tuple[list[str], str]:
    """The header row's names (stripped) and the delimiter: given, else the most frequent of
    ``, ; TAB |`` in the first line (comma on ties)."""
    if isinstance(data, io.BytesIO):
        first = data.getvalue()[:1 << 16]
    else:
        with open(data, "rb") as fh:
            first = fh.read(1 << 16)
    cut = first.rfind(b"\n")
    if cut > 0:  # whole lines only: never split a multi-byte character
        first = first[:cut]
    text = first.decode("utf-8-sig")  # raises UnicodeDecodeError for other encodings
    if delimiter is None:
        line1 = text.split("\n", 1)[0]
        counts = {d: line1.count(d) for d in (",", ";", "\t", "|")}
        delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    line = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    return [h.strip() for h in line], delimiter


def _detect_encoding(raw: bytes) -> str:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw[: 1 << 20]))
    western = {"cp1252", "latin_1", "iso8859_1", "iso8859_15"}
    if not matches or any(e in western for m in matches for e in m.could_be_from_charset):
        try:  # Windows-1252 / Latin-1: by far the most common non-UTF-8 CRM export
            raw.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"
    enc = matches[0].encoding
    return "cp1252" if enc in ("ascii", "utf_8") else enc


class ExcelReader:
    """An ``.xlsx`` workbook, one sheet per source table (header in row 1)."""

    suffixes = (".xlsx", ".xlsm", ".xls")

    def detect(self, location: str) -> bool:
        return Path(location).is_file() and Path(location).suffix.lower() in self.suffixes

    def __init__(self) -> None:
        self._cache: tuple[tuple, pd.ExcelFile] | None = None

    def _book(self, location: str) -> pd.ExcelFile:
        """The workbook, parsed once per load (cached while the file is unchanged)."""
        st = Path(location).stat()
        key = (str(Path(location).resolve()), st.st_mtime_ns, st.st_size)
        if self._cache is None or self._cache[0] != key:
            engine = "xlrd" if Path(location).suffix.lower() == ".xls" else "openpyxl"
            try:
                self._cache = (key, pd.ExcelFile(location, engine=engine))
            except ImportError:
                raise SourceError("reading legacy .xls workbooks needs the xlrd package",
                                  "pip install xlrd, or save the workbook as .xlsx") from None
            except Exception as exc:  # not a workbook, encrypted, truncated...
                raise SourceError(f"cannot open workbook: {type(exc).__name__}: {exc}",
                                  "save it again as .xlsx from Excel") from None
        return self._cache[1]

    def tables(self, location: str, **options: Any) -> list[str]:
        return [str(s) for s in self._book(location).sheet_names]

    def read(self, location: str, name: str, **options: Any) -> RawTable:
        book = self._book(location)
        sheet = _find({str(s): str(s) for s in book.sheet_names}, name, location, "sheet")
        skip = int(options.get("skip") or 0)
        header = options.get("header", True) is not False
        names = options.get("names")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = book.parse(sheet_name=sheet, dtype=object, skiprows=skip,
                            header=0 if header else None)
            head = book.parse(sheet_name=sheet, header=None, nrows=1, dtype=object,
                              skiprows=skip) if header and not names else None
        found = [str(v).strip() for v in head.iloc[0].tolist() if pd.notna(v)] \
            if head is not None and len(head) else []
        dupes = sorted({h for h in found if found.count(h) > 1})
        if dupes:  # pandas would rename the second one "x.1": refused, as for CSV
            err = SourceError(f"duplicate column header(s) {', '.join(map(repr, dupes))} in "
                              f"row {skip + 1}", "give every column a distinct name in the "
                              "header row")
            err.origin = f"{Path(location).name}[{sheet}]"
            raise err
        if names:
            if len(names) != df.shape[1]:
                raise SourceError(f"names: gives {len(names)} columns, the sheet has "
                                  f"{df.shape[1]}", "give one name per column, in order")
            df.columns = [str(n) for n in names]
        df.columns = [str(c).strip() for c in df.columns]
        if df.shape[1] == 0:
            raise SourceError("sheet is empty (no header row)",
                              "put the column names in row 1 and the data below")
        df = df.dropna(how="all")  # trailing formatted-but-empty rows
        df = _strings(df)
        df.index = pd.Index(np.asarray(df.index) + skip + (2 if header else 1), name="row")
        return RawTable(name, df, f"{Path(location).name}[{sheet}]")


class ParquetReader(_FolderReader):
    """A folder of ``<table>.parquet`` files (or one file)."""

    suffixes = (".parquet", ".pq")

    def read(self, location: str, name: str, **options: Any) -> RawTable:
        import pyarrow.parquet as pq

        path = _find(self._files(location), name, location, "Parquet file")
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceError(f"cannot read Parquet file: {exc}",
                              "write the file again (e.g. DataFrame.to_parquet)") from None
        return RawTable(name, _numbered(_to_pandas(table)), path.name)


class SqlReader:
    """An SQLAlchemy URL (``postgresql+psycopg://...``, ``sqlite:///file.db``) or an SQLite
    file. Source tables are database tables (``schema`` option for a schema) or, through the
    ``queries`` option (``{name: "SELECT ..."}``), any query."""

    def detect(self, location: str) -> bool:
        if "://" in location or _ENV_URL.fullmatch(location):
            return True
        p = Path(location)
        if p.is_file() and p.suffix.lower() in (".db", ".sqlite", ".sqlite3"):
            return True
        return False

    @staticmethod
    def _url(location: str) -> str:
        env = _ENV_URL.fullmatch(location)
        if env:  # a named connection: the URL (with its password) lives in the environment
            url = os.environ.get(env["name"])
            if not url:
                raise ConfigError(f"environment variable {env['name']} is not set; set it to "
                                  "the database URL, e.g. export "
                                  f"{env['name']}=postgresql+psycopg://user:password@host/db")
            location = url
        if "://" not in location:
            return f"sqlite:///{Path(location).resolve()}"
        scheme, rest = location.split("://", 1)
        if scheme in ("postgresql", "postgres"):  # default driver psycopg2 is not a dependency
            import importlib.util

            if importlib.util.find_spec("psycopg2") is None:
                return f"postgresql+psycopg://{rest}"
        return location

    def _engine(self, location: str):
        import sqlalchemy as sa

        try:
            return sa.create_engine(self._url(location))
        except Exception as exc:  # bad URL or missing driver
            raise ConfigError(f"cannot use SQL source {_safe_url(location)}: "
                              f"{secrets.mask(exc)}; "
                              "give an SQLAlchemy URL such as "
                              "postgresql+psycopg://user@host/db or sqlite:///file.db") from None

    def tables(self, location: str, **options: Any) -> list[str]:
        import sqlalchemy as sa

        engine = self._engine(location)
        try:
            names = sa.inspect(engine).get_table_names(schema=options.get("schema"))
        finally:
            engine.dispose()
        return list(names) + list(options.get("queries") or {})

    def read(self, location: str, name: str, **options: Any) -> RawTable:
        import sqlalchemy as sa

        queries = options.get("queries") or {}
        engine = self._engine(location)
        try:
            with engine.connect() as conn:
                if name in queries:
                    sql, origin = sa.text(queries[name]), f"query {name!r}"
                else:
                    tables = sa.inspect(conn).get_table_names(schema=options.get("schema"))
                    match = name if name in tables else next(
                        (t for t in tables if t.lower() == name.lower()), None)
                    if match is None:
                        raise SourceError(
                            f"no table named {name!r} in {_safe_url(location)}",
                            f"create it, or give a query for {name!r} under source.queries "
                            f"in the mapping (tables: {', '.join(tables) or '(none)'})",
                            missing=True)
                    tbl = sa.Table(match, sa.MetaData(), schema=options.get("schema"),
                                   autoload_with=conn)
                    sql, origin = sa.select(tbl), f"table {match}"
                df = pd.read_sql(sql, conn)
        except SourceError:
            raise
        except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
            raise SourceError(f"SQL error: {secrets.mask(str(exc).splitlines()[0])}",
                              "check the table name / query and the connection URL") from None
        finally:
            engine.dispose()
        df = _strings(df)
        return RawTable(name, _numbered(df), origin)


_ENV_URL = re.compile(r"env:(?P<name>[A-Za-z_][A-Za-z0-9_]*)")


def _safe_url(location: str) -> str:
    """The URL without its password, for messages (``env:NAME`` as it is)."""
    if _ENV_URL.fullmatch(location):
        return location
    try:
        from sqlalchemy.engine import make_url

        return make_url(SqlReader._url(location)).render_as_string(hide_password=True)
    except Exception:
        return secrets.mask(location) if "://" in location else "the SQL source"


def storable(source: str) -> str:
    """How a source is written to plan.yaml: paths resolved, URLs without their password
    (``env:NAME`` kept as it is: the URL stays in the environment)."""
    text = str(source)
    if _ENV_URL.fullmatch(text):
        return text
    if "://" in text:
        return secrets.strip(text)
    return str(Path(text).resolve())


class FrameReader:
    """DataFrames already in memory, one per source table: ``load({"orders": df, "people":
    people}, mapping)``. Columns keep their dtypes (object text as Arrow strings); row numbers
    count as in a file with a header (first row = row 2). Only used through :func:`frames`."""

    def __init__(self) -> None:
        self._sets: dict[str, dict[str, pd.DataFrame]] = {}

    def detect(self, location: str) -> bool:
        return False

    def put(self, frames: dict[str, pd.DataFrame]) -> str:
        bad = [k for k, v in frames.items() if not isinstance(v, pd.DataFrame)]
        if bad:
            raise ConfigError(f"source tables {', '.join(map(repr, bad))} are not DataFrames; "
                              "give a dict of table name -> pandas DataFrame")
        key = f"{len(self._sets)}-{id(frames)}"
        self._sets[key] = dict(frames)
        return key

    def drop(self, key: str) -> None:
        self._sets.pop(key, None)

    def tables(self, location: str, **options: Any) -> list[str]:
        return list(self._sets.get(location, {}))

    def read(self, location: str, name: str, **options: Any) -> RawTable:
        df = _find(self._sets.get(location, {}), name, "the DataFrames", "DataFrame")
        df = _strings(df.reset_index(drop=True).copy())
        df.columns = [str(c) for c in df.columns]
        return RawTable(name, _numbered(df), f"DataFrame {name}")


FRAMES = FrameReader()


def frames(tables: dict[str, pd.DataFrame]) -> str:
    """Register in-memory DataFrames as a source: returns ``"frames:<key>"`` for
    :func:`resolve` (the loader drops them again after the load)."""
    return f"frames:{FRAMES.put(tables)}"


register("frames", FRAMES)
register("sql", SqlReader())
register("excel", ExcelReader())
register("parquet", ParquetReader())
register("csv", CsvReader())
