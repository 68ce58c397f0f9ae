"""Evaluate: end-of-period attainment, forecast accuracy, tactic ROI, lessons for the next plan.

- **attainment** per rep = won bookings in the period (USD) / quota (USD). Quotas: given
  (``rep_id, quota``), else rep-level targets for the period, else the finest target level
  split to its reps by their prior-year bookings share. Without any recorded quota or target
  nothing is invented: every rep is listed with NaN attainment, the summary is empty and no
  quota lesson is drawn. Reps without a quota are listed with NaN attainment and left out of
  the summary.
- **forecast accuracy**: a saved forecast table (``month`` + forecast columns, USD) against the
  actual won bookings of complete months: ``WAPE = sum|F-A| / sum A``, ``MAPE = mean |F-A|/A``
  (months with A > 0), ``bias = sum(F-A) / sum A``.
- **tactic ROI** (difference in differences): for a tactic aimed at a scope and/or segment over
  ``start..end``, ``incremental = T1 - T0 x C1 / C0`` with ``T`` the target group's won bookings
  and ``C`` everyone else's (control), ``1`` the tactic window and ``0`` the same window a year
  earlier; ``ROI = (incremental - budget) / budget``. It assumes the target group would have
  grown like the control group without the tactic; it attributes bookings, not margin.
- **lessons** (workspace section ``lessons``) with an optional ``driver`` and relative
  ``adjustment`` are applied by :func:`next_plan_defaults` to the defaults it derives from the
  period's actuals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import day_after, last_full_year, same_dates_last_year
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.core.seats import DEFAULT_ATTRITION, DEFAULT_GROWTH, observed_attrition
from salesplan_nb.data.dataset import Dataset, resolve
from salesplan_nb.steps.forecast import (
    _errors,
    history_end,
    monthly_bookings,
    parse_scope,
)
from salesplan_nb.steps.monitor import variance_explained
from salesplan_nb.steps.scenarios import Scenario

GROWTH = DEFAULT_GROWTH
#: the quota source when nothing was recorded: attainment is not measured (never invented)
NO_QUOTAS = "no recorded quotas or targets: attainment not measured"
SECTION = "lessons"
BINS = (0, 0.5, 0.8, 1.0, 1.2, np.inf)
BIN_LABELS = ("<50%", "50-80%", "80-100%", "100-120%", ">=120%")


def parse_period(data: Dataset, period: Period | str | int) -> Period:
    """The period rule of every step (:func:`salesplan_nb.data.dataset.resolve`:
    :meth:`Period.parse` with the data's ``fiscal_year_start``, so ``FY2027`` with a July
    start is 2026-07-01..2027-06-30); a bad period is a :class:`ConfigError`."""
    return resolve(data, None, period)[1]


def _won(deals: pd.DataFrame) -> pd.DataFrame:
    return deals[(deals["status"] == "won") & deals["close_date"].notna()]


# --------------------------------------------------------------------------- quotas
def rep_quotas(data: Dataset, period: Period | str,
               quotas: pd.DataFrame | None = None) -> tuple[pd.Series, str]:
    """Quota (USD) per rep_id for ``period`` and its source (see module doc). ``quotas``: a
    frame ``rep_id, quota`` or a ``quotas.QuotaPlan``."""
    period = parse_period(data, period)
    if quotas is not None and hasattr(quotas, "level") and hasattr(quotas, "table"):
        reps_q = quotas.level("rep")  # a quotas.QuotaPlan (engineer E)
        q = reps_q.groupby(reps_q["unit_id"].astype(str))["quota"].sum().astype(float)
        return q, "quotas.py plan"
    if quotas is not None:
        if not {"rep_id", "quota"} <= set(quotas.columns):
            raise ConfigError("quotas need columns rep_id and quota (USD for the period)")
        q = quotas.groupby(quotas["rep_id"].astype(str))["quota"].sum().astype(float)
        return q, "given quotas"
    deals = data.deals
    prior = _won(deals[period.prior_year().contains(deals["close_date"])])
    py = prior.groupby(prior["owner_id"].astype(str))["amount"].sum()
    given = _rep_targets_any_grain(data, period)
    if given is not None:
        return given, f"rep targets {period.label}"
    reps = data.reps.assign(rep_id=data.reps["rep_id"].astype(str))
    for level in ("territory", "region", "company"):
        amt = _level_targets(data, level, period)
        if amt is None:
            continue
        parent = (pd.Series("", index=reps["rep_id"]) if level == "company"
                  else reps.set_index("rep_id")[level].fillna("").astype(str))
        w = py.reindex(parent.index).fillna(0.0)
        tot = w.groupby(parent).transform("sum")
        share = (w / tot).where(tot > 0, 0.0)
        q = share * parent.map(amt).astype(float).fillna(0.0)
        return q[q > 0].astype(float), (f"{level} targets {period.label} split by prior-year "
                                        "bookings share")
    return pd.Series(dtype=float), NO_QUOTAS


def _level_targets(data: Dataset, level: str, period: Period) -> pd.Series | None:
    """Bookings targets per ``scope_id`` of ``level`` for ``period`` (company: id ``""``),
    at any grain and fiscal year (:func:`salesplan_nb.steps.kpis.target_for`, the one
    period rule), or ``None`` when the data gives none for the period."""
    from salesplan_nb.steps.kpis import target_for

    t = data.targets
    ids = t.loc[(t["scope_level"] == level).fillna(False), "scope_id"]
    ids = [None] if level == "company" else ids.dropna().astype(str).unique()
    got = {"" if i is None else i: target_for(data, Scope(level, i), period) for i in ids}
    got = {k: float(v) for k, v in got.items() if v is not None}
    return pd.Series(got, dtype=float) if got else None


def _rep_targets_any_grain(data: Dataset, period: Period) -> pd.Series | None:
    """Rep-level bookings targets for ``period`` at any grain (quarters roll up to the year:
    :func:`salesplan_nb.steps.kpis.target_for`), or ``None`` when the data gives none."""
    from salesplan_nb.steps.kpis import target_for

    t = data.targets
    ids = t.loc[(t["scope_level"] == "rep").fillna(False), "scope_id"].dropna().unique()
    got = {str(r): target_for(data, Scope("rep", str(r)), period) for r in ids}
    got = {k: float(v) for k, v in got.items() if v is not None}
    return pd.Series(got, dtype=float) if got else None


# --------------------------------------------------------------------------- attainment
@dataclass
class Attainment:
    """``table``: rep_id, rep_name, territory, region, quota, bookings, attainment (fraction);
    ``summary``: reps, median, mean, p10, p90, share_100 (>= 100%), share_80 (>= 80%);
    ``bins``: band, reps, share."""

    scope: Scope
    period: Period
    table: pd.DataFrame
    summary: dict
    bins: pd.DataFrame
    quota_source: str
    note: str = ""


def attainment_distribution(data: Dataset, scope: Scope | str = "company",
                            period: Period | str = "2025",
                            quotas: pd.DataFrame | None = None) -> Attainment:
    """End-of-period quota attainment per rep in ``scope`` (see module doc)."""
    scope, period = parse_scope(scope), parse_period(data, period)
    q, src = rep_quotas(data, period, quotas)
    d = scope.filter(data.deals)
    won = _won(d[period.contains(d["close_date"]) & (d["close_date"] <= data.as_of)])
    book = won.groupby(won["owner_id"].astype(str))["amount"].sum()
    reps = data.reps.assign(rep_id=data.reps["rep_id"].astype(str))
    if scope.level in ("region", "territory"):
        in_scope = set(reps.loc[reps[scope.level] == scope.id, "rep_id"]) | set(book.index)
    elif scope.level == "rep":
        in_scope = {str(scope.id)} & (set(reps["rep_id"]) | set(book.index))
    elif scope.level == "account":
        in_scope = set(book.index)
    else:
        in_scope = set(reps["rep_id"]) | set(book.index)
    ids = sorted(i for i in in_scope if i in set(book.index) or q.get(i, 0) > 0)
    info = reps.set_index("rep_id")
    t = pd.DataFrame({"rep_id": ids})
    t["rep_name"] = t["rep_id"].map(info["name"]) if len(ids) else pd.Series(dtype="string")
    t["territory"] = t["rep_id"].map(info["territory"]) if len(ids) else pd.Series(
        dtype="string")
    t["region"] = t["rep_id"].map(info["region"]) if len(ids) else pd.Series(dtype="string")
    t["quota"] = t["rep_id"].map(q).astype(float)
    t["bookings"] = t["rep_id"].map(book).astype(float).fillna(0.0)
    t["attainment"] = (t["bookings"] / t["quota"]).where(t["quota"] > 0)
    t = t.astype({"rep_id": "string", "rep_name": "string", "territory": "string",
                  "region": "string"}).sort_values("attainment", ascending=False,
                                                   ignore_index=True, na_position="last")
    a = t["attainment"].dropna().to_numpy()
    summary = {"reps": int(len(a)),
               "median": float(np.median(a)) if len(a) else np.nan,
               "mean": float(a.mean()) if len(a) else np.nan,
               "p10": float(np.percentile(a, 10)) if len(a) else np.nan,
               "p90": float(np.percentile(a, 90)) if len(a) else np.nan,
               "share_100": float((a >= 1.0).mean()) if len(a) else np.nan,
               "share_80": float((a >= 0.8).mean()) if len(a) else np.nan,
               "no_quota": int(t["quota"].isna().sum() + (t["quota"] == 0).sum())}
    counts = pd.cut(pd.Series(a, dtype=float), BINS, right=False,
                    labels=BIN_LABELS).value_counts().reindex(BIN_LABELS, fill_value=0)
    bins = pd.DataFrame({"band": list(BIN_LABELS), "reps": counts.to_numpy().astype(int)})
    bins["share"] = bins["reps"] / max(len(a), 1)
    note = "" if len(t) else f"no reps with bookings or quota in {scope.label} for {period}"
    if summary["no_quota"]:
        note = (note + "; " if note else "") + f"{summary['no_quota']} rep(s) without a quota"
    return Attainment(scope, period, t, summary, bins, src, note)


# --------------------------------------------------------------------------- forecast accuracy
@dataclass
class ForecastAccuracy:
    """``table``: month, actual and each forecast column (USD); ``errors``: method, wape, mape,
    bias, n (complete months compared)."""

    scope: Scope
    table: pd.DataFrame
    errors: pd.DataFrame
    note: str = ""


def forecast_accuracy(data: Dataset, forecast: pd.DataFrame,
                      scope: Scope | str = "company") -> ForecastAccuracy:
    """Compare a saved forecast (``month`` + numeric columns) with actual bookings."""
    scope = parse_scope(scope)
    if "month" not in forecast.columns:
        raise ConfigError("the forecast table needs a 'month' column (YYYY-MM)")
    f = forecast.copy()
    f["month"] = [pd.Period(str(m), "M") for m in f["month"]]
    methods = [c for c in f.columns if c not in ("month", "actual")
               and pd.api.types.is_numeric_dtype(f[c])]
    if not methods:
        raise ConfigError("the forecast table has no numeric forecast column")
    end = history_end(data)
    act = monthly_bookings(data, scope)
    f = f[f["month"] <= end]
    t = pd.DataFrame({"month": f["month"].to_numpy(),
                      "actual": act.reindex(f["month"]).fillna(0.0).to_numpy()})
    for m in methods:
        t[m] = f[m].to_numpy(dtype=float)
    errors = pd.DataFrame([{"method": m, **_errors(t[m], t["actual"])} for m in methods])
    note = "" if len(t) else "no forecast month is complete yet"
    return ForecastAccuracy(scope, t, errors, note)


def save_forecast_snapshot(ws, result, name: str = "latest") -> None:
    """Keep a forecast table in the workspace (outputs/forecast/<name>.parquet) so that the
    evaluation at period end compares it with the actuals."""
    t = result.table.assign(month=result.table["month"].astype(str))
    ws.save_output("forecast", name, t)


# --------------------------------------------------------------------------- tactic ROI
def _target_mask(deals: pd.DataFrame, scope: str | None, segment: str | None) -> pd.Series:
    m = pd.Series(True, index=deals.index)
    if scope and scope != "company":
        m &= parse_scope(scope).mask(deals)
    if segment and str(segment).strip().lower() not in ("all", "any", "*"):
        hit = pd.Series(False, index=deals.index)
        for col in ("segment", "industry", "family"):  # as strategy.py reads a segment
            hit |= (deals[col] == segment).fillna(False).astype(bool)
        m &= hit
    return m


def tactic_roi(data: Dataset, tactics: list[dict] | None = None, ws=None) -> pd.DataFrame:
    """ROI of each tactic by difference in differences (see module doc).

    ``tactics``: dicts (or ``strategy.Tactic``) with ``name, budget`` (USD), ``start``, ``end``
    (dates or YYYY-MM) and a target: ``scope`` (e.g. ``region:EMEA``) and/or ``segment`` (a
    value of the deals' segment, industry or product family). Without ``tactics`` they are
    read from ``ws`` (section ``tactics``). Columns: tactic, budget, target_now, target_before,
    control_growth, incremental, roi, method, note."""
    if tactics is None:
        if ws is None:
            raise ConfigError("give tactics (list of dicts) or a workspace holding them")
        tactics = ws.items("tactics")
    won = _won(data.deals)
    cols = ["tactic", "budget", "target_now", "target_before", "control_growth",
            "incremental", "roi", "method", "note"]
    rows = []
    for t in tactics:
        t = t if isinstance(t, dict) else dict(vars(t))  # strategy.Tactic objects too
        name = str(t.get("name") or t.get("id") or "tactic")
        try:
            start = pd.Timestamp(t["start"])
            end = pd.Period(str(t["end"])[:7], "M").end_time.normalize() \
                if len(str(t["end"])) == 7 else pd.Timestamp(t["end"])
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"tactic {name!r}: start and end dates are needed ({exc})") \
                from exc
        budget = float(t.get("budget") or 0.0)
        end = min(end, data.as_of)
        now = Period(start, max(day_after(end), start), name)
        win1 = now.contains(won["close_date"])
        win0 = same_dates_last_year(now).contains(won["close_date"])
        tm = _target_mask(won, t.get("scope"), t.get("segment"))
        t1, t0 = won.loc[win1 & tm, "amount"].sum(), won.loc[win0 & tm, "amount"].sum()
        c1, c0 = won.loc[win1 & ~tm, "amount"].sum(), won.loc[win0 & ~tm, "amount"].sum()
        note = ""
        if end < start:
            inc, g, note = np.nan, np.nan, "tactic has not started at as_of"
        elif t0 <= 0 or c0 <= 0:
            inc, g = np.nan, np.nan
            note = "no bookings a year earlier in the target or control group"
        elif not tm.any() or tm.all():
            inc, g, note = np.nan, np.nan, "target is empty or everything (no control group)"
        else:
            g = c1 / c0
            inc = t1 - t0 * g
        roi = (inc - budget) / budget if budget > 0 and np.isfinite(inc) else np.nan
        if budget <= 0:
            note = (note + "; " if note else "") + "no budget: ROI undefined"
        rows.append({"tactic": name, "budget": budget, "target_now": float(t1),
                     "target_before": float(t0), "control_growth": g, "incremental": inc,
                     "roi": roi, "method": "difference in differences vs control growth",
                     "note": note})
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- lessons
def add_lesson(ws, text: str, driver: str | None = None, adjustment: float | None = None,
               evidence: str = "", by: str | None = None) -> dict:
    """Store a lesson (section ``lessons``). ``driver`` (a key of :func:`next_plan_defaults`)
    tags it; with a relative ``adjustment`` (e.g. -0.05) it also changes that default in the
    next plan."""
    if not str(text).strip():
        raise ConfigError("a lesson needs a text")
    if adjustment is not None and driver is None:
        raise ConfigError("an adjustment needs the driver it applies to")
    if driver is not None and driver not in DEFAULT_KEYS:
        raise ConfigError(f"unknown driver {driver!r}; use one of {', '.join(DEFAULT_KEYS)}")
    if adjustment is not None and (not np.isfinite(adjustment) or adjustment <= -1):
        raise ConfigError(f"adjustment {adjustment!r} must be a fraction above -1 (e.g. -0.05)")
    item = {"text": str(text), "driver": driver,
            "adjustment": None if adjustment is None else float(adjustment),
            "evidence": str(evidence)}
    return ws.add_item(SECTION, item, by=by)


def lessons(ws) -> pd.DataFrame:
    """The stored lessons, oldest first."""
    cols = ["id", "text", "driver", "adjustment", "evidence", "by", "at"]
    return pd.DataFrame(ws.items(SECTION), columns=cols)


DEFAULT_KEYS = ("target", "growth", "win_rate", "deal_size", "cycle_days", "attrition",
                "forecast_bias")


def suggest_lessons(data: Dataset, period: Period | str, scope: Scope | str = "company",
                    plan: float | None = None) -> list[dict]:
    """Data-driven lesson candidates (text, driver, adjustment, evidence) from the variance
    explained and the attainment spread; the analyst accepts them with :func:`add_lesson`."""
    scope, period = parse_scope(scope), parse_period(data, period)
    v = variance_explained(data, scope, period, plan)
    drv = v.drivers.set_index("driver")
    out = []
    comparable = not v.note.startswith("no prior-year wins at all")
    for key, name in (("win_rate", "win rate"), ("avg_won_deal", "average won deal")):
        if not comparable:
            break
        p, a = drv.loc[key, "plan"], drv.loc[key, "actual"]
        if p > 0 and a > 0 and abs(a / p - 1) >= 0.05:
            out.append({"text": f"{name} came in {a / p - 1:+.0%} vs plan ({a:,.3g} vs "
                                f"{p:,.3g}); plan with the actual",
                        "driver": "win_rate" if key == "win_rate" else "deal_size",
                        "adjustment": None, "evidence": f"variance explained {period}"})
    att = attainment_distribution(data, scope, period)
    s = att.summary
    if s["reps"] and s["share_100"] < 0.5 and att.quota_source != NO_QUOTAS:
        out.append({"text": f"only {s['share_100']:.0%} of reps reached 100% of quota "
                            f"(median {s['median']:.0%}); review quota setting",
                    "driver": None, "adjustment": None,
                    "evidence": f"attainment {period}, quotas: {att.quota_source}"})
    return out


def next_plan_defaults(data: Dataset, period: Period | str, scope: Scope | str = "company",
                       lessons_: list[dict] | pd.DataFrame | None = None, ws=None,
                       forecast_errors: pd.DataFrame | None = None) -> pd.DataFrame:
    """Default decisions for the plan after ``period`` from its actuals and the lessons.

    Rows (key, value, unit, basis): ``growth`` (period bookings / prior period, capped to
    -50%..+100%), ``target`` (period bookings x (1 + growth), USD), ``win_rate`` (won /
    closed), ``deal_size`` (USD per won deal), ``cycle_days`` (median days created -> won),
    ``attrition`` (leavers in the period / average quota-seat headcount, the planning core's
    ``observed_attrition``; 14% when no end dates),
    ``forecast_bias`` (the chosen forecast's backtest bias, row ``forecast`` of
    ``forecast_errors`` - else ``blend`` - when given, else 0). Each lesson
    with a ``driver`` multiplies that value by ``1 + adjustment`` (noted in ``basis``)."""
    scope, period = parse_scope(scope), parse_period(data, period)
    d = scope.filter(data.deals)
    cur = d[period.contains(d["close_date"]) & (d["close_date"] <= data.as_of)]
    prev = d[period.prior_year().contains(d["close_date"])]
    closed = cur[cur["status"].isin(["won", "lost"])]
    won = closed[closed["status"] == "won"]
    b1 = float(won["amount"].sum())
    b0 = float(_won(prev)["amount"].sum())
    rows = []
    if b0 > 0:
        g = float(np.clip(b1 / b0 - 1, -0.5, 1.0))
        rows.append(("growth", g, "fraction", f"bookings {period} / {period.prior_year()} - 1"))
    else:
        g = GROWTH - 1
        rows.append(("growth", g, "fraction", "no prior-period bookings: default +10%"))
    rows.append(("target", b1 * (1 + g), "USD", f"bookings {period} x (1 + growth)"))
    wr = len(won) / len(closed) if len(closed) else np.nan
    rows.append(("win_rate", wr, "fraction", f"won / closed deals in {period}"))
    ds = b1 / len(won) if len(won) else np.nan
    rows.append(("deal_size", ds, "USD", f"average won deal in {period}"))
    cyc = (won["close_date"] - won["created_date"]).dt.days.dropna()
    rows.append(("cycle_days", float(cyc.median()) if len(cyc) else np.nan, "days",
                 f"median created -> won days in {period}"))
    seen = observed_attrition(data.reps, period)
    if seen is not None:
        rows.append(("attrition", seen[0], "fraction per year",
                     f"{seen[1]} leavers in {period} / {seen[2]:g} average quota seats"))
    else:
        rows.append(("attrition", DEFAULT_ATTRITION, "fraction per year",
                     "B2B default (no end dates)"))
    bias = 0.0
    basis = "no forecast accuracy given"
    if forecast_errors is not None and len(forecast_errors):
        fe = forecast_errors.set_index("method")
        key = next((k for k in ("forecast", "blend") if k in fe.index), fe.index[0])
        bias = float(fe.loc[key, "bias"])
        basis = f"{key} forecast bias (sum(F-A)/sum A); divide forecasts by 1 + bias"
    rows.append(("forecast_bias", bias, "fraction", basis))
    out = pd.DataFrame(rows, columns=["key", "value", "unit", "basis"])
    if lessons_ is None and ws is not None:
        lessons_ = ws.items(SECTION)
    if isinstance(lessons_, pd.DataFrame):
        lessons_ = lessons_.to_dict("records")
    for les in lessons_ or []:
        key, adj = les.get("driver"), les.get("adjustment")
        if key is None or adj is None or (isinstance(adj, float) and np.isnan(adj)):
            continue
        if key not in DEFAULT_KEYS:
            raise ConfigError(f"lesson {les.get('id', '')!r}: unknown driver {key!r}")
        i = out.index[out["key"] == key][0]
        out.loc[i, "value"] = out.loc[i, "value"] * (1 + float(adj))
        out.loc[i, "basis"] += f"; lesson {les.get('id', '')}: {float(adj):+.0%} ({les.get('text', '')})"
        if key == "growth":  # keep the target consistent with the adjusted growth
            j = out.index[out["key"] == "target"][0]
            out.loc[j, "value"] = b1 * (1 + out.loc[i, "value"])
            out.loc[j, "basis"] += "; growth adjusted by a lesson"
    return out.astype({"key": "string", "unit": "string", "basis": "string"})


def save_next_plan_defaults(ws, defaults: pd.DataFrame, by: str | None = None) -> None:
    """Record the defaults in the workspace (section ``next_plan``, one key per row)."""
    ws.record_many("next_plan", {str(k): {"value": None if pd.isna(v) else float(v),
                                          "unit": str(u), "basis": str(b)}
                                 for k, v, u, b in defaults[["key", "value", "unit",
                                                             "basis"]].itertuples(index=False)},
                   by=by)


def defaults_as_scenario(defaults: pd.DataFrame, model, name: str = "next plan defaults"):
    """The next plan's defaults as a what-if :class:`~salesplan_nb.steps.scenarios.Scenario` on
    ``model`` (a ScenarioModel of the next period): company-wide relative changes
    ``default / model base - 1`` for win_rate, deal_size, cycle_days (-> cycle) and attrition,
    where the model's base is its company win rate and deal size, mean seat cycle and
    attrition. Keys without a finite value or base are skipped."""
    v = defaults.set_index("key")["value"]
    base = model.recompute()
    cyc = float(np.mean(model.base_cycle)) if model.R else np.nan
    bases = {"win_rate": ("win_rate", base.total("company", "win_rate")),
             "deal_size": ("deal_size", base.total("company", "deal_size")),
             "cycle_days": ("cycle", cyc),
             "attrition": ("attrition", model.base_attrition)}
    sc = Scenario(name, description="from evaluate.next_plan_defaults (actuals + lessons)")
    for key, (driver, b) in bases.items():
        val = v.get(key, np.nan)
        if pd.notna(val) and np.isfinite(b) and b > 0 and val > 0:
            sc = sc.with_change(driver, float(val) / b - 1)
    return sc


# --------------------------------------------------------------------------- charts
def chart_attainment(result: Attainment):
    """Histogram of rep attainment bands."""
    import altair as alt

    return (alt.Chart(result.bins).mark_bar()
            .encode(x=alt.X("band:N", sort=list(BIN_LABELS), title="Attainment"),
                    y=alt.Y("reps:Q", title="Reps"),
                    tooltip=["band", "reps", alt.Tooltip("share:Q", format=".0%")])
            .properties(title=f"Quota attainment - {result.scope.label} {result.period}"))


def chart_tactic_roi(roi: pd.DataFrame):
    """Bars of incremental bookings vs budget per tactic (USD)."""
    import altair as alt

    long = roi.melt(id_vars=["tactic", "roi"], value_vars=["incremental", "budget"],
                    var_name="measure", value_name="usd")
    return (alt.Chart(long).mark_bar()
            .encode(x=alt.X("tactic:N"), xOffset="measure:N", y=alt.Y("usd:Q", title="USD"),
                    color="measure:N",
                    tooltip=["tactic", "measure", alt.Tooltip("usd:Q", format=",.0f"),
                             alt.Tooltip("roi:Q", format=".0%")])
            .properties(title="Tactic ROI (difference in differences)"))


__all__ = ["rep_quotas", "attainment_distribution", "Attainment", "forecast_accuracy",
           "ForecastAccuracy", "save_forecast_snapshot", "tactic_roi", "add_lesson", "lessons",
           "suggest_lessons", "next_plan_defaults", "save_next_plan_defaults", "DEFAULT_KEYS",
           "defaults_as_scenario",
           "chart_attainment", "chart_tactic_roi"]


# ---- the demo's default decision ------------------------------------------------------------
def demo_decision(ws, by: str = "demo") -> str:
    """Step 15 in ``salesplan demo``: the last full year evaluated, lessons recorded and the
    next plan's defaults saved."""
    data = ws.data
    year = str(last_full_year(data.as_of))
    att = attainment_distribution(data, "company", year)
    ws.save_output("evaluate", f"attainment_{year}", att.table)
    for lesson in suggest_lessons(data, year):
        add_lesson(ws, lesson["text"], lesson.get("driver") if lesson.get(
            "adjustment") is not None else None, lesson.get("adjustment"),
            lesson.get("evidence", ""), by=by)
    defaults = next_plan_defaults(data, year, ws=ws,
                                  forecast_errors=ws.load_output("forecast", "accuracy"))
    save_next_plan_defaults(ws, defaults, by=by)
    s = att.summary
    measured = (f"median {s['median']:.0%}, {s['share_100']:.0%} of {s['reps']} reps at "
                f"100%+ ({att.quota_source})" if s["reps"] else att.quota_source)
    return (f"{year} attainment: {measured}; "
            f"{len(lessons(ws))} lessons, next-plan defaults saved")
