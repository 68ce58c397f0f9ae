"""Step 8 - strategy & tactics: the tactic register, its effects on drivers, pricing what-if
and channel mix.

A :class:`Tactic` has a category (:data:`CATEGORIES`), a target segment, owner, budget (USD),
start / end dates and an expected effect on one driver, in that driver's unit
(:data:`DRIVER_UNITS`): ``win_rate`` in percentage points (5 = +5 pp), ``deal_size`` and
``pipeline`` in percent (10 = +10%), ``cycle`` in days (-10 = ten days shorter).

Effects of several tactics active in the same month combine per driver: pp and days add,
percentages compound (``(1 + a)(1 + b) - 1``). A tactic is active in every calendar month that
overlaps ``[start, end]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps.capacity import basis_period, month_label, resolve

SECTION = "tactics"
CATEGORIES = ("positioning & messaging", "pricing", "channels", "promotions",
              "lead generation & nurturing", "sales process")
DRIVER_UNITS = {"win_rate": "pp", "deal_size": "%", "pipeline": "%", "cycle": "days"}
_ALL = ("", "all", "any", "*")


@dataclass
class Tactic:
    """One tactic. ``effect`` is in the unit of ``driver`` (see :data:`DRIVER_UNITS`);
    ``segment`` is the target customer group (a value of the deals' segment, industry or
    product family; blank = all); ``scope`` the planning unit it runs in."""

    name: str
    category: str
    driver: str
    effect: float
    start: str
    end: str
    segment: str = ""
    owner: str = ""
    budget: float = 0.0
    scope: str = "company"
    notes: str = ""
    id: str | None = None

    def __post_init__(self) -> None:
        if not str(self.name or "").strip():
            raise ConfigError("a tactic needs a name")
        cat = str(self.category or "").strip().lower()
        if cat not in CATEGORIES:
            raise ConfigError(f"tactic {self.name!r}: category {self.category!r} is not one of "
                              f"{', '.join(CATEGORIES)}")
        self.category = cat
        if self.driver not in DRIVER_UNITS:
            raise ConfigError(f"tactic {self.name!r}: driver {self.driver!r} is not one of "
                              f"{', '.join(DRIVER_UNITS)}")
        try:
            self.effect = float(self.effect)
            self.budget = float(self.budget or 0)
        except (TypeError, ValueError):
            raise ConfigError(f"tactic {self.name!r}: effect and budget must be numbers") from None
        if math.isnan(self.effect):
            raise ConfigError(f"tactic {self.name!r}: effect is not a number")
        if self.budget < 0:
            raise ConfigError(f"tactic {self.name!r}: budget must be >= 0 USD")
        if self.driver == "win_rate" and abs(self.effect) > 100:
            raise ConfigError(f"tactic {self.name!r}: a win-rate effect is in percentage points "
                              f"(-100..100), got {self.effect}")
        if self.driver in ("deal_size", "pipeline") and self.effect <= -100:
            raise ConfigError(f"tactic {self.name!r}: a {self.driver} effect is in percent and "
                              f"must be > -100, got {self.effect}")
        try:
            s, e = pd.Timestamp(self.start), pd.Timestamp(self.end)
        except (ValueError, TypeError):
            raise ConfigError(f"tactic {self.name!r}: start/end must be dates (YYYY-MM-DD)") \
                from None
        if pd.isna(s) or pd.isna(e) or e < s:
            raise ConfigError(f"tactic {self.name!r}: end {self.end!r} is before start "
                              f"{self.start!r} (or missing)")
        self.start, self.end = s.date().isoformat(), e.date().isoformat()
        try:
            self.scope = str(Scope.parse(self.scope))
        except ValueError as exc:
            raise ConfigError(f"tactic {self.name!r}: bad scope: {exc}") from None

    @property
    def unit(self) -> str:
        return DRIVER_UNITS[self.driver]

    def months(self) -> pd.PeriodIndex:
        return pd.period_range(self.start, self.end, freq="M")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("id")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Tactic:
        keys = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in keys})


def _as_tactics(tactics) -> list[Tactic]:
    if hasattr(tactics, "items") and not isinstance(tactics, dict | list | tuple):
        return load_tactics(tactics)
    out = []
    for t in tactics or []:
        out.append(t if isinstance(t, Tactic) else Tactic.from_dict(dict(t)))
    return out


def combine(driver: str, effects: Iterable[float]) -> float:
    """Combined effect of several tactics on one driver, in its unit: pp and days add,
    percentages compound."""
    effects = list(effects)
    if DRIVER_UNITS[driver] == "%":
        return (float(np.prod([1 + e / 100 for e in effects])) - 1) * 100 if effects else 0.0
    return float(sum(effects))


def tactic_effects(tactics, month: str | pd.Period, scope: Scope | str | None = None
                   ) -> dict[str, float]:
    """Per-driver combined effect (driver's unit) of the tactics active in ``month``
    (``YYYY-MM``), optionally only those of ``scope``; drivers with no tactic give 0."""
    m = pd.Period(str(month), "M")
    sc = None if scope is None else str(Scope.parse(scope))
    active: dict[str, list[float]] = {d: [] for d in DRIVER_UNITS}
    for t in _as_tactics(tactics):
        if (sc is None or t.scope == sc) and m in t.months():
            active[t.driver].append(t.effect)
    return {d: combine(d, v) for d, v in active.items()}


def effects_by_month(tactics, period: Period | str) -> pd.DataFrame:
    """Long table of combined effects: ``month, scope, driver, effect`` (driver unit),
    ``unit``, ``tactics`` (names), one row per month x scope x driver with an active tactic."""
    per = Period.parse(period)
    rows = []
    ts = _as_tactics(tactics)
    for m in per.months():
        groups: dict[tuple, list[Tactic]] = {}
        for t in ts:
            if m in t.months():
                groups.setdefault((t.scope, t.driver), []).append(t)
        for (sc, drv), group in sorted(groups.items()):
            rows.append({"month": month_label(m), "scope": sc, "driver": drv,
                         "effect": combine(drv, [t.effect for t in group]),
                         "unit": DRIVER_UNITS[drv],
                         "tactics": ", ".join(t.name for t in group)})
    return pd.DataFrame(rows, columns=["month", "scope", "driver", "effect", "unit", "tactics"])


def _base_rates(data: Dataset, scope: Scope, period: Period) -> tuple[float, float]:
    """Win rate (fraction) and mean won cycle (days) of the scope on the basis window."""
    basis = basis_period(data, period)
    d = scope.filter(data.deals)
    closed = d[basis.contains(d["close_date"]) & d["status"].isin(["won", "lost"]).fillna(False)]
    if not len(closed):
        closed = d[d["status"].isin(["won", "lost"]).fillna(False)]
    won = closed[closed["status"] == "won"]
    wr = len(won) / len(closed) if len(closed) else math.nan
    cyc = (won["close_date"] - won["created_date"]).dt.days.mean() if len(won) else math.nan
    return wr, float(cyc) if pd.notna(cyc) else math.nan


def segment_share(data: Dataset, scope: Scope, period: Period, segment: str) -> float:
    """Share (0..1) of the scope's won bookings on the basis window from deals whose segment,
    industry or product family equals ``segment`` (blank / ``all`` -> 1)."""
    if str(segment or "").strip().lower() in _ALL:
        return 1.0
    basis = basis_period(data, period)
    d = scope.filter(data.deals)
    won = d[(d["status"] == "won").fillna(False) & basis.contains(d["close_date"])]
    total = float(won["amount"].fillna(0).sum())
    if total <= 0:
        return 0.0
    hit = np.zeros(len(won), dtype=bool)
    for col in ("segment", "industry", "family"):
        hit |= (won[col] == segment).fillna(False).to_numpy()
    return float(won.loc[hit, "amount"].fillna(0).sum()) / total


def driver_effects(ws_or_tactics, period: Period | str | None = None,
                   data: Dataset | None = None) -> pd.DataFrame:
    """Per-driver effects by month as **relative** changes for :mod:`salesplan_nb.steps.scenarios`:
    ``month, scope, driver, effect`` (0.1 = +10%), ``native`` (driver unit), ``unit``,
    ``tactic`` (names).

    Conversion: ``deal_size`` / ``pipeline`` % -> ``effect = % / 100``; ``win_rate`` pp ->
    ``pp / 100 / base win rate``; ``cycle`` days -> ``days / base cycle days`` (base rates of
    the tactic's scope on the basis window). A tactic aimed at a segment is diluted by that
    segment's share of the scope's won bookings. Without data (and no workspace), pp and days
    cannot be converted and those rows are left out."""
    ws = None
    if hasattr(ws_or_tactics, "items") and not isinstance(ws_or_tactics, dict | list | tuple):
        ws = ws_or_tactics
    tactics = _as_tactics(ws_or_tactics)
    if data is None and ws is not None:
        data = ws.data
    if period is None:
        period = ws.period if ws is not None else (
            Period.year(data.as_of.year + 1) if data is not None else None)
    if period is None:
        raise ConfigError("driver_effects needs a period (or a workspace / data to default it)")
    per = Period.parse(period)
    cols = ["month", "scope", "driver", "effect", "native", "unit", "tactic"]
    rows = []
    cache: dict = {}
    for m in per.months():
        groups: dict[tuple, list[float]] = {}
        names: dict[tuple, list[str]] = {}
        for t in tactics:
            if m not in t.months():
                continue
            sc = Scope.parse(t.scope)
            if data is not None:
                if t.scope not in cache:
                    cache[t.scope] = _base_rates(data, sc, per)
                wr, cyc = cache[t.scope]
                if (t.scope, t.segment) not in cache:
                    cache[(t.scope, t.segment)] = segment_share(data, sc, per, t.segment)
                share = cache[(t.scope, t.segment)]
            else:
                wr, cyc, share = math.nan, math.nan, (
                    1.0 if str(t.segment or "").lower() in _ALL else math.nan)
            if t.unit == "%":
                rel = t.effect / 100
            elif t.driver == "win_rate":
                rel = t.effect / 100 / wr if wr and not math.isnan(wr) else math.nan
            else:
                rel = t.effect / cyc if cyc and not math.isnan(cyc) else math.nan
            rel *= share
            if math.isnan(rel):
                continue
            groups.setdefault((t.scope, t.driver), []).append(rel)
            names.setdefault((t.scope, t.driver), []).append(t.name)
        for (sc, drv), rels in sorted(groups.items()):
            eff = float(np.prod([1 + r for r in rels]) - 1)
            rows.append({"month": month_label(m), "scope": sc, "driver": drv, "effect": eff,
                         "native": None, "unit": "relative",
                         "tactic": ", ".join(names[(sc, drv)])})
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        native = effects_by_month(tactics, per).set_index(["month", "scope", "driver"])
        key = list(zip(out["month"], out["scope"], out["driver"]))
        out["native"] = [float(native.loc[k, "effect"]) if k in native.index else math.nan
                         for k in key]
        out["unit"] = [DRIVER_UNITS[d] for d in out["driver"]]
    return out


def tactics_table(tactics) -> pd.DataFrame:
    """The tactic register as a frame (one row per tactic), with ``months`` active."""
    ts = _as_tactics(tactics)
    cols = ["id", "name", "category", "segment", "owner", "budget", "start", "end", "driver",
            "effect", "unit", "scope", "months"]
    rows = [{**asdict(t), "unit": t.unit, "months": len(t.months())} for t in ts]
    return pd.DataFrame(rows, columns=cols)


def budget_by_category(tactics) -> pd.DataFrame:
    """Budget (USD) and number of tactics per category (all categories listed)."""
    t = tactics_table(tactics)
    g = t.groupby("category")["budget"].agg(["sum", "count"]) if len(t) else None
    rows = [{"category": c,
             "budget": float(g.loc[c, "sum"]) if g is not None and c in g.index else 0.0,
             "tactics": int(g.loc[c, "count"]) if g is not None and c in g.index else 0}
            for c in CATEGORIES]
    return pd.DataFrame(rows)


# ---- pricing what-if ---------------------------------------------------------------------------
@dataclass
class PricingWhatIf:
    """Per-product result of a price change; ``table`` columns: product_id, name, bookings,
    list_price, unit_cost, units, new_units, new_price, revenue, new_revenue, revenue_change,
    margin, new_margin, margin_change (USD; units estimated as bookings / list price)."""

    price_change: float
    elasticity: float
    volume_change: float
    table: pd.DataFrame
    basis: str
    note: str = ""
    totals: dict = field(default_factory=dict)


def pricing_whatif(data: Dataset, scope: Scope | str | None = None,
                   period: Period | str | None = None, *, price_change: float,
                   elasticity: float, products: Sequence[str] | None = None) -> PricingWhatIf:
    """Price change what-if on the scope's won bookings of the basis window.

    ``price_change`` and the resulting ``volume_change = elasticity x price_change`` are
    fractions (0.05 = +5%). Per product: units = bookings / list_price; new units = units x
    (1 + volume_change); new price = list_price x (1 + price_change); revenue = units x price;
    margin = units x (price - unit_cost) (NaN without ``unit_cost``). ``products`` limits
    the change to those product ids (others unchanged)."""
    sc, per = resolve(data, scope, period)
    try:
        pc, el = float(price_change), float(elasticity)
    except (TypeError, ValueError):
        raise ConfigError("price_change and elasticity must be numbers (0.05 = +5%)") from None
    if pc <= -1:
        raise ConfigError(f"price_change {pc} would make prices <= 0; use a fraction > -1")
    vc = max(el * pc, -1.0)
    basis = basis_period(data, per)
    d = sc.filter(data.deals)
    won = d[(d["status"] == "won").fillna(False) & basis.contains(d["close_date"])]
    g = won.groupby("product_id", dropna=True)["amount"].sum()
    prods = data.products.set_index("product_id")
    rows = []
    notes = []
    for pid, bookings in g.items():
        lp = prods["list_price"].get(pid, math.nan) if pid in prods.index else math.nan
        uc = prods["unit_cost"].get(pid, math.nan) if pid in prods.index else math.nan
        name = prods["name"].get(pid, pid) if pid in prods.index else pid
        changed = products is None or pid in products
        p1, v1 = (pc, vc) if changed else (0.0, 0.0)
        if pd.isna(lp) or lp <= 0:
            notes.append(f"{pid}: no list price, units unknown")
            units = math.nan
            new_rev = float(bookings) * (1 + p1) * (1 + v1)
            margin = new_margin = math.nan
        else:
            units = float(bookings) / lp
            new_rev = units * (1 + v1) * lp * (1 + p1)
            margin = units * (lp - uc) if pd.notna(uc) else math.nan
            new_margin = units * (1 + v1) * (lp * (1 + p1) - uc) if pd.notna(uc) else math.nan
        rows.append({"product_id": pid, "name": name, "bookings": float(bookings),
                     "list_price": lp, "unit_cost": uc, "units": units,
                     "new_units": units * (1 + v1), "new_price": lp * (1 + p1),
                     "revenue": float(bookings), "new_revenue": new_rev,
                     "revenue_change": new_rev - float(bookings), "margin": margin,
                     "new_margin": new_margin, "margin_change": new_margin - margin})
    cols = ["product_id", "name", "bookings", "list_price", "unit_cost", "units", "new_units",
            "new_price", "revenue", "new_revenue", "revenue_change", "margin", "new_margin",
            "margin_change"]
    table = pd.DataFrame(rows, columns=cols)
    if not len(table):
        notes.insert(0, f"no won deals in {sc.label} for {basis.label}")
    elif table["unit_cost"].isna().any():
        notes.append("unit_cost missing for some products: margin impact not computable there")
    totals = {k: float(table[k].sum(min_count=1)) if len(table) else 0.0
              for k in ("revenue", "new_revenue", "revenue_change", "margin", "new_margin",
                        "margin_change")}
    return PricingWhatIf(pc, el, vc, table, basis.label, "; ".join(notes), totals)


def chart_pricing(result: PricingWhatIf) -> alt.Chart:
    """Revenue and margin change (USD) by product."""
    long = result.table.melt(id_vars=["product_id"], value_vars=["revenue_change",
                                                                 "margin_change"],
                             var_name="measure", value_name="USD").dropna(subset=["USD"])
    return (alt.Chart(long).mark_bar().encode(
        y=alt.Y("product_id:N", title="Product"), x=alt.X("USD:Q", title="Change (USD)"),
        color=alt.Color("measure:N", title=None), yOffset="measure:N",
        tooltip=["product_id:N", "measure:N", alt.Tooltip("USD:Q", format=",.0f")])
        .properties(title=f"Price {result.price_change:+.0%}, elasticity "
                          f"{result.elasticity:g}: volume {result.volume_change:+.1%}"))


# ---- channel mix -------------------------------------------------------------------------------
CHANNEL_COLUMNS = ("channel", "lead_source", "source_channel")


def channel_mix(data: Dataset, scope: Scope | str | None = None,
                period: Period | str | None = None) -> pd.DataFrame:
    """Bookings share by route to market on the basis window: by a ``channel`` (or
    ``lead_source``) column when the deals have one, else by product family, else by account
    segment, as route proxies. Columns: ``route, bookings`` (USD), ``share`` (0..1),
    ``won_deals, decided, win_rate`` (0..1), ``route_basis``. ``attrs['route_basis']`` says
    which column was used."""
    sc, per = resolve(data, scope, period)
    basis = basis_period(data, per)
    d = sc.filter(data.deals)
    col = next((c for c in CHANNEL_COLUMNS if c in d.columns and d[c].notna().any()), None)
    label = "channel"
    if col is None:
        if d["family"].notna().any():
            col, label = "family", "product family (proxy for route to market)"
        else:
            col, label = "segment", "account segment (proxy for route to market)"
    elif col != "channel":
        label = f"{col} (channel)"
    closed = d[basis.contains(d["close_date"]) & d["status"].isin(["won", "lost"]).fillna(False)]
    cols = ["route", "bookings", "share", "won_deals", "decided", "win_rate", "route_basis"]
    if not len(closed):
        out = pd.DataFrame(columns=cols)
    else:
        key = closed[col].astype("string").fillna("Unknown")
        won = (closed["status"] == "won").to_numpy()
        frame = pd.DataFrame({"route": key.to_numpy(),
                              "bookings": np.where(won, closed["amount"].fillna(0), 0.0),
                              "won": won.astype(int)})
        g = frame.groupby("route").agg(bookings=("bookings", "sum"), won_deals=("won", "sum"),
                                       decided=("won", "size")).reset_index()
        total = g["bookings"].sum()
        g["share"] = g["bookings"] / total if total else 0.0
        g["win_rate"] = g["won_deals"] / g["decided"]
        g["route_basis"] = label
        out = g.sort_values("bookings", ascending=False)[cols].reset_index(drop=True)
    out.attrs["route_basis"] = label
    out.attrs["basis"] = basis.label
    out.attrs["note"] = "" if len(out) else f"no closed deals in {sc.label} for {basis.label}"
    return out


def chart_channel_mix(mix: pd.DataFrame) -> alt.Chart:
    """Bookings share by route (bar), tooltips with win rate."""
    return (alt.Chart(mix).mark_bar().encode(
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="Share of bookings"),
        y=alt.Y("route:N", sort="-x", title=mix.attrs.get("route_basis", "route")),
        tooltip=["route:N", alt.Tooltip("bookings:Q", format=",.0f"),
                 alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("win_rate:Q", format=".1%")])
        .properties(title="Channel mix"))


def chart_tactics(tactics) -> alt.Chart:
    """Gantt of tactics (start..end) coloured by category, budget in the tooltip."""
    t = tactics_table(tactics)
    t["end_excl"] = (pd.to_datetime(t["end"]) + pd.Timedelta(days=1)).dt.date.astype(str)
    return (alt.Chart(t).mark_bar().encode(
        x=alt.X("start:T", title=None), x2="end_excl:T", y=alt.Y("name:N", title=None),
        color=alt.Color("category:N", scale=alt.Scale(domain=list(CATEGORIES))),
        tooltip=["name:N", "category:N", "segment:N", "owner:N", alt.Tooltip("budget:Q", format=",.0f"),
                 "driver:N", "effect:Q", "unit:N", "start:N", "end:N"])
        .properties(title="Tactics"))


# ---- workspace ---------------------------------------------------------------------------------
def save_tactic(ws, tactic: Tactic, by: str | None = None) -> Tactic:
    """Add the tactic to section ``tactics`` (or update it when its ``id`` is stored);
    returns it with its ``id``."""
    if not isinstance(tactic, Tactic):
        tactic = Tactic.from_dict(dict(tactic))
    body = {**tactic.to_dict(), **({"id": tactic.id} if tactic.id else {})}
    item = ws.upsert_item(SECTION, body, by=by)  # one locked read-modify-write
    tactic.id = item["id"]
    return tactic


def load_tactics(ws) -> list[Tactic]:
    """The stored tactics (empty list when none)."""
    return [Tactic.from_dict(i) for i in ws.items(SECTION)]


def remove_tactic(ws, tactic_or_id: Tactic | str) -> None:
    tid = tactic_or_id.id if isinstance(tactic_or_id, Tactic) else tactic_or_id
    if tid is None:
        raise ConfigError("this tactic has no id: it was never saved")
    ws.remove_item(SECTION, tid)
