"""Step 3 - a library of sales KPIs, computed for any scope and period, against targets.

Each :class:`KPI` has a name, formula text, unit, which direction is better, the data it needs
and a compute function; :func:`register` adds your own. :func:`compute_kpis` returns one row
per KPI with ``value``, ``target`` and ``status`` (``on track`` / ``at risk`` / ``off track``;
``n/a`` with the reason in ``note`` when data or a target is missing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import (
    in_progress,
    is_over,
    last_full_year,
    to_date,
    trailing_12_months,
)
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.schema import NO_PIPELINE
from salesplan_nb.steps.market import closed_in, label, resolve, scoped_deals, won_in

STATUSES = ("on track", "at risk", "off track", "n/a")
UNITS = ("USD", "fraction", "days", "USD/day", "count", "ratio")


class NotAvailable(Exception):  # noqa: N818 - a result, not an error
    """Raised by a compute function when the data it needs is missing; the message is the
    reason shown in the KPI table."""


@dataclass
class Context:
    """What a KPI compute function gets: the data, scope, period, the scope's deals and the
    optional inputs (``spend``, ``forecast`` in USD; ``targets`` by KPI name)."""

    data: Dataset
    scope: Scope
    period: Period
    spend: float | None = None
    forecast: float | None = None
    targets: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @cached_property
    def deals(self) -> pd.DataFrame:
        return scoped_deals(self.data, self.scope)

    @cached_property
    def won(self) -> pd.DataFrame:
        return won_in(self.deals, self.period)

    @cached_property
    def closed(self) -> pd.DataFrame:
        return closed_in(self.deals, self.period)

    @property
    def bookings(self) -> float:
        return float(self.won["amount"].sum())

    def sub(self, period: Period) -> Context:
        return Context(self.data, self.scope, period, self.spend, self.forecast, self.targets)

    def where(self) -> str:
        return f"{self.scope.label} for {self.period.label}"


@dataclass(frozen=True)
class KPI:
    """A KPI definition. ``compute(ctx) -> float`` raises :class:`NotAvailable` when its data
    is missing. ``additive`` KPIs (sums over time) get their target pro-rated while the period
    is in progress. ``default_target(ctx)`` supplies a target when none is given."""

    name: str
    label: str
    formula: str
    unit: str
    better: str
    needs: tuple[str, ...]
    compute: Callable[[Context], float]
    additive: bool = False
    default_target: Callable[[Context], float | None] | None = None
    forward: bool = False  # meaningful before the period starts (e.g. pipeline coverage)
    help: str = ""

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ConfigError(f"KPI {self.name!r}: unit {self.unit!r} must be one of {UNITS}")
        if self.better not in ("higher", "lower"):
            raise ConfigError(f"KPI {self.name!r}: better must be 'higher' or 'lower'")


REGISTRY: dict[str, KPI] = {}


def register(kpi: KPI, replace: bool = False) -> KPI:
    """Add ``kpi`` to the registry (``replace=True`` to redefine an existing name)."""
    if kpi.name in REGISTRY and not replace:
        raise ConfigError(f"a KPI named {kpi.name!r} is already registered; "
                          "pass replace=True to redefine it")
    REGISTRY[kpi.name] = kpi
    return kpi


def get(name: str) -> KPI:
    """The registered KPI ``name`` (ConfigError listing the known names otherwise)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown KPI {name!r}; known: {', '.join(REGISTRY)}") from None


def registry_table() -> pd.DataFrame:
    """The KPI library as a table: name, label, formula, unit, better, needs."""
    return pd.DataFrame([{"kpi": k.name, "label": k.label, "formula": k.formula, "unit": k.unit,
                          "better": k.better, "needs": ", ".join(k.needs)}
                         for k in REGISTRY.values()])


# ---- shared pieces -----------------------------------------------------------------------------
def goal_target(ws, metric: str = "bookings", scope: str = "company") -> float | None:
    """Target of the plan's goal for ``metric`` and ``scope`` (step 2's decision, recorded in
    the workspace's ``goals``), or ``None`` when no such goal is set."""
    for item in ws.items("goals") if ws.get("goals") is not None else []:
        if item.get("metric") == metric and item.get("scope") == scope:
            return float(item["target"])
    return None


