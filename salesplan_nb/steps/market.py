"""Step 1 - market & customer insights from CRM deals.

Every function takes ``(data, scope, period)``; ``period`` defaults to the calendar year of
``data.as_of``. Money is USD, rates are fractions 0..1. Bookings = ``amount`` of won deals,
dated by ``close_date``. A scope or period without deals gives a zero-row frame (or a
dataclass) whose ``attrs["note"]`` / ``note`` says so, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.accounts import FILL_COLUMNS, fill_account_places
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import (
    day_after,
    same_dates_last_year,
    to_date,
    trailing_12_months,
    year_to_date,
)
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.dataset import resolve as _resolve

#: slicing dimensions -> column of ``Dataset.deals``
DIMENSIONS = {
    "region": "region", "territory": "territory", "segment": "segment",
    "industry": "industry", "country": "country", "product": "product_id",
    "family": "family", "rep": "owner_id", "account": "account_id",
}
TIME_DIMENSIONS = {"month": "M", "quarter": "Q", "year": "Y"}
UNKNOWN = "Unknown"
DAYS_PER_YEAR = 365.25


# ---- shared helpers (also used by goals, kpis, swot) -------------------------------------
def resolve(data: Dataset, scope: Scope | str | None = None,
            period: Period | str | int | None = None) -> tuple[Scope, Period]:
    """:func:`salesplan_nb.data.dataset.resolve`; the default period is the year of ``as_of``."""
    return _resolve(data, scope, period)


_CACHE_KEY = "_salesplan_scoped_deals"


def scoped_deals(data: Dataset, scope: Scope) -> pd.DataFrame:
    """Deals of ``scope`` (all dates); memoised on the Dataset (like ``Dataset.deals``), so
    many functions on one scope filter once. Treat the result as read-only."""
    return data.memo(_CACHE_KEY, str(scope), lambda: scope.filter(data.deals), with_deals=True)


def won_in(deals: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Won deals with ``close_date`` in ``period``."""
    return deals[(deals["status"] == "won") & period.contains(deals["close_date"])]


