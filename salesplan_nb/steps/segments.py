"""Step 6 - ideal customer profile (ICP), account fit scores and segment attractiveness.

All measured on closed deals of the basis window (the period when it has started by
``as_of``, else the 12 months ending at ``as_of``):

- win rate = won / (won + lost) (fraction); average deal = mean won amount (USD); cycle =
  mean days from created to close of won deals; bookings = sum of won amounts (USD).
- expected value per decided deal ``EV = win rate x average deal`` (USD).
- account fit score (0..100) = sum over factors ``f`` of ``weight_f x strength_f``, with the
  weights scaled to sum to 100 and ``strength_f = EV(account's value of f) / max EV over the
  values of f`` (0..1); a value with no decided deals gets the overall EV's strength. Factors:
  industry, segment, region and revenue band (account revenue quartile).
- segment attractiveness (0..100) = ``100 x sum_c w_c x norm_c / sum_c w_c`` over criteria
  potential (USD / year), win rate, average deal and cycle (shorter is better), each
  min-max normalised across the ranked segments (all equal -> 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps.capacity import basis_period, dataset_memo, resolve
from salesplan_nb.steps.market import filled_accounts

SECTION = "segments"
ICP_BY = ("industry", "segment", "region")
FIT_FACTORS = ("industry", "segment", "region", "revenue_band")
DEFAULT_FIT_WEIGHTS = {"industry": 35.0, "segment": 30.0, "region": 15.0, "revenue_band": 20.0}
CRITERIA = ("potential", "win_rate", "deal_size", "cycle")
DEFAULT_WEIGHTS = {"potential": 0.40, "win_rate": 0.25, "deal_size": 0.20, "cycle": 0.15}
_MODELS = "_segments_fit_models"  # memo store (Dataset.memo) of fit_model
_MEMO = "_segments_memo"  # weight-independent ranking / fit bases (capacity.dataset_memo)
ICP_COLUMNS = ["won", "lost", "decided", "win_rate", "avg_deal", "cycle_days", "bookings",
               "bookings_share", "accounts", "ev_per_deal"]


def _closed(data: Dataset, scope: Scope, period: Period) -> tuple[pd.DataFrame, Period]:
    basis = basis_period(data, period)
    d = scope.filter(data.deals)
    closed = d[basis.contains(d["close_date"]) & d["status"].isin(["won", "lost"]).fillna(False)]
    return closed, basis


def _stats(closed: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Win/loss statistics of ``closed`` deals grouped by ``by`` (missing keys -> Unknown)."""
    if not len(closed):
        return pd.DataFrame(columns=[*by, *ICP_COLUMNS])
    won = (closed["status"] == "won").to_numpy()
    cyc = (closed["close_date"] - closed["created_date"]).dt.days.to_numpy(dtype=float,
                                                                            na_value=np.nan)
    f = pd.DataFrame({c: closed[c].astype("string").fillna("Unknown").to_numpy() for c in by})
    f["won"] = won.astype(int)
    f["lost"] = (~won).astype(int)
    f["won_amount"] = np.where(won, closed["amount"].to_numpy(dtype=float, na_value=np.nan),
                               np.nan)
    f["won_cycle"] = np.where(won, cyc, np.nan)
    grp = f.groupby(by, dropna=False, sort=True)
    g = pd.DataFrame({"won": grp["won"].sum(), "lost": grp["lost"].sum(),
                      "avg_deal": grp["won_amount"].mean(), "cycle_days": grp["won_cycle"].mean(),
                      "bookings": grp["won_amount"].sum()})
    acc = f.loc[won, by].assign(account=closed["account_id"].to_numpy()[won]).dropna(
        subset=["account"]).drop_duplicates()
    g["accounts"] = acc.groupby(by).size().reindex(g.index).fillna(0).astype(int)
    g = g.reset_index()
    g["decided"] = g["won"] + g["lost"]
    g["win_rate"] = g["won"] / g["decided"]
    total = g["bookings"].sum()
    g["bookings_share"] = g["bookings"] / total if total else 0.0
    g["ev_per_deal"] = g["win_rate"] * g["avg_deal"].fillna(0)
    return g[[*by, *ICP_COLUMNS]]