def target_for(data: Dataset, scope: Scope | str | None, period: Period | str | None,
               metric: str = "bookings") -> float | None:
    """The given target of ``metric`` for a scope and period from ``data.targets``, at any
    grain: a row for the exact period label, else every row overlapping the period, each
    pro-rated by the months they share: months of overlap / months of the row (monthly or
    quarterly targets roll up to a year; a 2025 quota of 1.2M gives 300k for 2025-Q2).
    A row containing the whole period wins over finer rows; finer rows count only when they
    cover every month of the period. ``FY`` labels follow ``data.fiscal_year_start``.
    ``None`` when there is no such row."""
    scope, period = resolve(data, scope, period)
    t = data.targets
    if not len(t):
        return None
    m = t["metric"].fillna("bookings") == metric
    lvl = t["scope_level"] == scope.level
    sid = t["scope_id"].isna() if scope.level == "company" else t["scope_id"] == scope.id
    rows = t[(m & lvl & sid).fillna(False)]
    if not len(rows):
        return None
    exact = rows[rows["period"] == period.label]
    if len(exact):
        return float(exact["amount"].sum())
    parsed = []
    for lab, amount in rows.groupby("period", sort=False)["amount"].sum().items():
        try:
            parsed.append((Period.parse(lab, data.fiscal_year_start), float(amount)))
        except ValueError:
            continue
    # a row containing the whole period (a 2025 quota for 2025-Q2): its pro-rated share
    whole = [(p, a) for p, a in parsed
             if p.start <= period.start and period.end <= p.end and p.n_months]
    if whole:
        return sum(a * period.n_months / p.n_months for p, a in whole)
    # finer rows (months, quarters) roll up: each row's share of the months it shares
    want = set(period.months())
    total, covered = 0.0, set()
    for p, a in parsed:
        months = list(p.months())
        shared = [mo for mo in months if mo in want]
        if shared:
            total += a * len(shared) / len(months)
            covered |= set(shared)
    return total if covered and covered == want else None


def _ratio(num: float, den: float, what: str) -> float:
    if not den:
        raise NotAvailable(what)
    return float(num) / float(den)


def _win_rate(ctx: Context) -> float:
    if not ctx.data.has_pipeline:
        raise NotAvailable(NO_PIPELINE)
    if not (ctx.data.deals["status"] == "lost").any():
        raise NotAvailable("the data has no lost deals (orders only?): win rate needs won and "
                           "lost opportunities")
    c = ctx.closed
    won = int((c["status"] == "won").sum())
    return _ratio(won, len(c), f"no won or lost deals in {ctx.where()}")


def _avg_deal(ctx: Context) -> float:
    return _ratio(ctx.bookings, len(ctx.won), f"no won deals in {ctx.where()}")


def _cycle(ctx: Context) -> float:
    w = ctx.won.dropna(subset=["created_date", "close_date"])
    if not len(w):
        raise NotAvailable(f"no won deals with created and close dates in {ctx.where()}")
    return float((w["close_date"] - w["created_date"]).dt.days.mean())


