"""Realistic multi-file exports, built here, each loaded with one mapping file and no
preprocessing; the plan's reps, territories, bookings and attainment must equal what pandas
computes from the raw files (issue 12)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data import loaders
from salesplan_nb.data.loaders import load_with_report
from salesplan_nb.data.schema import NO_PIPELINE
from salesplan_nb.steps import kpis

ORDER_COLS = ["SalesOrderNumber", "SalesOrderLineNumber", "ResellerKey", "EmployeeKey",
              "ProductKey", "OrderDate", "SalesTerritoryKey", "OrderQuantity", "SalesAmount",
              "TotalProductCost"]


def warehouse(folder: Path, seed: int = 3) -> dict[str, pd.DataFrame]:
    """A data-warehouse reseller-sales export: employees (sales and production staff, names
    in two columns), territories, resellers, products, quarterly quotas and a header-less
    pipe-separated order-lines file with returns (negative lines)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    terr = pd.DataFrame({"SalesTerritoryKey": [1, 2, 3, 4],
                         "SalesTerritoryRegion": ["Northwest", "Southwest", "Central",
                                                  "France"],
                         "SalesTerritoryGroup": ["North America"] * 3 + ["Europe"]})
    n_emp = 40
    emp = pd.DataFrame({
        "EmployeeKey": np.arange(270, 270 + n_emp),
        "FirstName": [f"Ann{i}" for i in range(n_emp)],
        "LastName": [f"Lee{i}" for i in range(n_emp)],
        "Title": ["Production Technician"] * 30 + ["Sales Representative"] * 10,
        "SalesPersonFlag": [0] * 30 + [1] * 10,
        "SalesTerritoryKey": [11] * 30 + [1, 1, 2, 2, 3, 3, 4, 4, 1, 2],  # 11: not a territory
        "HireDate": ["2019-03-01"] * n_emp,
    })
    sales = emp[emp["SalesPersonFlag"] == 1]
    res = pd.DataFrame({"ResellerKey": np.arange(1, 31),
                        "ResellerName": [f"Bikes & Co {i}" for i in range(30)],
                        "NumberEmployees": rng.integers(2, 2000, 30)})
    prod = pd.DataFrame({"ProductKey": [f"BK-{i:03d}" for i in range(8)],
                         "EnglishProductName": [f"Bike {i}" for i in range(8)],
                         "ListPrice": rng.integers(100, 3000, 8).astype(float)})
    lines = []
    for o in range(400):
        e = int(rng.choice(sales["EmployeeKey"]))
        home = int(sales.loc[sales["EmployeeKey"] == e, "SalesTerritoryKey"].iloc[0])
        t = home if rng.random() < 0.7 else int(rng.integers(1, 5))  # the sale's territory
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 700)))
        reseller = 0
        for ln in range(1, int(rng.integers(1, 4)) + 1):
            q = int(rng.integers(1, 5))
            amt = round(q * float(rng.uniform(100, 900)), 2)
            drawn = int(rng.integers(1, 31))
            reseller = drawn if ln == 1 else reseller  # one reseller per order
            lines.append([f"SO{43000 + o}", ln, reseller, e,
                          f"BK-{int(rng.integers(0, 8)):03d}", day.strftime("%Y-%m-%d"),
                          t, q, amt, round(amt * 0.6, 2)])
            if rng.random() < 0.1:  # a partial return: a negative line in the same order
                lines.append([f"SO{43000 + o}", ln + 10, lines[-1][2], e, lines[-1][4],
                              day.strftime("%Y-%m-%d"), t, -1, -round(amt / q, 2),
                              -round(amt / q * 0.6, 2)])
    orders = pd.DataFrame(lines, columns=ORDER_COLS)
    quota = pd.DataFrame([(e, y, q, float(rng.integers(20, 60)) * 1000)
                          for e in sales["EmployeeKey"] for y in (2024, 2025)
                          for q in (1, 2, 3, 4)],
                         columns=["EmployeeKey", "CalendarYear", "CalendarQuarter",
                                  "SalesAmountQuota"])
    emp.to_csv(folder / "DimEmployee.csv", index=False)
    terr.to_csv(folder / "DimSalesTerritory.csv", index=False)
    res.to_csv(folder / "DimReseller.csv", index=False)
    prod.to_csv(folder / "DimProduct.csv", index=False)
    quota.to_csv(folder / "FactSalesQuota.csv", index=False)
    orders.to_csv(folder / "FactResellerSales.psv", index=False, header=False, sep="|")
    return {"emp": emp, "terr": terr, "orders": orders, "quota": quota}


