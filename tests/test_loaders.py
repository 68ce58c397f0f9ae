"""Loading sources into canonical tables: maven-crm preset, canonical layout, Excel, Parquet,
custom mappings and the salesforce / hubspot presets."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from salesplan_nb.core.errors import ConfigError, DataError
from salesplan_nb.data import schema, sources
from salesplan_nb.data.loaders import load, load_with_report
from salesplan_nb.data.mapping import presets

DATA = Path(__file__).parent / "data"


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_maven_counts_match_an_independent_count(maven_data, maven_dir):
    pipe = _rows(maven_dir / "sales_pipeline.csv")  # second method: the csv module
    won = [r for r in pipe if r["deal_stage"] == "Won"]
    opp = maven_data.opportunities
    assert len(opp) == len(pipe) == 8800
    assert (opp["status"] == "won").sum() == len(won) == 4238
    assert (opp["status"] == "lost").sum() == 2473
    assert (opp["status"] == "open").sum() == 1589 + 500
    assert opp.loc[opp["status"] == "won", "amount"].sum() == sum(
        float(r["close_value"]) for r in won) == 10_005_534
    assert opp["close_date"].min() == pd.Timestamp("2017-03-01")
    assert opp["close_date"].max() == pd.Timestamp("2017-12-31")
    assert maven_data.as_of == pd.Timestamp("2017-12-31")
    assert opp["account_id"].isna().sum() == 1425
    # GTXPro is mapped onto the product "GTX Pro"; nothing is left unmatched
    n_gtxpro = sum(r["product"] == "GTXPro" for r in pipe)
    assert n_gtxpro > 0 and "GTXPro" not in set(opp["product_id"].dropna())
    assert set(opp["product_id"]) <= set(maven_data.products["product_id"])
    for t, df in maven_data.tables.items():
        assert list(df.columns) == schema.TABLES[t].names
        assert {c: str(d) for c, d in df.dtypes.items()} == {
            c: str(pd.Series(dtype=d).dtype) for c, d in schema.TABLES[t].dtypes().items()}


def test_maven_dimensions_follow_the_architecture_mapping(maven_data, maven_dir):
    teams = _rows(maven_dir / "sales_teams.csv")
    reps = maven_data.reps.set_index("rep_id")
    assert len(reps) == len(teams) == 35
    for r in teams:  # territory = the manager's team, region = the office
        assert reps.loc[r["sales_agent"], "territory"] == r["manager"]
        assert reps.loc[r["sales_agent"], "region"] == r["regional_office"]
    terr = maven_data.territories.set_index("territory_id")
    assert terr["region"].to_dict() == {r["manager"]: r["regional_office"] for r in teams}
    acc = maven_data.accounts.set_index("account_id")
    raw = {r["account"]: r for r in _rows(maven_dir / "accounts.csv")}
    assert len(acc) == len(raw) == 85
    for name, r in raw.items():
        emp = int(r["employees"])
        seg = "SMB" if emp < 200 else "Mid-Market" if emp < 1000 else "Enterprise"
        assert acc.loc[name, "segment"] == seg
        assert acc.loc[name, "revenue"] == pytest.approx(float(r["revenue"]) * 1e6)
        assert acc.loc[name, "country"] == r["office_location"]
    deals = maven_data.deals
    assert deals["territory"].notna().all() and deals["region"].notna().all()


def test_maven_report_warns_with_counts(maven_dir):
    data, report = load_with_report(maven_dir, "maven-crm")
    assert data is not None and report.ok
    by_reason = {p.reason: p for p in report.warnings}
    assert by_reason["deals without an account"].count == 1425
    gtx = [p for p in report.warnings if "GTXPro" in p.reason]
    assert len(gtx) == 1 and "GTX Pro" in gtx[0].handled
    n = sum(r["product"] == "GTXPro" for r in _rows(maven_dir / "sales_pipeline.csv"))
    assert gtx[0].count == n
    assert data.report is report


def _write_canonical(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "accounts.csv").write_text(
        "account_id,name,industry,employees,region\nA1,Alpha,retail,50,East\n"
        "A2,Beta,tech,5000,West\nA3,Gamma,tech,,West\n")
    (folder / "reps.csv").write_text("rep_id,name,region,hire_date\nR1,Ann,East,2023-01-02\n"
                                     "R2,Bob,West,\n")
    (folder / "products.csv").write_text("product_id,name,list_price\nP1,Widget,10.5\n")
    (folder / "opportunities.csv").write_text(
        "opportunity_id,account_id,owner_id,product_id,stage,status,created_date,close_date,"
        "amount\nO1,A1,R1,P1,Closed Won,won,2024-01-01,2024-02-01,100.25\n"
        "O2,A2,R2,P1,Negotiation,open,2024-03-01,2024-06-30,\n")
    (folder / "targets.csv").write_text("scope_level,scope_id,period,amount\ncompany,,2025,"
                                        "1000000\n")


def test_canonical_layout_without_mapping(tmp_path):
    _write_canonical(tmp_path)
    d = load(tmp_path)
    assert list(d.opportunities["amount"].isna()) == [False, True]
    assert d.opportunities["amount"].iloc[0] == 100.25
    # segment derived from employees by the architecture rule when the source has none
    assert list(d.accounts["segment"]) == ["SMB", "Enterprise", "Unknown"]
    assert d.reps["hire_date"].iloc[0] == pd.Timestamp("2023-01-02")
    assert pd.isna(d.reps["hire_date"].iloc[1])
    assert d.targets["amount"].iloc[0] == 1_000_000
    assert len(d.market) == 0 and len(d.orders) == 0
    # as_of: the latest fact (created 2024-03-01), never O2's expected close date 2024-06-30
    assert d.as_of == pd.Timestamp("2024-03-01") and d.as_of_rule == "latest created date"


def test_load_raises_data_error_with_report(tmp_path):
    _write_canonical(tmp_path)
    p = tmp_path / "opportunities.csv"
    p.write_text(p.read_text() + "O3,A1,R1,P1,Won,won,2024-01-01,2024-02-01,abc\n")
    with pytest.raises(DataError) as exc:
        load(tmp_path)
    rep = exc.value.report
    assert [(e.row, e.column, e.value) for e in rep.errors] == [(4, "amount", "abc")]
    assert "row 4" in str(exc.value)


def _maven_typed(maven_dir: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for name in ("sales_pipeline", "accounts", "sales_teams", "products"):
        df = pd.read_csv(maven_dir / f"{name}.csv")
        for c in ("engage_date", "close_date"):
            if c in df:
                df[c] = pd.to_datetime(df[c])
        out[name] = df
    return out


def _assert_same(a, b) -> None:
    for t in schema.TABLES:
        key = schema.TABLES[t].key
        x, y = a.table(t), b.table(t)
        if key:
            x = x.sort_values(key, ignore_index=True)
            y = y.sort_values(key, ignore_index=True)
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    assert a.as_of == b.as_of


def test_excel_and_parquet_give_the_same_tables(maven_data, maven_dir, tmp_path):
    frames = _maven_typed(maven_dir)
    book = tmp_path / "maven.xlsx"
    with pd.ExcelWriter(book) as xw:
        for name, df in frames.items():
            df.to_excel(xw, sheet_name=name, index=False)
    pq = tmp_path / "pq"
    pq.mkdir()
    for name, df in frames.items():
        df.to_parquet(pq / f"{name}.parquet", index=False)
    assert sources.resolve(book)[0] == "excel" and sources.resolve(pq)[0] == "parquet"
    _assert_same(load(book, "maven-crm"), maven_data)
    _assert_same(load(pq, "maven-crm"), maven_data)


def test_register_a_custom_reader(maven_data, maven_dir):
    frames = _maven_typed(maven_dir)

    class Memory:
        def detect(self, location):
            return location == "memory"

        def tables(self, location, **options):
            return list(frames)

        def read(self, location, name, **options):
            df = frames[name].copy()
            df.index = pd.RangeIndex(2, len(df) + 2)
            return sources.RawTable(name, df, f"memory:{name}")

    sources.register("memory", Memory())
    try:
        _assert_same(load("memory", "maven-crm"), maven_data)
        assert sources.resolve("memory:anything")[0] == "memory"
    finally:
        sources._READERS.pop("memory")


def test_bad_source_location_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope")


@pytest.mark.parametrize("preset", ["salesforce", "hubspot"])
def test_crm_export_presets(preset):
    assert preset in presets()
    d = load(DATA / preset, preset)
    opp = d.opportunities.set_index("opportunity_id")
    expected = _rows(DATA / preset / "expected.csv")  # hand-computed canonical values
    assert len(opp) == len(expected)
    for e in expected:
        row = opp.loc[e["opportunity_id"]]
        assert row["status"] == e["status"]
        assert row["owner_id"] == e["owner_id"]
        assert (pd.isna(row["account_id"]) and not e["account_id"]) or \
            row["account_id"] == e["account_id"]
        assert (pd.isna(row["amount"]) and not e["amount"]) or \
            row["amount"] == float(e["amount"])
        assert row["close_date"] == pd.Timestamp(e["close_date"])
        assert row["created_date"] == pd.Timestamp(e["created_date"])
    assert d.accounts["account_id"].is_unique and len(d.reps) > 0


def test_sample_generator_round_trip(tmp_path):
    from salesplan_nb.data.sample import generate, write_csv

    g = generate(seed=3, accounts=150, opportunities=1500)
    d = load(write_csv(tmp_path / "csv", seed=3, accounts=150, opportunities=1500))
    assert d.as_of == g.as_of  # read from as_of.txt
    g.to_parquet(tmp_path / "pq")
    p = load(tmp_path / "pq")
    for t in schema.TABLES:
        pd.testing.assert_frame_equal(d.table(t), g.table(t), check_exact=True, obj=t)
        pd.testing.assert_frame_equal(p.table(t), g.table(t), check_exact=True, obj=t)
    assert d.report.ok and not d.report.warnings


def test_mapping_transforms(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "id,who,stage,val,opened,closed,co\n"
        "1,Ann,WON,\"1,500\",01.02.2024,15.03.2024,C1; C2\n"
        "2,Ann,lost,20,01.02.2024,15.04.2024,\n"
        "3,Bob,Pitch,,05.02.2024,,C2\n")
    (tmp_path / "companies.csv").write_text("cid,cname,staff\nC1,One,199\nC2,Two,\n")
    (tmp_path / "items.csv").write_text("sku\nX\n")
    mapping = {
        "as_of": "2024-06-30",
        "tables": {
            "opportunities": {"from": "deals", "columns": {
                "opportunity_id": "id", "owner_id": "who", "stage": "stage",
                "status": {"from": "stage", "values": {"won": "won", "lost": "lost"},
                           "default": "open"},
                "amount": {"from": "val", "multiply": 0.5},
                "created_date": {"from": "opened", "format": "%d.%m.%Y"},
                "close_date": {"from": "closed", "format": "%d.%m.%Y"},
                "account_id": {"from": "co", "split": ";"},
                "product_id": {"value": "X"}}},
            "accounts": {"from": "companies", "columns": {
                "account_id": "cid", "name": "cname", "employees": "staff",
                "segment": {"from": "staff", "bins": [{"below": 200, "value": "Small"},
                                                      {"value": "Large"}], "missing": "?"}}},
            "reps": {"from": "deals", "distinct": True,
                     "columns": {"rep_id": "who", "name": "who"}},
            "products": {"from": "items", "columns": {"product_id": "sku"}},
        }}
    d = load(tmp_path, mapping)
    o = d.opportunities
    assert o["status"].tolist() == ["won", "lost", "open"]  # case-insensitive value match
    assert o["amount"].tolist()[:2] == [750.0, 10.0] and pd.isna(o["amount"].iloc[2])
    assert o["close_date"].iloc[0] == pd.Timestamp("2024-03-15")
    assert o["account_id"].tolist()[::2] == ["C1", "C2"] and pd.isna(o["account_id"].iloc[1])
    assert set(o["product_id"]) == {"X"}
    assert d.accounts["segment"].tolist() == ["Small", "?"]
    assert d.reps["rep_id"].tolist() == ["Ann", "Bob"]
    assert d.as_of == pd.Timestamp("2024-06-30") and d.as_of_rule == "mapping as_of: 2024-06-30"
    # a mapped column missing from the file is an error naming the mapping key
    mapping["tables"]["opportunities"]["columns"]["loss_reason"] = "why"
    _, report = load_with_report(tmp_path, mapping)
    (err,) = report.errors
    assert err.file == "deals.csv" and "'why'" in err.reason
    assert "tables.opportunities.columns.loss_reason" in err.fix


def test_semicolon_csv_with_padded_headers_and_bom(tmp_path):
    """European Excel exports: ';' delimiter, UTF-8 BOM, CRLF, spaces around header names."""
    src = DATA / "salesforce"
    for f in ("opportunities.csv", "accounts.csv", "products.csv"):
        rows = list(csv.reader(open(src / f, encoding="utf-8", newline="")))
        rows[0] = [f" {h} " for h in rows[0]]
        with open(tmp_path / f, "w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh, delimiter=";", lineterminator="\r\n").writerows(rows)
    a, b = load(tmp_path, "salesforce"), load(src, "salesforce")
    for t in schema.TABLES:
        pd.testing.assert_frame_equal(a.table(t), b.table(t), check_exact=True, obj=t)
    assert len(a.opportunities) == 4
