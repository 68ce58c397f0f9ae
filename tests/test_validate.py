"""``salesplan validate`` and the validation report; mapping file errors."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from salesplan_nb import cli
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data.loaders import load_with_report
from salesplan_nb.data.mapping import load_mapping
from salesplan_nb.data.validate import Frame, Report, parse_date, parse_number, row_problems

BROKEN = Path(__file__).parent / "data" / "broken"


def _run(capsys, *argv) -> tuple[int, str]:
    rc = cli.main(["validate", *map(str, argv)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return rc, out.out


def test_cli_maven_is_loadable_with_counted_warnings(capsys, maven_dir):
    rc, out = _run(capsys, maven_dir, "--mapping", "maven-crm")
    assert rc == 0
    assert re.search(r"opportunities\s+8,800 rows", out)
    assert "errors: 0" in out and "result: loadable (as of 2017-12-31: latest won/lost close date)" in out
    warns = [ln for ln in out.splitlines() if ln.strip().startswith("warning:")]
    assert len(warns) == 2
    gtx = next(w for w in warns if "GTXPro" in w)
    assert "'GTX Pro'" in gtx and "(1,480 rows)" in gtx
    assert any("deals without an account (1,425 rows)" in w for w in warns)


# every kind of problem in tests/data/broken: (file, row, column, value, words in reason)
EXPECTED_ERRORS = [
    ("opportunities.csv", 3, "created_date", "2025-13-45", "not a date"),
    ("opportunities.csv", 4, "amount", "12x", "not a number"),
    ("opportunities.csv", 5, "amount", "-100", "negative"),
    ("opportunities.csv", 6, "opportunity_id", "O-1", "duplicate opportunity_id (first seen "
                                                       "at row 2)"),
    ("opportunities.csv", 7, "close_date", "2025-03-01 < 2025-03-10", "before the created"),
    ("opportunities.csv", 8, "product_id", "Widget Z", "unknown product"),
    ("opportunities.csv", 9, "owner_id", "Nobody", "unknown rep"),
    ("opportunities.csv", 10, "account_id", "ACME-999", "unknown account"),
    ("opportunities.csv", 11, "status", "maybe", "not one of open, won, lost"),
    ("reps.csv", None, "name", None, "missing required column name"),
    ("reps.csv", 4, None, None, "4 fields, but the header has 3"),
    ("targets.csv", None, None, None, "file is empty"),
]


def test_broken_folder_reports_every_problem_once(capsys):
    rc, out = _run(capsys, BROKEN)
    assert rc == 1
    assert "NOT loadable" in out
    errors = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("error:")]
    assert len(errors) == len(EXPECTED_ERRORS)
    for file, row, column, value, words in EXPECTED_ERRORS:
        prefix = f"error: {file}" + (f", row {row}" if row else "") + (
            f", column {column}" if column else "") + (f", value {value!r}" if value else "")
        hits = [e for e in errors if e.startswith(prefix + ":") and words in e]
        assert len(hits) == 1, (prefix, words, errors)
        assert "; fix: " in hits[0]
    warnings = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("warning:")]
    assert len(warnings) == 3
    assert any("accounts.csv" in w and "not UTF-8" in w and "cp1252" in w for w in warnings)
    assert any("deals without an account (1 row)" in w and "kept" in w for w in warnings)
    assert any("'GadgetPro'" in w and "mapped to 'Gadget Pro'" in w for w in warnings)


def test_report_object_and_latin1_decoding():
    data, report = load_with_report(BROKEN)
    assert data is None and not report.ok
    df = report.to_frame()
    assert len(df[df.severity == "error"]) == len(EXPECTED_ERRORS)
    assert set(df.loc[df.severity == "error", "row"].dropna().astype(int)) == set(range(3, 12))
    assert report.tables["reps"].rows == 2  # the ragged row is reported, the others kept


def test_latin1_file_is_decoded_not_garbled(tmp_path):
    for f in BROKEN.iterdir():
        if f.name != "targets.csv":
            (tmp_path / f.name).write_bytes(f.read_bytes())
    data, report = load_with_report(tmp_path)
    names = set(report.tables)
    assert {"accounts", "opportunities"} <= names
    # the broken deals still fail, but accounts decode correctly
    from salesplan_nb.data.sources import CsvReader

    raw = CsvReader().read(str(tmp_path), "accounts")
    assert raw.df["name"].tolist() == ["Café Müller", "Nordwind"]
    assert raw.df.index.tolist() == [2, 3]


def test_many_bad_rows_are_counted_not_dropped():
    n = 2500
    s = pd.Series(["x"] * n, dtype="string[pyarrow]")
    f = Frame("opportunities", "big.csv", pd.DataFrame({"amount": s},
                                                       index=pd.RangeIndex(2, n + 2)))
    rep = Report()
    v, bad = parse_number(s)
    assert row_problems(rep, "error", f, bad, "amount", "not a number", "fix") == n
    assert len(rep.errors) == 1001
    assert rep.errors[-1].count == 1500 and rep.errors[0].row == 2
    text = rep.format(limit=50)
    assert "more like the above" in text


def test_parsers_vectorised_cases():
    v, bad = parse_number(pd.Series(["1,234.50", "$99", "(5)", "", None, "abc", " 7 ",
                                     "USD 24,000.00", "1,5", "1.234,5", "12 EUR"],
                                    dtype="string[pyarrow]"))
    assert v.iloc[:3].tolist() == [1234.5, 99.0, -5.0] and v.iloc[6] == 7
    assert v.iloc[7] == 24000 and v.iloc[10] == 12
    # "1,5" and "1.234,5" are never silently read as 15 / 1.2345
    assert bad.tolist() == [False] * 5 + [True, False, False, True, True, False]
    v, bad = parse_number(pd.Series(["1.234,5", "1,5", "7", "1,234.5"],
                                    dtype="string[pyarrow]"), decimal=",")
    assert v.iloc[:3].tolist() == [1234.5, 1.5, 7.0] and bad.tolist() == [False] * 3 + [True]
    d, bad = parse_date(pd.Series(["03/01/2025", "2025-03-02", "x"], dtype="string[pyarrow]"),
                        ["%m/%d/%Y", "ISO8601"])
    assert d.iloc[:2].tolist() == [pd.Timestamp("2025-03-01"), pd.Timestamp("2025-03-02")]
    assert bad.tolist() == [False, False, True]
    d, bad = parse_date(pd.Series(["2025-03-01T23:30:00Z", "2025-03-02 10:00"],
                                  dtype="string[pyarrow]"))
    assert d.tolist() == [pd.Timestamp("2025-03-01"), pd.Timestamp("2025-03-02")]
    assert not bad.any()


@pytest.mark.parametrize("text, words", [
    ("tables:\n  opportunities:\n    columns:\n      amount: [a, b\n", "line 5"),
    ("tables:\n  opportunities:\n    form: deals\n", "tables.opportunities.form (line 3)"),
    ("tables:\n  opportunities:\n    columns:\n      amout: Amount\n",
     "tables.opportunities.columns.amout (line 4): unknown column 'amout'"),
    ("tables:\n  deals: {}\n", "tables.deals (line 2): unknown canonical table"),
    ("tables:\n  opportunities:\n    columns:\n      amount: {from: x, multiply: lots}\n",
     "tables.opportunities.columns.amount.multiply (line 4): must be a number"),
    ("tables:\n  accounts:\n    columns:\n      segment:\n        from: emp\n        bins:\n"
     "          - {below: 1000, value: Big}\n          - {below: 10, value: Small}\n",
     "'below' bounds must increase"),
    ("name: x\n", "needs a 'tables:' section"),
    ("as_of: someday\ntables:\n  reps: {}\n", "as_of (line 1)"),
])
def test_mapping_errors_name_the_key_and_line(tmp_path, text, words):
    p = tmp_path / "m.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_mapping(p)
    assert words in str(exc.value)


def test_cli_bad_mapping_exits_1_without_traceback(capsys, tmp_path):
    rc = cli.main(["validate", str(BROKEN), "--mapping", "no-such-preset"])
    err = capsys.readouterr().err
    assert rc == 1 and "maven-crm" in err and "Traceback" not in err


def test_excel_rows_are_sheet_rows(tmp_path):
    book = tmp_path / "crm.xlsx"
    opp = pd.DataFrame({"opportunity_id": ["O1", "O2", "O3"], "owner_id": ["R1"] * 3,
                        "stage": ["Won"] * 3, "status": ["won", "won", "won"],
                        "close_date": [pd.Timestamp("2025-01-02"), "soon",
                                       pd.Timestamp("2025-02-03")],
                        "amount": [10, "ten", 30]})
    with pd.ExcelWriter(book) as xw:
        opp.to_excel(xw, sheet_name="opportunities", index=False)
        pd.DataFrame({"account_id": ["A1"], "name": ["Alpha"]}).to_excel(
            xw, sheet_name="accounts", index=False)
        pd.DataFrame({"rep_id": ["R1"], "name": ["Ann"]}).to_excel(
            xw, sheet_name="reps", index=False)
        pd.DataFrame({"product_id": ["P1"]}).to_excel(xw, sheet_name="products", index=False)
    _, report = load_with_report(book)
    got = sorted((e.file, e.row, e.column, e.value) for e in report.errors)
    assert got == [("crm.xlsx[opportunities]", 3, "amount", "ten"),
                   ("crm.xlsx[opportunities]", 3, "close_date", "soon")]


def test_docs_describe_every_column_and_parse_the_examples():
    import yaml

    from salesplan_nb.data import schema
    from salesplan_nb.data.mapping import parse, presets

    root = Path(__file__).resolve().parents[1] / "docs"
    model = (root / "data-model.md").read_text()
    for t in schema.TABLES.values():
        section = model.split(f"### {t.name} ")[1].split("###")[0]
        for c in t.columns:
            assert f"`{c.name}`" in section, (t.name, c.name)
    text = (root / "mapping.md").read_text()
    example = text.split("## Example")[1].split("```yaml")[1].split("```")[0]
    m = parse(yaml.safe_load(example))
    assert m.tables["opportunities"].columns["amount"].multiply == 1.08
    for name in ("maven-crm", "salesforce", "hubspot"):
        assert name in presets() and f"### `{name}`" in text


def test_unknown_rep_gets_a_did_you_mean_hint(tmp_path):
    (tmp_path / "accounts.csv").write_text("account_id,name\nA1,Alpha\n")
    (tmp_path / "reps.csv").write_text("rep_id,name\nJohn Smith,John Smith\nAnn Lee,Ann Lee\n")
    (tmp_path / "products.csv").write_text("product_id\nP1\n")
    (tmp_path / "opportunities.csv").write_text(
        "opportunity_id,account_id,owner_id,product_id,stage,status\n"
        "O1,A1,Jon Smith,P1,Won,won\nO2,A1,ann lee,P1,Won,won\n")
    _, report = load_with_report(tmp_path)
    (err,) = report.errors
    assert (err.row, err.value) == (2, "Jon Smith")
    assert "did you mean 'John Smith'" in err.reason
    (warn,) = report.warnings  # case-only difference: matched and warned
    assert warn.handled == "mapped to 'Ann Lee'" and warn.count == 1


def test_blank_lines_do_not_shift_row_numbers(tmp_path):
    (tmp_path / "accounts.csv").write_text("account_id,name\nA1,Alpha\n")
    (tmp_path / "reps.csv").write_text("rep_id,name\nR1,Ann\n")
    (tmp_path / "products.csv").write_text("product_id\nP1\n")
    (tmp_path / "opportunities.csv").write_text(
        "opportunity_id,account_id,owner_id,product_id,stage,status,amount\n"
        "O1,A1,R1,P1,Won,won,1\n\nO2,A1,R1,P1,Won,won,oops\n\n")
    _, report = load_with_report(tmp_path)
    assert [(e.row, e.value) for e in report.errors] == [(4, "oops")]