WAREHOUSE_MAPPING = """\
name: reseller-dw
as_of: 2025-12-31
tables:
  reps:
    from: DimEmployee
    filter: "SalesPersonFlag = 1"
    columns:
      rep_id: EmployeeKey
      name: {template: "{FirstName} {LastName}"}
      territory: SalesTerritoryKey
      role: Title
      hire_date: HireDate
  territories:
    from: DimSalesTerritory
    columns:
      territory_id: SalesTerritoryKey
      name: SalesTerritoryRegion
      region: SalesTerritoryGroup
  accounts:
    from: DimReseller
    columns: {account_id: ResellerKey, name: ResellerName, employees: NumberEmployees}
  products:
    from: DimProduct
    columns: {product_id: ProductKey, name: EnglishProductName, list_price: ListPrice}
  orders:
    from: FactResellerSales
    header: false
    names: [SalesOrderNumber, SalesOrderLineNumber, ResellerKey, EmployeeKey, ProductKey,
            OrderDate, SalesTerritoryKey, OrderQuantity, SalesAmount, TotalProductCost]
    aggregate: {product: most_valuable}
    columns:
      order_id: SalesOrderNumber
      account_id: ResellerKey
      owner_id: EmployeeKey
      product_id: ProductKey
      order_date: OrderDate
      territory: SalesTerritoryKey
      amount: SalesAmount
      cost: TotalProductCost
  targets:
    sql: |
      SELECT 'rep' AS scope_level, q.EmployeeKey AS scope_id,
             q.CalendarYear || '-Q' || q.CalendarQuarter AS period, q.SalesAmountQuota AS amount
      FROM FactSalesQuota q JOIN DimEmployee e USING (EmployeeKey)
      WHERE e.SalesPersonFlag = 1
"""