def closed_in(deals: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Won or lost deals with ``close_date`` in ``period``."""
    return deals[deals["status"].isin(["won", "lost"]) & period.contains(deals["close_date"])]


def label(df: pd.DataFrame, scope: Scope, period: Period, note: str = "") -> pd.DataFrame:
    """Attach ``scope``, ``period`` and ``note`` to ``df.attrs`` (a zero-row result gets a
    default note)."""
    df.attrs["scope"] = str(scope)
    df.attrs["period"] = period.label
    if not note and df.empty:
        note = f"no deals in {scope.label} for {period.label}"
    df.attrs["note"] = note
    return df


def dim_column(deals: pd.DataFrame, dim: str) -> pd.Series:
    """The values of slicing dimension ``dim`` (``month``/``quarter``/``year`` from close_date,
    or a key of :data:`DIMENSIONS`), blanks as ``Unknown``."""
    if dim in TIME_DIMENSIONS:
        return deals["close_date"].dt.to_period(TIME_DIMENSIONS[dim]).dt.to_timestamp()
    if dim not in DIMENSIONS:
        raise ConfigError(f"unknown dimension {dim!r}; use one of "
                          f"{', '.join([*TIME_DIMENSIONS, *DIMENSIONS])}")
    return deals[DIMENSIONS[dim]].astype("string").fillna(UNKNOWN)


def _dims(by: str | list[str] | tuple[str, ...] | None) -> list[str]:
    return [] if by is None else [by] if isinstance(by, str) else list(by)


def _elapsed_days(period: Period, as_of: pd.Timestamp) -> float:
    return max((to_date(period, as_of).end - period.start).days, 0)


def annualise_factor(period: Period, as_of: pd.Timestamp) -> float:
    """Factor turning bookings of ``period`` to date into USD/year:
    ``(12 / months in period) x (days in period / days elapsed by as_of)`` (1.0 for a whole
    past year, 4.0 for a whole quarter; NaN before the period starts)."""
    days = _elapsed_days(period, as_of)
    total = (period.end - period.start).days
    months = period.n_months or total / (DAYS_PER_YEAR / 12)
    return (12 / months) * (total / days) if days else float("nan")


# ---- bookings and growth -----------------------------------------------------------------
def bookings(data: Dataset, scope: Scope | str | None = None,
             period: Period | str | None = None,
             by: str | list[str] | None = "month") -> pd.DataFrame:
    """Bookings (USD, sum of won ``amount`` by ``close_date``) and won-deal count per ``by``
    (``month``, ``quarter``, ``year``, ``region``, ``territory``, ``segment``, ``industry``,
    ``country``, ``product``, ``family``, ``rep``, ``account`` or a list of them).

    With ``by="month"`` every month of the period is listed (0 when nothing closed) and
    ``actual`` is False for months after ``as_of``. Columns: ``*by, bookings, deals, share``.
    """
    scope, period = resolve(data, scope, period)
    dims = _dims(by)
    won = won_in(scoped_deals(data, scope), period)
    keys = {d: dim_column(won, d) for d in dims}
    frame = pd.DataFrame({**keys, "amount": won["amount"].fillna(0.0)})
    if dims:
        out = (frame.groupby(dims, dropna=False, sort=True)["amount"]
               .agg(bookings="sum", deals="count").reset_index())
    else:
        out = pd.DataFrame({"bookings": [frame["amount"].sum()], "deals": [len(frame)]})
    if dims == ["month"]:
        months = period.months().to_timestamp()
        out = (out.set_index("month").reindex(months, fill_value=0)
               .rename_axis("month").reset_index())
        out["actual"] = out["month"] <= data.as_of
    out["bookings"] = out["bookings"].astype(float)
    out["deals"] = out["deals"].astype("int64")
    total = out["bookings"].sum()
    out["share"] = out["bookings"] / total if total else np.nan
    note = "" if len(won) else f"no bookings in {scope.label} for {period.label}"
    return label(out, scope, period, note)


def data_start(data: Dataset) -> pd.Timestamp | None:
    """Where the bookings history starts: the first close date of a won or lost deal
    (company-wide), else the first created date. Deals created earlier but closed later do
    not make the months before the first close count as history."""
    d = data.deals
    closes = d.loc[d["status"].isin(["won", "lost"]), "close_date"].dropna()
    if len(closes):
        return closes.min()
    created = d["created_date"].dropna()
    return created.min() if len(created) else None


def full_years(data: Dataset) -> list[int]:
    """Calendar years fully covered by the data: history starts in January or earlier and
    ``as_of`` is 31 December or later."""
    start = data_start(data)
    if start is None:
        return []
    first = start.year if start.month == 1 else start.year + 1
    last = data.as_of.year if (data.as_of.month, data.as_of.day) == (12, 31) \
        else data.as_of.year - 1
    return list(range(first, last + 1))


def yoy(data: Dataset, scope: Scope | str | None = None, period: Period | str | None = None,
        by: str | list[str] | None = None) -> pd.DataFrame:
    """Year-on-year growth: ``growth = bookings / prior_bookings - 1`` where prior is the same
    period one year earlier (NaN when prior is 0); a period in progress is compared to date
    (same dates a year before). Columns: ``*by, bookings, prior_bookings, change, growth``."""
    scope, period = resolve(data, scope, period)
    dims = _dims(by)
    ytd = period.start < day_after(data.as_of) < period.end
    cur_p = to_date(period, data.as_of) if ytd else period
    pri_p = same_dates_last_year(cur_p)
    cur = bookings(data, scope, cur_p, dims or None)
    pri = bookings(data, scope, pri_p, dims or None)
    cols = dims or []
    if dims:
        out = cur[cols + ["bookings"]].merge(
            pri[cols + ["bookings"]].rename(columns={"bookings": "prior_bookings"}),
            on=cols, how="outer")
    else:
        out = pd.DataFrame({"bookings": cur["bookings"], "prior_bookings": pri["bookings"]})
    out[["bookings", "prior_bookings"]] = out[["bookings", "prior_bookings"]].fillna(0.0)
    out["change"] = out["bookings"] - out["prior_bookings"]
    out["growth"] = (out["bookings"] / out["prior_bookings"].where(out["prior_bookings"] > 0)
                     - 1)
    if dims:
        out = out.sort_values("bookings", ascending=False, ignore_index=True)
    empty = not (out["bookings"].sum() or out["prior_bookings"].sum())
    out = out.iloc[0:0] if empty else out
    note = f"no bookings in {scope.label} for {period.label} or the year before" if empty \
        else f"period to date: to {data.as_of.date()} vs the same dates a year before" \
        if ytd else ""
    return label(out, scope, period, note)


def annual_bookings(data: Dataset, scope: Scope | str | None = None) -> pd.DataFrame:
    """Bookings per calendar year with ``full_year`` (the data covers the whole year) and
    ``yoy_growth``: a full year vs the previous full year; the year in progress (to
    ``as_of``) vs the same dates a year before; NaN when the previous year is not fully
    covered by the data or had no bookings. ``yoy_basis`` says which."""
    scope, period = resolve(data, scope, None)
    won = scoped_deals(data, scope)
    won = won[(won["status"] == "won") & won["close_date"].notna()]
    start = data_start(data)
    if start is None:
        out = pd.DataFrame({"year": pd.Series(dtype="int64"), "bookings": pd.Series(dtype=float),
                            "full_year": pd.Series(dtype=bool),
                            "yoy_growth": pd.Series(dtype=float)})
        return label(out, scope, period, "no deals in the data")
    years = range(start.year, data.as_of.year + 1)
    s = won.groupby(won["close_date"].dt.year)["amount"].sum().reindex(years, fill_value=0.0)
    out = pd.DataFrame({"year": list(years), "bookings": s.to_numpy(dtype=float)})
    full = set(full_years(data))
    out["full_year"] = out["year"].isin(full)
    prev = out["bookings"].shift(1).where(out["full_year"].shift(1, fill_value=False))
    out["yoy_growth"] = out["bookings"] / prev.where(prev > 0) - 1
    out["yoy_basis"] = np.where(out["yoy_growth"].notna(), "full year", "")
    ytd_year = data.as_of.year
    if ytd_year not in full and (ytd_year - 1) in full:  # year to date vs the same dates
        d = won["close_date"]
        cur = year_to_date(data.as_of)
        ytd = won.loc[cur.contains(d), "amount"].sum()
        before = won.loc[same_dates_last_year(cur).contains(d), "amount"].sum()
        i = out.index[out["year"] == ytd_year]
        out.loc[i, "yoy_growth"] = ytd / before - 1 if before > 0 else np.nan
        out.loc[i, "yoy_basis"] = (f"to {data.as_of.date()} vs the same dates a year before"
                                   if before > 0 else "")
    out.loc[out["yoy_growth"].isna(), "yoy_basis"] = ""
    note = "" if len(won) else f"no bookings in {scope.label}"
    return label(out, scope, Period.year(data.as_of.year), note)


def cagr(first: float, last: float, years: float) -> float:
    """Compound annual growth rate ``(last / first) ** (1 / years) - 1`` (NaN when undefined)."""
    if not years or years <= 0 or not first or first <= 0 or last is None or last < 0:
        return float("nan")
    return float((last / first) ** (1.0 / years) - 1.0)


@dataclass
class Growth:
    """CAGR of annual bookings between the first and last full year of the data."""

    first_year: int | None
    last_year: int | None
    first: float
    last: float
    cagr: float
    note: str = ""


def bookings_cagr(data: Dataset, scope: Scope | str | None = None) -> Growth:
    """CAGR over the full calendar years of the data (needs two or more)."""
    ab = annual_bookings(data, scope)
    full = ab[ab["full_year"]]
    if len(full) < 2:
        return Growth(None, None, float("nan"), float("nan"), float("nan"),
                      f"CAGR needs two full years of data; have {len(full)}")
    a, b = full.iloc[0], full.iloc[-1]
    g = cagr(a["bookings"], b["bookings"], b["year"] - a["year"])
    note = "" if np.isfinite(g) else f"no bookings in {int(a['year'])}: CAGR undefined"
    return Growth(int(a["year"]), int(b["year"]), float(a["bookings"]), float(b["bookings"]),
                  g, note)


def seasonality(data: Dataset, scope: Scope | str | None = None) -> pd.DataFrame:
    """Seasonality index per calendar month: the month's average bookings over the full years
    of the data / the average monthly bookings of those years (1.0 = an average month).

    Without a full year, the months available are used and the note says so.
    Columns: ``month`` (1-12), ``month_name``, ``avg_bookings`` (USD), ``index``, ``years``.
    """
    scope, period = resolve(data, scope, None)
    won = scoped_deals(data, scope)
    won = won[(won["status"] == "won") & won["close_date"].notna()]
    years = full_years(data)
    note = ""
    if years:
        won = won[won["close_date"].dt.year.isin(years)]
        grid = pd.MultiIndex.from_product([years, range(1, 13)], names=["y", "m"])
    else:
        start = data_start(data)
        months = pd.period_range(start, data.as_of, freq="M") if start is not None else []
        grid = pd.MultiIndex.from_tuples([(p.year, p.month) for p in months], names=["y", "m"])
        note = "no full calendar year in the data: index from the months available"
    s = (won.groupby([won["close_date"].dt.year.rename("y"), won["close_date"].dt.month
                      .rename("m")])["amount"].sum().reindex(grid, fill_value=0.0))
    if not len(won) or not s.sum():
        out = pd.DataFrame({"month": pd.Series(dtype="int64"), "month_name": pd.Series(dtype=str),
                            "avg_bookings": pd.Series(dtype=float),
                            "index": pd.Series(dtype=float), "years": pd.Series(dtype="int64")})
        return label(out, scope, period, f"no bookings in {scope.label}")
    by_month = s.groupby(level="m").agg(["mean", "count"])
    overall = s.mean()
    out = pd.DataFrame({
        "month": by_month.index.astype("int64"),
        "month_name": [pd.Timestamp(2000, m, 1).strftime("%b") for m in by_month.index],
        "avg_bookings": by_month["mean"].to_numpy(dtype=float),
        "index": (by_month["mean"] / overall).to_numpy(dtype=float),
        "years": by_month["count"].to_numpy(dtype="int64"),
    })
    if years:
        note = note or f"full years {years[0]}-{years[-1]}"
    return label(out, scope, period, note)


# ---- market size, share of wallet, concentration ------------------------------------------
@dataclass
class Potential:
    """Per-account annual potential (USD/year) and how it was estimated."""

    table: pd.DataFrame  # account_id, segment, industry, region, territory, potential, bookings_12m
    method: str
    assumptions: list[str] = field(default_factory=list)


def _deal_rows(data: Dataset, opp_mask: pd.Series, order_mask: pd.Series, cols: list[str],
               place: bool = False) -> pd.DataFrame:
    """The rows of ``Dataset.deals`` picked by masks on the raw opportunities / orders, with
    ``cols`` (opportunity names: an order's ``close_date`` and ``created_date`` are its
    ``order_date``) in ``Dataset.deals`` row order, without enriching every deal.

    ``place`` adds the deal's ``region`` / ``territory`` (the owner rep's, else the
    account's). A duplicated account / rep / product key repeats rows like the left joins of
    ``Dataset.deals`` do, so sums agree with it exactly."""
    keys = ["account_id", "owner_id", "product_id"]
    cols = [*cols, *(k for k in keys if k not in cols)]
    parts = [data.opportunities.loc[opp_mask, cols]]
    if len(data.orders):
        r = data.orders.loc[order_mask]
        parts.append(pd.DataFrame({c: r["order_date" if c in ("close_date", "created_date")
                                          else c] for c in cols}))
    d = pd.concat(parts, ignore_index=True)
    if place or not (data.accounts["account_id"].is_unique and data.reps["rep_id"].is_unique):
        acc = data.accounts[["account_id", "region", "territory"]]
        reps = data.reps[["rep_id", "region", "territory"]].rename(columns={"rep_id": "owner_id"})
        d = d.merge(acc, on="account_id", how="left").merge(
            reps, on="owner_id", how="left", suffixes=("_acc", ""))
        for col in ("region", "territory"):
            d[col] = d[col].fillna(d.pop(f"{col}_acc"))
        if not place:
            d = d.drop(columns=["region", "territory"])
    if not data.products["product_id"].is_unique:
        d = d.merge(data.products[["product_id"]], on="product_id", how="left")
    return d


def filled_accounts(data: Dataset) -> pd.DataFrame:
    """``data.accounts`` with blank ``region`` / ``territory`` / ``owner_id`` filled by the
    planning core's rule (:func:`salesplan_nb.core.accounts.fill_account_places`: the
    account's latest deal), memoised on the Dataset's tables (read-only: copy to change)."""
    def build() -> pd.DataFrame:
        acc = data.accounts
        if not acc[list(FILL_COLUMNS)].isna().any(axis=None):
            return acc.copy()
        ids = acc.loc[acc[list(FILL_COLUMNS)].isna().any(axis=1), "account_id"].dropna()
        d = _deal_rows(data, data.opportunities["account_id"].isin(ids),
                       data.orders["account_id"].isin(ids), ["created_date"], place=True)
        return fill_account_places(acc, d)

    return data.memo("_salesplan_accounts", "filled", build, tables=_POTENTIAL_TABLES)


def _accounts_frame(data: Dataset) -> pd.DataFrame:
    """:func:`filled_accounts` (the columns potential needs) with blank ``segment`` as
    ``Unknown``."""
    acc = filled_accounts(data)[["account_id", "name", "industry", "segment", "employees",
                                 "revenue", "country", *FILL_COLUMNS]].copy()
    acc["segment"] = acc["segment"].fillna(UNKNOWN)
    return acc


#: the tables account potential reads; reassigning one (or ``as_of``) invalidates its memo
_POTENTIAL_TABLES = ("accounts", "opportunities", "orders", "reps", "products", "market")


def account_potential(data: Dataset, spend_quantile: float = 0.75) -> Potential:
    """Estimate each account's annual potential (USD/year).

    * market table present: each (segment, region) cell's ``potential`` is split equally over
      its accounts (``market.accounts`` if given, else the CRM accounts in the cell);
    * else firmographic, with revenue: ``potential = revenue x spend ratio`` where the spend
      ratio is the ``spend_quantile`` of (trailing-12-month bookings / revenue) over customers;
    * else the ``spend_quantile`` of trailing-12-month bookings of customers in the same
      segment (overall when the segment has none).

    Potential is floored at the account's own trailing-12-month bookings (won opportunities
    and orders closed in the 12 months to ``as_of``). Built from the raw tables (never
    ``Dataset.deals``) and memoised on the Dataset while it holds the very same table objects
    and ``as_of``: reassigning a table invalidates it (tables are treated as read-only).
    """
    return data.memo("_salesplan_potential", ("potential", spend_quantile),
                     lambda: _account_potential(data, spend_quantile), tables=_POTENTIAL_TABLES)


def _account_potential(data: Dataset, spend_quantile: float) -> Potential:
    acc = _accounts_frame(data)
    t12 = trailing_12_months(data.as_of)
    o, r = data.opportunities, data.orders
    won = _deal_rows(data, (o["status"] == "won").fillna(False) & t12.contains(o["close_date"]),
                     t12.contains(r["order_date"]), ["amount"])
    b12 = won.groupby("account_id")["amount"].sum()
    acc["bookings_12m"] = acc["account_id"].map(b12).fillna(0.0).astype(float)
    assumptions: list[str] = []
    mk = data.market
    if len(mk):
        method = "market table"
        cell = mk.groupby(["segment", "region"], dropna=False).agg(
            potential=("potential", "sum"), n=("accounts", "sum"))
        crm_n = acc.groupby(["segment", "region"], dropna=False)["account_id"].count()
        n = cell["n"].where(cell["n"] > 0).fillna(crm_n.reindex(cell.index)).fillna(1)
        per = (cell["potential"] / n)
        key = pd.MultiIndex.from_arrays([acc["segment"], acc["region"]])
        acc["potential"] = per.reindex(key).to_numpy(dtype=float)
        assumptions.append("market potential per segment x region cell split equally over the "
                           "cell's accounts")
        fallback = per.median() if len(per) else 0.0
        if acc["potential"].isna().any():
            acc["potential"] = acc["potential"].fillna(fallback)
            assumptions.append("accounts outside the market table get the median cell value "
                               f"per account ({fallback:,.0f} USD/year)")
    else:
        cust = acc[acc["bookings_12m"] > 0]
        rev_ok = acc["revenue"].notna() & (acc["revenue"] > 0)
        cust_rev = cust[cust["revenue"].notna() & (cust["revenue"] > 0)]
        if rev_ok.mean() >= 0.5 and len(cust_rev) >= 3:
            method = "firmographic estimate (revenue)"
            ratio = float((cust_rev["bookings_12m"] / cust_rev["revenue"]).quantile(spend_quantile))
            acc["potential"] = acc["revenue"] * ratio
            assumptions.append(
                f"potential = account revenue x {ratio:.3%}, the {spend_quantile:.0%} quantile of "
                f"trailing-12-month bookings / revenue over {len(cust_rev)} customers")
            by_seg = acc.groupby("segment")["potential"].median()
            missing = acc["potential"].isna()
            if missing.any():
                acc.loc[missing, "potential"] = acc.loc[missing, "segment"].map(by_seg)
                acc["potential"] = acc["potential"].fillna(acc["potential"].median())
                assumptions.append("accounts without revenue get their segment's median")
        else:
            method = "firmographic estimate (segment spend)"
            q = cust.groupby("segment")["bookings_12m"].quantile(spend_quantile)
            overall = float(cust["bookings_12m"].quantile(spend_quantile)) if len(cust) else 0.0
            acc["potential"] = acc["segment"].map(q).astype(float).fillna(overall)
            assumptions.append(
                f"potential = the {spend_quantile:.0%} quantile of trailing-12-month bookings "
                "of customers in the same segment (overall when the segment has none)")
    acc["potential"] = np.maximum(acc["potential"].fillna(0.0).astype(float), acc["bookings_12m"])
    assumptions.append("potential is at least the account's trailing-12-month bookings")
    if not len(mk):
        assumptions.append(f"only the {len(acc)} accounts in the CRM are counted")
    return Potential(acc, method, assumptions)


def _scope_accounts(data: Dataset, scope: Scope, acc: pd.DataFrame) -> pd.DataFrame:
    if scope.level == "company":
        return acc
    if scope.level == "account":
        return acc[acc["account_id"] == scope.id]
    col = {"region": "region", "territory": "territory", "rep": "owner_id"}[scope.level]
    ids = set(scope.filter(data.deals)["account_id"].dropna())
    return acc[(acc[col] == scope.id).fillna(False) | acc["account_id"].isin(ids)]


@dataclass
class MarketSize:
    """TAM / SAM / SOM in USD per year, with where they come from."""

    tam: float
    sam: float
    som: float
    bookings: float  # the scope's annualised bookings in the period
    share_of_sam: float
    source: str
    assumptions: list[str]
    note: str = ""


def market_size(data: Dataset, scope: Scope | str | None = None,
                period: Period | str | None = None, som_share: float | None = None,
                potential: Potential | None = None) -> MarketSize:
    """TAM = all potential (market table, else the CRM accounts' estimated potential);
    SAM = potential of the scope's region(s)/accounts in segments we have sold to;
    SOM = max(annualised bookings, SAM x obtainable share); obtainable share = ``som_share``,
    default the median share of wallet of paying customers. All USD/year."""
    scope, period = resolve(data, scope, period)
    pot = potential or account_potential(data)
    acc = pot.table
    deals = data.deals
    served = set(deals.loc[deals["status"] == "won", "segment"].fillna(UNKNOWN))
    won = won_in(scoped_deals(data, scope), period)
    f = annualise_factor(period, data.as_of)
    annual = float(won["amount"].sum()) * (f if np.isfinite(f) else 0.0)
    assumptions = [f"source: {pot.method}", *pot.assumptions,
                   f"SAM counts segments with won deals: {', '.join(sorted(served)) or 'none'}"]
    mk = data.market
    if len(mk):
        tam = float(mk["potential"].sum())
        if scope.level in ("company", "region"):
            rows = mk[mk["segment"].isin(served)]
            if scope.level == "region":
                rows = rows[rows["region"] == scope.id]
            else:
                sold = set(deals["region"].dropna())
                rows = rows[rows["region"].isin(sold)]
            sam = float(rows["potential"].sum())
        else:
            sa = _scope_accounts(data, scope, acc)
            sam = float(sa.loc[sa["segment"].isin(served), "potential"].sum())
    else:
        tam = float(acc["potential"].sum())
        sa = _scope_accounts(data, scope, acc)
        sam = float(sa.loc[sa["segment"].isin(served), "potential"].sum())
    if som_share is None:
        cust = acc[(acc["bookings_12m"] > 0) & (acc["potential"] > 0)]
        som_share = float((cust["bookings_12m"] / cust["potential"]).median()) if len(cust) \
            else 0.0
        assumptions.append(f"obtainable share = median customer share of wallet "
                           f"({som_share:.1%})")
    else:
        assumptions.append(f"obtainable share given: {som_share:.1%}")
    if annual > sam:
        assumptions.append(f"annualised bookings ({annual:,.0f} USD) exceed the estimated SAM "
                           f"({sam:,.0f} USD): SAM (and TAM) raised to them")
        sam, tam = annual, max(tam, annual)
    som = max(annual, sam * som_share)
    if annual:
        assumptions.append(f"bookings annualised x{f:.2f} from {period.label} to date")
    note = "" if sam or annual else f"no market potential or bookings in {scope.label}"
    return MarketSize(tam, sam, som, annual, annual / sam if sam else float("nan"),
                      pot.method, assumptions, note)


def market_size_table(ms: MarketSize) -> pd.DataFrame:
    """TAM / SAM / SOM / bookings as rows (for a funnel chart)."""
    return pd.DataFrame({"measure": ["TAM", "SAM", "SOM", "Bookings"],
                         "usd_per_year": [ms.tam, ms.sam, ms.som, ms.bookings]})


def share_of_wallet(data: Dataset, scope: Scope | str | None = None,
                    period: Period | str | None = None,
                    potential: Potential | None = None) -> pd.DataFrame:
    """Per account in scope: annualised bookings in the period / annual potential.
    Columns: ``account_id, account_name, segment, industry, region, bookings, potential,
    share_of_wallet, whitespace`` (= potential - bookings, >= 0), largest whitespace first."""
    scope, period = resolve(data, scope, period)
    pot = potential or account_potential(data)
    acc = _scope_accounts(data, scope, pot.table)
    won = won_in(scoped_deals(data, scope), period)
    f = annualise_factor(period, data.as_of)
    b = won.groupby("account_id")["amount"].sum() * (f if np.isfinite(f) else 0.0)
    out = pd.DataFrame({
        "account_id": acc["account_id"], "account_name": acc["name"],
        "segment": acc["segment"], "industry": acc["industry"], "region": acc["region"],
        "bookings": acc["account_id"].map(b).fillna(0.0).astype(float),
        "potential": acc["potential"].astype(float),
    })
    out["potential"] = np.maximum(out["potential"], out["bookings"])
    out["share_of_wallet"] = out["bookings"] / out["potential"].where(out["potential"] > 0)
    out["whitespace"] = (out["potential"] - out["bookings"]).clip(lower=0)
    out = out.sort_values("whitespace", ascending=False, ignore_index=True)
    return label(out, scope, period,
                 "" if len(out) else f"no accounts in {scope.label}")


@dataclass
class Concentration:
    """Top-N accounts' share of bookings, plus the Herfindahl index (sum of squared shares)."""

    n: int
    top_share: float
    top_bookings: float
    total: float
    hhi: float
    table: pd.DataFrame  # account_id, account_name, bookings, share, cum_share, rank
    note: str = ""


def concentration(data: Dataset, scope: Scope | str | None = None,
                  period: Period | str | None = None, n: int = 10) -> Concentration:
    """Top-``n`` concentration: bookings of the ``n`` largest accounts / all bookings."""
    scope, period = resolve(data, scope, period)
    if n < 1:
        raise ConfigError(f"top-N concentration needs n >= 1, got {n}")
    won = won_in(scoped_deals(data, scope), period)
    won = won.assign(account_id=won["account_id"].fillna("(no account)"),
                     account_name=won["account_name"].fillna(won["account_id"]))
    t = (won.groupby("account_id").agg(account_name=("account_name", "first"),
                                       bookings=("amount", "sum"))
         .sort_values("bookings", ascending=False).reset_index())
    total = float(t["bookings"].sum())
    t["share"] = t["bookings"] / total if total else np.nan
    t["cum_share"] = t["share"].cumsum()
    t["rank"] = np.arange(1, len(t) + 1)
    label(t, scope, period)
    if not total:
        return Concentration(n, float("nan"), 0.0, 0.0, float("nan"), t,
                             f"no bookings in {scope.label} for {period.label}")
    top = float(t["bookings"].head(n).sum())
    return Concentration(n, top / total, top, total, float((t["share"] ** 2).sum()), t)


# ---- customers, win/loss, gaps -------------------------------------------------------------
def demographics(data: Dataset, scope: Scope | str | None = None,
                 period: Period | str | None = None, by: str = "industry") -> pd.DataFrame:
    """Customer mix by ``industry``, ``segment`` or ``country`` (any dimension works):
    ``accounts`` with a deal active in the period, ``customers`` with a won deal in it,
    their ``bookings`` (USD) and shares of each."""
    scope, period = resolve(data, scope, period)
    d = scoped_deals(data, scope)
    d = d[d["account_id"].notna()]
    active = d[(d["created_date"].isna() | (d["created_date"] < period.end))
               & ((d["status"] == "open") | period.contains(d["close_date"]))]
    won = won_in(d, period)
    a = active.assign(k=dim_column(active, by)).groupby("k")["account_id"].nunique()
    c = won.assign(k=dim_column(won, by)).groupby("k").agg(
        customers=("account_id", "nunique"), bookings=("amount", "sum"))
    out = pd.concat([a.rename("accounts"), c], axis=1).fillna(0)
    out.index.name = by
    out = out.reset_index()
    for col in ("accounts", "customers"):
        out[col] = out[col].astype("int64")
    out["bookings"] = out["bookings"].astype(float)
    for col in ("accounts", "customers", "bookings"):
        tot = out[col].sum()
        out[f"{col}_share"] = out[col] / tot if tot else np.nan
    out = out.sort_values(["bookings", "accounts"], ascending=False, ignore_index=True)
    return label(out, scope, period)


def win_loss(data: Dataset, scope: Scope | str | None = None,
             period: Period | str | None = None, by: str | list[str] = "segment") -> pd.DataFrame:
    """Won / lost deals closed in the period per ``by``: ``win_rate = won / (won + lost)``,
    ``won_value`` and ``lost_value`` (USD), ``avg_won`` (USD per won deal)."""
    scope, period = resolve(data, scope, period)
    dims = _dims(by)
    c = closed_in(scoped_deals(data, scope), period)
    f = pd.DataFrame({**{d: dim_column(c, d) for d in dims},
                      "won": (c["status"] == "won").astype("int64"),
                      "lost": (c["status"] == "lost").astype("int64"),
                      "won_value": c["amount"].where(c["status"] == "won").fillna(0.0),
                      "lost_value": c["amount"].where(c["status"] == "lost").fillna(0.0)})
    if dims:
        out = f.groupby(dims, sort=True)[["won", "lost", "won_value", "lost_value"]].sum()
        out = out.reset_index()
    else:
        out = f[["won", "lost", "won_value", "lost_value"]].sum().to_frame().T
        out = out.iloc[0:0] if not len(c) else out
    out["closed"] = out["won"] + out["lost"]
    out["win_rate"] = out["won"] / out["closed"].where(out["closed"] > 0)
    out["avg_won"] = out["won_value"] / out["won"].where(out["won"] > 0)
    note = ""
    if len(out) and not (data.deals["status"] == "lost").any():
        out["win_rate"] = np.nan
        note = "the data has no lost deals (orders only?): win rate not available"
    return label(out.astype({"won": "int64", "lost": "int64", "closed": "int64"}),
                 scope, period, note)


def loss_reasons(data: Dataset, scope: Scope | str | None = None,
                 period: Period | str | None = None) -> pd.DataFrame:
    """Lost deals closed in the period by ``loss_reason``: count, share, lost value (USD)."""
    scope, period = resolve(data, scope, period)
    c = closed_in(scoped_deals(data, scope), period)
    lost = c[c["status"] == "lost"]
    with_reason = lost[lost["loss_reason"].notna()]
    out = (with_reason.groupby("loss_reason").agg(lost=("opportunity_id", "count"),
                                                  lost_value=("amount", "sum"))
           .sort_values("lost", ascending=False).reset_index())
    out["share"] = out["lost"] / out["lost"].sum() if len(out) else np.nan
    note = "" if len(lost) else f"no lost deals in {scope.label} for {period.label}"
    if len(lost) and not len(with_reason):
        note = f"the data has no loss reasons for the {len(lost)} lost deals"
    elif len(lost) > len(with_reason):
        note = f"{len(lost) - len(with_reason)} of {len(lost)} lost deals have no reason"
    return label(out, scope, period, note)


def coverage_gaps(data: Dataset, scope: Scope | str | None = None,
                  period: Period | str | None = None, by: str | list[str] = "segment",
                  potential: Potential | None = None) -> pd.DataFrame:
    """Where potential is high but activity is low, per ``by`` (segment/region/industry/...).

    ``potential`` (USD/year, from :func:`account_potential` or the market table),
    ``opportunities`` active in the period, ``accounts`` touched, ``bookings`` (USD);
    ``potential_share`` and ``activity_share`` (share of opportunities); ``penetration`` =
    annualised bookings / potential; ``gap_score = potential_share - activity_share``.
    ``gap`` is True when the cell has above-average potential and less than half the activity
    share its potential share implies. Largest gap first."""
    scope, period = resolve(data, scope, period)
    dims = _dims(by)
    pot = potential or account_potential(data)
    mk = data.market
    if len(mk) and set(dims) <= {"segment", "region", "industry"} and scope.level in (
            "company", "region"):
        rows = mk if scope.level == "company" else mk[mk["region"] == scope.id]
        p = rows.assign(**{d: rows[d].astype("string").fillna(UNKNOWN) for d in dims}) \
            .groupby(dims)["potential"].sum()
    else:
        acc = _scope_accounts(data, scope, pot.table)
        acc = acc.assign(**{d: acc[DIMENSIONS[d]].astype("string").fillna(UNKNOWN)
                            for d in dims if d in DIMENSIONS})
        missing = [d for d in dims if d not in acc.columns]
        if missing:
            raise ConfigError(f"coverage gaps cannot split potential by {missing}; use "
                              "segment, region, territory or industry")
        p = acc.groupby(dims)["potential"].sum()
    d = scoped_deals(data, scope)
    active = d[(d["created_date"].isna() | (d["created_date"] < period.end))
               & ((d["status"] == "open") | period.contains(d["close_date"]))]
    act = active.assign(**{k: dim_column(active, k) for k in dims}).groupby(dims).agg(
        opportunities=("opportunity_id", "count"), accounts=("account_id", "nunique"))
    won = won_in(d, period)
    bk = won.assign(**{k: dim_column(won, k) for k in dims}).groupby(dims)["amount"].sum()
    out = pd.concat([p.rename("potential"), act, bk.rename("bookings")], axis=1).fillna(0)
    out = out.reset_index() if len(out) else pd.DataFrame(
        columns=[*dims, "potential", "opportunities", "accounts", "bookings"])
    out = out.astype({"potential": float, "bookings": float, "opportunities": "int64",
                      "accounts": "int64"})
    tp, ta = out["potential"].sum(), out["opportunities"].sum()
    out["potential_share"] = out["potential"] / tp if tp else np.nan
    out["activity_share"] = out["opportunities"] / ta if ta else 0.0
    f = annualise_factor(period, data.as_of)
    out["penetration"] = out["bookings"] * (f if np.isfinite(f) else 0.0) / \
        out["potential"].where(out["potential"] > 0)
    out["gap_score"] = out["potential_share"] - out["activity_share"]
    avg = 1 / len(out) if len(out) else np.nan
    out["gap"] = ((out["potential_share"] > avg)
                  & (out["activity_share"] < 0.5 * out["potential_share"])).fillna(False)
    out = out.sort_values("gap_score", ascending=False, ignore_index=True)
    return label(out, scope, period, "" if len(out) else f"no potential or deals in "
                 f"{scope.label} for {period.label}")


# ---- summary ---------------------------------------------------------------------------------
@dataclass
class MarketInsights:
    """Everything step 1 shows for one scope and period."""

    scope: Scope
    period: Period
    bookings: float
    prior_bookings: float
    yoy_growth: float
    by_month: pd.DataFrame
    by_region: pd.DataFrame
    by_segment: pd.DataFrame
    by_product: pd.DataFrame
    growth: Growth
    seasonality: pd.DataFrame
    market_size: MarketSize
    share_of_wallet: pd.DataFrame
    concentration: Concentration
    demographics: dict[str, pd.DataFrame]
    win_loss: dict[str, pd.DataFrame]
    loss_reasons: pd.DataFrame
    coverage_gaps: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def headline(self) -> pd.DataFrame:
        """Key figures as a two-column table (value in plan units)."""
        wl = self.win_loss["total"]
        rows = [("bookings (USD)", self.bookings), ("prior-year bookings (USD)",
                                                    self.prior_bookings),
                ("YoY growth", self.yoy_growth),
                ("win rate", float(wl["win_rate"].iloc[0]) if len(wl) else np.nan),
                (f"top-{self.concentration.n} account share", self.concentration.top_share),
                ("TAM (USD/yr)", self.market_size.tam), ("SAM (USD/yr)", self.market_size.sam),
                ("SOM (USD/yr)", self.market_size.som)]
        return pd.DataFrame(rows, columns=["measure", "value"])


def insight_frames(ins: MarketInsights) -> dict[str, pd.DataFrame]:
    """Every table of ``ins`` by a fixed output name (for reports and the workspace)."""
    out = {"headline": ins.headline(), "by_month": ins.by_month, "by_region": ins.by_region,
           "by_segment": ins.by_segment, "by_product": ins.by_product,
           "seasonality": ins.seasonality, "market_size": market_size_table(ins.market_size),
           "share_of_wallet": ins.share_of_wallet, "concentration": ins.concentration.table,
           "loss_reasons": ins.loss_reasons, "coverage_gaps": ins.coverage_gaps}
    out.update({f"demographics_{k}": v for k, v in ins.demographics.items()})
    out.update({f"win_loss_{k}": v for k, v in ins.win_loss.items()})
    return out


def save_insights(ws, ins: MarketInsights, prefix: str = "") -> list[str]:
    """Write every table of ``ins`` as a workspace output of step ``market`` named
    ``<prefix><name>`` (``prefix`` is the caller's, e.g. ``east_``, never data text);
    returns the names written."""
    names = []
    for name, df in insight_frames(ins).items():
        ws.save_output("market", f"{prefix}{name}", df)
        names.append(f"{prefix}{name}")
    return names


def insights(data: Dataset, scope: Scope | str | None = None,
             period: Period | str | None = None, top_n: int = 10) -> MarketInsights:
    """Build the :class:`MarketInsights` summary for a scope and period."""
    scope, period = resolve(data, scope, period)
    pot = account_potential(data)
    g = yoy(data, scope, period)
    cur = float(g["bookings"].iloc[0]) if len(g) else 0.0
    pri = float(g["prior_bookings"].iloc[0]) if len(g) else 0.0
    growth = float(g["growth"].iloc[0]) if len(g) else float("nan")
    wl = {k: win_loss(data, scope, period, by=v)
          for k, v in {"total": [], "segment": "segment", "region": "region",
                       "product": "product"}.items()}
    result = MarketInsights(
        scope, period, cur, pri, growth,
        bookings(data, scope, period, "month"), bookings(data, scope, period, "region"),
        bookings(data, scope, period, "segment"), bookings(data, scope, period, "product"),
        bookings_cagr(data, scope), seasonality(data, scope),
        market_size(data, scope, period, potential=pot),
        share_of_wallet(data, scope, period, potential=pot),
        concentration(data, scope, period, n=top_n),
        {k: demographics(data, scope, period, by=k) for k in ("industry", "segment", "country")},
        wl, loss_reasons(data, scope, period),
        coverage_gaps(data, scope, period, by="segment", potential=pot))
    if not cur:
        result.notes.append(f"no bookings in {scope.label} for {period.label}")
    for part in (result.growth.note, result.seasonality.attrs.get("note", ""),
                 result.loss_reasons.attrs.get("note", ""), result.market_size.note):
        if part and part not in result.notes:
            result.notes.append(part)
    return result


# ---- charts ------------------------------------------------------------------------------------
def chart_bookings(result: pd.DataFrame, color: str | None = None) -> alt.Chart:
    """Bar chart of a :func:`bookings` result (x = its first dimension, optional colour)."""
    dims = [c for c in result.columns if c not in ("bookings", "deals", "share", "actual")]
    x = dims[0] if dims else "total"
    src = result if dims else result.assign(total="total")
    xenc = alt.X(f"{x}:T", timeUnit="yearmonth", title=x) if x == "month" else \
        alt.X(f"{x}:N", sort="-y", title=x)
    enc = {"x": xenc, "y": alt.Y("bookings:Q", title="bookings (USD)"),
           "tooltip": [*dims, alt.Tooltip("bookings:Q", format=",.0f"), "deals:Q",
                       alt.Tooltip("share:Q", format=".1%")]}
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    return alt.Chart(src).mark_bar().encode(**enc).properties(
        title=f"Bookings {result.attrs.get('scope', '')} {result.attrs.get('period', '')}".strip())


def chart_seasonality(result: pd.DataFrame) -> alt.Chart:
    """Seasonality index per month with a rule at 1.0."""
    bars = alt.Chart(result).mark_bar().encode(
        x=alt.X("month_name:N", sort=list(result["month_name"]), title="month"),
        y=alt.Y("index:Q", title="seasonality index"),
        tooltip=["month_name", alt.Tooltip("index:Q", format=".2f"),
                 alt.Tooltip("avg_bookings:Q", format=",.0f"), "years"])
    rule = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
    return (bars + rule).properties(title="Seasonality index (1 = average month)")


def chart_win_loss(result: pd.DataFrame) -> alt.Chart:
    """Win rate per group of a :func:`win_loss` result."""
    dims = [c for c in result.columns if c not in (
        "won", "lost", "won_value", "lost_value", "closed", "win_rate", "avg_won")]
    x = dims[0] if dims else None
    src = result if x else result.assign(total="total")
    x = x or "total"
    return alt.Chart(src).mark_bar().encode(
        x=alt.X(f"{x}:N", sort="-y"), y=alt.Y("win_rate:Q", axis=alt.Axis(format="%"),
                                              title="win rate"),
        tooltip=[x, "won:Q", "lost:Q", alt.Tooltip("win_rate:Q", format=".1%"),
                 alt.Tooltip("won_value:Q", format=",.0f")]).properties(title="Win rate")


def chart_concentration(result: Concentration) -> alt.Chart:
    """Cumulative share of bookings by account rank (a Lorenz-style curve)."""
    return alt.Chart(result.table).mark_line(point=True).encode(
        x=alt.X("rank:Q", title="accounts (largest first)"),
        y=alt.Y("cum_share:Q", axis=alt.Axis(format="%"), title="cumulative share"),
        tooltip=["rank", "account_name", alt.Tooltip("bookings:Q", format=",.0f"),
                 alt.Tooltip("cum_share:Q", format=".1%")]).properties(
        title=f"Top-{result.n} share {result.top_share:.0%}" if np.isfinite(result.top_share)
        else "Concentration")


def chart_gaps(result: pd.DataFrame) -> alt.Chart:
    """Potential share vs activity share per cell; gaps highlighted."""
    dims = [c for c in result.columns if result[c].dtype == object or
            str(result[c].dtype).startswith("string")]
    name = dims[0] if dims else "segment"
    return alt.Chart(result).mark_circle(size=120).encode(
        x=alt.X("potential_share:Q", axis=alt.Axis(format="%"), title="share of potential"),
        y=alt.Y("activity_share:Q", axis=alt.Axis(format="%"), title="share of opportunities"),
        color=alt.Color("gap:N"),
        tooltip=[*dims, alt.Tooltip("potential:Q", format=",.0f"), "opportunities:Q",
                 alt.Tooltip("penetration:Q", format=".1%")]).properties(
        title=f"Coverage gaps by {name}")
