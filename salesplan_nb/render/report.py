"""The plan document: sections built from a plan workspace for one scope.

Every section function takes a :class:`PlanContext` (workspace + scope + period) and returns a
:class:`Section`: a title and blocks (text paragraphs, tables, Altair charts, or a
:class:`Missing` note naming the data or decision that is absent). Numbers come from the step
modules (market, goals, kpis, swot, capacity, segments, strategy, quotas, resources, forecast,
scenarios); nothing is invented. :func:`show` displays a section in a notebook with escaped
HTML and chart specs that :mod:`salesplan_nb.batch.runner`'s exporter draws offline.

Money is USD, rates fractions (shown as %). The *baseline* period is the last complete period
of the plan's length before the data's ``as_of`` (goals.find_baseline_period), so an annual
plan for 2027 with data to mid-2026 is built on 2025 actuals.
"""

from __future__ import annotations

import html
import importlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from salesplan_nb.core.scope import Period, Scope

CHART_MIME = "application/vnd.salesplan.chart+json"
HEADLINE_MIME = "application/vnd.salesplan.headline+json"
SECTION_MIME = "application/vnd.salesplan.section+json"

PLAN_SECTIONS = {
    "annual": ["executive_summary", "sales_goals", "target_segments", "strategy_tactics",
               "resource_allocation", "metrics_kpis", "quotas_section", "growth_forecast",
               "timeline"],
    "territory": ["executive_summary", "market_potential", "sales_goals", "target_segments",
                  "strategy_tactics", "quotas_section", "resource_allocation", "metrics_kpis",
                  "timeline"],
    "account": ["executive_summary", "account_profile", "account_history", "whitespace",
                "growth_forecast", "account_actions", "account_risks", "timeline"],
    "long-term": ["executive_summary", "sales_goals", "market_trends", "scenarios_section",
                  "target_segments", "strategy_tactics", "resource_allocation", "metrics_kpis",
                  "timeline"],
}


# ---- blocks ----------------------------------------------------------------------------------
@dataclass
class Missing:
    """A note that a section cannot be filled: ``what`` is missing and ``how`` to provide it."""

    what: str
    how: str = ""

    def text(self) -> str:
        return f"Not available: {self.what}." + (f" {self.how}" if self.how else "")


@dataclass
class Table:
    """A table to show: ``df`` with display ``formats`` per column (money, pct, int, num, date)."""

    df: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    caption: str = ""


@dataclass
class Section:
    """A titled part of the plan document."""

    key: str
    title: str
    blocks: list[Any] = field(default_factory=list)

    def add(self, *blocks: Any) -> Section:
        self.blocks.extend(b for b in blocks if b is not None)
        return self

    @property
    def missing(self) -> list[Missing]:
        return [b for b in self.blocks if isinstance(b, Missing)]


# ---- formatting ------------------------------------------------------------------------------
def money(x: float | None) -> str:
    """``1234567.8`` -> ``$1.23M``; NaN/None -> ``n/a``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    a = abs(x)
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{'-' if x < 0 else ''}${a / div:,.2f}{suf}"
    return f"{'-' if x < 0 else ''}${a:,.0f}"


def pct(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x * 100:.{digits}f}%"


def _fmt(v: Any, kind: str) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    if kind == "money":
        return f"{float(v):,.0f}"
    if kind == "pct":
        return pct(float(v))
    if kind == "int":
        return f"{int(round(float(v))):,}"
    if kind == "num":
        return f"{float(v):,.2f}"
    if kind == "date":
        return pd.Timestamp(v).date().isoformat()
    return str(v)


_PCT_WORDS = ("share", "rate", "penetration", "growth", "pct", "attainment")
_MONEY_WORDS = ("potential", "bookings", "amount", "usd", "value", "revenue", "deal", "quota",
                "budget", "spend", "return", "pipeline", "tam", "sam", "som")


def infer_format(name: str, series: pd.Series) -> str:
    """Display format of an unformatted float column from its name: rates and shares as %,
    money-like names as USD, other floats with two decimals."""
    if not pd.api.types.is_float_dtype(series):
        return ""
    n = str(name).lower()
    if any(w in n for w in _PCT_WORDS):
        return "pct"
    if any(w in n for w in _MONEY_WORDS):
        return "money"
    return "num"


def table_html(t: Table) -> str:
    """Escaped HTML of a :class:`Table` (names from data are never trusted); float columns
    without a format get :func:`infer_format`."""
    df = t.df
    t = Table(df, {c: t.formats.get(c) or infer_format(c, df[c]) for c in df.columns},
              t.caption)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, rec):
            kind = t.formats.get(c, "")
            cls = ' class="num"' if kind in ("money", "pct", "int", "num") else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(v, kind))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(t.caption)}</caption>" if t.caption else ""
    if not rows:
        rows = [f'<tr><td colspan="{max(len(df.columns), 1)}">(no rows)</td></tr>']
    return (f'<table class="data">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


# ---- context ---------------------------------------------------------------------------------
_WS_CACHE: dict[str, tuple[tuple, Any]] = {}


def _stamp(plan_dir: Path) -> tuple:
    files = [plan_dir / "plan.yaml", *sorted((plan_dir / "data").glob("*.parquet"))]
    return tuple((str(f), f.stat().st_mtime_ns) for f in files if f.exists())


def open_workspace(plan_dir: str | Path):
    """``Workspace.open(plan_dir)``, cached per process while plan.yaml and the data snapshot
    are unchanged (batch workers render many units from one workspace)."""
    from salesplan_nb.data.workspace import Workspace

    p = Path(plan_dir).resolve()
    stamp = _stamp(p)
    hit = _WS_CACHE.get(str(p))
    if hit and hit[0] == stamp:
        return hit[1]
    ws = Workspace.open(p)
    _WS_CACHE[str(p)] = (stamp, ws)
    return ws


@dataclass
class PlanContext:
    """What a plan document is about: workspace, scope, plan period, baseline period."""

    ws: Any
    scope: Scope
    period: Period
    baseline: Period
    plan_type: str
    unit_label: str
    cache: dict = field(default_factory=dict)

    @property
    def data(self):
        return self.ws.data

    @property
    def deals(self) -> pd.DataFrame:
        """The scope's deals (all dates), filtered once per context; read-only."""
        return self.once("scope_deals", lambda: self.scope.filter(self.data.deals))

    @property
    def title(self) -> str:
        kind = {"long-term": "Long-term", "annual": "Annual", "territory": "Territory",
                "account": "Account"}[self.plan_type]
        return f"{kind} sales plan {self.period.label}: {self.unit_label}"

    def once(self, key: str, fn):
        """Compute ``fn()`` once per context (sections share results)."""
        if key not in self.cache:
            self.cache[key] = fn()
        return self.cache[key]