@pytest.fixture(scope="module")
def dw(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dw")
    raw = warehouse(folder / "export")
    (folder / "dw.yaml").write_text(WAREHOUSE_MAPPING)
    data, report = load_with_report(folder / "export", folder / "dw.yaml")
    assert data is not None, report.format()
    return raw, data, report


def test_warehouse_reps_are_sales_staff_only_with_joined_names(dw):
    raw, data, _ = dw
    sales = raw["emp"][raw["emp"]["SalesPersonFlag"] == 1]
    assert sorted(data.reps["rep_id"]) == sorted(sales["EmployeeKey"].astype(str))
    assert set(data.reps["name"]) == set(sales["FirstName"] + " " + sales["LastName"])
    assert len(data.territories) == 4


def test_warehouse_bookings_follow_the_sale_territory_and_lines_net_returns(dw):
    raw, data, report = dw
    o = raw["orders"]
    assert len(data.orders) == o["SalesOrderNumber"].nunique()
    assert data.orders["amount"].sum() == pytest.approx(o["SalesAmount"].sum())
    assert data.orders["cost"].sum() == pytest.approx(o["TotalProductCost"].sum())
    want = o.groupby("SalesTerritoryKey")["SalesAmount"].sum()
    d = data.deals
    got = d.groupby("territory")["amount"].sum()
    for t, v in want.items():
        assert got[str(t)] == pytest.approx(v)
    for t, v in want.items():  # the plan's own KPI for each territory
        k = kpis.compute_kpis(data, f"territory:{t}", "2024-01-01..2025-12-31",
                              names=["bookings"]).set_index("kpi")
        assert k.loc["bookings", "value"] == pytest.approx(v)
    warn = [p for p in report.warnings if "other than their rep's home territory" in p.reason]
    assert len(warn) == 1 and warn[0].handled == "each deal counts in its own territory"


def test_warehouse_quarterly_quotas_roll_up_to_the_year_and_attainment_matches(dw):
    raw, data, _ = dw
    o, q = raw["orders"], raw["quota"]
    o = o[o["OrderDate"].str.startswith("2025")]
    for e in q["EmployeeKey"].unique()[:4]:
        quota = q[(q["EmployeeKey"] == e) & (q["CalendarYear"] == 2025)]["SalesAmountQuota"]
        booked = o[o["EmployeeKey"] == e]["SalesAmount"].sum()
        assert kpis.target_for(data, f"rep:{e}", "2025") == pytest.approx(quota.sum())
        k = kpis.compute_kpis(data, f"rep:{e}", "2025", names=["quota_attainment", "win_rate",
                                                               "pipeline_coverage"])
        k = k.set_index("kpi")
        assert k.loc["quota_attainment", "value"] == pytest.approx(booked / quota.sum())
        assert k.loc["win_rate", "status"] == "n/a"
        assert k.loc["win_rate", "note"] == NO_PIPELINE


def test_warehouse_line_ids_from_a_template(tmp_path):
    raw = warehouse(tmp_path / "export")
    m = WAREHOUSE_MAPPING.replace("    aggregate: {product: most_valuable}\n",
                                  "    filter: OrderQuantity > 0\n").replace(
        "order_id: SalesOrderNumber",
        'order_id: {template: "{SalesOrderNumber}-{SalesOrderLineNumber}"}')
    (tmp_path / "m.yaml").write_text(m)
    data, report = load_with_report(tmp_path / "export", tmp_path / "m.yaml")
    assert data is not None, report.format()
    lines = raw["orders"][raw["orders"]["OrderQuantity"] > 0]  # returns left out
    assert len(data.orders) == len(lines)
    assert data.orders["amount"].sum() == pytest.approx(lines["SalesAmount"].sum())
    assert data.orders["order_id"].iloc[0] == "SO43000-1"


def superstore(path: Path, seed: int = 5) -> dict[str, pd.DataFrame]:
    """A retail orders workbook: Orders (lines), People (regional managers), Returns."""
    rng = np.random.default_rng(seed)
    regions = ["East", "West", "Central", "South"]
    people = pd.DataFrame({"Regional Manager": ["Chuck Magee", "Anna Andreadi", "Kelly Williams",
                                                "Cassandra Brandow"], "Region": regions})
    rows = []
    for i in range(300):
        oid = f"CA-2025-{100000 + i // 2}"
        rows.append({"Row ID": i + 1, "Order ID": oid,
                     "Order Date": pd.Timestamp("2025-01-01") + pd.Timedelta(
                         days=int(rng.integers(0, 330))),
                     "Customer ID": f"CU-{i % 50:03d}", "Customer Name": f"Customer {i % 50}",
                     "Region": regions[int(rng.integers(0, 4))],
                     "Product ID": f"OFF-{int(rng.integers(0, 12)):04d}",
                     "Sales": round(float(rng.uniform(5, 900)), 2),
                     "Profit": round(float(rng.uniform(-50, 200)), 2)})
    orders = pd.DataFrame(rows)
    orders["Region"] = orders.groupby("Order ID")["Region"].transform("first")
    orders["Order Date"] = orders.groupby("Order ID")["Order Date"].transform("first")
    returns = pd.DataFrame({"Order ID": orders["Order ID"].drop_duplicates().sample(
        15, random_state=1).tolist(), "Returned": "Yes"})
    with pd.ExcelWriter(path) as xw:
        orders.to_excel(xw, sheet_name="Orders", index=False)
        people.to_excel(xw, sheet_name="People", index=False)
        returns.to_excel(xw, sheet_name="Returns", index=False)
    return {"orders": orders, "people": people, "returns": returns}


SUPERSTORE_MAPPING = """\
name: superstore
tables:
  orders:
    sql: |
      SELECT o."Order ID", MIN(o."Order Date") AS order_date, MIN(o."Customer ID") AS customer,
             MIN(p."Regional Manager") AS manager, MIN(o.Region) AS region,
             SUM(o.Sales) AS amount, SUM(o.Sales - o.Profit) AS cost
      FROM Orders o JOIN People p USING (Region)
      WHERE o."Order ID" NOT IN (SELECT "Order ID" FROM Returns)
      GROUP BY o."Order ID"
    columns:
      order_id: Order ID
      order_date: order_date
      account_id: customer
      owner_id: manager
      region: region
      amount: amount
      cost: cost
  reps:
    from: People
    columns: {rep_id: Regional Manager, name: Regional Manager, region: Region}
  accounts:
    from: Orders
    distinct: true
    columns: {account_id: Customer ID, name: Customer Name}
  products:
    from: Orders
    distinct: true
    columns: {product_id: Product ID}
"""


def test_orders_only_workbook_with_returns_excluded(tmp_path):
    raw = superstore(tmp_path / "superstore.xlsx")
    (tmp_path / "s.yaml").write_text(SUPERSTORE_MAPPING)
    data, report = load_with_report(tmp_path / "superstore.xlsx", tmp_path / "s.yaml")
    assert data is not None, report.format()
    o = raw["orders"][~raw["orders"]["Order ID"].isin(raw["returns"]["Order ID"])]
    assert not data.has_pipeline and len(data.opportunities) == 0
    assert len(data.orders) == o["Order ID"].nunique()
    want = o.groupby("Region")["Sales"].sum()
    for region, v in want.items():
        k = kpis.compute_kpis(data, f"region:{region}", "2025",
                              names=["bookings", "win_rate", "gross_margin"]).set_index("kpi")
        assert k.loc["bookings", "value"] == pytest.approx(v)
        assert k.loc["win_rate", "note"] == NO_PIPELINE
        part = o[o["Region"] == region]
        assert k.loc["gross_margin", "value"] == pytest.approx(
            part["Profit"].sum() / part["Sales"].sum())  # line cost = sales - profit
    assert sorted(data.reps["rep_id"]) == sorted(raw["people"]["Regional Manager"])


def test_orders_only_headline_never_shows_100_percent(tmp_path):
    from salesplan_nb.batch.runner import _index_view

    superstore(tmp_path / "s.xlsx")
    (tmp_path / "s.yaml").write_text(SUPERSTORE_MAPPING)
    data = loaders.load(tmp_path / "s.xlsx", tmp_path / "s.yaml")
    row = {"label": "West", "id": "West", "plan_type": "annual", "period": "2027",
           "status": "ok", "html": None, "ipynb": None,
           "h": {"pipeline": data.has_pipeline, "win_rate": 1.0}}
    view = _index_view("region", [row])
    texts = [c.get("text") for c in view["rows"][0]]
    assert NO_PIPELINE in texts and "100.0%" not in texts


# ---------------------------------------------------------------- SQL errors and readers

def _write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))


