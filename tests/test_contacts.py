"""The optional contacts table (issue 11): schema, mapping, validation messages, the sample's
buying committees and the account plan's "Buying committee" with missing key roles."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data import contacts as C
from salesplan_nb.data import loaders, schema
from salesplan_nb.data.loaders import load_with_report
from salesplan_nb.data.sample import generate

CANON = {
    "accounts.csv": "account_id,name\nA1,Acme\nA2,Beta\n",
    "reps.csv": "rep_id,name\nR1,Rita\n",
    "products.csv": "product_id\nP1\n",
    "opportunities.csv": "opportunity_id,account_id,owner_id,stage,status,amount,close_date\n"
                         "O1,A1,R1,Won,won,100,2025-01-05\n",
}


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def test_roles_normalise_crm_spellings_and_keep_others():
    roles, unknown = C.normalize_roles(pd.Series(
        ["Economic Decision Maker", "Business User", "budget holder", "Champion;End User",
         "Technical Buyer", "Sponsor", "Gatekeeper", None, " "], dtype=schema.STRING))
    assert roles.tolist()[:6] == ["economic buyer", "user", "economic buyer", "champion",
                                  "technical buyer", "executive sponsor"]
    assert roles.iloc[6] == "Gatekeeper" and pd.isna(roles.iloc[7]) and pd.isna(roles.iloc[8])
    assert unknown.tolist() == [False] * 6 + [True, False, False]


def test_personal_data_is_masked():
    assert C.mask_email("maria.garcia@acme.example") == "m***@acme.example"
    assert C.mask_email("no-at-sign") == "***" and C.mask_email(None) == ""
    assert C.mask_phone("+1 (415) 555-0134") == "***0134"
    assert C.mask_phone("12") == "***" and C.mask_phone(pd.NA) == ""


def test_canonical_contacts_load_with_role_and_reference_warnings(tmp_path):
    src = _write(tmp_path / "src", {**CANON, "contacts.csv":
                                    "contact_id,name,title,role,account_id,opportunity_id,"
                                    "email,last_activity\n"
                                    "C1,Ann Lee,CFO,Economic Buyer,A1,O1,ann@acme.example,"
                                    "2025-01-02\n"
                                    "C2,Bo Chen,IT,Gatekeeper,A1,,,\n"
                                    "C3,Cy Diaz,VP,Champion,,,,\n"
                                    "C4,Di Eng,VP,Champion,A9,O7,,\n"})
    data, report = load_with_report(src)
    assert data is not None, report.format()
    assert data.contacts["role"].tolist() == ["economic buyer", "Gatekeeper", "champion",
                                              "champion"]
    lines = [p.line() for p in report.warnings]
    assert lines == [
        "warning: contacts.csv, column role: contact role 'Gatekeeper' is not a known deal "
        "role (economic buyer, decision maker, champion, executive sponsor, technical buyer, "
        "influencer, user, blocker, other) (1 row); handled: shown as written; counts as no "
        "key role; fix: map it under tables.contacts.columns.role.values, e.g. "
        "{'Gatekeeper': influencer}",
        "warning: contacts.csv, column account_id: contacts without an account (1 row); "
        "handled: kept; they appear in no account plan; fix: fill in account_id to show them "
        "in their account's plan",
        "warning: contacts.csv, column account_id: account_id 'A9' is not in accounts.csv "
        "(1 row); handled: kept as is; fix: add account 'A9' to accounts.csv",
        "warning: contacts.csv, column opportunity_id: opportunity_id 'O7' is not in "
        "opportunities.csv (1 row); handled: kept as is; fix: add opportunity 'O7' to "
        "opportunities.csv"]
    assert data.contacts["last_activity"].iloc[0] == pd.Timestamp("2025-01-02")


def test_contacts_errors_name_file_row_column_value_and_fix(tmp_path):
    src = _write(tmp_path / "src", {**CANON, "contacts.csv": "name,account_id,last_activity\n"
                                    ",A1,2025-01-02\nAnn,A1,02.01.2025\n"})
    data, report = load_with_report(src)
    assert data is None
    assert sorted(p.line() for p in report.errors) == [
        "error: contacts.csv, row 2, column name: required name is blank; fix: fill in name "
        "on every row (or map another column to name)",
        "error: contacts.csv, row 3, column last_activity, value '02.01.2025': not a date "
        "(expected YYYY-MM-DD); fix: write real dates as YYYY-MM-DD, or set format: under "
        "tables.contacts.columns.last_activity"]


def test_mapped_contacts_and_optional_source_table(tmp_path):
    src = _write(tmp_path / "src", {**CANON, "people.csv": "Id,First,Last,Company,Role\n"
                                    "9,Ann,Lee,A2,Budget Holder\n"})
    m = {"tables": {"accounts": "accounts", "reps": "reps", "products": "products",
                    "opportunities": "opportunities",
                    "contacts": {"from": "people", "optional": True, "columns": {
                        "contact_id": "Id", "name": {"template": "{First} {Last}"},
                        "account_id": "Company", "role": "Role"}}}}
    data = loaders.load(src, m)
    assert data.contacts[["contact_id", "name", "role", "account_id"]].values.tolist() == [
        ["9", "Ann Lee", "economic buyer", "A2"]]
    m["tables"]["contacts"]["from"] = "nobody"
    data, report = load_with_report(src, m)
    assert data is not None and len(data.contacts) == 0
    assert [p.line() for p in report.warnings] == [
        f"warning: nobody: no CSV file named 'nobody' in {src} (0 rows); handled: table "
        "contacts left empty (tables.contacts.optional); fix: add nobody.csv, or map the "
        "table to one of: accounts, opportunities, people, products, reps to fill table "
        "contacts"]
    with pytest.raises(ConfigError, match="table reps is required by every plan and cannot "
                       "be optional; remove 'optional: true'"):
        loaders.load(src, {"tables": {"reps": {"from": "reps", "optional": True}}})


def test_sample_contacts_are_seeded_and_refer_to_the_data():
    a = generate(seed=7, accounts=200, opportunities=2000)
    b = generate(seed=7, accounts=200, opportunities=2000)
    pd.testing.assert_frame_equal(a.contacts, b.contacts)
    c = a.contacts
    assert set(c["account_id"]) <= set(a.accounts["account_id"])
    linked = c["opportunity_id"].dropna()
    opps = a.opportunities.set_index("opportunity_id")
    assert len(linked) and (opps.loc[linked, "status"] == "open").all()
    assert set(c.loc[c["opportunity_id"].notna(), "role"]) <= set(C.KEY_ROLES)
    assert set(c["role"]) <= set(C.ROLES) and c["email"].str.endswith(".example").all()
    per = c.groupby("account_id").size().reindex(a.accounts["account_id"], fill_value=0)
    seg = a.accounts.set_index("account_id")["segment"]
    assert per[seg == "SMB"].between(1, 3).all() and per[seg == "Enterprise"].between(3, 7).all()
    # some committees lack a key role: the plans have something to flag
    lacking = sum(bool(C.missing_key_roles(C.committee(c, acc)))
                  for acc in a.accounts["account_id"][:50])
    assert 0 < lacking < 50


def test_committee_groups_a_contact_over_deals_and_masks_details():
    c = schema.conform("contacts", pd.DataFrame({
        "contact_id": ["C1", "C1", "C2", "C3"], "name": ["Ann", "Ann", "Bo", "Cy"],
        "title": ["CFO", "CFO", None, "Analyst"],
        "role": ["economic buyer", "champion", "Gatekeeper", "user"],
        "account_id": ["A1", "A1", "A1", "A2"], "opportunity_id": ["O2", "O1", None, None],
        "email": ["ann@acme.example", None, None, None], "phone": [None, "555 0134", None, None],
        "last_activity": pd.to_datetime(["2025-01-02", "2025-03-04", None, None])}))
    t = C.committee(c, "A1")
    assert t.to_dict("records")[0] == {
        "name": "Ann", "title": "CFO", "role": "economic buyer, champion", "deals": "O1, O2",
        "last_activity": pd.Timestamp("2025-03-04"), "email": "a***@acme.example",
        "phone": "***0134"}
    assert t["name"].tolist() == ["Ann", "Bo"] and t.loc[1, "role"] == "Gatekeeper"
    assert C.missing_key_roles(t) == ["decision maker"]


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    from salesplan_nb.data.workspace import Workspace

    data = generate(seed=3, accounts=60, opportunities=900)
    return Workspace.create(tmp_path_factory.mktemp("c") / "plan", data=data,
                            plan_type="account", period="2027")


def _account_lacking(ws, role: str) -> str:
    c = ws.data.contacts
    for acc in ws.data.accounts["account_id"]:
        if role in C.missing_key_roles(C.committee(c, acc)) and (c["account_id"] == acc).any():
            return acc
    raise AssertionError(f"no sample account lacks a {role}")


def test_account_plan_shows_the_buying_committee_and_flags_missing_roles(plan):
    from salesplan_nb.render import report

    acc = _account_lacking(plan, "economic buyer")
    ctx = report.context(plan.path, "account", acc, None, "account")
    sec = report.account_profile(ctx)
    table = next(b for b in sec.blocks if isinstance(b, report.Table)
                 and b.caption == "Buying committee")
    want = C.committee(plan.data.contacts, acc)
    assert table.df["name"].tolist() == want["name"].tolist()
    assert list(table.df.columns[:3]) == ["name", "title", "role"]
    text = next(b for b in sec.blocks if str(b).startswith("Buying committee:"))
    assert "no economic buyer identified" in text
    html = "".join(report.block_html(b) for b in sec.blocks)
    full = plan.data.contacts.loc[plan.data.contacts["account_id"] == acc, "email"]
    assert "Buying committee" in html and not any(e in html for e in full)  # masked only
    assert "***@" in html
    risks = report.account_risks(ctx).blocks[0].df.set_index("risk")
    assert risks.loc["no economic buyer identified", "mitigation"].startswith(
        "ask the champion who signs off the budget")


def test_account_plan_without_a_contacts_table_says_so_in_one_line(plan, tmp_path):
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.render import report

    data = generate(seed=3, accounts=60, opportunities=900)
    data.contacts = schema.empty("contacts")
    ws = Workspace.create(tmp_path / "p", data=data, plan_type="account", period="2027")
    acc = str(data.accounts["account_id"].iloc[0])
    ctx = report.context(ws.path, "account", acc, None, "account")
    sec = report.account_profile(ctx)
    lines = [str(b) for b in sec.blocks if str(b).startswith("Buying committee")]
    assert lines == ["Buying committee: the source has no contacts table; map one under "
                     "tables.contacts in the mapping (name, title, role, account_id) to show "
                     "who buys (docs/mapping.md, Contacts)."]
    risks = report.account_risks(ctx).blocks
    assert not any("identified" in str(r) for b in risks if hasattr(b, "df")
                   for r in b.df["risk"])


def test_a_past_as_of_clears_later_contact_activity(tmp_path):
    src = _write(tmp_path / "src", {**CANON, "contacts.csv": "name,account_id,last_activity\n"
                                    "Ann,A1,2025-01-02\nBo,A1,2025-03-04\n"})
    data, report = load_with_report(src, as_of="2025-01-31")
    assert data.contacts["last_activity"].tolist()[0] == pd.Timestamp("2025-01-02")
    assert pd.isna(data.contacts["last_activity"].iloc[1])
    (w,) = [p.line() for p in report.warnings if "contacts" in p.reason]
    assert w == ("warning: (as_of): contacts' last activity after as_of, cleared (2025-01-31) "
                 "(1 row); handled: blank; fix: nothing to do: a plan as of a past date sees "
                 "only what was known then")


def test_an_account_without_contacts_gets_one_risk_not_four(tmp_path):
    from salesplan_nb.data.workspace import Workspace
    from salesplan_nb.render import report

    data = generate(seed=3, accounts=60, opportunities=900)
    acc = str(data.accounts["account_id"].iloc[0])
    data.contacts = data.contacts[data.contacts["account_id"] != acc]
    ws = Workspace.create(tmp_path / "p", data=data, plan_type="account", period="2027")
    ctx = report.context(ws.path, "account", acc, None, "account")
    assert len(ctx.data.contacts) and ctx.data.contacts["account_id"].ne(acc).all()
    line = next(str(b) for b in report.account_profile(ctx).blocks
                if str(b).startswith("Buying committee"))
    assert line == (f"Buying committee: no contacts recorded for {ctx.unit_label}; add the "
                    "people you sell to (and their role in the deal) in the CRM.")
    risks = report.account_risks(ctx).blocks[0].df
    committee = risks[risks["risk"].str.contains("committee|identified")]
    assert committee["risk"].tolist() == ["no buying committee"]
