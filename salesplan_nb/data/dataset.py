"""The loaded data of a plan: canonical tables plus an enriched ``deals`` view."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data import schema

T = TypeVar("T")
MEMO_MAX = 64  # entries per memo store; the store is cleared when full


@dataclass
class Dataset:
    """Canonical tables (see :mod:`salesplan_nb.data.schema`); absent optional tables are empty.

    ``as_of`` is the snapshot date: actuals after it do not exist yet. When not given it is
    the latest *fact* in the data (:func:`default_as_of`): the last won/lost close date, the
    last created date or the last order date, never an open deal's expected close date.
    ``as_of_rule`` says which rule picked it.
    """

    accounts: pd.DataFrame
    opportunities: pd.DataFrame
    reps: pd.DataFrame
    products: pd.DataFrame
    territories: pd.DataFrame = field(default_factory=lambda: schema.empty("territories"))
    targets: pd.DataFrame = field(default_factory=lambda: schema.empty("targets"))
    market: pd.DataFrame = field(default_factory=lambda: schema.empty("market"))
    orders: pd.DataFrame = field(default_factory=lambda: schema.empty("orders"))
    contacts: pd.DataFrame = field(default_factory=lambda: schema.empty("contacts"))
    as_of: pd.Timestamp | None = None
    name: str = "data"
    as_of_rule: str | None = None
    fiscal_year_start: int = 1  # month the fiscal year starts (FY periods; mapping key)

    def __post_init__(self) -> None:
        for t in schema.TABLES:
            setattr(self, t, schema.conform(t, getattr(self, t)))
        if self.as_of is None:
            self.as_of, self.as_of_rule = default_as_of(self.opportunities, self.orders)
        self.as_of = pd.Timestamp(self.as_of).normalize()
        if self.as_of_rule is None:
            self.as_of_rule = "given"

    @property
    def has_pipeline(self) -> bool:
        """Whether the source has opportunities (open / won / lost deals). Orders-only
        sources (won bookings) have none: win rate and coverage are
        :data:`~salesplan_nb.data.schema.NO_PIPELINE`."""
        return len(self.opportunities) > 0

    def until(self, as_of: str | pd.Timestamp) -> tuple[Dataset, dict[str, int]]:
        """The data as it was known at the end of ``as_of`` (replaying a past period):
        deals created after it and orders after it are left out; deals won or lost after it
        are open again (stage ``open at as_of``, loss reason blank, close date kept as the
        expected close); reps hired after it (owning no kept deal) are left out and end
        dates after it cleared; contacts' last activities after it are cleared. Targets,
        accounts, products and the market table stay.
        Returns the new Dataset and what changed, by kind (counts)."""
        day = pd.Timestamp(as_of).normalize()
        end = day + pd.Timedelta(days=1)
        o = self.opportunities
        late = (o["created_date"] >= end).fillna(False)
        o = o[~late]
        reopen = (o["status"].isin(["won", "lost"]) & (o["close_date"] >= end)).fillna(False)
        o = o.copy()
        o.loc[reopen, "status"] = "open"
        o.loc[reopen, "stage"] = "open at as_of"
        o.loc[reopen, "loss_reason"] = pd.NA
        orders = self.orders[~(self.orders["order_date"] >= end).fillna(False)]
        owners = set(o["owner_id"].dropna()) | set(orders["owner_id"].dropna())
        r = self.reps
        hired = (r["hire_date"] >= end).fillna(False) & ~r["rep_id"].isin(owners)
        r = r[~hired].copy()
        left = (r["end_date"] >= end).fillna(False)
        r.loc[left, "end_date"] = pd.NaT
        c = self.contacts
        seen = (c["last_activity"] >= end).fillna(False)
        if seen.any():
            c = c.copy()
            c.loc[seen, "last_activity"] = pd.NaT
        changed = {"deals created after as_of": int(late.sum()),
                   "deals closed after as_of, open again": int(reopen.sum()),
                   "orders after as_of": int(len(self.orders) - len(orders)),
                   "reps hired after as_of": int(hired.sum()),
                   "contacts' last activity after as_of, cleared": int(seen.sum())}
        tables = {**self.tables, "opportunities": o, "orders": orders, "reps": r,
                  "contacts": c}
        return Dataset(**tables, as_of=day, name=self.name,
                       fiscal_year_start=self.fiscal_year_start), changed

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {t: getattr(self, t) for t in schema.TABLES}

    def _memo_tables(self, with_deals: bool, tables: tuple[str, ...]) -> tuple:
        objs = tuple(getattr(self, t) for t in tables)
        return (*objs, self.deals) if with_deals else objs

    def memo_has(self, store: str, key: Hashable, *, with_deals: bool = False,
                 tables: tuple[str, ...] = schema.TABLES) -> bool:
        """True when :meth:`memo` would reuse the entry ``key`` of ``store``."""
        hit = self.__dict__.get(store, {}).get(key)
        return hit is not None and self._memo_valid(hit, self._memo_tables(with_deals, tables))

    def _memo_valid(self, hit: tuple, tables: tuple) -> bool:
        return hit[0] == self.as_of and len(hit[1]) == len(tables) and all(
            a is b for a, b in zip(hit[1], tables))

    def memo(self, store: str, key: Hashable, build: Callable[[], T], *,
             with_deals: bool = False, tables: tuple[str, ...] = schema.TABLES,
             replace: bool = False) -> T:
        """``build()`` memoised on this Dataset (like :attr:`deals`) in store ``store`` under
        ``key``. An entry is reused only while the Dataset holds the very same ``tables``
        objects (and enriched ``deals`` when ``with_deals``) and ``as_of``: reassigning one of
        them invalidates it; tables are treated as read-only. ``replace`` stores ``build()``
        even when an entry is valid. Every cache of a Dataset lives in a memo store (never a
        bare attribute), so no cache outlives the tables it was built from. For
        decision-independent work, so a widget change redoes only the arithmetic that depends
        on the decision."""
        memo: dict[Hashable, Any] = self.__dict__.setdefault(store, {})
        tables = self._memo_tables(with_deals, tables)
        hit = memo.get(key)
        if not replace and hit is not None and self._memo_valid(hit, tables):
            return hit[2]
        value = build()
        if len(memo) >= MEMO_MAX:
            memo.clear()
        memo[key] = (self.as_of, tables, value)
        return value

    #: the tables :attr:`deals` is built from; reassigning one rebuilds it
    DEALS_TABLES = ("opportunities", "orders", "accounts", "reps", "products")
    _DEALS_STORE = "_salesplan_deals"

    @property
    def deals(self) -> pd.DataFrame:
        """Opportunities (plus orders as won deals) enriched for slicing.

        Adds account ``industry, segment, employees, account_revenue, country, account_name``,
        product ``family``, rep ``rep_name, manager_id``, and the deal's ``region`` and
        ``territory``: the deal's own (opportunity / order columns) when given, else the
        owning rep's, else the account's. Orders appear with
        ``status='won'``, ``stage='Order'`` and ``close_date=order_date``.

        Memoised (:meth:`memo`) on the very table objects it reads: reassigning
        ``opportunities``, ``orders``, ``accounts``, ``reps`` or ``products`` rebuilds it, so
        it is never stale. Assigning ``data.deals = frame`` pins a frame until then.
        """
        return self.memo(self._DEALS_STORE, "deals", self._build_deals,
                         tables=self.DEALS_TABLES)

    @deals.setter
    def deals(self, frame: pd.DataFrame) -> None:
        self.memo(self._DEALS_STORE, "deals", lambda: frame, tables=self.DEALS_TABLES,
                  replace=True)

    @property
    def deals_built(self) -> bool:
        """True when :attr:`deals` is built for the current tables (nothing is rebuilt)."""
        return self.memo_has(self._DEALS_STORE, "deals", tables=self.DEALS_TABLES)

    def _build_deals(self) -> pd.DataFrame:
        opps = self.opportunities
        if len(self.orders):
            o = self.orders.rename(columns={"order_id": "opportunity_id",
                                            "order_date": "close_date"})
            o = o.assign(stage="Order", status="won", created_date=o["close_date"])
            opps = pd.concat([opps, schema.conform("opportunities", o)], ignore_index=True)
        acc = self.accounts[["account_id", "name", "industry", "segment", "employees",
                             "revenue", "country", "region", "territory"]].rename(
            columns={"name": "account_name", "revenue": "account_revenue",
                     "region": "acc_region", "territory": "acc_territory"})
        reps = self.reps[["rep_id", "name", "manager_id", "region", "territory"]].rename(
            columns={"rep_id": "owner_id", "name": "rep_name",
                     "region": "rep_region", "territory": "rep_territory"})
        prods = self.products[["product_id", "family"]]
        d = (opps.merge(acc, on="account_id", how="left")
             .merge(reps, on="owner_id", how="left")
             .merge(prods, on="product_id", how="left"))
        d["region"] = d["region"].fillna(d["rep_region"]).fillna(d["acc_region"])
        d["territory"] = d["territory"].fillna(d["rep_territory"]).fillna(d["acc_territory"])
        return d.drop(columns=["rep_region", "acc_region", "rep_territory", "acc_territory"])

    def to_parquet(self, folder: str | Path) -> None:
        """Write every table as ``folder/<table>.parquet`` plus ``as_of`` metadata."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, df in self.tables.items():
            tmp = folder / f".{name}.parquet.tmp"
            df.to_parquet(tmp, index=False)
            tmp.replace(folder / f"{name}.parquet")
        (folder / "as_of.txt").write_text(self.as_of.date().isoformat() + "\n")
        fy = folder / "fiscal_year_start.txt"
        if self.fiscal_year_start != 1:
            fy.write_text(f"{self.fiscal_year_start}\n")
        elif fy.exists():
            fy.unlink()

    @classmethod
    def from_parquet(cls, folder: str | Path, name: str = "data") -> Dataset:
        folder = Path(folder)
        tables = {t: pd.read_parquet(folder / f"{t}.parquet") for t in schema.TABLES
                  if (folder / f"{t}.parquet").exists()}
        as_of = (folder / "as_of.txt").read_text().strip() if (folder / "as_of.txt").exists() \
            else None
        fy = folder / "fiscal_year_start.txt"
        start = int(fy.read_text().strip()) if fy.exists() else 1
        return cls(**tables, as_of=as_of, name=name, fiscal_year_start=start,
                   as_of_rule="snapshot as_of.txt" if as_of else None)


