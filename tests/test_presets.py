"""The salesforce / hubspot presets load the standard exports as they come (issue 12): files
are built here with exactly the sample header rows documented in docs/mapping.md and loaded
with the preset alone; the canonical values are checked by hand."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from salesplan_nb.data import contacts as C
from salesplan_nb.data.loaders import load_with_report
from salesplan_nb.data.mapping import presets

DOC = Path(__file__).resolve().parents[1] / "docs" / "mapping.md"


def documented_headers(preset: str) -> list[tuple[str, list[str]]]:
    """``(file, header)`` of each sample header row in the preset's section of the docs."""
    text = DOC.read_text()
    section = text.split(f"### `{preset}`\n")[1].split("\n### ")[0]
    block = section.split("```\n")[1].split("```")[0]
    out = []
    for line in block.strip().splitlines():
        name, _, header = line.partition(": ")
        out.append((name, next(csv.reader(io.StringIO(header)))))
    return out


# values per file and column, row by row (every documented column has one)
SALESFORCE = {
    "opportunities.csv": {
        "Opportunity Owner": ["Jane Doe", "Raj Patel", "Jane Doe"],
        "Account Name": ["Acme Corp", "Globex", "Acme Corp"],
        "Opportunity Name": ["Acme - 200 seats", "Globex renewal", "Acme - analytics"],
        "Stage": ["Closed Won", "Closed Lost", "Negotiation/Review"],
        "Fiscal Period": ["Q1-2025", "Q2-2025", "Q3-2025"],
        "Amount": ["USD 24,000.00", "8,500.50", "12,000.00"],
        "Probability (%)": ["100", "0", "80"], "Age": ["75", "60", "30"],
        "Close Date": ["3/31/2025", "4/2/2025", "9/30/2025"],
        "Created Date": ["1/15/2025", "2/1/2025", "6/1/2025"],
        "Next Step": ["", "", "Send the order form"], "Lead Source": ["Web", "Partner", ""],
        "Type": ["New Business", "Existing Business", "New Business"],
        "Opportunity ID": ["0065g00000AbCdEAAV", "0065g00000AbCdFAAV", "0065g00000AbCdGAAV"],
        "Account ID": ["0015g00000XyZaBAAV", "0015g00000XyZaCAAV", "0015g00000XyZaBAAV"],
        "Product Name": ["Core Pro", "Core Starter", "Core Pro"]},
    "accounts.csv": {
        "Account Owner": ["Jane Doe", "Raj Patel"], "Account Name": ["Acme Corp", "Globex"],
        "Type": ["Customer", "Prospect"], "Industry": ["Manufacturing", "Technology"],
        "Employees": ["1,200", "150"], "Annual Revenue": ["USD 250,000,000.00", ""],
        "Billing City": ["San Jose", "Berlin"], "Billing State/Province": ["CA", ""],
        "Billing Country": ["United States", "Germany"],
        "Parent Account ID": ["", "0015g00000XyZaBAAV"],
        "Account ID": ["0015g00000XyZaBAAV", "0015g00000XyZaCAAV"]},
    "products.csv": {"Product Name": ["Core Starter", "Core Pro"],
                     "Product Code": ["CORE-S", "CORE-P"], "Product Family": ["Core", "Core"],
                     "Active": ["1", "1"], "List Price": ["USD 600.00", "USD 1,200.00"]},
    "contacts.csv": {
        "Opportunity Name": ["Acme - analytics", "Acme - analytics"],
        "Opportunity ID": ["0065g00000AbCdGAAV", "0065g00000AbCdGAAV"],
        "Account Name": ["Acme Corp", "Acme Corp"],
        "Account ID": ["0015g00000XyZaBAAV", "0015g00000XyZaBAAV"],
        "First Name": ["Ann", "Bo"], "Last Name": ["Lee", "Chen"],
        "Title": ["CFO", "Sales Ops Manager"],
        "Contact Role": ["Economic Decision Maker", "Business User"],
        "Is Primary": ["0", "1"], "Email": ["ann.lee@acme.example", "bo@acme.example"],
        "Phone": ["(415) 555-0134", ""], "Last Activity": ["6/20/2025", ""],
        "Contact ID": ["0035g00000C1AAA", "0035g00000C2AAA"],
        "Contact Owner": ["Jane Doe", "Jane Doe"]},
    "users.csv": {
        "Full Name": ["Jane Doe", "Raj Patel", "Sam Admin"],
        "Title": ["Account Executive", "Account Executive", "System Administrator"],
        "Role": ["West Sales", "EMEA Sales", "IT"],
        "Profile": ["Standard User", "Standard User", "System Administrator"],
        "Manager": ["Lee Boss", "Lee Boss", ""], "Active": ["1", "0", "1"],
        "Email": ["jane@x.example", "raj@x.example", "sam@x.example"],
        "Username": ["jane@x.example.crm", "raj@x.example.crm", "sam@x.example.crm"],
        "Last Login": ["6/29/2025 9:12 AM", "", "6/30/2025 8:00 AM"]},
}