def icp(data: Dataset, scope: Scope | str | None = None, period: Period | str | None = None,
        by: Sequence[str] = ICP_BY, min_decided: int = 1) -> pd.DataFrame:
    """The data-driven ICP: per ``by`` group (default industry x segment x region) the deals
    won / lost / decided, ``win_rate`` (0..1), ``avg_deal`` (USD, won), ``cycle_days`` (won),
    ``bookings`` (USD), ``bookings_share`` (0..1), ``accounts`` (distinct won accounts) and
    ``ev_per_deal`` (USD) - sorted by bookings. Groups with fewer than ``min_decided`` decided
    deals are dropped. ``attrs``: ``basis``, ``note``."""
    sc, per = resolve(data, scope, period)
    by = list(by)
    bad = [c for c in by if c not in data.deals.columns]
    if bad:
        raise ConfigError(f"cannot group the ICP by {bad}: deals have columns "
                          f"{', '.join(data.deals.columns)}")
    closed, basis = _closed(data, sc, per)
    out = _stats(closed, by)
    out = out[out["decided"] >= min_decided].sort_values(
        ["bookings", "decided"], ascending=False).reset_index(drop=True)
    out.attrs["basis"] = basis.label
    out.attrs["note"] = "" if len(out) else f"no closed deals in {sc.label} for {basis.label}"
    return out


def scope_accounts(data: Dataset, scope: Scope) -> pd.DataFrame:
    """Accounts of a scope, blank region/territory/owner filled by the planning core's rule
    (:func:`salesplan_nb.steps.market.filled_accounts`: the account's latest deal). A rep's
    accounts are those it owns or has deals with."""
    acc = filled_accounts(data).copy()
    for col in ("region", "territory"):
        acc[col] = acc[col].astype("string")
    if scope.level in ("region", "territory"):
        acc = acc[(acc[scope.level] == scope.id).fillna(False)]
    elif scope.level == "account":
        acc = acc[(acc["account_id"] == scope.id).fillna(False)]
    elif scope.level == "rep":
        deals = data.deals.dropna(subset=["account_id"])
        owned = set(deals.loc[(deals["owner_id"] == scope.id).fillna(False), "account_id"])
        acc = acc[((acc["owner_id"] == scope.id).fillna(False)
                   | acc["account_id"].isin(list(owned))).to_numpy()]
    return acc.reset_index(drop=True)


def _revenue_band(revenue: pd.Series, edges: np.ndarray) -> pd.Series:
    labels = ["Q1 (smallest)", "Q2", "Q3", "Q4 (largest)"]
    r = revenue.to_numpy(dtype=float, na_value=np.nan)
    idx = np.searchsorted(edges, r, side="right")
    out = pd.Series([labels[min(i, 3)] if not math.isnan(v) else "Unknown"
                     for i, v in zip(idx, r)], index=revenue.index, dtype="string")
    return out


def _weights(weights: dict | None, default: dict, names: Sequence[str], what: str) -> dict:
    w = dict(default if weights is None else weights)
    bad = [k for k in w if k not in names]
    if bad:
        raise ConfigError(f"unknown {what} weight(s) {bad}; use {', '.join(names)}")
    try:
        w = {k: float(w.get(k, 0.0)) for k in names}
    except (TypeError, ValueError):
        raise ConfigError(f"{what} weights must be numbers") from None
    if any(v < 0 or math.isnan(v) for v in w.values()) or sum(w.values()) <= 0:
        raise ConfigError(f"{what} weights must be >= 0 with a positive sum, got {w}")
    return w


def fit_model(data: Dataset, period: Period) -> dict:
    """The company ICP the fit score uses, for ``period``'s basis window: revenue quartile
    ``edges``, ``ev[factor][value]`` (USD per decided deal), ``ev_all``, ``customers`` (account
    ids with a won deal), ``basis``. Cached on the Dataset."""
    return data.memo(_MODELS, (period.start, period.end), lambda: _fit_model(data, period),
                     with_deals=True)


def _fit_model(data: Dataset, period: Period) -> dict:
    all_acc = scope_accounts(data, Scope())
    rev = all_acc["revenue"].dropna()
    edges = np.quantile(rev, [0.25, 0.5, 0.75]) if len(rev) else np.array([])
    closed, basis = _closed(data, Scope(), period)
    closed = closed.copy()
    if len(edges):
        closed["revenue_band"] = _revenue_band(closed["account_revenue"], edges).to_numpy()
    else:
        closed["revenue_band"] = pd.Series("Unknown", index=closed.index, dtype="string")
    overall = _stats(closed.assign(_all="all"), ["_all"])
    ev = {}
    for f in FIT_FACTORS:
        st = _stats(closed, [f])
        ev[f] = dict(zip(st[f], st["ev_per_deal"]))
    return {
        "edges": edges, "ev": ev, "basis": basis.label,
        "ev_all": float(overall["ev_per_deal"].iloc[0]) if len(overall) else 0.0,
        "customers": sorted(set(closed.loc[closed["status"] == "won", "account_id"].dropna()))}


