"""Canonical tables: the one data model every planning step reads.

Every source (CSV, Excel, Parquet, SQL, the sample generator) is mapped onto these tables.
Column dtypes are explicit: strings are ``string[pyarrow]``, dates ``datetime64[ns]`` (naive,
day precision), money ``float64`` in the plan currency (USD unless the mapping says otherwise),
counts ``Int64`` (nullable).

Opportunity ``status`` is one of ``open`` / ``won`` / ``lost``; ``stage`` keeps the source's own
stage name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salesplan_nb.core.scope import SCOPE_LEVELS  # noqa: F401 - re-exported

STRING = "string[pyarrow]"
DATE = "datetime64[ns]"
MONEY = "float64"
COUNT = "Int64"

STATUSES = ("open", "won", "lost")


@dataclass(frozen=True)
class Column:
    """One canonical column: ``name``, pandas ``dtype``, whether a source must provide it."""

    name: str
    dtype: str
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns, primary key and whether a plan needs it."""

    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    required: bool = False
    help: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def dtypes(self) -> dict[str, str]:
        return {c.name: c.dtype for c in self.columns}

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _t(name, key, required, help, *cols) -> Table:
    return Table(name, tuple(cols), key=key, required=required, help=help)


C = Column

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _t(
            "accounts", "account_id", True, "Customers and prospects, one row per account.",
            C("account_id", STRING, True, "unique account id"),
            C("name", STRING, True, "account name (untrusted text)"),
            C("industry", STRING, help="industry / sector"),
            C("segment", STRING, help="size segment: SMB, Mid-Market or Enterprise"),
            C("employees", COUNT, help="number of employees"),
            C("revenue", MONEY, help="annual revenue, USD"),
            C("country", STRING), C("state", STRING), C("city", STRING),
            C("region", STRING, help="sales region the account belongs to"),
            C("territory", STRING, help="territory id the account is assigned to"),
            C("parent_id", STRING, help="account_id of the parent company"),
            C("owner_id", STRING, help="rep_id of the account owner"),
        ),
        _t(
            "opportunities", "opportunity_id", True, "Deals: open pipeline and closed won/lost.",
            C("opportunity_id", STRING, True, "unique opportunity id"),
            C("account_id", STRING, help="account_id; blank allowed (warned)"),
            C("owner_id", STRING, True, "rep_id of the owning rep"),
            C("product_id", STRING, help="product_id"),
            C("stage", STRING, True, "source stage name"),
            C("status", STRING, True, "open | won | lost"),
            C("created_date", DATE, help="date created or first engaged"),
            C("close_date", DATE, help="date won or lost (expected close for open deals)"),
            C("amount", MONEY, help="deal value, USD (booked value for won deals)"),
            C("loss_reason", STRING, help="why a lost deal was lost"),
            C("region", STRING, help="the deal's own sales region (wins over the rep's)"),
            C("territory", STRING, help="the deal's own territory id (wins over the rep's)"),
            C("cost", MONEY, help="cost of the deal's lines, USD; enables gross margin"),
            C("forecast_category", STRING, help="commit / best case / pipeline / omitted"),
        ),
        _t(
            "reps", "rep_id", True, "Sales people and managers.",
            C("rep_id", STRING, True, "unique rep id"),
            C("name", STRING, True, "rep name (untrusted text)"),
            C("manager_id", STRING, help="rep_id or name of the manager"),
            C("region", STRING), C("territory", STRING),
            C("role", STRING, help="e.g. AE, SDR, Manager"),
            C("hire_date", DATE), C("end_date", DATE, help="blank while employed"),
        ),
        _t(
            "products", "product_id", True, "Products and prices.",
            C("product_id", STRING, True), C("name", STRING), C("family", STRING),
            C("list_price", MONEY, help="USD per unit"),
            C("unit_cost", MONEY, help="USD per unit; enables gross margin"),
        ),
        _t(
            "territories", "territory_id", False, "Territories and their region.",
            C("territory_id", STRING, True), C("name", STRING), C("region", STRING),
            C("parent_id", STRING),
        ),
        _t(
            "targets", None, False, "Given targets / quotas.",
            C("scope_level", STRING, True, "company | region | territory | rep | account"),
            C("scope_id", STRING, help="blank for company"),
            C("period", STRING, True, "period label, e.g. 2025 or 2025-Q1"),
            C("metric", STRING, help="default bookings"),
            C("amount", MONEY, True),
        ),
        _t(
            "market", None, False, "Market potential per segment x region (USD per year).",
            C("segment", STRING, True), C("region", STRING, True),
            C("industry", STRING), C("potential", MONEY, True),
            C("accounts", COUNT, help="number of addressable accounts"),
        ),
        _t(
            "orders", "order_id", False, "Closed bookings for sources without a pipeline.",
            C("order_id", STRING, True), C("account_id", STRING), C("owner_id", STRING),
            C("product_id", STRING), C("order_date", DATE, True), C("amount", MONEY, True),
            C("region", STRING, help="the order's own sales region (wins over the rep's)"),
            C("territory", STRING, help="the order's own territory id (wins over the rep's)"),
            C("cost", MONEY, help="cost of the order's lines, USD; enables gross margin"),
        ),
        _t(
            "contacts", None, False, "People at accounts and their role in the deal (the "
            "buying committee); one row per contact, or per contact and deal.",
            C("contact_id", STRING, help="the source's contact id (rows of one contact "
              "share it)"),
            C("name", STRING, True, "full name (untrusted text)"),
            C("title", STRING, help="job title"),
            C("role", STRING, help="role in the deal: economic buyer, decision maker, "
              "champion, executive sponsor, technical buyer, influencer, user, blocker, other"),
            C("account_id", STRING, help="account_id of the contact's account"),
            C("opportunity_id", STRING, help="opportunity_id of the deal the role is on"),
            C("email", STRING, help="personal data: masked in plans"),
            C("phone", STRING, help="personal data: masked in plans"),
            C("last_activity", DATE, help="date of the last activity with the contact"),
        ),
    )
}


NO_PIPELINE = "n/a (no pipeline in the source)"
"""What win rate and pipeline coverage show for an orders-only source (won bookings, no
opportunities): never 100%."""


def empty(table: str) -> pd.DataFrame:
    """An empty canonical table with the right columns and dtypes."""
    t = TABLES[table]
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in t.columns})


def conform(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with exactly the canonical columns (missing optional ones added empty)
    in canonical order and dtypes. Values must already be parseable: validation happens in
    :mod:`salesplan_nb.data.validate`; this only casts."""
    t = TABLES[table]
    out = {}
    n = len(df)
    for c in t.columns:
        if c.name in df.columns:
            s = df[c.name]
            if c.dtype == DATE:
                s = pd.to_datetime(s).astype(DATE)
            elif str(s.dtype) != c.dtype:
                s = s.astype(c.dtype)
            out[c.name] = s.reset_index(drop=True)
        else:
            out[c.name] = pd.Series(index=pd.RangeIndex(n), dtype=c.dtype)
    return pd.DataFrame(out)