CANON = {
    "accounts.csv": "account_id,name\nA1,Acme\n",
    "reps.csv": "rep_id,name\nR1,Rita\n",
    "products.csv": "product_id\nP1\n",
    "opportunities.csv": "opportunity_id,owner_id,stage,status,amount,close_date\n"
                         "O1,R1,Won,won,100,2025-01-05\n",
}


def test_sql_errors_name_the_mapping_file_table_and_problem(tmp_path):
    _write(tmp_path / "src", CANON)
    for sql, reason, fix in [
        ("SELECT * FROM nosuch", "SQL problem: Catalog Error: Table with name nosuch does not "
         "exist", "name one of the source's tables: accounts, opportunities, products, reps"),
        ("SELECT nope FROM reps", 'SQL problem: Binder Error: Referenced column "nope" not '
         "found", "check the column names against the file's header"),
        ("SELEC * FROM reps", "SQL problem: Parser Error: syntax error", "check the SQL syntax"),
    ]:
        (tmp_path / "m.yaml").write_text(
            "tables:\n  accounts: accounts\n  products: products\n  opportunities: "
            f"opportunities\n  reps:\n    sql: \"{sql}\"\n")
        data, report = load_with_report(tmp_path / "src", tmp_path / "m.yaml")
        assert data is None
        err = [p for p in report.errors if p.table == "reps"][0]
        assert err.file == "m.yaml"
        assert err.reason.startswith("tables.reps (mapping line 5).sql: " + reason), err.reason
        assert err.fix.startswith(fix), err.fix


def test_filter_error_and_unknown_keys(tmp_path):
    _write(tmp_path / "src", CANON)
    (tmp_path / "m.yaml").write_text(
        "tables:\n  accounts: accounts\n  products: products\n  opportunities: opportunities\n"
        "  reps: {from: reps, filter: \"flag = 1\"}\n")
    data, report = load_with_report(tmp_path / "src", tmp_path / "m.yaml")
    err = [p for p in report.errors if p.table == "reps"][0]
    assert err.reason.startswith('tables.reps.filter: SQL problem: Binder Error: Referenced '
                                 'column "flag" not found')
    with pytest.raises(ConfigError, match=r"give either 'sql:' \(a query\) or 'from:'"):
        loaders.load(tmp_path / "src", {"tables": {"reps": {"sql": "SELECT 1", "from": "x"}}})
    with pytest.raises(ConfigError, match="a file without a header row needs 'names:'"):
        loaders.load(tmp_path / "src", {"tables": {"reps": {"from": "reps", "header": False}}})
    with pytest.raises(ConfigError, match="fiscal_year_start: 13 is not a month"):
        loaders.load(tmp_path / "src", {"fiscal_year_start": 13, "tables": {"reps": "reps"}})


def test_headerless_file_without_names_says_so(tmp_path):
    _write(tmp_path / "src", {**CANON, "reps.csv": "R1,Rita,NA,NA\nR2,Rob,NA,NA\n"})
    data, report = load_with_report(tmp_path / "src")
    err = [p for p in report.errors if p.file == "reps.csv"][0]
    assert err.reason.startswith("the first line looks like data, not a header row")
    assert err.fix.startswith("set header: false and names: [column, names, ...]")


def test_per_table_options_skip_delimiter_multiply_unpivot(tmp_path):
    _write(tmp_path / "src", {
        **CANON,
        "people.txt": "Exported 2025-12-01\nby the CRM\nrep_id;name\nR1;Rita\n",
        "quota.csv": "rep,M01,M02,M03\nR1,1.5,2,2.5\n",
    })
    data = loaders.load(tmp_path / "src", {"tables": {
        "accounts": "accounts", "products": "products", "opportunities": "opportunities",
        "reps": {"from": "people", "skip": 2, "delimiter": ";"},
        "targets": {"from": "quota", "multiply": 1000,
                    "unpivot": {"columns": {"M01": "01", "M02": "02", "M03": "03"},
                                "name": "month", "value": "quota"},
                    "columns": {"scope_level": {"value": "rep"}, "scope_id": "rep",
                                "period": {"template": "2025-{month}"}, "amount": "quota"}}}})
    assert data.reps["name"].tolist() == ["Rita"]
    assert data.targets["amount"].tolist() == [1500.0, 2000.0, 2500.0]
    assert kpis.target_for(data, "rep:R1", "2025-Q1") == pytest.approx(6000)
    assert kpis.target_for(data, "rep:R1", "2025") is None  # 3 of 12 months given


def test_literal_null_and_duplicate_key_messages(tmp_path):
    from salesplan_nb.data import validate

    opps = "opportunity_id,owner_id,stage,status,amount\n" + "".join(
        f"O1,R1,Won,won,{'NULL' if i == 0 else 5}\n" for i in range(1100))
    _write(tmp_path / "src", {**CANON, "opportunities.csv": opps})
    data, report = load_with_report(tmp_path / "src")
    null = [p for p in report.errors if p.value == "NULL"][0]
    assert null.reason == "a placeholder for a missing number, not a number"
    assert "decimal" not in null.fix and "values: {'NULL': null}" in null.fix
    more = [p for p in report.errors if "more rows with" in p.reason][0]
    assert more.reason == "99 more rows with: duplicate opportunity_id"
    text = report.format(limit=50)
    assert text.count("duplicate opportunity_id (first seen at row 2)") == 50
    assert "... 950 more like the above" in text
    assert validate.kind_of(report.errors[1]) == validate.kind_of(report.errors[2])