def _fit_basis(data: Dataset, sc: Scope, per: Period) -> dict:
    """Weight-independent part of :func:`fit_scores`: the scope's accounts with their factor
    values, each factor's strength (0..1) per account, the customer flag."""
    model = fit_model(data, per)
    edges = model["edges"]
    acc = scope_accounts(data, sc)
    acc["revenue_band"] = (_revenue_band(acc["revenue"], edges) if len(edges)
                           else pd.Series("Unknown", index=acc.index, dtype="string"))
    base = pd.DataFrame({"account_id": acc["account_id"], "name": acc["name"]})
    ev_all = model["ev_all"]
    strengths = {}
    for f in FIT_FACTORS:
        vals = acc[f].astype("string").fillna("Unknown")
        base[f] = vals.to_numpy()
        ev = model["ev"][f]
        top = max([*ev.values(), ev_all, 0.0])
        strength = np.array([ev.get(v, ev_all) for v in vals], dtype=float)
        strengths[f] = strength / top if top > 0 else np.zeros(len(vals))
        strengths[f].setflags(write=False)
    customer = base["account_id"].isin(model["customers"]).to_numpy()
    customer.setflags(write=False)
    return {"base": base, "strength": strengths, "customer": customer,
            "basis": model["basis"]}


def fit_scores(data: Dataset, scope: Scope | str | None = None,
               period: Period | str | None = None, weights: dict | None = None) -> pd.DataFrame:
    """Fit score (0..100) of every account of the scope, with each factor's points.

    Columns: account_id, name, industry, segment, region, revenue_band, ``<factor>_pts`` for
    each of :data:`FIT_FACTORS` (points added by that factor), fit_score, customer (has a won
    deal in the basis window). Sorted by fit_score. The ICP is learnt from the whole company's
    deals (so a region's accounts are scored against the company's ICP). The accounts and
    factor strengths are memoised on ``data`` per scope and period, so new weights only
    redo the points and the sort."""
    sc, per = resolve(data, scope, period)
    w = _weights(weights, DEFAULT_FIT_WEIGHTS, FIT_FACTORS, "fit")
    total_w = sum(w.values())
    b = dataset_memo(data, _MEMO, ("fit", sc, per), lambda: _fit_basis(data, sc, per))
    base = b["base"]
    cols = {"account_id": base["account_id"], "name": base["name"]}
    score = np.zeros(len(base))
    for f in FIT_FACTORS:
        pts = 100 * w[f] / total_w * b["strength"][f]
        cols[f] = base[f]
        cols[f"{f}_pts"] = pts
        score += pts
    cols["fit_score"] = score
    cols["customer"] = b["customer"].copy()
    out = pd.DataFrame(cols)
    out = out.sort_values("fit_score", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs["basis"] = b["basis"]
    out.attrs["weights"] = w
    out.attrs["note"] = "" if len(out) else f"no accounts in {sc.label}"
    return out


def _potential(data: Dataset, scope: Scope, by: list[str], stats: pd.DataFrame,
               basis: Period) -> tuple[pd.Series, str]:
    """Market potential (USD / year) per group: ``data.market`` when it covers the grouping
    (summed over its other keys), else a firmographic estimate = accounts in the group x won
    bookings per won account in the group, annualised."""
    m = data.market
    keys = [c for c in by if c in ("segment", "region", "industry")]
    if len(m) and keys == by and m[keys].notna().all(axis=None):
        pot = m.groupby(keys)["potential"].sum()
        idx = pd.MultiIndex.from_frame(stats[keys]) if len(keys) > 1 else stats[keys[0]]
        vals = pot.reindex(idx).to_numpy(dtype=float) if len(stats) else np.zeros(0)
        return pd.Series(vals, index=stats.index), "market table"
    acc = scope_accounts(data, scope)
    have = [c for c in by if c in acc.columns]
    if have != by:
        return pd.Series(np.nan, index=stats.index), "not available for this grouping"
    n_acc = acc.assign(**{c: acc[c].astype("string").fillna("Unknown") for c in by}) \
        .groupby(by).size()
    idx = pd.MultiIndex.from_frame(stats[by]) if len(by) > 1 else stats[by[0]]
    count = n_acc.reindex(idx).fillna(0).to_numpy(dtype=float) if len(stats) else np.zeros(0)
    years = max((basis.end - basis.start).days / 365.25, 1 / 12)
    per_acc = (stats["bookings"] / stats["accounts"].replace(0, np.nan)).to_numpy(dtype=float)
    return pd.Series(count * np.nan_to_num(per_acc) / years, index=stats.index), \
        "estimate: accounts x bookings per won account per year"


def _norm(x: pd.Series, invert: bool = False) -> pd.Series:
    v = x.astype(float)
    lo, hi = v.min(), v.max()
    if not len(v) or pd.isna(lo):
        return pd.Series(0.0, index=x.index)
    n = pd.Series(1.0, index=x.index) if hi == lo else (v - lo) / (hi - lo)
    n = 1 - n if invert and hi != lo else n
    return n.fillna(0.0)


def _ranking_basis(data: Dataset, sc: Scope, per: Period, by: list[str],
                   min_decided: int) -> tuple[pd.DataFrame, Period]:
    """Weight-independent part of :func:`segment_ranking`: the segments' statistics,
    potential and normalised ``<criterion>_score`` columns."""
    closed, basis = _closed(data, sc, per)
    st = _stats(closed, by)
    st = st[st["decided"] >= min_decided].reset_index(drop=True)
    pot, source = _potential(data, sc, by, st, basis)
    st["potential"] = pot.to_numpy()
    st["potential_source"] = source
    parts = {"potential": _norm(st["potential"]), "win_rate": _norm(st["win_rate"]),
             "deal_size": _norm(st["avg_deal"]), "cycle": _norm(st["cycle_days"], invert=True)}
    for c in CRITERIA:
        st[f"{c}_score"] = parts[c]
    return st, basis


def segment_ranking(data: Dataset, scope: Scope | str | None = None,
                    period: Period | str | None = None, weights: dict | None = None,
                    by: Sequence[str] = ("segment", "region"),
                    min_decided: int = 5) -> pd.DataFrame:
    """Segments ranked by attractiveness (0..100). Columns: the ``by`` keys, potential (USD /
    year), potential_source, win_rate, avg_deal, cycle_days, decided, bookings, one
    ``<criterion>_score`` (0..1 normalised) per criterion, score, rank. ``weights`` over
    :data:`CRITERIA` (default :data:`DEFAULT_WEIGHTS`); groups with fewer than
    ``min_decided`` decided deals are left out (too little evidence). The statistics,
    potential and normalised criteria are memoised on ``data`` per scope, period and
    grouping, so new weights only redo the weighted sum and the sort."""
    sc, per = resolve(data, scope, period)
    w = _weights(weights, DEFAULT_WEIGHTS, CRITERIA, "attractiveness")
    by = list(by)
    base, basis = dataset_memo(data, _MEMO, ("ranking", sc, per, tuple(by), min_decided),
                               lambda: _ranking_basis(data, sc, per, by, min_decided))
    st = base.copy()
    score = pd.Series(0.0, index=st.index)
    for c in CRITERIA:
        score += w[c] * st[f"{c}_score"]
    st["score"] = 100 * score / sum(w.values())
    st = st.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    st["rank"] = np.arange(1, len(st) + 1)
    cols = [*by, "potential", "potential_source", "win_rate", "avg_deal", "cycle_days",
            "decided", "bookings", *[f"{c}_score" for c in CRITERIA], "score", "rank"]
    out = st[cols]
    out.attrs["basis"] = basis.label
    out.attrs["weights"] = w
    out.attrs["note"] = "" if len(out) else (
        f"no segment in {sc.label} has {min_decided}+ closed deals in {basis.label}")
    return out


# ---- charts ------------------------------------------------------------------------------------
def chart_icp(table: pd.DataFrame, x: str = "industry", y: str = "segment") -> alt.Chart:
    """Heatmap of win rate by ``x`` x ``y`` (deals summed over the other keys)."""
    g = table.groupby([x, y], as_index=False)[["won", "decided", "bookings"]].sum()
    g["win_rate"] = g["won"] / g["decided"].where(g["decided"] > 0)
    return (alt.Chart(g).mark_rect().encode(
        x=alt.X(f"{x}:N"), y=alt.Y(f"{y}:N"),
        color=alt.Color("win_rate:Q", title="Win rate", scale=alt.Scale(scheme="blues")),
        tooltip=[f"{x}:N", f"{y}:N", alt.Tooltip("win_rate:Q", format=".1%"), "decided:Q",
                 alt.Tooltip("bookings:Q", format=",.0f")])
        .properties(title="ICP: win rate"))


def fit_frame(scores: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """The data of :func:`chart_fit`: one row per top account and factor (account_id, name,
    fit_score, factor, points, ``order`` = the account's rank 0..top-1, which sorts the y
    axis)."""
    t = scores.head(top)
    k = len(FIT_FACTORS)
    return pd.DataFrame({
        **{c: np.tile(t[c].to_numpy(dtype=object), k) for c in ("account_id", "name")},
        "fit_score": np.tile(t["fit_score"].to_numpy(dtype=float), k),
        "factor": np.repeat(np.array(FIT_FACTORS, dtype=object), len(t)),
        "points": np.concatenate([t[f"{f}_pts"].to_numpy(dtype=float) for f in FIT_FACTORS]),
        "order": np.tile(np.arange(len(t)), k)})


def chart_fit(scores: pd.DataFrame, top: int = 20, dataset: str | None = None) -> alt.Chart:
    """Stacked bars: each factor's points for the ``top`` accounts (best first). ``dataset``:
    plot that named dataset (the caller adds ``datasets={dataset: records of fit_frame}`` at
    the top level, so a live update only swaps it); default the data inline."""
    src = alt.Data(name=dataset) if dataset else fit_frame(scores, top)
    return (alt.Chart(src).mark_bar().encode(
        y=alt.Y("name:N", sort=alt.EncodingSortField(field="order", op="min"), title=None),
        x=alt.X("points:Q", title="Fit score (0-100)", stack=True),
        color=alt.Color("factor:N"),
        tooltip=["name:N", "factor:N", alt.Tooltip("points:Q", format=".1f"),
                 alt.Tooltip("fit_score:Q", format=".1f")])
        .properties(title="Account fit"))


def segments_frame(ranking: pd.DataFrame) -> pd.DataFrame:
    """The data of :func:`chart_segments`: segment_label (the key values joined by " / "),
    score, potential, win_rate, avg_deal, cycle_days."""
    keys = [c for c in ranking.columns if c not in (
        "potential", "potential_source", "win_rate", "avg_deal", "cycle_days", "decided",
        "bookings", "score", "rank") and not c.endswith("_score")]
    text = [ranking[k].astype(str).tolist() for k in keys]
    label = [" / ".join(v) for v in zip(*text)] if keys else [""] * len(ranking)
    shown = ["score", "potential", "win_rate", "avg_deal", "cycle_days"]
    return pd.DataFrame({"segment_label": np.array(label, dtype=object),
                         **{c: ranking[c].to_numpy() for c in shown if c in ranking.columns}})


def chart_segments(ranking: pd.DataFrame, dataset: str | None = None) -> alt.Chart:
    """Horizontal bars of segment attractiveness score. ``dataset``: plot that named dataset
    (records of :func:`segments_frame`, added by the caller at the top level); default the
    data inline."""
    src = alt.Data(name=dataset) if dataset else segments_frame(ranking)
    return (alt.Chart(src).mark_bar().encode(
        x=alt.X("score:Q", title="Attractiveness (0-100)"),
        y=alt.Y("segment_label:N", sort="-x", title=None),
        tooltip=["segment_label:N", alt.Tooltip("score:Q", format=".1f"),
                 alt.Tooltip("potential:Q", format=",.0f"),
                 alt.Tooltip("win_rate:Q", format=".1%"),
                 alt.Tooltip("avg_deal:Q", format=",.0f"),
                 alt.Tooltip("cycle_days:Q", format=".0f")])
        .properties(title="Segment attractiveness"))


# ---- workspace ---------------------------------------------------------------------------------
def save_weights(ws, weights: dict, kind: str = "attractiveness", by: str | None = None) -> None:
    """Record segment ``attractiveness`` weights or account ``fit`` weights (section
    ``segments``)."""
    if kind == "attractiveness":
        w = _weights(weights, DEFAULT_WEIGHTS, CRITERIA, kind)
    elif kind == "fit":
        w = _weights(weights, DEFAULT_FIT_WEIGHTS, FIT_FACTORS, kind)
    else:
        raise ConfigError(f"weights kind {kind!r}: use 'attractiveness' or 'fit'")
    ws.record(SECTION, f"{kind}_weights", w, by=by)


def load_weights(ws, kind: str = "attractiveness") -> dict:
    """Stored weights, or the defaults."""
    default = DEFAULT_WEIGHTS if kind == "attractiveness" else DEFAULT_FIT_WEIGHTS
    return dict(ws.get(SECTION, f"{kind}_weights", default) or default)


def save_targets(ws, segments: list[dict], by: str | None = None) -> None:
    """Record the chosen target segments (list of key dicts, e.g. ``{"segment": "SMB",
    "region": "EMEA"}``)."""
    ws.record(SECTION, "targets", [dict(s) for s in segments], by=by)


def load_targets(ws) -> list[dict]:
    return list(ws.get(SECTION, "targets", []) or [])