def default_as_of(opportunities: pd.DataFrame, orders: pd.DataFrame
                  ) -> tuple[pd.Timestamp, str]:
    """``(as_of, rule)``: the latest fact in the data: max(last won/lost close date, last
    created date, last order date); ``rule`` names the one that picked it. Open deals'
    close dates are *expected* dates in the future and never count. Today when the data
    has no dates at all."""
    closed = opportunities["status"].isin(["won", "lost"]).fillna(False).astype(bool)
    facts = {"latest won/lost close date": opportunities.loc[closed, "close_date"].max(),
             "latest created date": opportunities["created_date"].max(),
             "latest order date": orders["order_date"].max()}
    facts = {k: v for k, v in facts.items() if pd.notna(v)}
    if not facts:
        return pd.Timestamp.today().normalize(), "today (the data has no dates)"
    rule = max(facts, key=lambda k: facts[k])
    return pd.Timestamp(facts[rule]).normalize(), rule


def resolve(data: Dataset, scope: Scope | str | None = None,
            period: Period | str | int | None = None, *,
            plan_year: bool = False) -> tuple[Scope, Period]:
    """Check ``data`` and parse ``scope`` and ``period`` for a step function. The default
    period is the calendar year of ``data.as_of`` (``plan_year``: the year after it). Bad
    text is a :class:`ConfigError` naming the fix."""
    if not isinstance(data, Dataset):
        raise ConfigError(f"expected a salesplan_nb Dataset, got {type(data).__name__}; "
                          "load one with salesplan_nb.data.loaders.load()")
    try:
        sc = Scope.parse(scope)
    except ValueError as exc:
        raise ConfigError(f"bad scope {scope!r}: {exc}") from None
    if period is None:
        return sc, Period.year(data.as_of.year + (1 if plan_year else 0))
    try:
        return sc, Period.parse(period, data.fiscal_year_start)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