def test_distinct_table_with_varying_attribute_names_it(tmp_path):
    _write(tmp_path / "src", {**CANON, "reps.csv": "rep_id,name,team\nR1,Rita,A\nR1,Rita,B\n"})
    data, report = load_with_report(tmp_path / "src", {"tables": {
        "accounts": "accounts", "products": "products", "opportunities": "opportunities",
        "reps": {"from": "reps", "distinct": True,
                 "columns": {"rep_id": "rep_id", "name": "name", "territory": "team"}}}})
    err = [p for p in report.errors if p.table == "reps"][0]
    assert err.reason == "rep_id with different territory (first seen at row 2)"
    assert err.fix.startswith("make team the same on every row with the same rep_id")


def test_fiscal_year_periods(tmp_path):
    from salesplan_nb.core.scope import Period

    p = Period.parse("FY2027", 7)
    assert (p.start, p.end) == (pd.Timestamp("2026-07-01"), pd.Timestamp("2027-07-01"))
    q = Period.parse("FY2027-Q1", 7)
    assert (q.start, q.end) == (pd.Timestamp("2026-07-01"), pd.Timestamp("2026-10-01"))
    assert Period.parse("2027", 7).start == pd.Timestamp("2027-01-01")
    assert Period.parse("FY2027").start == pd.Timestamp("2027-01-01")


def test_rep_quotas_are_locked_to_the_given_rep_targets(dw):
    from salesplan_nb.steps import quotas

    raw, data, _ = dw
    q = raw["quota"][raw["quota"]["CalendarYear"] == 2025]
    want = q.groupby("EmployeeKey")["SalesAmountQuota"].sum()
    plan = quotas.quotas(data, "company", "2025")
    reps = plan.table[plan.table["level"] == "rep"].set_index("unit_id")
    for e, v in want.items():
        assert reps.loc[str(e), "quota"] == pytest.approx(v)
        assert bool(reps.loc[str(e), "locked"])
    assert any("locked to the rep targets" in n for n in plan.notes)
    one = quotas.quotas(data, f"rep:{want.index[0]}", "2025")
    assert one.target == pytest.approx(want.iloc[0])


def test_init_as_of_replays_a_past_date(tmp_path, dw):
    from salesplan_nb.data.workspace import init_plan

    raw, _, _ = dw
    warehouse(tmp_path / "export")
    (tmp_path / "dw.yaml").write_text(WAREHOUSE_MAPPING.replace("as_of: 2025-12-31\n", ""))
    ws = init_plan(tmp_path / "plan", data=str(tmp_path / "export"),
                   mapping=str(tmp_path / "dw.yaml"), as_of="2024-12-31", period="2025")
    d = ws.data
    o = raw["orders"]
    known = o[o["OrderDate"] <= "2024-12-31"]
    assert d.as_of == pd.Timestamp("2024-12-31")
    assert d.orders["order_date"].max() <= pd.Timestamp("2024-12-31")
    assert len(d.orders) == known["SalesOrderNumber"].nunique()
    assert d.orders["amount"].sum() == pytest.approx(known["SalesAmount"].sum())
    assert ws.doc["source"]["left_out_after_as_of"]["orders after as_of"] == \
        o[o["OrderDate"] > "2024-12-31"]["SalesOrderNumber"].nunique()
    k = kpis.compute_kpis(d, "company", "2024", names=["bookings"]).set_index("kpi")
    assert k.loc["bookings", "value"] == pytest.approx(known["SalesAmount"].sum())


def test_load_with_a_past_as_of_reopens_later_deals(tmp_path):
    _write(tmp_path / "src", {**CANON, "opportunities.csv":
                              "opportunity_id,owner_id,stage,status,amount,created_date,"
                              "close_date\nO1,R1,Won,won,100,2025-01-02,2025-01-05\n"
                              "O2,R1,Won,won,50,2025-01-02,2025-03-05\n"
                              "O3,R1,New,open,70,2025-02-10,2025-04-01\n"})
    data, report = load_with_report(tmp_path / "src", as_of="2025-01-31")
    assert data.opportunities.set_index("opportunity_id")["status"].to_dict() == {
        "O1": "won", "O2": "open"}
    lines = {p.reason: p.count for p in report.warnings}
    assert lines == {"deals created after as_of (2025-01-31)": 1,
                     "deals closed after as_of, open again (2025-01-31)": 1}


