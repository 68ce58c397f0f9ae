"""Property-based hardening tests (issue 16): generated inputs for every class of problem.

The contract: every bad input ends in exit 1 with one line naming the file, row and column
(or the plan.yaml / mapping line) and the fix; never a traceback, never a plan built on wrong
numbers. Every accepted input's totals equal an independent computation (pandas or plain
Python on the generated values).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesplan_nb import cli
from salesplan_nb.core import display, secrets
from salesplan_nb.core.errors import ConfigError, WorkspaceError
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.loaders import load_with_report
from salesplan_nb.data.workspace import Workspace

FAST = settings(max_examples=20, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def run_cli(*args: str) -> tuple[int, str, str]:
    """``salesplan ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


def refused(rc: int, out: str, err: str, *names: str) -> str:
    """Assert the one-line refusal contract; returns the first error line."""
    text = out + err
    assert rc == 1, text
    assert "Traceback" not in text
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("error:")
             and not ln.startswith("error: cannot load")]  # DataError's header: lines follow
    assert lines, text
    first = lines[0]
    for n in names:
        assert n in first, (n, first)
    assert "fix" in first or "set " in first or "give" in first or "write" in first, first
    return first


def canonical(folder: Path, amounts: list[str], *, status: list[str] | None = None,
              close: list[str] | None = None, created: list[str] | None = None,
              sep: str = ",") -> None:
    """A canonical CSV folder with one opportunity per amount text."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "accounts.csv").write_text("account_id,name\nA1,Alpha\n")
    (folder / "reps.csv").write_text("rep_id,name\nR1,Ann\n")
    (folder / "products.csv").write_text("product_id,name\nP1,Widget\n")
    n = len(amounts)
    status = status or ["won"] * n
    close = close or ["2024-02-01"] * n
    created = created or ["2024-01-01"] * n
    head = sep.join(["opportunity_id", "account_id", "owner_id", "product_id", "stage",
                     "status", "created_date", "close_date", "amount"])
    rows = [sep.join([f"O{i}", "A1", "R1", "P1", s.title(), s, cr, cl, f'"{a}"'])
            for i, (a, s, cr, cl) in enumerate(zip(amounts, status, created, close))]
    (folder / "opportunities.csv").write_text(head + "\n" + "\n".join(rows) + "\n")


def plain_amount(x: float) -> str:
    return f"{x:.2f}"


amounts = st.lists(st.integers(0, 10_000_000).map(lambda c: c / 100), min_size=1, max_size=8)


# ---- 1 as_of from facts ---------------------------------------------------------------------
day = st.dates(min_value=pd.Timestamp("2015-01-01").date(),
               max_value=pd.Timestamp("2030-12-31").date())


@FAST
@given(st.lists(st.tuples(st.sampled_from(["won", "lost", "open"]), day, day), min_size=1,
                max_size=12))
def test_as_of_comes_from_facts_never_expected_dates(deals):
    rows = [(s, min(a, b), max(a, b)) for s, a, b in deals]  # created <= close
    opps = pd.DataFrame({"opportunity_id": [f"o{i}" for i in range(len(rows))],
                         "owner_id": "r", "stage": "x", "status": [r[0] for r in rows],
                         "created_date": [str(r[1]) for r in rows],
                         "close_date": [str(r[2]) for r in rows], "amount": 1.0})
    d = Dataset(accounts=pd.DataFrame({"account_id": ["a"], "name": ["a"]}), opportunities=opps,
                reps=pd.DataFrame({"rep_id": ["r"], "name": ["r"]}),
                products=pd.DataFrame({"product_id": ["p"]}))
    facts = [pd.Timestamp(r[2]) for r in rows if r[0] != "open"] + \
        [pd.Timestamp(r[1]) for r in rows]
    assert d.as_of == max(facts)
    assert d.as_of_rule in ("latest won/lost close date", "latest created date")
    open_only = [pd.Timestamp(r[2]) for r in rows if r[0] == "open"]
    if open_only and max(open_only) > max(facts):
        assert d.as_of < max(open_only)  # an expected date never moves the snapshot


# ---- 2 credentials ----------------------------------------------------------------------------
password = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"),
                                 whitelist_characters="-_.~!$"), min_size=4, max_size=20)


@settings(max_examples=8, deadline=None)
@given(password)
def test_passwords_never_shown_nor_stored(pw):
    url = f"postgresql+nosuchdriver://ann:{pw}@db.example:5432/crm"
    rc, out, err = run_cli("validate", url)
    assert rc == 1 and pw not in out + err and "Traceback" not in out + err
    assert secrets.mask(f"see {url} now") == "see postgresql+nosuchdriver://ann:***@db.example" \
        ":5432/crm now"
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "p", data=_tiny(), source={"kind": "sql", "url": url})
        ws.record("data_source", "source", url)
        text = (ws.path / "plan.yaml").read_text()
        assert pw not in text and "ann@db.example" in text
        assert ws.get("data_source", "source") == "postgresql+nosuchdriver://ann@db.example" \
            ":5432/crm"


def test_env_named_connection(monkeypatch, tmp_path):
    from salesplan_nb.data import sources

    assert sources.storable("env:CRM_DB") == "env:CRM_DB"
    monkeypatch.delenv("CRM_DB", raising=False)
    rc, out, err = run_cli("validate", "env:CRM_DB")
    assert rc == 1 and "CRM_DB is not set" in err
    db = tmp_path / "crm.db"
    import sqlite3

    con = sqlite3.connect(db)
    con.executescript("create table accounts(account_id text, name text);"
                      "insert into accounts values ('A1','Alpha');")
    con.close()
    monkeypatch.setenv("CRM_DB", f"sqlite:///{db}")
    rc, out, err = run_cli("validate", "env:CRM_DB")
    assert "env:CRM_DB" in out and "no table named 'opportunities'" in out


# ---- 3 currencies -------------------------------------------------------------------------------
MARKS = {"USD": ["$", "USD ", "US$"], "EUR": ["€", "EUR "], "GBP": ["£"], "CHF": ["CHF "],
         "JPY": ["¥"]}


@FAST
@given(st.lists(st.tuples(st.integers(1, 10_000_000), st.sampled_from(sorted(MARKS)),
                          st.integers(0, 9)), min_size=1, max_size=8),
       st.booleans())
def test_foreign_currency_is_an_error_or_converted(values, with_rates):
    texts = [f"{MARKS[c][k % len(MARKS[c])]}{v:,}" for v, c, k in values]
    rates = {"EUR": 1.1, "GBP": 1.25, "CHF": 1.125, "JPY": 0.0075}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "src"
        canonical(folder, texts)
        mapping = {"tables": {t: t for t in ("opportunities", "accounts", "reps", "products")}}
        if with_rates:
            mapping["rates"] = rates
        data, report = load_with_report(folder, mapping)
        foreign = [i for i, (_, c, _) in enumerate(values) if c != "USD"]
        if foreign and not with_rates:
            assert data is None
            errs = [p for p in report.errors if "plan currency is USD" in p.reason]
            assert sorted(p.row for p in errs) == [i + 2 for i in foreign]
            assert all("rates:" in p.fix and p.column == "amount" for p in errs)
        else:
            expect = sum(v * (rates.get(c, 1.0)) for v, c, _ in values)
            assert data is not None, report.format()
            assert math.isclose(data.opportunities["amount"].sum(), expect, rel_tol=1e-12)


def test_currency_cli_line_and_no_plan(tmp_path):
    canonical(tmp_path / "src", ["12 EUR", "100"])
    rc, out, err = run_cli("init", tmp_path / "plan", "--data", tmp_path / "src")
    first = refused(rc, out, err, "opportunities.csv", "row 2", "amount")
    assert "EUR" in first and not (tmp_path / "plan" / "plan.yaml").exists()


# ---- 4 inf / NaN / 1e309 ---------------------------------------------------------------------
bad_number = st.sampled_from(["inf", "-inf", "Infinity", "nan", "NaN", "1e309", "-1e400"])


@FAST
@given(amounts, bad_number, st.data())
def test_non_finite_amounts_are_refused(good, bad, data):
    pos = data.draw(st.integers(0, len(good)))
    texts = [plain_amount(x) for x in good]
    texts.insert(pos, bad)
    with tempfile.TemporaryDirectory() as tmp:
        canonical(Path(tmp), texts)
        rc, out, err = run_cli("validate", tmp)
        first = refused(rc, out, err, "opportunities.csv", f"row {pos + 2}", "column amount")
        assert "not a number" in first


@FAST
@given(st.sampled_from([".inf", "-.inf", ".nan", ".NaN"]), st.sampled_from(["multiply", "below"]))
def test_non_finite_mapping_numbers_are_refused(bad, key):
    col = (f"{{from: amount, multiply: {bad}}}" if key == "multiply" else
           f"{{from: amount, bins: [{{below: {bad}, value: a}}, {{value: b}}]}}")
    with tempfile.TemporaryDirectory() as tmp:
        m = Path(tmp) / "m.yaml"
        m.write_text(f"tables:\n  opportunities:\n    columns:\n      amount: {col}\n")
        rc, out, err = run_cli("validate", tmp, "--mapping", m)
        refused(rc, out, err, str(m), "line 4", key)


@FAST
@given(st.sampled_from([".inf", "-.inf", ".nan"]))
def test_non_finite_plan_values_are_refused(bad):
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "p", data=_tiny())
        ws.record("kpis", "targets", {"bookings": 5.0})
        p = ws.path / "plan.yaml"
        p.write_text(p.read_text().replace("bookings: 5.0", f"bookings: {bad}"))
        with pytest.raises(WorkspaceError, match=r"line \d+: decisions.kpis.targets"):
            Workspace.open(ws.path)
        with pytest.raises(WorkspaceError, match="finite"):
            ws.record("kpis", "x", float("inf"))


# ---- 6 silent misparsing -----------------------------------------------------------------------
def eu(x: int) -> str:
    return f"{x:,}".replace(",", ".")


@FAST
@given(st.lists(st.integers(0, 50_000_000), min_size=1, max_size=8), st.booleans())
def test_semicolon_files_with_dotted_thousands(values, set_decimal):
    texts = [eu(v) for v in values]
    with tempfile.TemporaryDirectory() as tmp:
        canonical(Path(tmp) / "s", texts, sep=";")
        cols = {"amount": {"from": "amount", "decimal": ","}} if set_decimal else None
        mapping = {"tables": {"opportunities": {"from": "opportunities", "columns": cols}
                              if cols else "opportunities",
                              "accounts": "accounts", "reps": "reps", "products": "products"}}
        if cols:  # map the other columns by name too
            for c in ("opportunity_id", "account_id", "owner_id", "product_id", "stage",
                      "status", "created_date", "close_date"):
                cols[c] = c
        data, report = load_with_report(Path(tmp) / "s", mapping)
        dotted = [i for i, v in enumerate(values) if v >= 1000]
        if dotted and not set_decimal:
            assert data is None
            rows = sorted(p.row for p in report.errors if "ambiguous number" in p.reason)
            assert rows == [i + 2 for i in dotted]
            assert "decimal: ','" in report.errors[0].fix
        else:
            assert data is not None, report.format()
            assert data.opportunities["amount"].sum() == sum(values)


@FAST
@given(st.lists(st.tuples(st.integers(1, 28), st.integers(1, 12), st.integers(2015, 2024)),
                min_size=1, max_size=8))
def test_mixed_dates_never_guess_day_or_month(dates):
    texts = [f"{d:02d}/{m:02d}/{y}" for d, m, y in dates]
    with tempfile.TemporaryDirectory() as tmp:
        canonical(Path(tmp), ["1"] * len(texts), close=texts, created=["01/01/2015"] * len(texts))
        fmt = {"from": "close_date", "format": "mixed"}
        cols = {c: c for c in ("opportunity_id", "account_id", "owner_id", "product_id",
                               "stage", "status", "amount")}
        cols["close_date"] = fmt
        cols["created_date"] = {"from": "created_date", "format": "%d/%m/%Y"}
        mapping = {"tables": {"opportunities": {"from": "opportunities", "columns": cols},
                              "accounts": "accounts", "reps": "reps", "products": "products"}}
        data, report = load_with_report(Path(tmp), mapping)
        amb = [i for i, (d, m, _) in enumerate(dates) if d <= 12 and m <= 12 and d != m]
        got = sorted(p.row for p in report.errors if "ambiguous date" in p.reason)
        assert got == [i + 2 for i in amb]
        if not amb:
            assert data is not None
            want = [pd.Timestamp(y, m, d) for d, m, y in dates]
            assert list(data.opportunities["close_date"]) == want


def test_xlsx_duplicate_header_is_refused(tmp_path):
    book = tmp_path / "crm.xlsx"
    with pd.ExcelWriter(book) as xw:
        pd.DataFrame([["O1", "A1", "R1", "P1", "Won", "won", 10, 20]],
                     columns=["opportunity_id", "account_id", "owner_id", "product_id",
                              "stage", "status", "amount", "amount "]).to_excel(
            xw, sheet_name="opportunities", index=False)
        for t, cols in (("accounts", ["account_id", "name"]), ("reps", ["rep_id", "name"]),
                        ("products", ["product_id", "name"])):
            pd.DataFrame([["A1" if t == "accounts" else "R1" if t == "reps" else "P1", "x"]],
                         columns=cols).to_excel(xw, sheet_name=t, index=False)
    rc, out, err = run_cli("validate", book)
    first = refused(rc, out, err, "crm.xlsx[opportunities]", "duplicate column header")
    assert "'amount'" in first


# ---- 7 / 11 impossible dates, placeholders, bad mapping values ---------------------------------
impossible = st.sampled_from(["2017-02-30", "2017-13-01", "2019-02-29", "2017-04-31"])


@FAST
@given(impossible)
def test_impossible_as_of_is_one_line(bad):
    with tempfile.TemporaryDirectory() as tmp:
        canonical(Path(tmp) / "s", ["1"])
        m = Path(tmp) / "m.yaml"
        m.write_text(f"as_of: {bad}\ntables:\n  opportunities: opportunities\n")
        rc, out, err = run_cli("validate", Path(tmp) / "s", "--mapping", m)
        first = refused(rc, out, err, str(m), "line 1")
        assert bad in first
        ws = Workspace.create(Path(tmp) / "p", data=_tiny())
        p = ws.path / "plan.yaml"
        p.write_text(p.read_text().replace("as_of: '2025-03-01'", f"as_of: {bad}"))
        assert bad in p.read_text()
        with pytest.raises(WorkspaceError, match=r"line 7, column \d+: .*not a real date"):
            Workspace.open(ws.path)


@FAST
@given(st.integers(2263, 9999), st.integers(1, 12), st.integers(1, 28), st.data())
def test_placeholder_dates_named_by_row_and_column(y, m, d, data):
    n = data.draw(st.integers(1, 6))
    pos = data.draw(st.integers(0, n - 1))
    close = ["2024-02-01"] * n
    close[pos] = f"{y}-{m:02d}-{d:02d}"
    with tempfile.TemporaryDirectory() as tmp:
        canonical(Path(tmp), ["1"] * n, close=close)
        rc, out, err = run_cli("validate", tmp)
        first = refused(rc, out, err, "opportunities.csv", f"row {pos + 2}", "close_date")
        assert "placeholder" in first and "leave the cell blank" in first


@FAST
@given(st.integers(54, 300))
def test_huge_counts_name_row_and_column(exp):
    with tempfile.TemporaryDirectory() as tmp:
        canonical(Path(tmp), ["1"])
        (Path(tmp) / "accounts.csv").write_text(f"account_id,name,employees\nA1,Alpha,1e{exp}\n")
        rc, out, err = run_cli("validate", tmp)
        refused(rc, out, err, "accounts.csv", "row 2", "employees")


@FAST
@given(st.sampled_from(['format: "%Q"', 'format: "YYYY-MM-DD"', "value: [1, 2]",
                        "value: {a: 1}", 'optional: "no"', "optional: 1"]))
def test_bad_column_options_fail_before_reading(option):
    with tempfile.TemporaryDirectory() as tmp:
        m = Path(tmp) / "m.yaml"
        key = option.split(":")[0]
        m.write_text("tables:\n  opportunities:\n    columns:\n"
                     f"      close_date: {{{'from: c, ' if key != 'value' else ''}{option}}}\n")
        with pytest.raises(ConfigError, match=r"line 4\): .*"):
            load_with_report(tmp, m)


@FAST
@given(st.sampled_from(['"no"', '"yes"', "0", "1", '"false"']))
def test_strict_booleans(value):
    with pytest.raises(ConfigError, match="not a boolean; write true or false"):
        load_with_report(".", {"tables": {"reps": {"from": "x", "distinct": yaml.safe_load(
            value)}}})


def test_run_and_init_into_a_file_are_one_line(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    refused(*run_cli("init", f, "--sample"), str(f), "is a file")
    ws = Workspace.create(tmp_path / "p", data=_tiny())
    refused(*run_cli("run", ws.path, "--by", "region", "--out", f), "is a file")


@FAST
@given(st.one_of(st.just("not json"), st.lists(st.integers(), max_size=3).map(json.dumps),
                 st.dictionaries(st.sampled_from(["unit", "status", "parameters", "x"]),
                                 st.one_of(st.none(), st.integers(), st.text(max_size=5),
                                           st.just({"id": 1})), max_size=4).map(json.dumps)))
def test_foreign_json_never_breaks_the_index(text):
    from salesplan_nb.batch.runner import write_index

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        (out / "region").mkdir()
        (out / "region" / "foreign.json").write_text(text)
        good = {"unit": {"level": "region", "id": "East", "label": "East"}, "status": "ok",
                "parameters": {"plan_type": "annual"}, "headline": {}, "error": None}
        (out / "region" / "east.json").write_text(json.dumps(good))
        page = write_index(out, "p").read_text()
        assert "East" in page


# ---- 8 YAML bombs ----------------------------------------------------------------------------
def bomb(depth: int, width: int) -> str:
    lines = ["a0: &a0 [lol, lol]"]
    for i in range(1, depth):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines)


@FAST
@given(st.integers(2, 12), st.integers(2, 9), st.sampled_from(["description", "values"]))
def test_alias_bombs_are_refused(depth, width, where):
    with tempfile.TemporaryDirectory() as tmp:
        m = Path(tmp) / "m.yaml"
        b = bomb(depth, width)
        body = (f"x:\n  {b.replace(chr(10), chr(10) + '  ')}\ndescription: *a{depth - 1}\n"
                if where == "description" else
                f"x:\n  {b.replace(chr(10), chr(10) + '  ')}\ntables:\n  opportunities:\n"
                f"    columns:\n      status: {{from: s, values: *a{depth - 1}}}\n")
        m.write_text(body)
        rc, out, err = run_cli("validate", tmp, "--mapping", m)
        first = refused(rc, out, err, str(m), "line")
        assert "aliases" in first
        ws = Workspace.create(Path(tmp) / "p", data=_tiny())
        p = ws.path / "plan.yaml"
        text = p.read_text().replace("decisions: {}", "decisions:\n  x:\n    " + b.replace(
            "\n", "\n    ") + f"\n    y: *a{depth - 1}")
        p.write_text(text)
        with pytest.raises(WorkspaceError, match=r"line \d+: YAML anchors/aliases"):
            Workspace.open(ws.path)


# ---- 9 truncation ------------------------------------------------------------------------------
@FAST
@given(st.floats(0.0, 0.999))
def test_truncated_plan_is_refused_and_backup_kept(frac):
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "p", data=_tiny())
        for i in range(5):
            ws.record("goals", f"g{i}", i)
        p = ws.path / "plan.yaml"
        full = p.read_text()
        good_backup = (ws.path / "plan.yaml.bak").read_text()
        cut = int(len(full.rstrip()) * frac)
        p.write_text(full[:cut])
        with pytest.raises(WorkspaceError) as exc:
            Workspace.open(ws.path)
        msg = str(exc.value)
        assert "incomplete" in msg and "plan.yaml.bak" in msg
        with pytest.raises(WorkspaceError):
            ws.record("goals", "after", 1)  # a save never makes the loss permanent
        assert (ws.path / "plan.yaml.bak").read_text() == good_backup
        assert "g3" in good_backup


# ---- 12 display ------------------------------------------------------------------------------
@FAST
@given(st.text(min_size=0, max_size=400))
def test_display_labels_are_bounded_and_without_bidi(name):
    shown = display.label(name)
    assert len(shown) <= display.LABEL_MAX
    assert not any(ch in shown for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068"
                   "\u2069\u200e\u200f")
    clean = "".join(ch for ch in name if ch.isprintable() or ch in "\t\n")
    if len(name) <= display.LABEL_MAX and clean == name and not any(
            ch in name for ch in "\u061c\u200e\u200f"):
        assert shown == name


def _tiny() -> Dataset:
    opps = pd.DataFrame({"opportunity_id": ["o1"], "owner_id": ["r1"], "stage": ["Won"],
                         "status": ["won"], "created_date": ["2025-01-05"],
                         "close_date": ["2025-03-01"], "amount": [100.0]})
    return Dataset(accounts=pd.DataFrame({"account_id": ["a1"], "name": ["Acme"]}),
                   opportunities=opps, reps=pd.DataFrame({"rep_id": ["r1"], "name": ["Ann"]}),
                   products=pd.DataFrame({"product_id": ["p1"]}))