def active_opportunities(deals: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Opportunities worked in the period: created before its end (or undated) and open, or
    closed within it."""
    return deals[(deals["created_date"].isna() | (deals["created_date"] < period.end))
                 & ((deals["status"] == "open") | period.contains(deals["close_date"]))]


def _velocity(ctx: Context) -> float:
    n = len(active_opportunities(ctx.deals, ctx.period))
    cycle = _cycle(ctx)
    if cycle <= 0:
        raise NotAvailable("sales cycle is 0 days")
    return n * _avg_deal(ctx) * _win_rate(ctx) / cycle


def _stage_conversion(ctx: Context) -> float:
    d = ctx.deals
    created = d[ctx.period.contains(d["created_date"])]
    won = int((created["status"] == "won").sum())
    return _ratio(won, len(created), f"no opportunities created in {ctx.where()}")


def open_pipeline(ctx: Context) -> tuple[float, str]:
    """Open deals expected to close after ``as_of`` and before the period end (or with no
    close date), USD. Deals without an amount are valued at the product list price, else the
    scope's average won deal (last 12 months); the note says how many."""
    d, as_of = ctx.deals, ctx.data.as_of
    o = d[(d["status"] == "open") & (d["close_date"].isna() | (
        (d["close_date"] > as_of) & (d["close_date"] < ctx.period.end)))]
    amt = o["amount"]
    note = ""
    miss = amt.isna()
    if miss.any():
        price = o["product_id"].map(ctx.data.products.set_index("product_id")["list_price"])
        w = won_in(ctx.deals, trailing_12_months(as_of))
        avg = float(w["amount"].mean()) if len(w) else np.nan
        amt = amt.fillna(price.astype(float)).fillna(avg)
        note = (f"{int(miss.sum())} open deals without amount valued at list price or the "
                f"average won deal ({avg:,.0f} USD)")
    return float(amt.fillna(0).sum()), note


def coverage_ratio(open_pipeline, target, booked=0.0):
    """Pipeline coverage, the one definition (KPI ``pipeline_coverage``, scenarios): open
    pipeline expected to close in the period (USD) / the target still to book (target -
    bookings to date, USD); NaN where nothing remains to book. Works on numbers and arrays."""
    remaining = np.asarray(target, dtype=float) - np.asarray(booked, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(remaining > 0, np.asarray(open_pipeline, dtype=float)
                       / np.where(remaining > 0, remaining, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def _coverage(ctx: Context) -> float:
    if not ctx.data.has_pipeline:
        raise NotAvailable(NO_PIPELINE)
    if is_over(ctx.period, ctx.data.as_of):
        raise NotAvailable(f"{ctx.period.label} is over (data as of {ctx.data.as_of.date()}): "
                           "no pipeline left to cover it")
    target = ctx.targets.get("bookings")
    if target is None:
        target = target_for(ctx.data, ctx.scope, ctx.period)
    if target is None:
        raise NotAvailable(f"no bookings target for {ctx.where()}")
    remaining = target - ctx.bookings
    if remaining <= 0:
        raise NotAvailable("bookings target already reached")
    pipe, note = open_pipeline(ctx)
    if note:
        ctx.notes.append(note)
    return coverage_ratio(pipe, target, ctx.bookings)


def _needed_coverage(ctx: Context) -> float | None:
    """1 / win rate of the 12 months to ``as_of``."""
    try:
        wr = _win_rate(ctx.sub(trailing_12_months(ctx.data.as_of)))
    except NotAvailable:
        return None
    return 1 / wr if wr else None


def first_won_dates(data: Dataset) -> pd.Series:
    """Date of each account's first won deal (company-wide)."""
    d = data.deals
    w = d[(d["status"] == "won") & d["account_id"].notna() & d["close_date"].notna()]
    return w.groupby("account_id")["close_date"].min()


def _new_logos(ctx: Context) -> float:
    first = first_won_dates(ctx.data)
    accounts = ctx.won["account_id"].dropna().unique()
    f = first.reindex(accounts)
    return float(ctx.period.contains(f).sum())


def _prior_customers(ctx: Context) -> tuple[pd.Series, pd.Series]:
    prev = ctx.period.previous()
    pw = won_in(ctx.deals, prev)
    pw = pw[pw["account_id"].notna()]
    if not len(pw):
        raise NotAvailable(f"no customers in {ctx.scope.label} in {prev.label}")
    prior = pw.groupby("account_id")["amount"].sum()
    cur = ctx.won[ctx.won["account_id"].isin(prior.index)].groupby("account_id")["amount"].sum()
    return prior, cur


def _retention(ctx: Context) -> float:
    _in_progress_note(ctx)
    prior, cur = _prior_customers(ctx)
    return float((cur.reindex(prior.index).fillna(0) > 0).sum() / len(prior))


def _in_progress_note(ctx: Context) -> None:
    if in_progress(ctx.period, ctx.data.as_of):
        ctx.notes.append(f"{ctx.period.label} in progress: bookings to "
                         f"{ctx.data.as_of.date()} vs the whole previous period")


def _nrr(ctx: Context) -> float:
    _in_progress_note(ctx)
    prior, cur = _prior_customers(ctx)
    return _ratio(cur.sum(), prior.sum(), "prior-period customers had no bookings")


def _cost_ratio(ctx: Context) -> pd.Series:
    p = ctx.data.products.set_index("product_id")
    ratio = (p["unit_cost"] / p["list_price"].where(p["list_price"] > 0)).astype(float)
    return ctx.won["product_id"].map(ratio).astype(float)


def _gross_profit(ctx: Context) -> tuple[float, float]:
    """(gross profit, bookings) over won deals with a cost: the deal's own ``cost`` (line
    cost from the source) when given, else from its product: units = amount / list_price, so
    cost = amount x unit_cost / list_price."""
    if not len(ctx.won):
        raise NotAvailable(f"no won deals in {ctx.where()}")
    amt = ctx.won["amount"].fillna(0)
    own = (ctx.won["cost"].astype(float) if "cost" in ctx.won
           else pd.Series(np.nan, index=ctx.won.index))
    cost = own.fillna(amt * _cost_ratio(ctx))
    ok = cost.notna()
    if not ok.any():
        p = ctx.data.products
        if p["unit_cost"].notna().any():
            raise NotAvailable("products have unit_cost but no list_price for the won deals' "
                               "products: map list_price too (cost = amount x unit_cost / "
                               "list_price), or map cost on the deals")
        raise NotAvailable("no cost data: map cost on the deals (line cost) or unit_cost and "
                           "list_price on the products")
    if not ok.all():
        ctx.notes.append(f"{int((~ok).sum())} of {len(ok)} won deals have no cost; "
                         "margin is over the others")
    return float((amt[ok] - cost[ok]).sum()), float(amt[ok].sum())


def _gross_margin(ctx: Context) -> float:
    gp, b = _gross_profit(ctx)
    return _ratio(gp, b, "won deals with product costs have no amount")


def _roi(ctx: Context) -> float:
    if ctx.spend is None:
        raise NotAvailable("needs spend (USD): pass spend=")
    if ctx.spend <= 0:
        raise NotAvailable("spend must be > 0")
    try:
        ret, _ = _gross_profit(ctx)
    except NotAvailable as exc:
        ctx.notes.append(f"return = bookings ({exc})")
        ret = ctx.bookings
    return (ret - ctx.spend) / ctx.spend


def _attainment(ctx: Context) -> float:
    target = ctx.targets.get("bookings")
    if target is None:
        target = target_for(ctx.data, ctx.scope, ctx.period)
    if not target:
        raise NotAvailable(f"no quota / bookings target for {ctx.where()}")
    return ctx.bookings / target


def _forecast_accuracy(ctx: Context) -> float:
    if ctx.forecast is None:
        raise NotAvailable("needs a forecast (USD): pass forecast=")
    actual = ctx.bookings
    if not actual:
        raise NotAvailable(f"no actual bookings in {ctx.where()}")
    return 1 - abs(ctx.forecast - actual) / actual


for _k in (
    KPI("bookings", "Bookings", "sum of won amount closed in the period", "USD", "higher",
        ("opportunities",), lambda c: c.bookings, additive=True),
    KPI("win_rate", "Win rate", "won / (won + lost), deals closed in the period", "fraction",
        "higher", ("opportunities",), _win_rate),
    KPI("stage_conversion", "Opportunity-to-win conversion",
        "won / opportunities created in the period (open ones not yet converted)", "fraction",
        "higher", ("opportunities.created_date",), _stage_conversion,
        help="per-stage conversion: stage_funnel()"),
    KPI("avg_deal_size", "Average deal size", "won amount / won deals", "USD", "higher",
        ("opportunities",), _avg_deal),
    KPI("sales_cycle", "Sales cycle", "mean days created -> close of won deals", "days",
        "lower", ("opportunities.created_date",), _cycle),
    KPI("sales_velocity", "Sales velocity",
        "opportunities worked x avg deal x win rate / cycle days", "USD/day", "higher",
        ("opportunities.created_date",), _velocity),
    KPI("pipeline_coverage", "Pipeline coverage",
        "open pipeline / (target - bookings to date); needed ~ 1 / win rate", "ratio",
        "higher", ("targets",), _coverage, default_target=_needed_coverage, forward=True),
    KPI("new_logos", "New logos", "accounts whose first won deal closed in the period",
        "count", "higher", ("opportunities.account_id",), _new_logos, additive=True),
    KPI("logo_retention", "Logo retention",
        "previous-period customers buying again / previous-period customers", "fraction",
        "higher", ("opportunities.account_id",), _retention),
    KPI("nrr", "Net revenue retention",
        "bookings from previous-period customers / their previous-period bookings", "fraction",
        "higher", ("opportunities.account_id",), _nrr),
    KPI("gross_margin", "Gross margin",
        "(bookings - cost) / bookings; cost = the deal's cost, else amount x unit_cost / "
        "list_price", "fraction",
        "higher", ("products.unit_cost",), _gross_margin),
    KPI("roi", "ROI", "(gross profit, else bookings, - spend) / spend", "ratio", "higher",
        ("spend",), _roi),
    KPI("quota_attainment", "Quota attainment", "bookings / quota (bookings target)",
        "fraction", "higher", ("targets",), _attainment, additive=True),
    KPI("forecast_accuracy", "Forecast accuracy", "1 - |forecast - actual| / actual",
        "fraction", "higher", ("forecast",), _forecast_accuracy),
):
    register(_k)


# ---- computing ---------------------------------------------------------------------------------
def status_of(kpi: KPI, value: float, target: float | None, at_risk: float = 0.9) -> str:
    """``on track`` when value meets target (in the better direction), ``at risk`` when within
    ``at_risk`` of it (value/target >= 0.9 for higher-is-better), else ``off track``."""
    if target is None or value is None or not np.isfinite(value) or not np.isfinite(target):
        return "n/a"
    if kpi.better == "higher":
        ratio = value / target if target > 0 else (np.inf if value >= target else 0.0)
    else:
        ratio = target / value if value > 0 else np.inf
    return "on track" if ratio >= 1 else "at risk" if ratio >= at_risk else "off track"


def compute_kpis(data: Dataset, scope: Scope | str | None = None,
                 period: Period | str | None = None, names: list[str] | None = None,
                 targets: dict[str, float] | None = None, spend: float | None = None,
                 forecast: float | None = None, at_risk: float = 0.9) -> pd.DataFrame:
    """One row per KPI: ``kpi, label, value, unit, better, target, expected, status, note,
    formula``. ``targets`` maps KPI name -> target for the whole period; the bookings and
    quota-attainment targets also come from ``data.targets``. ``expected`` is the target
    pro-rated to ``as_of`` for additive KPIs while the period is in progress."""
    scope, period = resolve(data, scope, period)
    targets = dict(targets or {})
    given = target_for(data, scope, period)
    if "bookings" not in targets and given is not None:
        targets["bookings"] = given
    if "bookings" in targets:
        targets.setdefault("quota_attainment", 1.0)
    elapsed = min(max((to_date(period, data.as_of).end - period.start).days,
                      0) / max((period.end - period.start).days, 1), 1.0)
    rows = []
    ctx = Context(data, scope, period, spend, forecast, targets)  # shared: deals filtered once
    for name in names or list(REGISTRY):
        kpi = get(name)
        ctx.notes = []
        try:
            if period.start > data.as_of and not kpi.forward:
                raise NotAvailable(f"{period.label} has not started (data as of "
                                   f"{data.as_of.date()})")
            value = float(kpi.compute(ctx))
            note = "; ".join(ctx.notes)
        except NotAvailable as exc:
            value, note = float("nan"), str(exc)
        target = targets.get(name)
        if target is None and kpi.default_target is not None and np.isfinite(value):
            target = kpi.default_target(ctx)
        expected = target * elapsed if (target is not None and kpi.additive) else target
        status = status_of(kpi, value, expected, at_risk)
        if status == "n/a" and not note:
            note = "no target set"
        elif kpi.additive and target is not None and elapsed < 1:
            note = "; ".join(filter(None, [note, f"target pro-rated to {elapsed:.0%} of "
                                                 f"{period.label}"]))
        rows.append({"kpi": name, "label": kpi.label, "value": value, "unit": kpi.unit,
                     "better": kpi.better, "target": target, "expected": expected,
                     "status": status, "note": note, "formula": kpi.formula})
    out = pd.DataFrame(rows, columns=["kpi", "label", "value", "unit", "better", "target",
                                      "expected", "status", "note", "formula"])
    out["target"] = out["target"].astype(float)
    out["expected"] = out["expected"].astype(float)
    nothing = not len(scoped_deals(data, scope))
    return label(out, scope, period, f"no deals in {scope.label}" if nothing else "")


def kpi_value(data: Dataset, name: str, scope: Scope | str | None = None,
              period: Period | str | None = None, **inputs) -> float:
    """One KPI's value (NaN when not available)."""
    scope, period = resolve(data, scope, period)
    ctx = Context(data, scope, period, inputs.get("spend"), inputs.get("forecast"),
                  dict(inputs.get("targets") or {}))
    try:
        return float(get(name).compute(ctx))
    except NotAvailable:
        return float("nan")


def kpi_trend(data: Dataset, name: str, scope: Scope | str | None = None,
              period: Period | str | None = None, freq: str = "M") -> pd.DataFrame:
    """A KPI per month (``freq="M"``) or quarter (``"Q"``) of the period: ``start, value``."""
    scope, period = resolve(data, scope, period)
    if freq not in ("M", "Q"):
        raise ConfigError(f"trend frequency {freq!r}: use 'M' or 'Q'")
    get(name)
    rows = []
    for p in pd.period_range(period.start, period.end - pd.Timedelta(days=1), freq=freq):
        sub = Period(p.start_time.normalize(), p.end_time.normalize() + pd.Timedelta(days=1),
                     str(p))
        if sub.start > data.as_of:
            break
        rows.append({"start": sub.start, "period": sub.label,
                     "value": kpi_value(data, name, scope, sub)})
    out = pd.DataFrame(rows, columns=["start", "period", "value"])
    return label(out, scope, period, "" if len(out) else f"{period.label} has not started")


def stage_funnel(data: Dataset, scope: Scope | str | None = None,
                 period: Period | str | None = None,
                 stages: list[str] | None = None) -> pd.DataFrame:
    """Per-stage conversion of the opportunities created in the period, from the current
    snapshot: a deal has *reached* an open stage if it is at it or a later one, or won; lost
    deals are counted at the first stage only (the snapshot does not say where they fell out).
    ``conversion`` = reached next stage / reached this one (the last open stage converts to
    ``Won``). ``stages`` gives the open stages in order; by default common names (lead,
    prospecting, qualification, engaging, proposal, negotiation ...) are ordered and others
    follow alphabetically."""
    scope, period = resolve(data, scope, period)
    d = scoped_deals(data, scope)
    d = d[period.contains(d["created_date"]) | (d["created_date"].isna()
                                                  & (d["status"] == "open"))]
    alld = data.deals  # stage names from all open deals, so every scope gets the same funnel
    open_stages = list(alld.loc[alld["status"] == "open", "stage"].dropna().unique())
    order = stages or sorted(open_stages, key=_stage_rank)
    idx = {s: i for i, s in enumerate(order)}
    pos = d["stage"].map(idx)
    pos = pos.where(d["status"] == "open")
    pos = pos.mask(d["status"] == "won", len(order))
    if order:
        pos = pos.mask(d["status"] == "lost", 0)
    pos = pos.dropna().astype(int)
    names = [*order, "Won"]
    at = [int((pos == i).sum()) for i in range(len(names))]
    if order:
        at[0] -= int((d["status"] == "lost").sum())
    reached = [int((pos >= i).sum()) for i in range(len(names))]
    out = pd.DataFrame({"stage": names, "at_stage": at, "reached": reached})
    nxt = out["reached"].shift(-1)
    out["conversion"] = nxt / out["reached"].where(out["reached"] > 0)
    if not len(d):
        out = out.iloc[0:0]
    return label(out, scope, period, "" if len(d) else
                 f"no opportunities created in {scope.label} for {period.label}")


_STAGE_WORDS = ["lead", "prospect", "qualif", "discover", "engag", "need", "demo", "solution",
                "propos", "quot", "negot", "commit", "contract", "closing"]


def _stage_rank(stage: str) -> tuple[int, str]:
    s = str(stage).lower()
    for i, w in enumerate(_STAGE_WORDS):
        if w in s:
            return (i, s)
    return (len(_STAGE_WORDS), s)


# ---- display ---------------------------------------------------------------------------------
def format_value(value: float, unit: str) -> str:
    """``0.63`` -> ``63.2%`` for fractions, ``1,234,567 USD``, ``42.0 days`` ..."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if unit == "fraction":
        return f"{value:.1%}"
    if unit == "USD":
        return f"{value:,.0f} USD"
    if unit == "USD/day":
        return f"{value:,.0f} USD/day"
    if unit == "days":
        return f"{value:.1f} days"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.2f}x"


STATUS_COLORS = {"on track": "#2e7d32", "at risk": "#f9a825", "off track": "#c62828",
                 "n/a": "#9e9e9e"}


def chart_dashboard(result: pd.DataFrame) -> alt.Chart:
    """KPI dashboard: one bar per KPI showing value / expected target (1 = on target, capped
    at 1.5), coloured by status, labelled with the formatted value; n/a KPIs shown grey."""
    df = result.copy()
    ratio = np.where(df["better"] == "higher", df["value"] / df["expected"],
                     df["expected"] / df["value"])
    df["progress"] = pd.Series(ratio, index=df.index).replace([np.inf, -np.inf], 1.5) \
        .clip(0, 1.5).fillna(0.0)
    df["shown"] = [format_value(v, u) for v, u in zip(df["value"], df["unit"])]
    df["target_shown"] = [format_value(v, u) if pd.notna(v) else "-"
                          for v, u in zip(df["target"], df["unit"])]
    color = alt.Color("status:N", scale=alt.Scale(domain=list(STATUS_COLORS),
                                                  range=list(STATUS_COLORS.values())))
    base = alt.Chart(df).encode(y=alt.Y("label:N", sort=None, title=None))
    bars = base.mark_bar().encode(
        x=alt.X("progress:Q", scale=alt.Scale(domain=[0, 1.5]), title="value / target"),
        color=color, tooltip=["label", "shown", "target_shown", "status", "note", "formula"])
    text = base.mark_text(align="left", dx=4).encode(x="progress:Q", text="shown:N")
    rule = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return (bars + text + rule).properties(
        title=f"KPIs {df.attrs.get('scope', '')} {df.attrs.get('period', '')}".strip())


# ---- workspace -------------------------------------------------------------------------------
SECTION = "kpis"


def save_kpi_targets(ws, targets: dict[str, float], scope: Scope | str | None = None,
                     by: str | None = None) -> None:
    """Record the analyst's KPI targets (KPI name -> target) for a scope in the workspace
    (section ``kpis``, key ``targets`` for the company, ``targets:<scope>`` otherwise), so
    batch runs reproduce the dashboard."""
    for name, value in targets.items():
        get(name)
        if not isinstance(value, int | float) or not np.isfinite(value):
            raise ConfigError(f"target for KPI {name!r} must be a number, got {value!r}")
    ws.record(SECTION, _targets_key(scope), {k: float(v) for k, v in targets.items()}, by=by)


def _targets_key(scope: Scope | str | None) -> str:
    sc = Scope.parse(scope)
    return "targets" if sc.level == "company" else f"targets:{sc}"


def load_kpi_targets(ws, scope: Scope | str | None = None) -> dict[str, float]:
    """The KPI targets saved for ``scope`` (empty when none)."""
    return dict(ws.get(SECTION, _targets_key(scope), default={}) or {})


# ---- the demo's default decision ------------------------------------------------------------
HOLD_KPIS = ("win_rate", "avg_deal_size", "sales_cycle", "stage_conversion", "gross_margin")


def demo_decision(ws, by: str = "demo") -> str:
    """Step 3 in ``salesplan demo``: the dashboard of the year in progress, with targets that
    hold last full year's level (bookings targets come from the targets table)."""
    data = ws.data
    year = str(data.as_of.year)  # the year in progress, against its targets
    last = str(last_full_year(data.as_of))
    targets = {}
    for name in HOLD_KPIS:
        value = kpi_value(data, name, period=last)
        if value == value:  # not NaN
            targets[name] = round(float(value), 4)
    table = compute_kpis(data, period=year, targets=targets)
    ws.record("kpis", "dashboard", list(table["kpi"]), by=by)
    ws.record("kpis", "period", year, by=by)
    ws.record("kpis", "targets", targets, by=by)
    ws.save_output("kpis", f"dashboard_{year}", table)
    counts = table["status"].value_counts().to_dict()
    return (f"{len(table)} KPIs for {year} to date: "
            + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