def test_margin_message_when_unit_cost_lacks_list_price(tmp_path):
    _write(tmp_path / "src", {**CANON, "products.csv": "product_id,unit_cost\nP1,5\n",
                              "opportunities.csv": "opportunity_id,owner_id,product_id,stage,"
                              "status,amount,close_date\nO1,R1,P1,Won,won,100,2025-01-05\n"})
    data = loaders.load(tmp_path / "src")
    k = kpis.compute_kpis(data, "company", "2025", names=["gross_margin"]).set_index("kpi")
    assert k.loc["gross_margin", "note"].startswith(
        "products have unit_cost but no list_price for the won deals' products")


def test_docs_worked_examples_parse():
    import yaml

    from salesplan_nb.data.mapping import parse

    text = (Path(__file__).resolve().parents[1] / "docs" / "mapping.md").read_text()
    section = text.split("## Real exports")[1].split("## Problems and their messages")[0]
    blocks = [b.split("```")[0].lstrip("\n") for b in section.split("```yaml")[1:]]
    full = [b for b in blocks if b.startswith(("name:", "tables:"))]
    assert len(full) >= 2
    for b in full:
        parse(yaml.safe_load(b), origin="docs")
    assert "n/a (no pipeline in the source)" in section


def test_legacy_xls_workbook_reads_through_xlrd():
    import statsmodels

    from salesplan_nb.data import sources

    path = (Path(statsmodels.__file__).parent / "tsa" / "statespace" / "tests" / "results"
            / "frbny_nowcast" / "Nowcasting" / "test_spec_blocks.xls")
    if not path.exists():
        pytest.skip("statsmodels ships without its test workbooks here")
    kind, reader, _ = sources.resolve(path)
    assert kind == "excel" and reader.tables(str(path)) == ["spec"]
    raw = reader.read(str(path), "spec")
    assert raw.origin == "test_spec_blocks.xls[spec]"
    assert list(raw.df.columns[:2]) == ["Model", "SeriesID"] and raw.df.index[0] == 2


@pytest.mark.parametrize("preset,files", [
    ("salesforce", {
        "opportunities.csv": '"Opportunity Owner: Full Name","Account Name","Opportunity Name",'
        '"Stage","Fiscal Period","Amount (converted)","Probability (%)","Close Date",'
        '"Created Date","Opportunity ID","Account ID"\n'
        '"Jane Doe","Acme","Acme - seats","Closed Won","Q1-2025","USD 24,000.00","100",'
        '"3/31/2025","1/15/2025","006A","001A"\n',
        "accounts.csv": '"Account ID","Account Name"\n"001A","Acme"\n',
        "products.csv": '"Product Name"\n"Core"\n'}),
])
def test_preset_export_variants(tmp_path, preset, files):
    _write(tmp_path, files)
    data = loaders.load(tmp_path, preset)
    assert data.opportunities["owner_id"].tolist() == ["Jane Doe"]
    assert data.opportunities["amount"].tolist() == [24000.0]
    assert data.reps["name"].tolist() == ["Jane Doe"]


def test_evaluate_uses_quarterly_rep_quotas_for_the_year(dw):
    from salesplan_nb.steps import evaluate

    raw, data, _ = dw
    o, q = raw["orders"], raw["quota"]
    o = o[o["OrderDate"].str.startswith("2025")]
    quota = q[q["CalendarYear"] == 2025].groupby("EmployeeKey")["SalesAmountQuota"].sum()
    booked = o.groupby("EmployeeKey")["SalesAmount"].sum().reindex(quota.index).fillna(0)
    att = evaluate.attainment_distribution(data, "company", "2025")
    assert att.quota_source == "rep targets 2025"
    assert att.summary["median"] == pytest.approx((booked / quota).median())


def test_sql_server_sources_run_sql_tables_on_the_server(tmp_path):
    import sqlite3

    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as con:
        con.executescript(
            "CREATE TABLE accounts (account_id TEXT, name TEXT);"
            "INSERT INTO accounts VALUES ('A1', 'Acme');"
            "CREATE TABLE products (product_id TEXT); INSERT INTO products VALUES ('P1');"
            "CREATE TABLE staff (id TEXT, first TEXT, last TEXT, is_sales INTEGER);"
            "INSERT INTO staff VALUES ('R1', 'Rita', 'Ray', 1), ('X9', 'Pat', 'Plant', 0);"
            "CREATE TABLE opportunities (opportunity_id TEXT, owner_id TEXT, stage TEXT,"
            " status TEXT, amount REAL); INSERT INTO opportunities VALUES"
            " ('O1', 'R1', 'Won', 'won', 10);")
    m = {"tables": {"accounts": "accounts", "products": "products",
                    "opportunities": "opportunities",
                    "reps": {"sql": "SELECT id AS rep_id, first || ' ' || last AS name "
                                    "FROM staff WHERE is_sales = 1"}}}
    data = loaders.load(db, m)
    assert data.reps[["rep_id", "name"]].values.tolist() == [["R1", "Rita Ray"]]
    m["tables"]["reps"]["sql"] = "SELECT nope FROM staff"
    data, report = load_with_report(db, m)
    err = [p for p in report.errors if p.table == "reps"][0]
    assert err.file == "mapping dict" and err.reason.startswith("tables.reps.sql: SQL error:")