HUBSPOT = {
    "deals.csv": {
        "Record ID": ["9001", "9002", "9003"],
        "Deal Name": ["Initech - platform", "Hooli - pilot", "Initech - add-on"],
        "Deal Stage": ["Closed Won", "Closed Lost", "Contract Sent"],
        "Amount": ["48000", "1500.75", "3500"],
        "Close Date": ["2025-03-14 16:20", "2025-05-01 10:00", "2025-09-30 12:00"],
        "Create Date": ["2024-12-02 09:05", "2025-02-10 11:30", "2025-06-01 08:00"],
        "Deal owner": ["Maria Lopez", "Tom Berg", "Maria Lopez"],
        "Pipeline": ["Sales Pipeline"] * 3,
        "Deal Type": ["New Business", "New Business", "Existing Business"],
        "Closed Lost Reason": ["", "Chose a competitor", ""],
        "Last Activity Date": ["2025-03-14 16:00", "2025-04-30 09:00", "2025-06-20 10:00"],
        "Associated Company IDs": ["5101", "5102;5101", "5101"],
        "Associated Company": ["Initech", "Hooli;Initech", "Initech"]},
    "companies.csv": {
        "Record ID": ["5101", "5102"], "Company name": ["Initech", "Hooli"],
        "Company Domain Name": ["initech.example", "hooli.example"],
        "Company owner": ["Maria Lopez", "Tom Berg"],
        "Create Date": ["2024-01-02 10:00", "2024-03-04 11:00"],
        "Phone Number": ["+1 512 555 0100", ""],
        "Last Activity Date": ["2025-06-20 10:00", ""], "City": ["Austin", "Palo Alto"],
        "State/Region": ["Texas", "California"],
        "Country/Region": ["United States", "United States"],
        "Industry": ["COMPUTER_SOFTWARE", "INTERNET"],
        "Number of Employees": ["850", "25000"], "Annual Revenue": ["120000000", ""],
        "Lifecycle Stage": ["Customer", "Opportunity"]},
    "products.csv": {"Name": ["Platform", "Add-on"], "SKU": ["PLT", "ADD"],
                     "Unit price": ["12000", "3500"], "Product Type": ["Service", "Inventory"],
                     "Unit cost": ["4000", ""]},
    "contacts.csv": {
        "Record ID": ["701", "702", "703"], "First Name": ["Peter", "Joanna", "Milton"],
        "Last Name": ["Gibbons", "Walsh", "Waddams"],
        "Email": ["peter@initech.example", "joanna@initech.example", ""],
        "Phone Number": ["+1 512 555 0134", "", ""],
        "Contact owner": ["Maria Lopez"] * 3,
        "Job Title": ["VP Engineering", "Ops Manager", "Collator"],
        "Buying Role": ["Decision Maker;Champion", "Champion", "End User"],
        "Lifecycle Stage": ["Customer"] * 3,
        "Last Activity Date": ["2025-06-20 10:00", "", "2025-01-05 09:00"],
        "Associated Company IDs": ["5101", "5101", "5101"],
        "Associated Company": ["Initech"] * 3,
        "Associated Deal IDs": ["9003", "9001;9003", ""]},
    "users.csv": {
        "First Name": ["Maria", "Tom", "Ops"], "Last Name": ["Lopez", "Berg", "Admin"],
        "Email": ["maria@x.example", "tom@x.example", "ops@x.example"],
        "Primary team": ["Texas", "California", "Operations"],
        "Additional teams": ["", "", ""],
        "Job title": ["Account Executive", "Account Manager", "Super admin"],
        "Last active": ["2025-06-30", "2025-06-29", "2025-06-30"]},
}