def unit_label(data, scope: Scope) -> str:
    """Human name of a scope: rep and account names, territory names, else the id."""
    if scope.level == "company":
        return "Company"
    table, key = {"rep": ("reps", "rep_id"), "account": ("accounts", "account_id"),
                  "territory": ("territories", "territory_id")}.get(scope.level, (None, None))
    if table:
        df = data.table(table)
        hit = df.loc[df[key] == scope.id, "name"]
        if len(hit) and pd.notna(hit.iloc[0]):
            return f"{hit.iloc[0]}" if scope.level != "territory" else \
                f"{hit.iloc[0]} ({scope.id})"
    return str(scope.id)


def context(plan_dir: str | Path, scope_level: str = "company", unit: str | None = None,
            period: str | None = None, plan_type: str | None = None) -> PlanContext:
    """Build the context of one plan document (the notebooks' first call)."""
    from salesplan_nb.core.errors import ConfigError
    from salesplan_nb.data.workspace import PLAN_TYPES
    from salesplan_nb.steps.goals import find_baseline_period

    ws = open_workspace(plan_dir)
    unit = (str(unit).strip() or None) if unit is not None else None
    try:
        scope = Scope(scope_level, unit if scope_level != "company" else None)
    except ValueError as exc:
        raise ConfigError(f"scope_level={scope_level!r}, unit={unit!r}: {exc}; give a level "
                          "(company, region, territory, rep, account) and a unit id from the "
                          "data") from None
    try:
        per = Period.parse(period) if period else ws.period
    except ValueError as exc:
        raise ConfigError(f"period={period!r}: {exc}; e.g. 2027 or 2027-Q1") from None
    ptype = plan_type or ws.plan_type
    if ptype not in PLAN_TYPES:
        raise ConfigError(f"plan type {ptype!r} is not one of {', '.join(PLAN_TYPES)}")
    if ptype == "long-term" or per.n_months > 12:
        # the last complete calendar year before as_of
        base = find_baseline_period(Period.parse(str(ws.data.as_of.year + 1)), ws.data.as_of)
    else:
        base = find_baseline_period(per, ws.data.as_of)
    return PlanContext(ws, scope, per, base, ptype, unit_label(ws.data, scope))