def test_dataframes_in_memory_are_a_source_for_sql(tmp_path):
    from salesplan_nb.data import sources

    raw = superstore(tmp_path / "s.xlsx")
    (tmp_path / "s.yaml").write_text(SUPERSTORE_MAPPING)
    frames = {"Orders": raw["orders"], "People": raw["people"], "Returns": raw["returns"]}
    data, report = load_with_report(frames, tmp_path / "s.yaml")
    assert data is not None, report.format()
    assert report.source == "DataFrames (Orders, People, Returns)"
    o = raw["orders"][~raw["orders"]["Order ID"].isin(raw["returns"]["Order ID"])]
    assert data.orders["amount"].sum() == pytest.approx(o["Sales"].sum())
    assert not sources.FRAMES._sets  # dropped after the load


def test_orders_only_forecast_says_no_pipeline(tmp_path):
    from salesplan_nb.steps import forecast

    superstore(tmp_path / "s.xlsx")
    (tmp_path / "s.yaml").write_text(SUPERSTORE_MAPPING)
    data = loaders.load(tmp_path / "s.xlsx", tmp_path / "s.yaml")
    r = forecast.forecast(data, "company", horizon=3)
    assert r.methods["pipeline"] == NO_PIPELINE
    assert r.table["pipeline"].isna().all() and r.table["blend"].notna().all()


def test_names_and_template_mistakes_are_reported(tmp_path):
    _write(tmp_path / "src", {**CANON, "people.psv": "R1|Rita|Ray|x\n"})
    base = {"accounts": "accounts", "products": "products", "opportunities": "opportunities"}
    _, report = load_with_report(tmp_path / "src", {"tables": {**base, "reps": {
        "from": "people", "header": False, "names": ["id", "first", "last"]}}})
    err = [p for p in report.errors if p.table == "reps"][0]
    assert (err.file, err.reason, err.fix) == (
        "people.psv", "names: gives 3 columns, the file has 4 (first line)",
        "give one name per column, in file order")
    _, report = load_with_report(tmp_path / "src", {"tables": {**base, "reps": {
        "from": "people", "header": False, "names": ["id", "first", "last", "x"],
        "columns": {"rep_id": "id", "name": {"template": "{first} {surname}"}}}}})
    err = [p for p in report.errors if p.table == "reps"][0]
    assert err.reason == "missing column(s) 'surname' (needed for reps.name)"
    assert err.fix == "add the column, or change the template at tables.reps.columns.name"
    with pytest.raises(ConfigError, match=r"unpivot.*must be \{columns:"):
        loaders.load(tmp_path / "src", {"tables": {"reps": {"from": "people",
                                                            "unpivot": ["M01"]}}})


def test_sql_sees_only_the_source_tables(tmp_path):
    _write(tmp_path / "src", CANON)
    _, report = load_with_report(tmp_path / "src", {"tables": {
        "accounts": "accounts", "products": "products", "opportunities": "opportunities",
        "reps": {"sql": "SELECT * FROM read_csv('/etc/hostname')"}}})
    err = [p for p in report.errors if p.table == "reps"][0]
    assert "Permission Error" in err.reason
    assert err.fix.startswith("query only the source's tables")


def test_sql_over_parquet_and_headerless_files_with_source_table_options(tmp_path):
    pq = tmp_path / "pq"
    pq.mkdir()
    for name, text in CANON.items():
        pd.read_csv(pd.io.common.StringIO(text), dtype=str).to_parquet(
            pq / name.replace(".csv", ".parquet"))
    pd.DataFrame({"emp": ["R1", "R2"], "flag": [1, 0]}).to_parquet(pq / "staff.parquet")
    data = loaders.load(pq, {"tables": {
        "accounts": "accounts", "products": "products", "opportunities": "opportunities",
        "reps": {"sql": "SELECT r.rep_id, r.name FROM reps r JOIN staff s ON s.emp = r.rep_id "
                        "WHERE s.flag = 1"}}})
    assert data.reps["rep_id"].tolist() == ["R1"]

    _write(tmp_path / "csv", {**CANON, "emp.psv": "R1|Rita|1\nR2|Rob|0\n"})
    data = loaders.load(tmp_path / "csv", {
        "source": {"tables": {"emp": {"header": False, "names": ["id", "name", "flag"]}}},
        "tables": {"accounts": "accounts", "products": "products",
                   "opportunities": "opportunities",
                   "reps": {"sql": "SELECT e._row, e.id AS rep_id, e.name FROM emp e "
                                   "WHERE e.flag = 1"}}})
    assert data.reps[["rep_id", "name"]].values.tolist() == [["R1", "Rita"]]
    assert data.report.tables["reps"].origin == "emp.psv"  # _row selected: the file's rows