VALUES = {"salesforce": SALESFORCE, "salesforce-users": SALESFORCE, "hubspot": HUBSPOT,
          "hubspot-users": HUBSPOT}


def build(folder: Path, preset: str, contacts_variant: int = 0,
          files: tuple[str, ...] | None = None) -> Path:
    """Write the documented exports of ``preset`` (values from VALUES) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    headers = documented_headers(preset.removesuffix("-users"))
    variants = [h for f, h in headers if f == "contacts.csv"]
    values = VALUES[preset]
    for name, header in headers:
        if files is not None and name not in files:
            continue
        if name == "contacts.csv" and header != variants[contacts_variant]:
            continue
        cols = values[name]
        missing = [h for h in header if h not in cols]
        assert not missing, f"{preset} {name}: no test values for {missing}"
        n = len(next(iter(cols.values())))
        quote = csv.QUOTE_ALL if preset.startswith("salesforce") else csv.QUOTE_MINIMAL
        with open(folder / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, quoting=quote)
            w.writerow(header)
            w.writerows([[cols[h][i] for h in header] for i in range(n)])
    return folder


def test_every_preset_is_documented_with_sample_headers():
    for name in presets():
        assert f"### `{name}`" in DOC.read_text()
    for name in ("salesforce", "hubspot"):
        files = {f for f, _ in documented_headers(name)}
        assert {"contacts.csv", "users.csv"} <= files


@pytest.mark.parametrize("preset", ["salesforce", "salesforce-users"])
def test_salesforce_report_exports_load_with_the_preset_alone(tmp_path, preset):
    files = None if preset.endswith("users") else ("opportunities.csv", "accounts.csv",
                                                    "products.csv", "contacts.csv")
    src = build(tmp_path / "sf", preset, files=files)
    data, report = load_with_report(src, preset)
    assert data is not None, report.format()
    o = data.opportunities.set_index("opportunity_id")
    assert o["status"].tolist() == ["won", "lost", "open"]
    assert o["amount"].tolist() == [24000.0, 8500.5, 12000.0]
    assert o.loc["0065g00000AbCdEAAV", "close_date"] == pd.Timestamp("2025-03-31")
    assert o.loc["0065g00000AbCdEAAV", "created_date"] == pd.Timestamp("2025-01-15")
    assert o["account_id"].tolist()[0] == "0015g00000XyZaBAAV"
    a = data.accounts.set_index("account_id")
    assert a.loc["0015g00000XyZaBAAV", "employees"] == 1200
    assert a.loc["0015g00000XyZaBAAV", "revenue"] == 250_000_000.0
    assert a.loc["0015g00000XyZaBAAV", "segment"] == "Enterprise"
    assert a.loc["0015g00000XyZaCAAV", "parent_id"] == "0015g00000XyZaBAAV"
    assert data.products.set_index("product_id").loc["Core Pro", "list_price"] == 1200.0
    reps = data.reps.set_index("rep_id")
    assert sorted(reps.index) == ["Jane Doe", "Raj Patel"]  # never the admin
    if preset == "salesforce-users":
        assert reps.loc["Jane Doe", "territory"] == "West Sales"
        assert reps.loc["Raj Patel", "manager_id"] == "Lee Boss"
        assert reps.loc["Jane Doe", "role"] == "Account Executive"
    c = data.contacts
    assert c["name"].tolist() == ["Ann Lee", "Bo Chen"]
    assert c["role"].tolist() == ["economic buyer", "user"]
    assert c["opportunity_id"].tolist() == ["0065g00000AbCdGAAV"] * 2
    assert c["last_activity"].iloc[0] == pd.Timestamp("2025-06-20")
    assert c["email"].isna().all() and c["phone"].isna().all()  # personal data not loaded
    t = C.committee(c, "0015g00000XyZaBAAV")
    assert C.missing_key_roles(t) == ["decision maker", "champion"]


def test_salesforce_contacts_report_without_roles_and_no_contacts_file(tmp_path):
    src = build(tmp_path / "sf", "salesforce", contacts_variant=1,
                files=("opportunities.csv", "accounts.csv", "products.csv", "contacts.csv"))
    data, report = load_with_report(src, "salesforce")
    assert data is not None, report.format()
    assert data.contacts["contact_id"].tolist() == ["0035g00000C1AAA", "0035g00000C2AAA"]
    assert data.contacts["role"].isna().all()
    warn = [p.line() for p in report.warnings if p.table == "contacts"]
    assert "warning: contacts.csv, column Contact Role: no column 'Contact Role' or 'Role' " \
           "(2 rows); handled: " \
           "contacts.role left blank; fix: add the column to the export to fill " \
           "contacts.role" in warn
    (src / "contacts.csv").unlink()
    data, report = load_with_report(src, "salesforce")
    assert data is not None and len(data.contacts) == 0
    (w,) = [p for p in report.warnings if p.table == "contacts"]
    assert w.handled == "table contacts left empty (tables.contacts.optional)"


@pytest.mark.parametrize("preset", ["hubspot", "hubspot-users"])
def test_hubspot_exports_load_with_the_preset_alone(tmp_path, preset):
    files = None if preset.endswith("users") else ("deals.csv", "companies.csv",
                                                    "products.csv", "contacts.csv")
    src = build(tmp_path / "hs", preset, files=files)
    data, report = load_with_report(src, preset)
    assert data is not None, report.format()
    o = data.opportunities.set_index("opportunity_id")
    assert o["status"].tolist() == ["won", "lost", "open"]
    assert o["account_id"].tolist() == ["5101", "5102", "5101"]  # the first of 5102;5101
    assert o["amount"].tolist() == [48000.0, 1500.75, 3500.0]
    assert o.loc["9001", "close_date"] == pd.Timestamp("2025-03-14")
    assert o.loc["9002", "loss_reason"] == "Chose a competitor"
    a = data.accounts.set_index("account_id")
    assert a.loc["5102", "employees"] == 25000 and a.loc["5101", "state"] == "Texas"
    assert data.products.set_index("product_id").loc["Platform", "unit_cost"] == 4000.0
    reps = data.reps.set_index("rep_id")
    assert sorted(reps.index) == ["Maria Lopez", "Tom Berg"]
    if preset == "hubspot-users":
        assert reps.loc["Tom Berg", "territory"] == "California"
        assert reps.loc["Maria Lopez", "role"] == "Account Executive"
    c = data.contacts.set_index("contact_id")
    assert c["role"].tolist() == ["decision maker", "champion", "user"]
    assert c.loc["702", "opportunity_id"] == "9001"
    assert c["email"].isna().all()
    t = C.committee(data.contacts, "5101")
    assert t["name"].tolist() == ["Peter Gibbons", "Joanna Walsh", "Milton Waddams"]
    assert C.missing_key_roles(t) == ["economic buyer"]


def test_users_preset_names_a_deal_owner_missing_from_the_users_export(tmp_path):
    src = build(tmp_path / "hs", "hubspot-users")
    users = (src / "users.csv").read_text().replace("Tom,Berg", "Tim,Berg")
    (src / "users.csv").write_text(users)
    data, report = load_with_report(src, "hubspot-users")
    assert data is None
    (err,) = report.errors
    assert (err.file, err.row, err.column, err.value) == ("deals.csv", 3, "Deal owner",
                                                          "Tom Berg")
    assert err.reason.startswith("unknown rep: not in ")
    assert err.fix.startswith("add the rep to ")