def _module(name: str):
    """A step module, or None when it is not installed yet."""
    try:
        return importlib.import_module(f"salesplan_nb.steps.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"salesplan_nb.steps.{name}":
            raise
        return None


def _need(name: str, what: str) -> Missing:
    return Missing(f"{what} (module salesplan_nb.steps.{name} is not installed)")


# ---- numbers shared by sections ---------------------------------------------------------------
_COMPANY_PLANS: dict[tuple[str, str], tuple[tuple, Any]] = {}


def company_quota_plan(ctx: PlanContext):
    """The company quota split for the plan period with the saved decisions
    (``quotas.quotas_from``; the saved ``target`` is the company's), or the SalesplanError the
    decisions raise. Cached per plan folder and period while plan.yaml and the snapshot are
    unchanged (a batch run renders many units from one split)."""
    q = _module("quotas")
    if q is None:
        return None

    def build():
        from salesplan_nb.core.errors import SalesplanError

        key = (str(Path(ctx.ws.path).resolve()), ctx.period.label)
        stamp = _stamp(Path(key[0]))
        hit = _COMPANY_PLANS.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
        try:
            plan = q.quotas_from(ctx.data, q.load_quotas(ctx.ws), scope=None, period=ctx.period)
        except SalesplanError as exc:
            plan = exc
        _COMPANY_PLANS[key] = (stamp, plan)
        return plan
    return ctx.once("company_quota_plan", build)


def _quota_plan(ctx: PlanContext):
    """The quota plan of the context's scope: the company split itself, or for a region,
    territory or rep its subtree of the company split (its quota as target, its territories
    and reps below), so every plan shows the quotas the company plan assigns. Accounts carry
    no quota: a SalesplanError says so. ``None`` without the quotas module."""
    from salesplan_nb.core.errors import ConfigError, SalesplanError

    q = _module("quotas")
    if q is None:
        return None
    company = company_quota_plan(ctx)
    if ctx.scope.level == "company" or isinstance(company, SalesplanError):
        return company

    def build():
        if ctx.scope.level not in q.LEVELS:
            return ConfigError(f"{ctx.scope.level} plans carry no quota (quotas are split to "
                               "regions, territories and reps)")
        notes = [f"the quota of {ctx.unit_label} in the company split (company target "
                 f"{money(company.target)}" + (f": {company.note}" if company.note else "")
                 + ")"]
        sub = q.subtree(company, ctx.scope.level, ctx.scope.id, notes)
        if sub is None:
            return ConfigError(f"{ctx.unit_label} has no quota in the company split for "
                               f"{ctx.period.label} (no quota-carrying reps there)")
        sub.scope = str(ctx.scope)
        return sub
    return ctx.once("quota_plan", build)


def _won(ctx: PlanContext, period: Period) -> pd.DataFrame:
    d = ctx.deals
    return d[(d["status"] == "won") & period.contains(d["close_date"])]


def account_share_target(ctx: PlanContext) -> tuple[float | None, str]:
    """Derived bookings target of an account: its share of the quotas of the territories it
    buys in, by trailing bookings. For each territory T (the owner rep's, else the
    account's) where the account has won bookings in the trailing 12 months
    (``quotas.history_window``): share_T = the account's won bookings in T / all won bookings
    in T over those months; target = sum over T of share_T x T's quota in the company split.
    Returns ``(target, label)``, or ``(None, reason)`` when it cannot be derived."""
    from salesplan_nb.core.errors import SalesplanError

    q = _module("quotas")
    if q is None:
        return None, "the quotas module is not installed"
    company = company_quota_plan(ctx)
    if isinstance(company, SalesplanError):
        return None, f"the quota split fails: {company}"
    win = q.history_window(ctx.data)
    d = ctx.data.deals
    won = d[(d["status"] == "won") & win.contains(d["close_date"])]
    mine = won[(won["account_id"] == ctx.scope.id).fillna(False).astype(bool)]
    by_t = mine.groupby("territory")["amount"].sum()
    by_t = by_t[by_t > 0]
    if not len(by_t):
        return None, f"{ctx.unit_label} has no won bookings in the {win.label}"
    totals = won.groupby("territory")["amount"].sum()
    t = company.table
    terr_rows = t[t["level"] == "territory"].set_index("unit_id")
    parts = []  # (contribution, name, share, quota)
    for terr, amount in by_t.items():
        if terr in terr_rows.index and totals.get(terr, 0) > 0:
            share = float(amount) / float(totals[terr])
            quota = float(terr_rows.loc[terr, "quota"])
            parts.append((share * quota, str(terr_rows.loc[terr, "name"]), share, quota))
    if not parts:
        return None, (f"the territories {ctx.unit_label} buys in have no quota in the company "
                      "split")
    parts.sort(key=lambda x: -x[0])
    shown = "; ".join(f"{pct(sh)} of territory {n}'s quota {money(qu)}"
                      for _, n, sh, qu in parts[:3])
    n_more = len(parts) - 3
    more = f"; and {n_more} more territor{'y' if n_more == 1 else 'ies'}" if n_more > 0 else ""
    return sum(x[0] for x in parts), (
        f"derived: {shown}{more} - the account's share of each territory's won bookings in "
        f"the {win.label}")


def _ends_period(goal, period: Period) -> bool:
    """A goal is the plan's target when it has no deadline or its deadline falls in the plan
    period's last 12 months (a 2027 goal is an interim milestone of a 2027..2029 plan)."""
    if not goal.deadline:
        return True
    try:
        d = pd.Timestamp(goal.deadline)
    except (ValueError, TypeError):
        return False
    return period.end - pd.DateOffset(years=1) <= d < period.end


def headline(ctx: PlanContext) -> dict:
    """Headline numbers: baseline bookings, growth on the year before, plan target, implied
    growth, win rate (won / closed in the baseline), open pipeline (open amount at
    ``as_of``), reps in scope (for an account: reps owning its open deals).

    Target, first found: a recorded bookings goal for exactly this scope, the given target for
    it (``kpis.target_for``: the data's targets table), then for regions, territories and reps
    their quota in the company split, for an account :func:`account_share_target` (labelled
    "derived"). A company-level goal, target or quota is never shown as a unit's own."""
    d = ctx.deals
    base = float(_won(ctx, ctx.baseline)["amount"].sum())
    prior = float(_won(ctx, ctx.baseline.previous())["amount"].sum())
    closed = d[d["status"].isin(["won", "lost"]) & ctx.baseline.contains(d["close_date"])]
    won_n = int((closed["status"] == "won").sum())
    target, source, note = None, "", ""
    g = _module("goals")
    if g is not None:
        for goal in g.load_goals(ctx.ws):
            if goal.metric == "bookings" and str(goal.scope) == str(ctx.scope) \
                    and isinstance(goal.target, int | float) and _ends_period(goal, ctx.period):
                target, source = float(goal.target), "recorded goal"
                break
    if target is None:
        k = _module("kpis")
        if k is not None:
            t = k.target_for(ctx.data, ctx.scope, ctx.period)
            if t is not None and not math.isnan(t):
                target, source = float(t), "given target"
    if target is None and ctx.scope.level == "account":
        target, note = account_share_target(ctx)
        source = note if target is not None else ""
    elif target is None and ctx.period.n_months > 12:  # a quota target is for one year
        note = ("quota targets are annual: record a bookings goal for this unit with its "
                f"deadline in the last year of {ctx.period.label}")
    elif target is None:
        qp = _quota_plan(ctx)
        if qp is not None and not isinstance(qp, Exception) and qp.target:
            target, source = float(qp.target), (
                "quota plan" if ctx.scope.level == "company" else "quota in the company split")
    reps = d.loc[d["status"] == "open", "owner_id"].nunique() if ctx.scope.level == "account" \
        else int(d["owner_id"].nunique())
    years = ctx.period.n_months / 12
    end = ctx.data.as_of + pd.Timedelta(days=1)
    ttm = float(_won(ctx, Period(end - pd.DateOffset(years=1), end, "last 12 months"))
                ["amount"].sum())
    return {
        "unit": ctx.unit_label, "scope": str(ctx.scope), "period": ctx.period.label,
        "baseline_period": ctx.baseline.label, "baseline_bookings": base,
        "prior_bookings": prior,
        "baseline_growth": (base / prior - 1) if prior > 0 else None,
        "target": target, "target_source": source,
        "target_note": "" if target is not None else note,
        "implied_growth": ((target / (base * years)) - 1) if (target and base > 0) else None,
        "ttm_bookings": ttm,
        "growth_vs_ttm": ((target / (ttm * years)) - 1) if (target and ttm > 0) else None,
        "win_rate": (won_n / len(closed)) if len(closed) else None,
        "closed_deals": int(len(closed)),
        "open_pipeline": float(d.loc[d["status"] == "open", "amount"].sum()),
        "reps": int(reps),
    }


# ---- sections --------------------------------------------------------------------------------
def executive_summary(ctx: PlanContext) -> Section:
    """Summary paragraphs written from the headline numbers."""
    h = ctx.once("headline", lambda: headline(ctx))
    s = Section("executive_summary", "Executive summary")
    lines = [f"This {ctx.plan_type} plan covers {ctx.unit_label} for {ctx.period.label} "
             f"(data as of {ctx.data.as_of.date()})."]
    if h["baseline_bookings"] > 0:
        g = h["baseline_growth"]
        lines.append(
            f"Bookings in {h['baseline_period']} were {money(h['baseline_bookings'])}"
            + (f", {'up' if g >= 0 else 'down'} {pct(abs(g))} on the year before "
               f"({money(h['prior_bookings'])})." if g is not None else "."))
    else:
        lines.append(f"There were no won bookings in {h['baseline_period']}.")
    if h["target"] is not None:
        ig, it = h["implied_growth"], h["growth_vs_ttm"]
        growth = [f"{pct(ig)} on the {h['baseline_period']} run-rate" if ig is not None else "",
                  f"{pct(it)} on the last 12 months ({money(h['ttm_bookings'])})"
                  if it is not None else ""]
        growth = [g for g in growth if g]
        lines.append(f"The plan target is {money(h['target'])} ({h['target_source']})"
                     + (", growth of " + " and ".join(growth) + "." if growth else "."))
    else:
        lines.append("No bookings target is recorded or derivable for this unit yet"
                     + (f" ({h['target_note']})." if h.get("target_note") else "."))
    if h["win_rate"] is not None:
        lines.append(f"{h['closed_deals']} deals closed in {h['baseline_period']} with a win "
                     f"rate of {pct(h['win_rate'])}; open pipeline stands at "
                     f"{money(h['open_pipeline'])}.")
    cover = None
    if h["target"] and h["open_pipeline"]:
        cover = h["open_pipeline"] / h["target"]
        need = 1 / h["win_rate"] if h["win_rate"] else None
        lines.append(f"Pipeline covers {cover:.2f}x the target"
                     + (f" (about {need:.1f}x is needed at the current win rate)." if need
                        else "."))
    s.add(" ".join(lines))
    return s


def sales_goals(ctx: PlanContext) -> Section:
    """Recorded SMART goals for this scope (with their check), else the derived target."""
    s = Section("sales_goals", "Sales goals")
    g = _module("goals")
    if g is None:
        return s.add(_need("goals", "the goals"))
    goals = [x for x in g.load_goals(ctx.ws) if str(x.scope) in (str(ctx.scope), "company")]
    if goals:
        chk = g.check_goals(goals, ctx.data, ctx.period)
        chk = chk.assign(deadline=[x.deadline or "" for x in goals],
                         owner=[x.owner for x in goals],
                         name=[x.name or x.metric for x in goals])
        k = _module("kpis")

        def shown(col: str) -> list[str]:  # in the metric's unit: 63.2%, 1,234,567 USD ...
            units = [k.REGISTRY[m].unit if k is not None and m in k.REGISTRY else ""
                     for m in chk["metric"]]
            return [k.format_value(float(v), u) if (k is not None and u and pd.notna(v))
                    else ("" if pd.isna(v) else f"{v:,.2f}") for v, u in zip(chk[col], units)]

        chk = chk.assign(baseline=shown("baseline"), target=shown("target"))
        s.add(Table(chk[["name", "metric", "scope", "baseline", "target", "implied_growth",
                         "deadline", "owner", "S", "M", "A", "R", "T", "overall"]],
                    {"implied_growth": "pct"},
                    caption="Goals and their SMART check"))
    else:
        s.add(Missing("no SMART goals are recorded for this scope in plan.yaml "
                      "(decisions.goals)", "Add them in the goals step notebook."))
    h = ctx.once("headline", lambda: headline(ctx))
    if h["target"] is not None:
        s.add(f"Bookings target {ctx.period.label}: {money(h['target'])} "
              f"(source: {h['target_source']}; baseline {h['baseline_period']}: "
              f"{money(h['baseline_bookings'])}).")
    return s


def target_segments(ctx: PlanContext) -> Section:
    """Segments ranked by attractiveness (segments.segment_ranking) and the chosen targets."""
    s = Section("target_segments", "Target segments")
    seg = _module("segments")
    if seg is None:
        return s.add(_need("segments", "segment ranking"))
    weights = seg.load_weights(ctx.ws) or None
    r = seg.segment_ranking(ctx.data, ctx.scope, ctx.baseline, weights=weights)
    if not len(r):
        return s.add(Missing(f"no closed deals in {ctx.unit_label} for {ctx.baseline.label} "
                             "to rank segments"))
    chosen = seg.load_targets(ctx.ws)
    if chosen:
        s.add("Chosen target segments: " + "; ".join(
            ", ".join(f"{k} {v}" for k, v in c.items()) for c in chosen) + ".")
    else:
        s.add("No target segments are chosen yet; the ranking below is data-driven.")
    cols = [c for c in ["rank", "segment", "region", "potential", "bookings", "win_rate",
                        "avg_deal", "cycle_days", "score"] if c in r.columns]
    s.add(Table(r[cols].head(12), {"potential": "money", "bookings": "money",
                                   "win_rate": "pct", "avg_deal": "money",
                                   "cycle_days": "int", "score": "num"}))
    s.add(seg.chart_segments(r.head(12)))
    return s


def strategy_tactics(ctx: PlanContext) -> Section:
    """Tactics recorded for this scope (or the company) with owners, budgets and dates."""
    s = Section("strategy_tactics", "Strategy & tactics")
    st = _module("strategy")
    if st is None:
        return s.add(_need("strategy", "tactics"))
    tactics = [t for t in st.load_tactics(ctx.ws) if str(t.scope) in (str(ctx.scope),
                                                                      "company")]
    if not tactics:
        return s.add(Missing("no tactics are recorded in plan.yaml (decisions.tactics)",
                             "Add acquisition, penetration and retention tactics in the "
                             "strategy step."))
    df = st.tactics_table(tactics)
    cols = [c for c in ["name", "category", "segment", "driver", "effect", "owner", "budget",
                        "start", "end", "scope"] if c in df.columns]
    s.add(Table(df[cols], {"budget": "money", "effect": "num"}))
    b = st.budget_by_category(tactics)
    total = float(sum(t.budget for t in tactics))
    s.add(f"{len(tactics)} tactics, total budget {money(total)}.")
    if len(b):
        s.add(st.chart_tactics(tactics))
    return s


def resource_allocation(ctx: PlanContext) -> Section:
    """Budget allocation (resources.py) and sales capacity vs target (capacity.py)."""
    s = Section("resource_allocation", "Resource allocation")
    cap = _module("capacity")
    if cap is None:
        s.add(_need("capacity", "sales capacity"))
    else:
        h = ctx.once("headline", lambda: headline(ctx))
        settings = cap.load_capacity_settings(ctx.ws) or {}
        kw = {k: settings[k] for k in ("ramp", "attrition", "backfill_lag", "hires")
              if settings.get(k) is not None}
        plan = cap.capacity_plan(ctx.data, ctx.scope, ctx.period, target=h["target"], **kw)
        if plan.rre_months and plan.capacity:
            txt = (f"Capacity: {plan.rre_months / max(ctx.period.n_months, 1):.1f} ramped rep "
                   f"equivalents on average, productivity {money(plan.productivity)} per RRE "
                   f"month, capacity {money(plan.capacity)}")
            if plan.target:
                txt += f" against a target of {money(plan.target)}"
                if plan.gap and plan.gap > 0:
                    txt += (f": a gap of {money(plan.gap)}"
                            + (f", about {plan.hires_needed:g} hires" if plan.hires_needed
                               else ""))
            s.add(txt + ".")
            s.add(cap.chart_capacity(plan))
        else:
            s.add(Missing(f"reps or bookings history in {ctx.unit_label} to compute capacity"))
    res = _module("resources")
    if res is None:
        return s.add(_need("resources", "budget allocation"))
    saved = res.load_resources(ctx.ws)
    if not saved.get("budget") or not saved.get("investments"):
        return s.add(Missing("no investment budget is recorded in plan.yaml "
                             "(decisions.resources)", "Set the budget and investments in the "
                             "resources step."))
    alloc = res.allocate(float(saved["budget"]), saved["investments"],
                         method=saved.get("method") or "kkt")
    t = alloc.table
    cols = [c for c in ["name", "kind", "current", "spend", "change", "return", "marginal_roi",
                        "avg_roi"] if c in t.columns]
    s.add(f"Budget {money(alloc.budget)} allocated for an expected return of "
          f"{money(alloc.total_return)} (now {money(alloc.current_return)}).")
    s.add(Table(t[cols], {"current": "money", "spend": "money", "change": "money",
                          "return": "money", "marginal_roi": "num", "avg_roi": "num"}))
    s.add(res.chart_allocation(alloc))
    return s


def metrics_kpis(ctx: PlanContext) -> Section:
    """The KPI library for the baseline period (kpis.compute_kpis) with recorded targets."""
    s = Section("metrics_kpis", "Metrics & KPIs")
    k = _module("kpis")
    if k is None:
        return s.add(_need("kpis", "KPIs"))
    targets = k.load_kpi_targets(ctx.ws, ctx.scope) or None
    df = k.compute_kpis(ctx.data, ctx.scope, ctx.baseline, targets=targets) if targets else \
        k.compute_kpis(ctx.data, ctx.scope, ctx.baseline)
    shown = df.assign(value_text=[k.format_value(v, u) if pd.notna(v) else "n/a"
                                  for v, u in zip(df["value"], df["unit"])],
                      target_text=[k.format_value(v, u) if pd.notna(v) else ""
                                   for v, u in zip(df["target"], df["unit"])])
    s.add(f"KPIs for {ctx.baseline.label}, the baseline of this plan.")
    s.add(Table(shown[["label", "value_text", "target_text", "status", "formula", "note"]]
                .rename(columns={"label": "KPI", "value_text": "value",
                                 "target_text": "target"})))
    if df["value"].notna().any():
        try:
            s.add(k.chart_dashboard(df))
        except Exception as exc:  # noqa: BLE001 - a chart must not sink the document
            s.add(Missing(f"KPI chart ({type(exc).__name__}: {exc})"))
    return s


def quotas_section(ctx: PlanContext) -> Section:
    """Quota split for this scope (quotas.py with the saved decisions) and its fairness."""
    s = Section("quotas", "Quotas")
    q = _module("quotas")
    if q is None:
        return s.add(_need("quotas", "quotas"))
    plan = _quota_plan(ctx)
    if isinstance(plan, Exception):
        return s.add(Missing(f"quotas for {ctx.unit_label}: {plan}"))
    t = plan.table
    s.add(f"Target {money(plan.target)} split by {plan.decisions.method}"
          + (f"; {'; '.join(plan.notes)}" if plan.notes else "") + ".")
    cols = [c for c in ["level", "unit_id", "name", "parent", "history", "potential", "ramp",
                        "quota"] if c in t.columns]
    s.add(Table(t[cols].head(60), {"history": "money", "potential": "money", "ramp": "pct",
                                   "quota": "money"}))
    try:
        f = q.fairness(plan)
        s.add("Fairness: " + _fairness_text(f) + (f" ({f.note})" if f.note else "") + ".")
    except Exception as exc:  # noqa: BLE001
        s.add(Missing(f"quota fairness ({exc})"))
    try:
        s.add(q.chart_quotas(plan))
    except Exception as exc:  # noqa: BLE001
        s.add(Missing(f"quota chart ({exc})"))
    return s


def _fairness_text(f) -> str:
    """Fairness in words: CV of quota / potential and shares expected at 100% / 80%."""
    return (f"{f.n} units; quota/potential varies by {pct(f.cv_quota_per_potential)} (CV); "
            f"{pct(f.share_100)} expected to reach 100% of quota and {pct(f.share_80)} to "
            f"reach 80% on trailing bookings")


def growth_forecast(ctx: PlanContext) -> Section:
    """Monthly bookings forecast for the plan period (forecast.py, backtested blend)."""
    s = Section("growth_forecast", "Growth forecast")
    fc = _module("forecast")
    if fc is None:
        return s.add(_need("forecast", "the forecast"))
    r = fc.forecast(ctx.data, ctx.scope, ctx.period)  # the one default forecast
    t = r.table
    if not len(t) or t["forecast"].fillna(0).sum() == 0:
        return s.add(Missing(f"enough bookings history in {ctx.unit_label} to forecast"
                             + (f" ({r.note})" if r.note else "")))
    total = r.total["point"]
    h = ctx.once("headline", lambda: headline(ctx))
    txt = (f"Forecast bookings for {ctx.period.label}: {money(total)} (80% range "
           f"{money(r.total['lo80'])} to {money(r.total['hi80'])}; {r.selected} chosen by "
           "backtest)")
    if h["target"]:
        txt += f", {pct(total / h['target'])} of the target"
    s.add(txt + "." + (f" {r.note}" if r.note else ""))
    s.add(fc.chart_forecast(r))
    acc = r.accuracy()
    s.add(Table(acc[["method", "wape", "bias", "vs_baseline", "cover80", "cover95", "n"]],
                {"wape": "pct", "bias": "pct", "vs_baseline": "num", "cover80": "pct",
                 "cover95": "pct", "n": "int"},
                caption="How good has this forecast been: backtest by method beside seasonal "
                        "naive (baseline)"))
    return s


def timeline(ctx: PlanContext) -> Section:
    """Milestones (decisions.milestones) and tactics as a Gantt chart."""
    s = Section("timeline", "Timeline & milestones")
    rows = [{"name": m.get("name", ""), "kind": "milestone", "owner": m.get("owner", ""),
             "start": m.get("start"), "end": m.get("end"), "status": m.get("status", "")}
            for m in ctx.ws.items("milestones")
            if str(m.get("scope", "company")) in (str(ctx.scope), "company")]
    source = "recorded milestones"
    if not rows:
        try:
            from salesplan_nb.ui.timeline import standard_milestones
            rows = [dict(r, kind="milestone", owner="", status="planned")
                    for r in standard_milestones(ctx.period)]
            source = "standard plan cycle (no milestones recorded in plan.yaml)"
        except ImportError:
            pass
    st = _module("strategy")
    if st is not None:
        for t in st.load_tactics(ctx.ws):
            if str(t.scope) in (str(ctx.scope), "company"):
                rows.append({"name": t.name, "kind": "tactic", "owner": t.owner,
                             "start": t.start, "end": t.end, "status": "tactic"})
    if not rows:
        return s.add(Missing("milestones and tactics", "Add them in the timeline step."))
    df = pd.DataFrame(rows)
    df["start"] = pd.to_datetime(df["start"])
    df["end"] = pd.to_datetime(df["end"])
    df = df.sort_values(["start", "end"], ignore_index=True)
    s.add(f"{len(df)} items ({source}).")
    s.add(Table(df[["name", "kind", "owner", "start", "end", "status"]],
                {"start": "date", "end": "date"}))
    g = df.assign(end=df["end"] + pd.Timedelta(days=1),
                  label=[f"{i + 1}. {n}" for i, n in enumerate(df["name"])])
    s.add(alt.Chart(g).mark_bar(cornerRadius=2).encode(
        x=alt.X("start:T", title=None), x2="end:T",
        y=alt.Y("label:N", sort=list(g["label"]), title=None),
        color=alt.Color("kind:N", title="type"),
        tooltip=["name", "kind", "owner", alt.Tooltip("start:T"), alt.Tooltip("end:T"),
                 "status"],
    ).properties(title="Timeline", width=560))
    return s


def market_potential(ctx: PlanContext) -> Section:
    """Market size (TAM/SAM/SOM), bookings by segment and coverage gaps (market.py)."""
    s = Section("market_potential", "Market size & potential")
    m = _module("market")
    if m is None:
        return s.add(_need("market", "market size"))
    ms = m.market_size(ctx.data, ctx.scope, ctx.baseline)
    s.add(Table(m.market_size_table(ms)))
    if ms.note:
        s.add(ms.note)
    b = m.bookings(ctx.data, ctx.scope, ctx.baseline, by="segment")
    if len(b):
        s.add(Table(b, {"bookings": "money", "deals": "int", "share": "pct"},
                    caption=f"Bookings by segment, {ctx.baseline.label}"))
    gaps = m.coverage_gaps(ctx.data, ctx.scope, ctx.baseline)
    if len(gaps):
        s.add(Table(gaps.head(10), {"gap_score": "num"}, caption="Coverage gaps"))
    return s


def market_trends(ctx: PlanContext) -> Section:
    """Annual bookings and growth (CAGR) for the long-term view."""
    s = Section("market_trends", "Market trends")
    m = _module("market")
    if m is None:
        return s.add(_need("market", "market trends"))
    a = m.annual_bookings(ctx.data, ctx.scope)
    if not len(a):
        return s.add(Missing(f"bookings history for {ctx.unit_label}"))
    g = m.bookings_cagr(ctx.data, ctx.scope)
    s.add(f"Bookings CAGR over full years: {pct(getattr(g, 'cagr', float('nan')))}"
          + (f" ({g.note})" if getattr(g, "note", "") else "") + ".")
    s.add(Table(a, {"bookings": "money", "yoy_growth": "pct"}))
    s.add(alt.Chart(a.assign(year=a["year"].astype(str))).mark_bar().encode(
        x=alt.X("year:N", title=None), y=alt.Y("bookings:Q", title="Bookings (USD)"),
        opacity=alt.Opacity("full_year:N", title="full year"),
        tooltip=["year", alt.Tooltip("bookings:Q", format=",.0f"),
                 alt.Tooltip("yoy_growth:Q", format=".1%")]).properties(width=420))
    return s


def scenarios_section(ctx: PlanContext) -> Section:
    """Base / best / worst scenarios side by side (scenarios.py)."""
    s = Section("scenarios", "Scenarios")
    sc = _module("scenarios")
    if sc is None:
        return s.add(_need("scenarios", "scenarios"))
    if ctx.scope.level not in ("company", "region", "territory", "rep"):
        return s.add(Missing("scenarios for this scope level"))
    model = sc.from_workspace(ctx.ws, ctx.period)
    presets = sc.presets(model)
    saved = sc.load_scenarios(ctx.ws)
    df = sc.compare(model, {**presets, **saved}, scope=ctx.scope,
                    metrics=("bookings", "quota", "attainment", "win_rate", "deal_size"))
    names = [c for c in df.columns if " vs " not in c]
    fmt = {"attainment": pct, "win_rate": pct}  # the rest is USD
    shown = pd.DataFrame({n: [fmt.get(m, money)(float(v)) if pd.notna(v) else ""
                              for m, v in df[n].items()] for n in names},
                         index=df.index).reset_index()
    s.add(Table(shown, caption=f"Scenarios for {ctx.period.label} (USD, rates in %)"))
    long = df[names].loc[["bookings"]].T.reset_index()
    long.columns = ["scenario", "bookings"]
    s.add(alt.Chart(long).mark_bar().encode(
        x=alt.X("scenario:N", sort=names), y=alt.Y("bookings:Q", title="Bookings (USD)"),
        tooltip=["scenario", alt.Tooltip("bookings:Q", format=",.0f")]).properties(width=300))
    return s


# ---- account plan ----------------------------------------------------------------------------
def _account_row(ctx: PlanContext) -> pd.Series | None:
    a = ctx.data.accounts
    hit = a[a["account_id"] == ctx.scope.id]
    return hit.iloc[0] if len(hit) else None


def account_profile(ctx: PlanContext) -> Section:
    """Firmographics, owner and parent of the account."""
    s = Section("account_profile", "Account profile")
    row = _account_row(ctx)
    if row is None:
        return s.add(Missing(f"account {ctx.scope.id} in the accounts table"))
    reps = ctx.data.reps.set_index("rep_id")["name"]
    fields = [("Name", row["name"]), ("Account id", row["account_id"]),
              ("Industry", row["industry"]), ("Segment", row["segment"]),
              ("Employees", _fmt(row["employees"], "int")),
              ("Annual revenue (USD)", _fmt(row["revenue"], "money")),
              ("Location", ", ".join(str(x) for x in (row["city"], row["state"], row["country"])
                                     if pd.notna(x))),
              ("Region / territory", f"{row['region']} / {row['territory']}"),
              ("Owner", reps.get(row["owner_id"], row["owner_id"])),
              ("Parent", row["parent_id"])]
    s.add(Table(pd.DataFrame([(k, "" if v is None or v is pd.NA else str(v))
                              for k, v in fields], columns=["field", "value"])))
    return s


def account_history(ctx: PlanContext) -> Section:
    """Won bookings by year and quarter, and win/loss history."""
    s = Section("account_history", "History")
    d = ctx.deals
    won = d[d["status"] == "won"]
    if not len(d):
        return s.add(Missing(f"deals for {ctx.unit_label}"))
    closed = d[d["status"].isin(["won", "lost"])]
    s.add(f"{len(won)} won and {int((closed['status'] == 'lost').sum())} lost deals; lifetime "
          f"bookings {money(float(won['amount'].sum()))}; first win "
          f"{won['close_date'].min().date() if len(won) else 'none'}.")
    q = (won.assign(quarter=won["close_date"].dt.to_period("Q").astype(str))
         .groupby("quarter", as_index=False)["amount"].sum())
    if len(q):
        s.add(alt.Chart(q).mark_bar().encode(
            x=alt.X("quarter:N", title=None), y=alt.Y("amount:Q", title="Bookings (USD)"),
            tooltip=["quarter", alt.Tooltip("amount:Q", format=",.0f")]).properties(width=520))
    y = (closed.assign(year=closed["close_date"].dt.year)
         .groupby("year").agg(won=("status", lambda x: int((x == "won").sum())),
                              lost=("status", lambda x: int((x == "lost").sum())),
                              bookings=("amount", lambda x: 0.0)).reset_index())
    y["bookings"] = [float(won.loc[won["close_date"].dt.year == yr, "amount"].sum())
                     for yr in y["year"]]
    y["win_rate"] = y["won"] / (y["won"] + y["lost"])
    s.add(Table(y, {"bookings": "money", "win_rate": "pct"}))
    return s


def whitespace(ctx: PlanContext) -> Section:
    """Products bought vs not yet bought by the account, with typical deal value elsewhere in
    its segment (average won amount per product among same-segment accounts)."""
    s = Section("whitespace", "Whitespace by product")
    row = _account_row(ctx)
    deals = ctx.data.deals
    prods = ctx.data.products
    if row is None or not len(prods):
        return s.add(Missing("the account or the products table"))
    mine = deals[(deals["account_id"] == ctx.scope.id) & (deals["status"] == "won")]
    peers = deals[(deals["status"] == "won") & (deals["segment"] == row["segment"])]
    peer_acc = peers.groupby("product_id")["account_id"].nunique()
    n_peers = max(int(peers["account_id"].nunique()), 1)
    rows = []
    for p in prods.itertuples(index=False):
        bought = float(mine.loc[mine["product_id"] == p.product_id, "amount"].sum())
        pw = peers[peers["product_id"] == p.product_id]
        rows.append({"product": p.name if pd.notna(p.name) else p.product_id,
                     "family": p.family, "bought": bought,
                     "status": "owned" if bought > 0 else "whitespace",
                     "peer_adoption": peer_acc.get(p.product_id, 0) / n_peers,
                     "typical_deal": float(pw["amount"].mean()) if len(pw) else float("nan")})
    df = pd.DataFrame(rows).sort_values(["status", "peer_adoption"], ascending=[False, False])
    ws_total = float(df.loc[df["status"] == "whitespace", "typical_deal"].fillna(0).sum())
    s.add(f"{int((df['status'] == 'whitespace').sum())} of {len(df)} products not yet bought; "
          f"at typical {row['segment']} deal sizes that is {money(ws_total)} of whitespace.")
    s.add(Table(df, {"bought": "money", "peer_adoption": "pct", "typical_deal": "money"}))
    s.add(alt.Chart(df).mark_bar().encode(
        y=alt.Y("product:N", sort="-x", title=None),
        x=alt.X("typical_deal:Q", title="Typical deal (USD)"),
        color=alt.Color("status:N"),
        tooltip=["product", "status", alt.Tooltip("typical_deal:Q", format=",.0f"),
                 alt.Tooltip("peer_adoption:Q", format=".0%")]).properties(width=460))
    return s


def account_actions(ctx: PlanContext) -> Section:
    """Actions with owners, due dates and status (:func:`salesplan_nb.steps.actions.list_actions`
    for this account), and the open opportunities to progress."""
    from salesplan_nb.steps.actions import list_actions

    s = Section("account_actions", "Actions")
    df = list_actions(ctx.ws, ctx.scope.id)
    if len(df):
        n_done = int((df["status"] == "done").sum())
        late = df[(df["status"] != "done") & (df["due"] < ctx.data.as_of)]
        s.add(f"{len(df)} actions, {n_done} done"
              + (f"; {len(late)} not done and past due at {ctx.data.as_of.date()}"
                 if len(late) else "") + ".")
        s.add(Table(df[["action", "owner", "due", "status", "by", "at"]]
                    .rename(columns={"by": "recorded by", "at": "recorded at"}),
                    {"due": "date"}))
    else:
        s.add(Missing("no actions are recorded for this account in plan.yaml "
                      "(decisions.account_actions)",
                      "Add them with salesplan_nb.steps.actions.add_action(ws, account_id, action, "
                      "owner, due, status)."))
    d = ctx.deals
    open_ = d[d["status"] == "open"].sort_values("close_date")
    if len(open_):
        s.add(Table(open_[["opportunity_id", "product_id", "stage", "amount", "close_date",
                           "rep_name"]].rename(columns={"rep_name": "owner",
                                                        "close_date": "expected close"}),
                    {"amount": "money", "expected close": "date"},
                    caption="Open opportunities to progress"))
    return s


def account_risks(ctx: PlanContext) -> Section:
    """Risks read from the data (declining bookings, overdue open deals, losses, concentration
    of the account in its territory's bookings), blocked account actions and the risks
    recorded in the list section ``account_risks``."""
    s = Section("account_risks", "Risks")
    h = ctx.once("headline", lambda: headline(ctx))
    d = ctx.deals
    risks = []
    if h["baseline_growth"] is not None and h["baseline_growth"] < 0:
        risks.append(("declining bookings", f"{pct(h['baseline_growth'])} in "
                      f"{h['baseline_period']}"))
    if h["baseline_bookings"] == 0 and h["prior_bookings"] > 0:
        risks.append(("no bookings", f"nothing won in {h['baseline_period']}"))
    over = d[(d["status"] == "open") & (d["close_date"] < ctx.data.as_of)]
    if len(over):
        risks.append(("overdue pipeline", f"{len(over)} open deals past their close date "
                      f"({money(float(over['amount'].sum()))})"))
    lost = d[(d["status"] == "lost") & ctx.baseline.contains(d["close_date"])]
    if len(lost):
        reasons = lost["loss_reason"].dropna()
        top = reasons.mode().iloc[0] if len(reasons) else "no reason recorded"
        risks.append(("losses", f"{len(lost)} deals lost in {ctx.baseline.label} "
                      f"(most common reason: {top})"))
    row = _account_row(ctx)
    if row is not None and pd.notna(row["territory"]):
        all_d = ctx.data.deals
        terr = all_d[(all_d["territory"] == row["territory"]) & (all_d["status"] == "won")
                     & ctx.baseline.contains(all_d["close_date"])]
        tot = float(terr["amount"].sum())
        if tot > 0 and h["baseline_bookings"] / tot > 0.2:
            risks.append(("concentration", f"{pct(h['baseline_bookings'] / tot)} of territory "
                          f"{row['territory']} bookings in {ctx.baseline.label}"))
    from salesplan_nb.steps.actions import load_actions

    for a in load_actions(ctx.ws, ctx.scope.id):
        if a.status == "blocked":
            risks.append(("blocked action", f"{a.action} (owner {a.owner or 'unassigned'}"
                          + (f", due {a.due}" if a.due else "") + ")"))
    for i in ctx.ws.items("account_risks"):
        if str(i.get("account_id", "")) == str(ctx.scope.id):
            risks.append((str(i.get("risk", "")), str(i.get("mitigation", ""))))
    if risks:
        s.add(Table(pd.DataFrame(risks, columns=["risk", "evidence"])))
    else:
        s.add("No risk signals in the data.")
    return s


# ---- display ---------------------------------------------------------------------------------
def build(ctx: PlanContext, sections: list[str] | None = None) -> list[Section]:
    """All sections of the context's plan type. A section whose step module rejects the
    data or decisions (a SalesplanError) becomes a Missing note quoting it; other errors
    propagate, so the batch run reports the unit as failed."""
    from salesplan_nb.core.errors import SalesplanError

    out = []
    for name in sections or PLAN_SECTIONS[ctx.plan_type]:
        try:
            out.append(globals()[name](ctx))
        except SalesplanError as exc:
            out.append(Section(name, name.replace("_", " ").capitalize(),
                               [Missing(f"{name.replace('_', ' ')}: {exc}")]))
    return out


def block_html(block: Any) -> str:
    if isinstance(block, Missing):
        return f'<p class="missing">{html.escape(block.text())}</p>'
    if isinstance(block, Table):
        return table_html(block)
    if isinstance(block, pd.DataFrame):
        return table_html(Table(block))
    return f"<p>{html.escape(str(block))}</p>"


def chart_spec(chart) -> dict:
    """The Vega-Lite spec of an Altair chart (data inlined; charts are built from aggregated
    frames)."""
    with alt.data_transformers.enable("default", max_rows=20_000):
        return chart.to_dict()


_counter = {"n": 0}


def show(section: Section, static: bool = False) -> None:
    """Display ``section`` in the running notebook: heading (with TOC metadata), escaped HTML
    blocks and chart specs (mime ``application/vnd.salesplan.chart+json``, which the plan
    exporter draws, and Vega-Lite, which JupyterLab draws). ``static`` adds each chart as SVG
    (vl-convert) for headless step notebooks read without JavaScript."""
    from IPython.display import display

    _counter["n"] += 1
    anchor = f"sec-{section.key}"
    display({"text/html": f'<h2 id="{anchor}">{html.escape(section.title)}</h2>',
             SECTION_MIME: {"id": anchor, "title": section.title},
             "text/plain": section.title}, raw=True)
    for b in section.blocks:
        if isinstance(b, alt.TopLevelMixin):
            spec = chart_spec(b)
            bundle = {CHART_MIME: spec, "application/vnd.vegalite.v5+json": spec,
                      "text/plain": "<chart>"}
            if static:
                import vl_convert

                bundle["image/svg+xml"] = vl_convert.vegalite_to_svg(spec)
            display(bundle, raw=True)
        else:
            display({"text/html": block_html(b), "text/plain": str(b)[:200]}, raw=True)


def show_headline(ctx: PlanContext) -> dict:
    """Display the title and the headline numbers (kept by the runner for index.html)."""
    from IPython.display import display

    h = ctx.once("headline", lambda: headline(ctx))
    display({"text/html": f"<h1>{html.escape(ctx.title)}</h1>",
             HEADLINE_MIME: {**h, "title": ctx.title}, "text/plain": ctx.title}, raw=True)
    return h


def show_plan(ctx: PlanContext, sections: list[str] | None = None,
              static: bool = False) -> None:
    """Title, headline and every section of the plan type."""
    show_headline(ctx)
    for sec in build(ctx, sections):
        show(sec, static=static)


def default_plan_type(scope_level: str, ws_plan_type: str) -> str:
    """The plan type of a scope: territory -> territory plan, account -> account plan, else the
    workspace's annual or long-term type (the batch runner's rule)."""
    if scope_level in ("territory", "account"):
        return scope_level
    return ws_plan_type if ws_plan_type in ("annual", "long-term") else "annual"


def contents(ctx: PlanContext, sections: list[Section]) -> str:
    """Escaped HTML list of the plan's sections with links to their headings, and the count of
    sections that miss a decision or data."""
    items = "".join(f'<li><a href="#sec-{html.escape(s.key)}">{html.escape(s.title)}</a>'
                    + (" <small>(incomplete)</small>" if s.missing else "") + "</li>"
                    for s in sections)
    n_missing = sum(bool(s.missing) for s in sections)
    return (f"<nav><strong>Contents</strong> ({len(sections)} sections"
            + (f", {n_missing} incomplete" if n_missing else "") + f")<ol>{items}</ol></nav>")


def preview(plan_dir, scope_level: str = "company", unit: str | None = None,
            period: str | None = None, plan_type: str | None = None, *,
            interactive: bool = True) -> PlanContext:
    """Show the plan document of a scope in the running notebook, as ``salesplan run`` would
    render it: title and headline, contents, every section. ``plan_dir`` is a folder or an
    open Workspace; ``plan_type`` defaults to :func:`default_plan_type`. Headless
    (``interactive=False``) charts are also embedded as SVG. Returns the context."""
    from IPython.display import display

    path = getattr(plan_dir, "path", plan_dir)
    level = (scope_level or "company").strip()
    if not plan_type:
        plan_type = default_plan_type(level, open_workspace(path).plan_type)
    ctx = context(path, level, unit, period or None, plan_type)
    show_headline(ctx)
    sections = build(ctx)
    display({"text/html": contents(ctx, sections), "text/plain": "contents"}, raw=True)
    for sec in sections:
        show(sec, static=not interactive)
    return ctx