def test_cli_init_as_of(tmp_path, capsys):
    from salesplan_nb.cli import main

    raw = warehouse(tmp_path / "export")
    (tmp_path / "dw.yaml").write_text(WAREHOUSE_MAPPING.replace("as_of: 2025-12-31\n", ""))
    rc = main(["init", str(tmp_path / "plan"), "--data", str(tmp_path / "export"),
               "--mapping", str(tmp_path / "dw.yaml"), "--as-of", "2024-06-30",
               "--no-notebooks"])
    out = capsys.readouterr().out
    later = raw["orders"][raw["orders"]["OrderDate"] > "2024-06-30"]["SalesOrderNumber"]
    assert rc == 0 and "snapshot as of 2024-06-30" in out
    assert f"--as-of: {later.nunique():,} orders after as_of" in out


# ---------------------------------------------------------------- aggregate: product rule

LINES = {
    "lines.csv": "order,line,product,rep,account,day,amount\n"
                 "S1,1,P1,R1,A1,2025-01-05,100\n"
                 "S1,2,P2,R1,A1,2025-01-05,300\n"
                 "S1,3,P1,R1,A1,2025-01-05,250\n"
                 "S2,1,P2,R1,A1,2025-02-01,80\n"
                 "S2,2,P2,R1,A1,2025-02-01,-20\n",
    "products.csv": "product_id\nP1\nP2\n",
}


def _lines_mapping(aggregate: object) -> dict:
    return {"tables": {
        "accounts": "accounts", "reps": "reps", "products": "products",
        "orders": {"from": "lines", "aggregate": aggregate,
                   "columns": {"order_id": "order", "product_id": "product", "owner_id": "rep",
                               "account_id": "account", "order_date": "day",
                               "amount": "amount"}}}}


def test_aggregate_never_gives_a_multi_product_order_its_first_product(tmp_path):
    _write(tmp_path / "src", {**CANON, **LINES})
    data, report = load_with_report(tmp_path / "src", _lines_mapping(True))
    assert data is None
    err = [p for p in report.errors if p.table == "orders"]
    assert len(err) == 1  # S2 has one product: fine
    assert (err[0].file, err[0].row, err[0].column, err[0].value) == ("lines.csv", 2, "order",
                                                                      "S1")
    assert err[0].reason == "order_id 'S1' has lines with several products ('P1', 'P2')"
    assert err[0].fix == (
        "say how an order with several products gets its product: tables.orders.aggregate: "
        "{product: most_valuable} (the product with the largest amount), {product: first} "
        "(the first line's) or {product: mixed} (blank product); or load one row per line "
        "(a line id template) without aggregate")
    want = {"most_valuable": "P1", "first": "P1", "mixed": None}  # P1 350 > P2 300
    for rule, product in want.items():
        data = loaders.load(tmp_path / "src", _lines_mapping({"product": rule}))
        o = data.orders.set_index("order_id")
        got = o.loc["S1", "product_id"]
        assert (None if pd.isna(got) else got) == product, rule
        assert o.loc["S2", "product_id"] == "P2"
        assert o["amount"].to_dict() == {"S1": 650.0, "S2": 60.0}
    lines = LINES["lines.csv"].replace("S1,2,P2,R1,A1,2025-01-05,300", "S1,2,P2,R1,A1,"
                                       "2025-01-05,400")
    _write(tmp_path / "src", {"lines.csv": lines})
    data = loaders.load(tmp_path / "src", _lines_mapping({"product": "most_valuable"}))
    assert data.orders.set_index("order_id").loc["S1", "product_id"] == "P2"  # 400 > 350


def test_aggregate_mapping_mistakes_and_varying_attributes(tmp_path):
    _write(tmp_path / "src", {**CANON, **LINES})
    with pytest.raises(ConfigError, match=r"tables.orders.aggregate \(line \d+\): write true, "
                       r"false or \{product: first \| most_valuable \| mixed\}"):
        loaders.load(tmp_path / "src", _yaml(tmp_path, "tables:\n  orders:\n    from: lines\n"
                                             "    aggregate: {product: any}\n"))
    with pytest.raises(ConfigError, match="table territories has no product_id; write "
                       "aggregate: true"):
        loaders.load(tmp_path / "src", {"tables": {"territories": {"aggregate": {
            "product": "first"}}}})
    lines = LINES["lines.csv"].replace("S2,2,P2,R1,A1", "S2,2,P2,R1,A2")
    _write(tmp_path / "src", {"lines.csv": lines,
                              "accounts.csv": "account_id,name\nA1,Acme\nA2,Beta\n"})
    data, report = load_with_report(tmp_path / "src", _lines_mapping({"product": "first"}))
    w = [p for p in report.warnings if p.table == "orders"]
    assert [p.line() for p in w] == [
        "warning: lines.csv, column account: order_id with different account_id on its lines "
        "(2 rows); handled: the first line's value kept (1 order_ids); fix: make account the "
        "same on every line of a order, or aggregate in sql: (e.g. MIN or MAX)"]


def _yaml(tmp_path: Path, text: str) -> Path:
    (tmp_path / "m.yaml").write_text(text)
    return tmp_path / "m.yaml"
