"""Forecasting: monthly bookings (USD) per scope, with backtested accuracy.

Forecasts of won bookings per calendar month, each USD per month:

- **baseline** - seasonal naive: ``y[m] = y[m - 12]`` (same month last year). With fewer than
  12 months of history it cannot exist; the baseline then falls back to plain naive
  (``y[m] = last observed month``) and says so in ``methods``.
- **drift** - seasonal naive x trailing growth (:func:`drift_forecast`).
- **model** - statsmodels ``ExponentialSmoothing`` (ETS): additive trend and multiplicative (all
  months > 0) or additive seasonality, the lower AIC of the two, when history >= 24 months
  (2 seasons); damped additive trend without seasonality (Holt) for 4..23 months; the history
  mean below 4 months. Forecasts are clipped at 0.
- **pipeline** - open deals x P(won), in their expected close month or spread over their likely
  close months (see :func:`stage_probabilities` and :func:`pipeline_forecast`).
- **pooled** - the scope's last 12 months x the company's seasonal shape and growth
  (:func:`pooled_forecast`).
- **blend** - weights on a 0.1 grid summing to 1 over the components, one set per months-ahead
  bucket, minimising the rolling-origin backtest's absolute error (see :func:`blend_weights`).

``forecast`` = the method with the lowest backtest WAPE x its bias correction, with empirical
intervals; for the company, regions and territories it is then reconciled across the hierarchy
(:func:`hierarchy_forecast`, :mod:`salesplan_nb.steps.reconcile`); small scopes are shrunk toward
the company's method (:func:`forecast_many`).

Backtest (:func:`backtest`): rolling origin - for each of the last ``n_origins`` months ``o``,
fit on months ``< o`` only and forecast months ``o .. o + horizon - 1``; the pipeline forecast
is rebuilt from the deals open at ``o`` (created before ``o`` and not closed before ``o``) with
probabilities, deal sizes and cycles learned only from deals closed before ``o``. Errors:
``WAPE = sum|F - A| / sum A`` and ``MAPE = mean(|F - A| / A)`` over months with ``A > 0``. The
blend's own error is leave-one-origin-out (weights chosen on the other origins), so it is not
flattered by choosing weights on the months it is scored on.

History is the won bookings by close month from the first month with any won deal in the data
(company-wide) to the last complete month on or before ``Dataset.as_of``.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import last_whole_month
from salesplan_nb.core.scope import SCOPE_COLUMN, Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.schema import NO_PIPELINE
from salesplan_nb.steps import reconcile as R

DAYS_PER_MONTH = 365.25 / 12
SHRINK = 10.0  # pseudo-deals pulling a thin probability estimate toward the overall win rate


# --------------------------------------------------------------------------- parsing
def parse_scope(scope: Scope | str | None) -> Scope:
    """:meth:`Scope.parse`, with a bad scope as a :class:`ConfigError` saying the format."""
    try:
        return Scope.parse(scope)
    except ValueError as exc:
        raise ConfigError(f"scope {scope!r}: {exc} (write e.g. company, region:EMEA, "
                          "territory:NA-01, rep:R-0001)") from exc


def parse_period(period: Period | str | int) -> Period:
    """:meth:`Period.parse`, with a bad period as a :class:`ConfigError`."""
    try:
        return Period.parse(period)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


# --------------------------------------------------------------------------- history
def history_end(data: Dataset) -> pd.Period:
    """Last complete calendar month on or before ``data.as_of``
    (:func:`salesplan_nb.core.periods.last_whole_month`)."""
    return last_whole_month(data.as_of)


def monthly_bookings(data: Dataset, scope: Scope | str = "company",
                     end: pd.Period | None = None) -> pd.Series:
    """Won bookings (USD) by close month for ``scope``: a float Series on a monthly
    PeriodIndex from the first month with a won deal in the data to ``end`` (default
    :func:`history_end`); months without wins are 0."""
    scope = parse_scope(scope)
    deals = data.deals
    won_all = deals[(deals["status"] == "won") & deals["close_date"].notna()]
    end = history_end(data) if end is None else end
    if won_all.empty:
        return pd.Series(dtype=float, index=pd.PeriodIndex([], freq="M"), name="bookings")
    start = won_all["close_date"].min().to_period("M")
    idx = pd.period_range(start, end, freq="M") if end >= start else \
        pd.PeriodIndex([], freq="M")
    won = scope.filter(won_all)
    s = (won.groupby(won["close_date"].dt.to_period("M"))["amount"].sum()
         .reindex(idx, fill_value=0.0).astype(float))
    s.name = "bookings"
    return s


# --------------------------------------------------------------------------- statistical
def seasonal_naive(history: pd.Series, horizon: int,
                   growth: bool = False) -> tuple[np.ndarray, str]:
    """Seasonal-naive forecast ``y[t+h] = y[t+h-12]`` for ``h = 1..horizon`` (THE baseline).

    ``growth=True`` (optional variant, not the baseline) scales it by the trailing growth
    ``sum(last 12 months) / sum(the 12 before)`` when 24 months exist. Returns
    ``(values, method)``; with < 12 months it is plain naive (last value) and the method says
    so; with no history the forecast is 0."""
    y = np.asarray(history, dtype=float)
    if len(y) == 0:
        return np.zeros(horizon), "none (no history): 0"
    if len(y) < 12:
        return np.full(horizon, y[-1]), f"naive: last month (only {len(y)} months, need 12)"
    out = np.array([y[len(y) - 12 + (h % 12)] for h in range(horizon)])
    if growth and len(y) >= 24 and y[-24:-12].sum() > 0:
        g = y[-12:].sum() / y[-24:-12].sum()
        return out * g, f"seasonal naive x trailing growth {g:.3f}"
    return out, "seasonal naive: same month last year"


def ets_forecast(history: pd.Series, horizon: int,
                 seasonal: str = "auto") -> tuple[np.ndarray, str]:
    """Exponential-smoothing forecast of a monthly series (see module doc for the fallbacks).

    ``seasonal``: ``auto`` (lower AIC of mul/add), ``mul`` or ``add``. Returns
    ``(values >= 0, method)``."""
    if seasonal not in ("auto", "mul", "add"):
        raise ConfigError(f"seasonal={seasonal!r}: use 'auto', 'mul' or 'add'")
    y = np.asarray(history, dtype=float)
    n = len(y)
    if n == 0:
        return np.zeros(horizon), "none (no history): 0"
    if n < 4 or np.allclose(y, y[0]):
        return np.full(horizon, max(y.mean(), 0.0)), f"mean of {n} months"
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if n >= 24:
            kinds = ["mul", "add"] if seasonal == "auto" else [seasonal]
            if (y <= 0).any():
                kinds = ["add"]
            best = None
            for kind in kinds:
                try:
                    fit = ExponentialSmoothing(y, trend="add", seasonal=kind, seasonal_periods=12,
                                               initialization_method="estimated").fit()
                except (ValueError, np.linalg.LinAlgError):
                    continue
                fc = np.asarray(fit.forecast(horizon), dtype=float)
                if np.isfinite(fc).all() and (best is None or fit.aic < best[0]):
                    best = (fit.aic, fc, kind)
            if best is not None:
                kind = {"mul": "multiplicative", "add": "additive"}[best[2]]
                return np.clip(best[1], 0, None), f"ETS additive trend, {kind} seasonality"
        try:
            fit = ExponentialSmoothing(y, trend="add", damped_trend=True,
                                       initialization_method="estimated").fit()
            fc = np.asarray(fit.forecast(horizon), dtype=float)
            if np.isfinite(fc).all():
                why = "" if n < 24 else " (seasonal fit failed)"
                return (np.clip(fc, 0, None),
                        f"Holt damped additive trend, no seasonality ({n} months < 24){why}")
        except (ValueError, np.linalg.LinAlgError):
            pass
    return np.full(horizon, max(y.mean(), 0.0)), f"mean of {n} months (ETS failed)"


# --------------------------------------------------------------------------- pipeline
def _amount_lookup(closed: pd.DataFrame) -> tuple[dict, float]:
    won = closed[(closed["status"] == "won") & (closed["amount"] > 0)]
    by_product = won.groupby("product_id")["amount"].mean().to_dict()
    overall = float(won["amount"].mean()) if len(won) else 0.0
    return by_product, overall


def _impute_amount(deals: pd.DataFrame, by_product: dict, overall: float,
                   keep_own: bool) -> np.ndarray:
    """Deal value (USD): the deal's own ``amount`` when ``keep_own`` and > 0, else the mean won
    amount of its product, else the mean won amount overall."""
    imputed = deals["product_id"].map(by_product).astype(float).fillna(overall).to_numpy()
    if keep_own:
        own = deals["amount"].astype(float).to_numpy()
        return np.where(np.isfinite(own) & (own > 0), own, imputed)
    return imputed


def _age_model(closed: pd.DataFrame):
    """From closed deals: sorted won and lost cycle lengths (days)."""
    cyc = (closed["close_date"] - closed["created_date"]).dt.days
    ok = cyc.notna().to_numpy()
    won = (closed["status"] == "won").to_numpy()
    c = cyc.to_numpy(dtype=float, na_value=np.nan)
    return np.sort(c[ok & won]), np.sort(c[ok & ~won])


def _p_win_by_age(ages: np.ndarray, won_c: np.ndarray, lost_c: np.ndarray,
                  p0: float) -> np.ndarray:
    """P(won | still open at age a) = (W(a) + k p0 S(a)) / (W(a) + L(a) + k): W, L = won / lost
    deals whose cycle exceeded ``a``, shrunk with ``k`` = :data:`SHRINK` pseudo-deals toward
    ``p0 x S(a)``, ``S(a)`` = share of won deals that took longer than ``a`` (so a deal older
    than every won deal gets P = 0: stale)."""
    a = np.nan_to_num(ages, nan=0.0)
    w = len(won_c) - np.searchsorted(won_c, a, side="right")
    lo = len(lost_c) - np.searchsorted(lost_c, a, side="right")
    surv = w / len(won_c) if len(won_c) else np.zeros_like(a)
    return (w + SHRINK * p0 * surv) / (w + lo + SHRINK)


def _close_month_shares(ages: np.ndarray, won_c: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Share of each open deal's win expected in each month: among won deals that took longer
    than the deal's age ``a``, the share whose cycle ends in month k, i.e. in
    ``(a + bounds[k], a + bounds[k+1]]`` days (``bounds`` = days from the origin to each month
    start). Rows sum to <= 1 (the rest closes after the horizon)."""
    a = np.nan_to_num(ages, nan=0.0)
    n = len(won_c) - np.searchsorted(won_c, a, side="right")
    edges = np.searchsorted(won_c, a[:, None] + bounds[None, :], side="right")
    counts = np.diff(edges, axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n[:, None] > 0, counts / np.maximum(n[:, None], 1), 0.0)
    # deals older than every won deal: expected (if at all) in the first month
    share[n == 0, 0] = 1.0
    return share


def stage_probabilities(data: Dataset, scope: Scope | str = "company",
                        stage_order: list[str] | None = None) -> pd.DataFrame:
    """P(won | open at stage s) for the stages of ``scope``'s open deals.

    Method ``lost-at-stage`` (when lost deals keep the stage they were lost at, i.e. some open
    stage names also appear on lost deals): with stages ordered (``stage_order``, else by the
    median age of open deals at the stage, youngest first), ``p(s) = W / (W + L(>= s))`` where
    ``W`` = won deals (they passed every stage) and ``L(>= s)`` = lost deals whose final stage is
    ``s`` or later, or is not an open stage (lost somewhere unknown). Deals lost before ``s``
    never were open at ``s`` and are excluded.

    Method ``stage by deal age`` (closed deals carry no stage, e.g. Won/Lost only): each open
    deal's ``P(won | open at age a)`` learned from the closed deals' outcomes and cycle lengths
    (:func:`_p_win_by_age`; ``a`` = days since created, 0 when undated), averaged over the
    deals open at the stage: later stages hold older deals, so they get the win rate of deals
    that survived that long.

    Columns: ``stage, open_deals, open_value (USD, own amounts), p_win, method``.
    """
    scope = parse_scope(scope)
    d = scope.filter(data.deals)
    cols = ["stage", "open_deals", "open_value", "p_win", "method"]
    open_ = d[d["status"] == "open"]
    closed = d[d["status"].isin(["won", "lost"])]
    if open_.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("open_value", "p_win")
                                          else "int64" if c == "open_deals" else "string")
                             for c in cols})
    n_won = int((closed["status"] == "won").sum())
    n_closed = len(closed)
    p0 = n_won / n_closed if n_closed else 0.0
    stages = open_["stage"].fillna("(none)")
    lost_stages = set(closed.loc[closed["status"] == "lost", "stage"].dropna())
    open_stage_names = list(dict.fromkeys(stages))
    g = open_.assign(stage=stages).groupby("stage", sort=False)
    out = pd.DataFrame({"open_deals": g.size(), "open_value": g["amount"].sum()})
    if lost_stages & set(open_stage_names):
        if stage_order is None:
            age = (pd.Timestamp(data.as_of) - open_["created_date"]).dt.days
            order = age.groupby(stages).median().fillna(0).sort_values().index.tolist()
        else:
            missing = [s for s in open_stage_names if s not in stage_order]
            if missing:
                raise ConfigError(f"stage_order lacks open stage(s) {missing}; list every stage")
            order = list(stage_order)
        rank = {s: i for i, s in enumerate(order)}
        lost = closed.loc[closed["status"] == "lost", "stage"]
        lost_rank = lost.map(rank).astype(float).fillna(np.inf).to_numpy()
        p = {s: n_won / (n_won + int((lost_rank >= rank[s]).sum()))
             if n_won + (lost_rank >= rank[s]).sum() else 0.0 for s in out.index}
        method = "lost-at-stage"
    else:
        # no stage at close: each open deal's P(won | its age) from closed outcomes
        # (:func:`_p_win_by_age`), averaged over the deals open at the stage
        won_c, lost_c = _age_model(closed[closed["close_date"].notna()])
        age = (pd.Timestamp(data.as_of) - open_["created_date"]).dt.days.to_numpy(
            dtype=float, na_value=np.nan)
        pa = pd.Series(_p_win_by_age(age, won_c, lost_c, p0), index=open_.index)
        p = pa.groupby(stages).mean().to_dict()
        method = "stage by deal age"
    out["p_win"] = pd.Series(p)
    out["method"] = method
    out = out.reset_index().rename(columns={"index": "stage"})
    return out[cols].astype({"stage": "string", "method": "string"})


def _pipeline_at(deals_scope: pd.DataFrame, closed_before: pd.DataFrame, open_at: pd.DataFrame,
                 origin: pd.Period, horizon: int, stage_p: dict | None,
                 keep_own_amount: bool, amt: np.ndarray | None = None,
                 per_deal: bool = False, expected: bool = False) -> np.ndarray:
    """Expected bookings (USD) per month ``origin .. origin+horizon-1`` from ``open_at``
    (``amt``: the open deals' values when the caller computed them already; ``per_deal``:
    one row per open deal instead of the sum; ``expected``: time a deal by its own expected
    close date (``close_date`` of an open deal) when that is on or after the origin - only for
    the live forecast: in the backtest a closed deal's close date is its outcome)."""
    out = np.zeros((len(open_at), horizon)) if per_deal else np.zeros(horizon)
    if open_at.empty:
        return out
    n_won = int((closed_before["status"] == "won").sum())
    p0 = n_won / len(closed_before) if len(closed_before) else 0.0
    won_c, lost_c = _age_model(closed_before)
    start = origin.start_time
    ages = (start - open_at["created_date"]).dt.days.to_numpy(dtype=float, na_value=np.nan)
    p_age = _p_win_by_age(ages, won_c, lost_c, p0)
    if stage_p is not None:
        p = open_at["stage"].map(stage_p).astype(float).fillna(p0).to_numpy()
    else:
        p = p_age
    if amt is None:
        by_product, overall = _amount_lookup(closed_before)
        amt = _impute_amount(open_at, by_product, overall, keep_own_amount)
    month_starts = pd.period_range(origin, periods=horizon + 1, freq="M").start_time
    bounds = np.asarray((month_starts - start).days, dtype=float)
    share = _close_month_shares(ages, won_c, bounds)
    if expected:
        # the deal's own expected close month when it is still ahead (else: learned timing)
        exp = open_at["close_date"].to_numpy(dtype="datetime64[ns]")
        ahead = ~np.isnat(exp) & (exp >= np.datetime64(start))
        k = np.searchsorted(month_starts.to_numpy(), exp[ahead], side="right") - 1
        one = np.zeros((int(ahead.sum()), horizon))
        inside = k < horizon
        one[np.flatnonzero(inside), k[inside]] = 1.0
        share[ahead] = one
    return (p * amt)[:, None] * share if per_deal else (p * amt) @ share


def pipeline_forecast(data: Dataset, scope: Scope | str = "company", horizon: int = 12,
                      stage_order: list[str] | None = None,
                      stage_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pipeline-weighted forecast of the deals open at ``as_of``.

    Each open deal contributes ``P(won) x value`` (USD), spread over its likely close months:
    - ``P(won)``: :func:`stage_probabilities` when its method is ``lost-at-stage``, else the
      age-conditioned win rate ``W(a)/(W(a)+L(a))`` among closed deals whose cycle exceeded the
      deal's age ``a`` (days since created; 0 if unknown), shrunk toward the overall win rate;
    - value: the deal's own amount when > 0, else the mean won amount of its product, else of
      all won deals in scope;
    - timing: the value is spread over the months in which the won deals that took longer than
      the deal's current age ``a`` closed (their cycle minus ``a``, counted from the first
      forecast month); deals older than every won deal go to the first month (with the
      age-conditioned method their P is 0 anyway).
    Returns ``month, pipeline`` (USD) for the ``horizon`` months after :func:`history_end`.
    ``stage_table``: :func:`stage_probabilities` of the scope when already computed.
    """
    scope = parse_scope(scope)
    d = scope.filter(data.deals)
    origin = history_end(data) + 1
    months = pd.period_range(origin, periods=horizon, freq="M")
    closed = d[d["status"].isin(["won", "lost"]) & d["close_date"].notna()]
    open_ = d[d["status"] == "open"]
    sp = stage_probabilities(data, scope, stage_order) if stage_table is None else stage_table
    stage_p = (dict(zip(sp["stage"], sp["p_win"])) if len(sp) and
               sp["method"].iloc[0] == "lost-at-stage" else None)
    vals = _pipeline_at(d, closed, open_, origin, horizon, stage_p, keep_own_amount=True,
                        expected=True)
    return pd.DataFrame({"month": months, "pipeline": vals})


#: derived forecast categories: P(won) band lower bounds (commit >= 70%, best case >= 40%)
CATEGORY_BANDS = (("commit", 0.70), ("best case", 0.40), ("pipeline", 0.0))


def _deal_p_win(data: Dataset, d: pd.DataFrame, stage_order: list[str] | None,
                sp: pd.DataFrame) -> np.ndarray:
    """P(won) of each open deal of ``d`` as :func:`pipeline_forecast` uses it."""
    open_ = d[d["status"] == "open"]
    closed = d[d["status"].isin(["won", "lost"]) & d["close_date"].notna()]
    n_won = int((closed["status"] == "won").sum())
    p0 = n_won / len(closed) if len(closed) else 0.0
    if len(sp) and sp["method"].iloc[0] == "lost-at-stage":
        return open_["stage"].map(dict(zip(sp["stage"], sp["p_win"]))).astype(float) \
            .fillna(p0).to_numpy()
    won_c, lost_c = _age_model(closed)
    age = (pd.Timestamp(data.as_of) - open_["created_date"]).dt.days.to_numpy(
        dtype=float, na_value=np.nan)
    return _p_win_by_age(age, won_c, lost_c, p0)


def forecast_categories(data: Dataset, scope: Scope | str = "company",
                        stage_order: list[str] | None = None) -> pd.DataFrame:
    """Open pipeline by forecast category: ``category, deals, value`` (USD, own amounts),
    ``expected`` (sum of P(won) x value, values imputed as in :func:`pipeline_forecast`),
    ``basis``. Categories come from the source's ``forecast_category`` column when it has one
    (``source``), else from each deal's P(won) in :data:`CATEGORY_BANDS` (``derived``:
    commit >= 70%, best case 40-70%, pipeline < 40%)."""
    scope = parse_scope(scope)
    d = scope.filter(data.deals)
    open_ = d[d["status"] == "open"]
    cols = ["category", "deals", "value", "expected", "basis"]
    if open_.empty:
        return pd.DataFrame({c: pd.Series(dtype="string" if c in ("category", "basis")
                                          else "float64") for c in cols})
    sp = stage_probabilities(data, scope, stage_order)
    p = _deal_p_win(data, d, stage_order, sp)
    closed = d[d["status"].isin(["won", "lost"]) & d["close_date"].notna()]
    by_product, overall = _amount_lookup(closed)
    amt = _impute_amount(open_, by_product, overall, keep_own=True)
    src = open_["forecast_category"] if "forecast_category" in open_.columns else None
    if src is not None and src.notna().any():
        cat = src.astype(object).fillna("(none)").astype(str).str.strip().str.lower()
        basis = "source"
    else:
        cat = pd.Series(np.select([p >= b for _, b in CATEGORY_BANDS[:-1]],
                                  [c for c, _ in CATEGORY_BANDS[:-1]], "pipeline"),
                        index=open_.index)
        basis = "derived from P(won): commit >= 70%, best case 40-70%, pipeline < 40%"
    f = pd.DataFrame({"category": cat.to_numpy(), "value": open_["amount"].fillna(0).to_numpy(
        float), "expected": p * amt})
    g = f.groupby("category", sort=False).agg(deals=("value", "size"), value=("value", "sum"),
                                              expected=("expected", "sum"))
    order = [c for c, _ in CATEGORY_BANDS]
    g = g.reindex(sorted(g.index, key=lambda c: (order.index(c) if c in order else 9, c)))
    g = g.reset_index()
    g["basis"] = basis
    return g[cols].astype({"category": "string", "basis": "string"})


# --------------------------------------------------------------------------- ETS, fitted once
@dataclass(frozen=True)
class EtsSpec:
    """An ETS model fitted once (kind, smoothing parameters, initial states); applying it to a
    longer history only re-runs the filter (about 3 ms instead of 300 ms per fit)."""

    kind: str  # "mul" / "add" (seasonal, trend additive), "holt" (damped trend), "mean"
    params: dict
    method: str


def ets_spec(history: pd.Series | np.ndarray) -> EtsSpec:
    """Fit the :func:`ets_forecast` model of ``history`` and keep its parameters."""
    y = np.asarray(history, dtype=float)
    n = len(y)
    if n < 4 or np.allclose(y, y[0]):
        return EtsSpec("mean", {}, f"mean of the months before the forecast ({n} at the fit)")
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if n >= 24:
            best = None
            for kind in (["add"] if (y <= 0).any() else ["mul", "add"]):
                try:
                    fit = ExponentialSmoothing(y, trend="add", seasonal=kind, seasonal_periods=12,
                                               initialization_method="heuristic").fit(use_brute=False)
                except (ValueError, np.linalg.LinAlgError):
                    continue
                if np.isfinite(fit.forecast(12)).all() and (best is None or fit.aic < best[0]):
                    best = (fit.aic, fit, kind)
            if best is not None:
                p = best[1].params
                return EtsSpec(best[2], {k: p[k] for k in (
                    "smoothing_level", "smoothing_trend", "smoothing_seasonal", "initial_level",
                    "initial_trend", "initial_seasons")},
                    f"ETS additive trend, {'multiplicative' if best[2] == 'mul' else 'additive'}"
                    " seasonality")
        try:
            fit = ExponentialSmoothing(y, trend="add", damped_trend=True,
                                       initialization_method="estimated").fit(use_brute=False)
            if np.isfinite(fit.forecast(12)).all():
                p = fit.params
                return EtsSpec("holt", {k: p[k] for k in (
                    "smoothing_level", "smoothing_trend", "damping_trend", "initial_level",
                    "initial_trend")}, f"Holt damped additive trend, no seasonality ({n} months "
                    "at the fit < 24)" if n < 24 else "Holt damped trend (seasonal fit failed)")
        except (ValueError, np.linalg.LinAlgError):
            pass
    return EtsSpec("mean", {}, "mean of the months before the forecast (ETS failed)")


def ets_apply(spec: EtsSpec, history: pd.Series | np.ndarray, horizon: int) -> np.ndarray:
    """Forecast ``horizon`` months after ``history`` with the fixed parameters of ``spec``
    (clipped at 0). The history must start where the fitted one started."""
    y = np.asarray(history, dtype=float)
    if spec.kind == "mean" or len(y) < 2:
        return np.full(horizon, max(float(y.mean()), 0.0) if len(y) else 0.0)
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    p = spec.params
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if spec.kind == "holt":
                m = ExponentialSmoothing(y, trend="add", damped_trend=True,
                                         initialization_method="known",
                                         initial_level=p["initial_level"],
                                         initial_trend=p["initial_trend"])
                fit = m.fit(optimized=False, smoothing_level=p["smoothing_level"],
                            smoothing_trend=p["smoothing_trend"],
                            damping_trend=p["damping_trend"])
            else:
                if spec.kind == "mul" and (y <= 0).any():
                    return ets_forecast(y, horizon)[0]
                m = ExponentialSmoothing(y, trend="add", seasonal=spec.kind, seasonal_periods=12,
                                         initialization_method="known",
                                         initial_level=p["initial_level"],
                                         initial_trend=p["initial_trend"],
                                         initial_seasonal=p["initial_seasons"])
                fit = m.fit(optimized=False, smoothing_level=p["smoothing_level"],
                            smoothing_trend=p["smoothing_trend"],
                            smoothing_seasonal=p["smoothing_seasonal"])
            fc = np.asarray(fit.forecast(horizon), dtype=float)
        except (ValueError, np.linalg.LinAlgError):
            return ets_forecast(y, horizon)[0]
    if not np.isfinite(fc).all():
        return ets_forecast(y, horizon)[0]
    return np.clip(fc, 0, None)


def drift_forecast(history: pd.Series | np.ndarray, horizon: int) -> tuple[np.ndarray, str]:
    """Growth-aware seasonal naive: :func:`seasonal_naive` x trailing growth ``g = sum(last 12
    months) / sum(the 12 before)``, clipped to 0.5..2 and damped by half per year ahead
    (``g ** (1 + 0.5 x floor((h - 1) / 12))``, so month 13+ grows by a further half step).
    With < 24 months it is the seasonal naive itself (no growth can be measured)."""
    y = np.asarray(history, dtype=float)
    base, method = seasonal_naive(y, horizon)
    if len(y) < 24 or y[-24:-12].sum() <= 0:
        return base, method + " (no drift: < 24 months)"
    g = float(np.clip(y[-12:].sum() / y[-24:-12].sum(), 0.5, 2.0))
    years = np.arange(horizon) // 12
    return base * g ** (1 + 0.5 * years), f"seasonal naive x trailing growth {g:.3f}"


def seasonal_shape(company: pd.Series | np.ndarray) -> np.ndarray:
    """The company's seasonal shape: for each of the last 12 calendar months, its mean share of
    the 12-month total over every full 12-month window ending at the history's end, one, two
    ... years back (windows with no bookings skipped). ``shape[i]`` belongs to month
    ``n - 12 + i``; sums to 1. Needs 12 months (else uniform 1/12)."""
    c = np.asarray(company, dtype=float)
    n = len(c)
    win = [c[n - 12 * (j + 1): n - 12 * j] for j in range(n // 12)]
    win = [w / w.sum() for w in win if w.sum() > 0]
    return np.mean(win, axis=0) if win else np.full(12, 1 / 12)


def company_growth(company: pd.Series | np.ndarray) -> float:
    """Trailing growth of the company ``sum(last 12) / sum(12 before)``, clipped to 0.5..2;
    1 with fewer than 24 months."""
    c = np.asarray(company, dtype=float)
    if len(c) < 24 or c[-24:-12].sum() <= 0:
        return 1.0
    return float(np.clip(c[-12:].sum() / c[-24:-12].sum(), 0.5, 2.0))


def pooled_forecast(history: pd.Series | np.ndarray, horizon: int,
                    company: pd.Series | np.ndarray, start: int = 0
                    ) -> tuple[np.ndarray, str]:
    """Pooled seasonal forecast: the scope's own level, the company's shape and growth.

    ``F[h] = sum(scope's last 12 months) x shape[h mod 12] x g ** (1 + 0.5 floor(h / 12))``
    for ``h = start .. start + horizon - 1`` (0 = the month after history), ``shape`` =
    :func:`seasonal_shape` of the company (averaged over every year, so one lumpy month does
    not repeat), ``g`` = :func:`company_growth` (damped by half per further year, as the
    drift). A region's own seasonality and growth are noisy; the company's are pooled over
    all of them. ``company`` must end where ``history`` ends. With < 12 months: plain naive."""
    y = np.asarray(history, dtype=float)
    c = np.asarray(company, dtype=float)
    if len(y) < 12 or len(c) < 12:
        base, m = seasonal_naive(y, start + horizon)
        return base[start:], m + " (no pooled shape: < 12 months)"
    hh = np.arange(start, start + horizon)
    g = company_growth(c)
    f = y[-12:].sum() * seasonal_shape(c)[hh % 12] * g ** (1 + 0.5 * (hh // 12))
    return f, (f"scope's last 12 months x the company's seasonal shape ({len(c) // 12} years) "
               f"x company growth {g:.3f}")


# --------------------------------------------------------------------------- backtest
def _errors(f: np.ndarray, a: np.ndarray) -> dict:
    f, a = np.asarray(f, float), np.asarray(a, float)
    pos = a > 0
    wape = float(np.abs(f - a).sum() / a.sum()) if a.sum() > 0 else np.nan
    mape = float(np.mean(np.abs(f[pos] - a[pos]) / a[pos])) if pos.any() else np.nan
    return {"wape": wape, "mape": mape, "bias": float((f - a).sum() / a.sum())
            if a.sum() > 0 else np.nan, "n": int(len(a))}


_PIPE_COLS = ("status", "stage", "created_date", "close_date", "amount", "product_id")
COMPONENTS = ("baseline", "drift", "model", "pipeline", "pooled")
COMBO = ("drift", "model", "pooled")  # the equal-weight combination's members
METHODS = (*COMPONENTS, "blend", "combo")
BUCKETS = ((1, 3), (4, 6), (7, 12), (13, 18), (19, 24))  # months ahead sharing weights
MAX_HORIZON = 24
BIAS_CLIP = (0.67, 1.5)
#: pseudo-years of "no bias" a measured bias is shrunk toward when the company's growth spread
#: cannot be measured (< 25 months): ``k = sigma^2 / tau^2`` with a year's growth surprise
#: sigma ~ 15% and a method's own bias tau ~ 5% (see :func:`bias_prior_years`)
BIAS_PRIOR_YEARS = 9.0
METHOD_BIAS_SD = 0.05  # tau: the spread of a method's persistent bias (fraction)
LEVELS = (0.80, 0.95)
MIN_INTERVAL_ROWS = 24  # backtest ratios behind each months-ahead interval

@functools.cache
def _grid() -> np.ndarray:
    """Every weight vector over :data:`COMPONENTS` on a 0.1 grid summing to 1 (built on first
    use: ~0.1 s that a command not forecasting should not pay at import)."""
    return np.array([w for w in itertools.product(np.round(np.arange(0, 1.01, 0.1), 1),
                                                  repeat=len(COMPONENTS))
                     if abs(sum(w) - 1) < 1e-9])


def bucket_of(h: int | np.ndarray) -> np.ndarray:
    """Index in :data:`BUCKETS` of months-ahead ``h`` (beyond 24: the last)."""
    h = np.asarray(h)
    edges = np.array([b[1] for b in BUCKETS])
    return np.minimum(np.searchsorted(edges, h, side="left"), len(BUCKETS) - 1)


def _best_weights(F: np.ndarray, a: np.ndarray, use: np.ndarray | None = None) -> np.ndarray:
    """Grid weights over :data:`COMPONENTS` (0.1 steps, sum 1) minimising the absolute error
    of rows ``F`` (n x 4) against ``a``; components not in ``use`` get weight 0."""
    grid = _grid() if use is None else _grid()[(_grid()[:, ~use] == 0).all(axis=1)]
    if not len(a) or a.sum() <= 0:
        w = np.zeros(len(COMPONENTS))
        w[COMPONENTS.index("model")] = 1.0
        return w
    err = np.abs(F @ grid.T - a[:, None]).sum(axis=0)
    return grid[int(np.argmin(err))]


def growth_spread(history: np.ndarray) -> float:
    """Standard deviation of the log year-on-year growth of rolling 12-month bookings
    (``log(sum(y[t-11..t]) / sum(y[t-23..t-12]))`` for every month ``t`` with 24 months
    before it); NaN with fewer than 25 months or no bookings."""
    y = np.asarray(history, dtype=float)
    if len(y) < 25:
        return float("nan")
    c = np.convolve(y, np.ones(12), "valid")
    prev, cur = c[:-12], c[12:]
    ok = (prev > 0) & (cur > 0)
    return float(np.std(np.log(cur[ok] / prev[ok]))) if ok.sum() >= 2 else float("nan")


def bias_prior_years(company: np.ndarray) -> float:
    """``k`` of :func:`_bias_factor`: ``(sigma / tau)^2``, sigma = the company's
    :func:`growth_spread` (clipped to 2%..50%), tau = :data:`METHOD_BIAS_SD`. A company whose
    growth has been steady (demo: sigma 2%, k 0.2) has backtest biases that persist and get
    corrected; one whose growth jumps (Superstore: sigma 10%, k 3.9) has biases that are
    mostly one year's surprise. :data:`BIAS_PRIOR_YEARS` (sigma 15%) below 25 months."""
    sg = growth_spread(company)
    if not np.isfinite(sg):
        return BIAS_PRIOR_YEARS
    return float(np.clip(sg, 0.02, 0.5) / METHOD_BIAS_SD) ** 2


def _bias_factor(f: np.ndarray, a: np.ndarray, years: float, k: float | None = None) -> float:
    """Multiplicative bias correction ``c = sum A / sum F``, shrunk toward 1 by
    ``years / (years + k)`` and clipped to :data:`BIAS_CLIP`; 1 without data. ``years`` is
    the evidence: the distinct actual months behind ``f`` / 12 (overlapping origins share
    their actuals, so twelve origins over one year of actuals are one year of evidence);
    ``k`` (:func:`bias_prior_years`, default :data:`BIAS_PRIOR_YEARS`) says how much of a
    year's bias is that year's surprise rather than the method's: the empirical-Bayes weight
    of ``years`` observations with noise sigma around a bias of spread tau."""
    if f.sum() <= 0 or a.sum() <= 0 or years <= 0:
        return 1.0
    c = a.sum() / f.sum()
    k = BIAS_PRIOR_YEARS if k is None else k
    return float(np.clip(1 + (c - 1) * years / (years + k), *BIAS_CLIP))


def combo(drift: np.ndarray, model: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """Equal-weight combination of the statistical forecasts ``(drift + model + pooled) / 3``
    (USD per month). Fixed weights: with a few years of history, weights fitted on the
    backtest chase its noise, and the plain average of different models is the hard-to-beat
    benchmark of the forecasting competitions (M3/M4)."""
    return (np.asarray(drift, float) + np.asarray(model, float)
            + np.asarray(pooled, float)) / 3


def _ratio_quantiles(f: np.ndarray, a: np.ndarray, h: np.ndarray,
                     horizons: np.ndarray) -> np.ndarray:
    """Empirical interval factors per months-ahead: for each ``horizons[k]`` the 2.5/10/90/97.5%
    quantiles (finite-sample corrected, :func:`_levels`) of ``A / F`` over rows within one month
    of it (``F > 0``), the window widened a month at a time until it holds
    :data:`MIN_INTERVAL_ROWS` rows (a 12-month-ahead quantile from three ratios is noise),
    made to widen with the
    horizon (isotonic fit: lower factors non-increasing, upper non-decreasing, weighted by the
    rows behind each). The ratios centre on the backtest's residual bias ``rho = sum A /
    sum F`` that the point forecast deliberately does not fully correct (a bias seen over a
    year or two is shrunk, :func:`_bias_factor`); the bounds cover both cases, the bias being
    real or not: lower factors x ``min(1, 1 / rho)``, upper x ``max(1, 1 / rho)``.
    Shape (k, 4)."""
    out = np.full((len(horizons), 4), np.nan)
    ok = f > 0
    r = np.where(ok, a / np.where(ok, f, 1), np.nan)
    h = np.asarray(h)
    cnt = np.ones(len(horizons))
    for k, hh in enumerate(horizons):
        w = 1
        sel = ok & (np.abs(h - hh) <= w)
        while sel.sum() < min(MIN_INTERVAL_ROWS, ok.sum()):
            w += 1
            sel = ok & (np.abs(h - hh) <= w)
        cnt[k] = max(int(sel.sum()), 1)
        if sel.sum() >= 3:
            out[k] = np.quantile(r[sel], _levels(int(sel.sum())))
    # no rows at a horizon: the nearest earlier one; none at all: no interval (NaN)
    for k in range(1, len(horizons)):
        if np.isnan(out[k]).any():
            out[k] = out[k - 1]
    fin = np.isfinite(out).all(axis=1)
    if fin.any():
        for j in range(4):  # lower factors non-increasing, upper non-decreasing (isotonic)
            sign = -1.0 if j < 2 else 1.0
            out[fin, j] = sign * _isotonic(sign * out[fin, j], cnt[fin])
    if ok.any() and a[ok].sum() > 0:
        rho = float(a[ok].sum() / f[ok].sum())
        out[:, :2] *= min(1.0, 1 / rho)
        out[:, 2:] *= max(1.0, 1 / rho)
    return out


def _levels(n: int) -> list[float]:
    """Quantile levels for 95% / 80% intervals from ``n`` ratios, with the split-conformal
    finite-sample correction: an upper level ``p`` becomes ``min(1, (n + 1) p / n)`` and a lower
    ``1 - p`` becomes ``max(0, 1 - (n + 1) p / n)`` (plain 2.5/10/90/97.5% quantiles of a few
    backtest months cover less than they say)."""
    hi = [min(1.0, (n + 1) * p / n) for p in (0.975, 0.90)]
    return [max(0.0, 1 - hi[0]), max(0.0, 1 - hi[1]), hi[1], hi[0]]


def _isotonic(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Non-decreasing least-squares fit of ``v`` with weights ``w`` (pool adjacent
    violators): a noisy wide month does not widen every later month as a running max would."""
    blocks: list[list[float]] = []  # [value, weight, count]
    for x, wt in zip(v, w, strict=True):
        blocks.append([float(x), float(max(wt, 1e-9)), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            b2, b1 = blocks.pop(), blocks.pop()
            wt2 = b1[1] + b2[1]
            blocks.append([(b1[0] * b1[1] + b2[0] * b2[1]) / wt2, wt2, b1[2] + b2[2]])
    return np.concatenate([np.full(b[2], b[0]) for b in blocks])


@dataclass
class Backtest:
    """Rolling-origin backtest at the horizon of use.

    ``rows``: origin, month, horizon (months ahead), actual and one column per method (USD);
    ``blend`` and ``forecast`` (the selected method after bias correction) and its interval
    columns ``lo80 hi80 lo95 hi95`` are scored leave-one-origin-out (weights, bias factor and
    interval factors learned on the other origins). ``errors``: method, wape, mape, bias, n
    (plus ``forecast``, and for it ``cover80`` / ``cover95``: share of actuals inside).
    ``weights``: blend weights per :data:`BUCKETS` index; ``selected``: the method with the
    lowest WAPE; ``bias_factor``: its correction; ``factors``: interval factors per months
    ahead (1..horizon) as rows ``[q2.5, q10, q90, q97.5]`` of ``A / F``.
    """

    rows: pd.DataFrame
    errors: pd.DataFrame
    weights: dict[int, dict[str, float]]
    selected: str = "model"
    bias_factor: float = 1.0
    factors: np.ndarray = field(default_factory=lambda: np.full((0, 4), np.nan))
    totals: pd.DataFrame = field(default_factory=pd.DataFrame)
    note: str = ""
    use_from: int = 1

    @property
    def by_horizon(self) -> pd.DataFrame:
        """Errors per months-ahead step: horizon, method, wape, mape, bias, n."""
        ms = [m for m in (*METHODS, "forecast") if m in self.rows.columns]
        out = [{"horizon": int(h), "method": m, **_errors(g[m], g["actual"])}
               for h, g in self.rows.groupby("horizon") for m in ms]
        return pd.DataFrame(out, columns=["horizon", "method", "wape", "mape", "bias", "n"])

    def factor(self, step: int) -> np.ndarray:
        """Interval factors for ``step`` months ahead (the last backtested beyond it)."""
        if not len(self.factors):
            return np.full(4, np.nan)
        return self.factors[min(step, len(self.factors)) - 1]


def _origins(n: int, n_origins: int, horizon: int, min_train: int | None) -> list[int]:
    """Origins (index of the first forecast month): every month from ``min_train`` (default 24
    months, fewer when the history is short) to the last, at most ``n_origins + horizon - 1``
    of them (the last ``n_origins`` with a full horizon and the later, partial ones)."""
    if min_train is None:
        min_train = 24 if n >= 30 else max(3, min(12, n - 6))
    first = max(min_train, n - horizon - n_origins + 1)
    return list(range(first, n))


def backtest(data: Dataset, scope: Scope | str = "company", n_origins: int | None = None,
             horizon: int = 12, min_train: int | None = None,
             spec: EtsSpec | None = None, use_from: int = 1) -> Backtest:
    """Rolling-origin backtest of every method for ``scope`` at ``horizon`` months ahead (see
    module doc). ``n_origins`` (default :data:`N_ORIGINS`) origins with a full horizon, plus
    the later ones with a partial horizon. ETS: one fit (``spec``, else :func:`ets_spec` of the
    months before the first origin) re-run at every origin when that fit saw 24+ months;
    with a shorter history it is refitted at every origin (cheap non-seasonal fits).
    ``use_from``: the first month ahead the forecast is used for (a 2027 plan made in June
    2026 uses months 7-18): origins need that many months of actuals after them, and the
    errors, the selection and the bias correction are measured on months ``use_from`` ahead
    and later."""
    n_origins = N_ORIGINS if n_origins is None else n_origins
    if n_origins < 1 or horizon < 1 or (min_train is not None and min_train < 1):
        raise ConfigError("backtest needs n_origins, horizon and min_train >= 1")
    scope = parse_scope(scope)
    y = monthly_bookings(data, scope)
    d = scope.filter(data.deals)[list(_PIPE_COLS)]
    use_from = max(1, min(use_from, horizon))
    origins = [o for o in _origins(len(y), n_origins, horizon, min_train)
               if len(y) - o >= use_from]
    yv = y.to_numpy()
    yc = yv if scope.level == "company" else monthly_bookings(data).to_numpy()
    if origins and spec is None:
        spec = ets_spec(yv[:origins[0]])
    refit = bool(origins) and origins[0] < 24
    cols = ["origin", "month", "horizon", "actual", *COMPONENTS]
    rows = []
    closed_all = d[d["status"].isin(["won", "lost"]) & d["close_date"].notna()]
    created = d["created_date"]
    # deal values at each origin: mean won amount of the product among deals closed before it
    # (else of all of them), from arrays built once
    codes, _ = pd.factorize(d["product_id"].astype(object), use_na_sentinel=True)
    no_product = codes < 0
    codes = np.where(no_product, 0, codes)
    n_codes = int(codes.max(initial=0)) + 1
    amount = d["amount"].to_numpy(dtype=float, na_value=np.nan)
    won_pos = ((d["status"] == "won").to_numpy() & np.isfinite(amount) & (amount > 0)
               & ~no_product)
    overall_pos = (d["status"] == "won").to_numpy() & np.isfinite(amount) & (amount > 0)
    close = d["close_date"].to_numpy()
    created_v = created.to_numpy()
    is_open = (d["status"] == "open").to_numpy()
    for oi in origins:
        o = y.index[oi]
        h = min(horizon, len(y) - oi)
        hist = yv[:oi]
        base, _ = seasonal_naive(hist, h)
        drift, _ = drift_forecast(hist, h)
        pooled, _ = pooled_forecast(hist, h, yc[:oi])
        model = ets_forecast(hist, h)[0] if refit else ets_apply(spec, hist, h)
        t0 = o.start_time
        closed_b = closed_all[closed_all["close_date"] < t0]
        t0v = np.datetime64(t0)
        m_open = (created_v < t0v) & ((close >= t0v) | is_open)
        open_at = d[m_open]
        before = close < t0v
        wb = won_pos & before
        ob = overall_pos & before
        overall = float(amount[ob].mean()) if ob.any() else 0.0
        sums = np.bincount(codes[wb], weights=amount[wb], minlength=n_codes)
        cnts = np.bincount(codes[wb], minlength=n_codes)
        means = np.where(cnts > 0, sums / np.maximum(cnts, 1), overall)
        pos = np.flatnonzero(m_open)
        amt = np.where(no_product[pos], overall, means[codes[pos]])
        pipe = _pipeline_at(d, closed_b, open_at, o, h, None, keep_own_amount=False, amt=amt)
        for k in range(h):
            rows.append((str(o), str(y.index[oi + k]), k + 1, float(yv[oi + k]),
                         base[k], drift[k], model[k], pipe[k], pooled[k]))
    bt = pd.DataFrame(rows, columns=cols)
    if bt.empty:
        note = (f"{scope.label}: {len(y)} months of history; too short for a backtest")
        for c in ("blend", "forecast", "lo80", "hi80", "lo95", "hi95"):
            bt[c] = pd.Series(dtype=float)
        errors = pd.DataFrame({"method": [*METHODS, "forecast"], "wape": np.nan,
                               "mape": np.nan, "bias": np.nan, "n": 0})
        return Backtest(bt, errors, {}, note=note, use_from=use_from)
    F = bt[list(COMPONENTS)].to_numpy()
    a = bt["actual"].to_numpy()
    hz = bt["horizon"].to_numpy()
    bk = bucket_of(hz)
    org = bt["origin"].to_numpy()
    uniq = list(dict.fromkeys(org))

    def fit_weights(mask: np.ndarray) -> dict[int, np.ndarray]:
        return {b: _best_weights(F[mask & (bk == b)], a[mask & (bk == b)])
                for b in np.unique(bk)}

    # blend scored leave-one-origin-out
    blend = np.zeros(len(bt))
    for o in uniq:
        mo = org == o
        w = fit_weights(~mo)
        for b in np.unique(bk[mo]):
            m = mo & (bk == b)
            blend[m] = F[m] @ w[b]
    bt["blend"] = blend
    bt["combo"] = combo(*(bt[c].to_numpy() for c in COMBO))
    used = hz >= use_from
    month = bt["month"].to_numpy()

    def years(mask: np.ndarray) -> float:
        return len(set(month[mask])) / 12
    errs = {m: _errors(bt.loc[used, m], a[used]) for m in METHODS}
    selected = min(METHODS, key=lambda m: (np.nan_to_num(errs[m]["wape"], nan=np.inf),
                                           METHODS.index(m)))
    sel = bt[selected].to_numpy()
    kprior = bias_prior_years(yc)
    # bias correction and intervals of the selected method, leave-one-origin-out
    fc = np.zeros(len(bt))
    bands = np.full((len(bt), 4), np.nan)
    hmax = int(hz.max())
    for o in uniq:
        mo = org == o
        c = _bias_factor(sel[~mo & used], a[~mo & used], years(~mo & used), kprior)
        fc[mo] = sel[mo] * c
        q = _ratio_quantiles(sel[~mo] * c, a[~mo], hz[~mo], np.arange(1, hmax + 1))
        bands[mo] = fc[mo, None] * q[hz[mo] - 1]
    bt["forecast"] = fc
    for j, c in enumerate(("lo95", "lo80", "hi80", "hi95")):
        bt[c] = bands[:, j]
    e = _errors(fc[used], a[used])
    inside = np.isfinite(bands).all(axis=1) & used
    e["cover80"] = float(((a >= bands[:, 1]) & (a <= bands[:, 2]))[inside].mean()) \
        if inside.any() else np.nan
    e["cover95"] = float(((a >= bands[:, 0]) & (a <= bands[:, 3]))[inside].mean()) \
        if inside.any() else np.nan
    errors = pd.DataFrame([{"method": m, **errs[m]} for m in METHODS] + [
        {"method": "forecast", **e}])
    w_all = fit_weights(np.ones(len(bt), bool))
    weights = {int(b): dict(zip(COMPONENTS, map(float, w))) for b, w in w_all.items()}
    bias = _bias_factor(sel[used], a[used], years(used), kprior)
    factors = _ratio_quantiles(sel * bias, a, hz, np.arange(1, hmax + 1))
    full = bt.groupby("origin").filter(lambda g: len(g) == horizon)
    totals = (full.groupby("origin")[["actual", *METHODS, "forecast"]].sum().reset_index()
              if len(full) else pd.DataFrame())
    note = (f"{scope.label}: {len(y)} months of history, {len(uniq)} origins "
            f"({len(totals)} with all {horizon} months ahead), errors on months {use_from}-"
            f"{horizon} ahead, ETS parameters fitted on the {origins[0]} months before the "
            "first origin")
    return Backtest(bt, errors, weights, selected, bias, factors, totals, note, use_from)


def blend_weights(bt: Backtest, step: int, pipeline: bool = True) -> dict[str, float]:
    """Blend weights for forecast month ``step`` (1 = first month ahead): the backtest's
    weights for its :data:`BUCKETS` entry (the last backtested one beyond). ``pipeline=False``
    (no open deals, the pipeline component is all zeros) re-fits them without the pipeline,
    so it gets weight 0."""
    if not bt.weights:
        return {c: float(c == "model") for c in COMPONENTS}
    b = int(bucket_of(step))
    b = b if b in bt.weights else max(k for k in bt.weights if k <= b) \
        if any(k <= b for k in bt.weights) else min(bt.weights)
    if pipeline:
        return dict(bt.weights[b])
    rows = bt.rows[bucket_of(bt.rows["horizon"].to_numpy()) == b]
    use = np.array([c != "pipeline" for c in COMPONENTS])
    w = _best_weights(rows[list(COMPONENTS)].to_numpy(), rows["actual"].to_numpy(), use)
    return dict(zip(COMPONENTS, map(float, w)))


# --------------------------------------------------------------------------- forecast
N_ORIGINS = 12  # origins with a full horizon in the default backtest


@dataclass
class ForecastResult:
    """``table``: month, actual, one column per method, ``forecast`` (the method the backtest
    selected, bias-corrected) and its ``lo80 hi80 lo95 hi95`` interval (USD per month) for the
    forecast months; ``backtest``: :class:`Backtest`; ``methods``: what each column used;
    ``total``: the period's actual-to-date + forecast (``point``, ``lo80`` ... ``hi95``, USD)."""

    scope: Scope
    table: pd.DataFrame
    backtest: Backtest
    methods: dict[str, str] = field(default_factory=dict)
    note: str = ""
    selected: str = "model"
    total: dict = field(default_factory=dict)
    #: when the forecast is reconciled: ``method``, ``base`` (the unreconciled forecast per
    #: forecast month, USD), ``base_total``, ``errors`` (its backtest WAPE/bias/coverage)
    reconciliation: dict = field(default_factory=dict)

    @property
    def weights(self) -> dict[int, dict[str, float]]:
        return self.backtest.weights

    def accuracy(self) -> pd.DataFrame:
        """The track record: backtest WAPE, bias and interval coverage of each method beside
        the seasonal-naive baseline (``vs_baseline`` = WAPE / baseline WAPE)."""
        e = self.backtest.errors.copy()
        base = e.loc[e["method"] == "baseline", "wape"]
        rec = self.reconciliation.get("errors")
        if rec:
            e = pd.concat([e, pd.DataFrame([{"method": "reconciled", **rec}])],
                          ignore_index=True)
        e["vs_baseline"] = e["wape"] / float(base.iloc[0]) if len(base) and \
            base.iloc[0] > 0 else np.nan
        return e


def forecast(data: Dataset, scope: Scope | str = "company", period: Period | str | None = None,
             horizon: int = 12, n_origins: int | None = None,
             backtest_horizon: int | None = None,
             stage_order: list[str] | None = None, reconcile: bool = True) -> ForecastResult:
    """Monthly bookings forecast for ``scope``: every method, the backtest's choice
    (``forecast``) with its bias correction and empirical 80%/95% intervals.

    ``reconcile`` (default): a company, region or territory of the data's hierarchy
    (:func:`salesplan_nb.steps.reconcile.hierarchy`) gets the reconciled forecast
    (:func:`hierarchy_forecast`: territories add up to their region, regions to the company;
    ``reconciliation`` says how), computed once for every node of the hierarchy. Other scopes
    with a short or sparse history (:func:`is_small`) get :func:`forecast_many`'s forecast
    (their own history shrunk toward the company's method)."""
    scope = parse_scope(scope)
    if reconcile and scope.level in ("company", "region", "territory"):
        hf = hierarchy_forecast(data, period, horizon, n_origins, backtest_horizon,
                                stage_order)
        if hf is not None and hf.hierarchy.index(scope) is not None:
            return hf.result(scope)
    if reconcile and is_small(data, scope):
        return _small_forecast(data, scope, period, horizon)
    return _base_forecast(data, scope, period, horizon, n_origins, backtest_horizon,
                          stage_order)


def _base_forecast(data: Dataset, scope: Scope | str = "company",
                   period: Period | str | None = None, horizon: int = 12,
                   n_origins: int | None = None, backtest_horizon: int | None = None,
                   stage_order: list[str] | None = None) -> ForecastResult:
    """The scope's own (unreconciled) forecast: see :func:`forecast`.

    Forecast months: ``period``'s months after :func:`history_end` if ``period`` is given
    (months already closed show ``actual``), else the ``horizon`` months after history. The
    backtest forecasts as far ahead as used (``backtest_horizon``, default: the last forecast
    month's distance, at most 24) from :data:`N_ORIGINS` origins; the plan document, the demo
    and the API all call this with its defaults."""
    if horizon < 1:
        raise ConfigError(f"horizon={horizon}: forecast at least 1 month")
    scope = parse_scope(scope)
    hist = monthly_bookings(data, scope)
    start = history_end(data) + 1
    if period is not None:
        period = parse_period(period)
        pm = period.months()
        months = pm[pm >= start]
    else:
        months = pd.period_range(start, periods=horizon, freq="M")
    n = len(months)
    skip = months[0].ordinal - start.ordinal if n else 0
    steps = max(skip + n, 1)
    bh = backtest_horizon or min(max(steps, 12), MAX_HORIZON)
    y = hist.to_numpy()
    use_from = min(skip + 1, bh)
    origins = [o for o in _origins(len(y), n_origins or N_ORIGINS, bh, None)
               if len(y) - o >= use_from]
    spec = ets_spec(y[:origins[0]] if origins else y) if origins and origins[0] >= 24 else \
        ets_spec(y) if not origins else None
    bt = backtest(data, scope, n_origins=n_origins, horizon=bh, spec=spec, use_from=use_from)
    base, m_base = seasonal_naive(y, steps)
    drift, m_drift = drift_forecast(y, steps)
    yc = y if scope.level == "company" else monthly_bookings(data).to_numpy()
    pooled, m_pooled = pooled_forecast(y, steps, yc)
    if origins and origins[0] < 24:  # short history: fit on all of it
        model, m_model = ets_forecast(y, steps)
    else:
        model, m_model = ets_apply(spec, y, steps), spec.method + (
            f", parameters fitted on the {origins[0]} months before the first backtest origin"
            if origins else "")
    sp = stage_probabilities(data, scope, stage_order)
    pipe_df = pipeline_forecast(data, scope, steps, stage_order, stage_table=sp)
    pipe = pipe_df["pipeline"].to_numpy()
    has_pipe = bool(pipe.sum() > 0) and data.has_pipeline
    comps = np.vstack([base, drift, model, pipe, pooled]).T
    # beyond the backtested horizon the open pipeline has no track record: weight 0
    reach = int(bt.rows["horizon"].max()) if len(bt.rows) else 0
    W = np.array([[blend_weights(bt, k + 1, has_pipe and k < reach)[c] for c in COMPONENTS]
                  for k in range(steps)])
    if not data.has_pipeline:  # orders only: no pipeline forecast (weight 0 above, shown blank)
        pipe = np.full(len(pipe), np.nan)
    blend = (comps * W).sum(axis=1)
    comb = combo(drift, model, pooled)
    chosen = {"baseline": base, "drift": drift, "model": model, "pipeline": np.nan_to_num(pipe),
              "pooled": pooled, "blend": blend, "combo": comb}[bt.selected]
    point = chosen * bt.bias_factor
    fac = np.array([bt.factor(k + 1) for k in range(steps)])
    sl = slice(skip, skip + n)
    table = pd.DataFrame({"month": months, "baseline": base[sl], "drift": drift[sl],
                          "model": model[sl], "pipeline": pipe[sl], "pooled": pooled[sl],
                          "blend": blend[sl], "combo": comb[sl],
                          "forecast": point[sl], "lo95": (point * fac[:, 0])[sl],
                          "lo80": (point * fac[:, 1])[sl], "hi80": (point * fac[:, 2])[sl],
                          "hi95": (point * fac[:, 3])[sl]})
    if period is not None:
        actual = hist.reindex(period.months())
        past = pd.DataFrame({"month": actual.index, "actual": actual.to_numpy()})
        past = past[past["month"] < start]
        table = pd.concat([past, table], ignore_index=True)
    else:
        table.insert(1, "actual", np.nan)
    table = table[["month", "actual", *METHODS, "forecast", "lo80", "hi80", "lo95", "hi95"]]
    done = float(table["actual"].fillna(0).sum())
    total = {"point": done + float(table["forecast"].fillna(0).sum())}
    total.update(_total_band(bt, point[sl], done, table))
    wtxt = "; ".join(f"months {BUCKETS[b][0]}-{BUCKETS[b][1]}: " + "/".join(
        f"{w[c]:.1f}" for c in COMPONENTS) for b, w in bt.weights.items())
    methods = {
        "baseline": m_base, "drift": m_drift, "model": m_model, "pooled": m_pooled,
        "pipeline": ("stage probabilities (lost-at-stage)" if len(sp) and
                     sp["method"].iloc[0] == "lost-at-stage" else
                     "P(won | stage) by deal age from closed outcomes") + "; timing: the deal's "
                    "expected close month when still ahead, else won cycles longer than its age"
                    + ("" if has_pipe else " (no open deals: weight 0)"),
        "blend": (f"weights {'/'.join(COMPONENTS)} by months ahead: {wtxt} (min "
                  "backtest WAPE)") if bt.weights else "model only (no backtest possible)",
        "combo": "equal-weight mean of drift, model and pooled",
        "forecast": (f"{bt.selected} (lowest {bh}-month backtest WAPE) x bias correction "
                     f"{bt.bias_factor:.3f}; intervals from backtest errors"),
    }
    if not data.has_pipeline:
        methods["pipeline"] = NO_PIPELINE
        methods["blend"] = "without the pipeline (" + NO_PIPELINE + ")"
    note = "" if hist.sum() > 0 else f"no won deals in {scope.label}"
    return ForecastResult(scope, table, bt, methods, note, bt.selected, total)


def _total_band(bt: Backtest, point: np.ndarray, done: float, table: pd.DataFrame) -> dict:
    """80%/95% range of the period total: the point forecast x the 10/90 (2.5/97.5) % quantiles
    of ``actual / forecast`` of the backtest's whole-horizon totals (needs 5+ origins), plus
    the actuals to date; else the monthly ranges combined as independent months
    (``point -+ sqrt(sum of squared monthly distances to each bound)``, at least 0)."""
    t = bt.totals
    s = float(point.sum())
    if len(t) >= 5 and (t["forecast"] > 0).all():
        r = (t["actual"] / t["forecast"]).to_numpy()
        q = np.quantile(r, [0.025, 0.10, 0.90, 0.975])
        basis = f"{len(t)} backtest totals"
    else:
        f = table["forecast"].to_numpy(dtype=float)
        out = {"basis": "monthly ranges combined as independent months"}
        for c in ("lo95", "lo80", "hi80", "hi95"):
            gap = np.sqrt(np.nansum((table[c].to_numpy(dtype=float) - f) ** 2))
            out[c] = done + (max(s - gap, 0.0) if c.startswith("lo") else s + gap)
        return out
    return {"lo95": done + s * q[0], "lo80": done + s * q[1], "hi80": done + s * q[2],
            "hi95": done + s * q[3], "basis": basis}


@dataclass
class HierarchyForecast:
    """Every node's base forecast (:func:`_base_forecast`) and their reconciliation.

    ``method``: the reconciliation chosen by backtest (:mod:`salesplan_nb.steps.reconcile`);
    ``scores``: backtest WAPE per node, unreconciled (``base``) and per method; ``G``: the
    projection used for the live forecast; ``point``: reconciled forecast per node x forecast
    month (USD); ``bt``: reconciled backtest forecasts per method (rows x nodes)."""

    hierarchy: R.Hierarchy
    base: list[ForecastResult]
    method: str
    scores: pd.DataFrame
    G: np.ndarray
    point: np.ndarray
    bt: dict
    lam: float = float("nan")
    skip: int = 0  # forecast months between the end of history and the first table month

    def result(self, scope: Scope) -> ForecastResult:
        """The reconciled :class:`ForecastResult` of node ``scope``: ``forecast`` and its
        bounds replaced by the reconciled values (bounds keep the node's own relative width),
        ``total`` recomputed, the unreconciled forecast in ``reconciliation``."""
        i = self.hierarchy.index(scope)
        r = self.base[i]
        t = r.table.copy()
        fm = t["forecast"].notna().to_numpy()
        old = t.loc[fm, "forecast"].to_numpy(float).copy()
        new = self.point[i]
        used = self.bt.get("used", np.zeros(0, bool))
        rec = self.bt[self.method][:, i] if len(used) else np.zeros(0)
        a = self.bt["actual"][:, i] if len(used) else np.zeros(0)
        e = _errors(rec[used], a[used]) if used.any() else {}
        if used.any():
            # intervals from the reconciled forecast's own backtest errors (A / F per months
            # ahead), coverage leave-one-origin-out
            hz, org = self.bt["horizon"], self.bt["origin"]
            hs = np.arange(1, int(hz.max()) + 1)
            q = _ratio_quantiles(rec, a, hz, hs)
            steps = self.skip + np.arange(1, len(new) + 1)
            fac = q[np.minimum(steps, len(q)) - 1]
            for j, c in enumerate(("lo95", "lo80", "hi80", "hi95")):
                t.loc[fm, c] = new * fac[:, j]
            bands = np.full((len(rec), 4), np.nan)
            for o in dict.fromkeys(org):
                mo = org == o
                qo = _ratio_quantiles(rec[~mo], a[~mo], hz[~mo], hs)
                bands[mo] = rec[mo, None] * qo[hz[mo] - 1]
            ok = np.isfinite(bands).all(axis=1) & used
            e["cover80"] = float(((a >= bands[:, 1]) & (a <= bands[:, 2]))[ok].mean()) \
                if ok.any() else np.nan
            e["cover95"] = float(((a >= bands[:, 0]) & (a <= bands[:, 3]))[ok].mean()) \
                if ok.any() else np.nan
            tot = pd.DataFrame({"origin": org, "actual": a, "forecast": rec, "hz": hz})
            full = tot.groupby("origin").filter(lambda g: len(g) == int(hz.max()))
            totals = full.groupby("origin")[["actual", "forecast"]].sum()
        else:
            for c in ("lo80", "hi80", "lo95", "hi95"):
                b = t.loc[fm, c].to_numpy(float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    rel = np.where(old > 0, b / np.where(old > 0, old, 1), 1.0)
                t.loc[fm, c] = new * rel
            totals = r.backtest.totals
        t.loc[fm, "forecast"] = new
        done = float(t["actual"].fillna(0).sum())
        total = {"point": done + float(new.sum())}
        total.update(_total_band(Backtest(pd.DataFrame(), pd.DataFrame(), {}, totals=totals),
                                 new, done, t))
        levels = " -> ".join(self.hierarchy.levels)
        n_nodes = len(self.hierarchy.nodes)
        if len(self.scores):
            sc = self.scores.set_index("node")
            wb, wr = float(sc.loc[scope.label, "base"]), float(sc.loc[scope.label, self.method])
            why = (f"{self.method} (lowest mean backtest WAPE over the {n_nodes} nodes of "
                   f"{levels}: " + ", ".join(f"{m} {np.nanmean(self.scores[m]):.1%}"
                                             for m in ("base", *R.METHODS)) + ")")
        else:
            wb = wr = float("nan")
            why = f"{self.method} (no backtest to choose by)"
        methods = dict(r.methods)
        methods["forecast"] = (r.methods["forecast"] + f"; reconciled across {levels} by {why}")
        rinfo = {"method": self.method, "why": why, "base": old,
                 "base_total": float(r.total.get("point", np.nan)),
                 "wape_base": wb, "wape_reconciled": wr,
                 "errors": e}
        return ForecastResult(r.scope, t, r.backtest, methods, r.note, r.selected, total,
                              rinfo)


def hierarchy_forecast(data: Dataset, period: Period | str | None = None, horizon: int = 12,
                       n_origins: int | None = None, backtest_horizon: int | None = None,
                       stage_order: list[str] | None = None) -> HierarchyForecast | None:
    """Base forecasts of every company / region / territory node and their reconciliation
    (method chosen by backtest, see :mod:`salesplan_nb.steps.reconcile`); ``None`` without a
    hierarchy. Memoised on ``data`` per argument set (one computation serves every node)."""
    per = parse_period(period).label if period is not None else None
    key = ("hierarchy", per, horizon, n_origins, backtest_horizon,
           tuple(stage_order) if stage_order else None)
    return data.memo(_MEMO, key, lambda: _hierarchy_forecast(
        data, period, horizon, n_origins, backtest_horizon, stage_order), with_deals=True)


_MEMO = "_salesplan_forecast"


def _hierarchy_forecast(data, period, horizon, n_origins, backtest_horizon, stage_order):
    h = R.hierarchy(data)
    if h is None:
        return None
    base = [_base_forecast(data, n, period, horizon, n_origins, backtest_horizon, stage_order)
            for n in h.nodes]
    rows = [r.backtest.rows for r in base]
    months = base[0].table.loc[base[0].table["forecast"].notna(), "month"]
    skip = months.iloc[0].ordinal - (history_end(data) + 1).ordinal if len(months) else 0
    P = np.vstack([r.table.loc[r.table["forecast"].notna(), "forecast"].to_numpy(float)
                   for r in base])
    if not all(len(x) for x in rows) or len({len(x) for x in rows}) != 1:
        method, scores, bt = "bottom-up", pd.DataFrame(), {}
        G = R.projection(h.S, method)
        return HierarchyForecast(h, base, method, scores, G, R.reconcile(P, h.S, G), bt,
                                 skip=skip)
    method, scores, bt = R.backtest_reconciliation(h, rows, base[0].backtest.use_from)
    lam = float("nan")
    if method == "mint-shrink":
        W, lam = R.shrink_cov((bt["base"] - bt["actual"])[bt["used"]])
        G = R.projection(h.S, method, W)
    else:
        G = R.projection(h.S, method)
    return HierarchyForecast(h, base, method, scores, G, R.reconcile(P, h.S, G), bt, lam,
                             skip)


# ---- small scopes: shrunk toward the company's method, many at once -------------------------
SMALL_MONTHS = 24  # a scope with fewer months with wins than this is "small"
SHRINK_MONTHS = 12.0  # K in the own-history weight m / (m + K)


def is_small(data: Dataset, scope: Scope | str) -> bool:
    """True for an account scope, or any scope below the company whose history has fewer
    than :data:`SMALL_MONTHS` months with a win (too short or sparse for its own backtest)."""
    scope = parse_scope(scope)
    if scope.level == "company":
        return False
    if scope.level == "account":
        return True
    ids, Y = _level_panel(data, scope.level)
    i = ids.get(scope.id)
    return i is None or int((Y[i] > 0).sum()) < SMALL_MONTHS


def _level_panel(data: Dataset, level: str) -> tuple[dict, np.ndarray]:
    """Won bookings of every scope id of ``level`` by month (ids -> row, matrix ids x months
    on :func:`monthly_bookings`' index), memoised on ``data``."""
    def build():
        y = monthly_bookings(data)
        d = data.deals
        col = SCOPE_COLUMN[level]
        won = d[(d["status"] == "won") & d["close_date"].notna() & d[col].notna()]
        m = won["close_date"].dt.to_period("M")
        keep = (m >= y.index[0]) & (m <= y.index[-1]) if len(y) else m.isna()
        ids, codes = np.unique(won.loc[keep, col].astype(str).to_numpy(), return_inverse=True)
        Y = np.zeros((len(ids), len(y)))
        if len(y):
            t = (m[keep].map(lambda p: p.ordinal).to_numpy() - y.index[0].ordinal)
            np.add.at(Y, (codes, t.astype(int)), won.loc[keep, "amount"].to_numpy(float))
        return {k: i for i, k in enumerate(ids)}, Y
    return data.memo(_MEMO, ("panel", level), build, with_deals=True)


def _level_pipeline(data: Dataset, level: str, steps: int) -> tuple[dict, np.ndarray]:
    """Pipeline forecast (USD, ids x ``steps`` months after history) of every scope id of
    ``level``: the company's per-deal pipeline (probabilities, values and timing learned on
    all closed deals) summed per id. Memoised on ``data``."""
    def build():
        d = data.deals
        col = SCOPE_COLUMN[level]
        closed = d[d["status"].isin(["won", "lost"]) & d["close_date"].notna()]
        open_ = d[d["status"] == "open"]
        origin = history_end(data) + 1
        sp = stage_probabilities(data)
        stage_p = (dict(zip(sp["stage"], sp["p_win"])) if len(sp) and
                   sp["method"].iloc[0] == "lost-at-stage" else None)
        M = _pipeline_at(d, closed, open_, origin, steps, stage_p, keep_own_amount=True,
                         per_deal=True, expected=True)
        key = open_[col].astype(object).fillna("").astype(str).to_numpy()
        ids, codes = np.unique(key, return_inverse=True)
        P = np.zeros((len(ids), steps))
        if len(M):
            np.add.at(P, codes, M)
        return {k: i for i, k in enumerate(ids)}, P
    return data.memo(_MEMO, ("pipeline", level, steps), build, with_deals=True)


def _company_context(data: Dataset, period, horizon: int) -> dict:
    """What every small scope borrows from the company (its default forecast, blend weights
    per forecast month, growth, seasonal shape), memoised on ``data``."""
    def build():
        comp = forecast(data, "company", period, horizon)
        t = comp.table
        fm = t["forecast"].notna().to_numpy()
        months = t.loc[fm, "month"]
        n = int(fm.sum())
        y = monthly_bookings(data).to_numpy()
        start = history_end(data) + 1
        skip = months.iloc[0].ordinal - start.ordinal if n else 0
        cb = comp.backtest
        pipe_c = t.loc[fm, "pipeline"].to_numpy(float)
        has_pipe = bool(np.nansum(pipe_c) > 0) and data.has_pipeline
        reach = int(cb.rows["horizon"].max()) if len(cb.rows) else 0
        W = np.array([[blend_weights(cb, k + 1, has_pipe and k < reach)[c] for c in COMPONENTS]
                      for k in range(skip, skip + n)]).reshape(n, len(COMPONENTS))
        shape = seasonal_shape(y)[np.arange(skip, skip + n) % 12] if len(y) >= 12 else \
            np.full(n, 1 / 12)
        return dict(comp=comp, fm=fm, months=months, n=n, y=y, skip=skip, pipe_c=pipe_c, W=W,
                    g=company_growth(y), shape=shape, index=monthly_bookings(data).index,
                    model=t.loc[fm, "model"].to_numpy(float),
                    point=t.loc[fm, "forecast"].to_numpy(float))
    per = parse_period(period).label if period is not None else None
    return data.memo(_MEMO, ("company context", per, horizon), build, with_deals=True)


def _many(data: Dataset, scopes: list[Scope], period, horizon: int) -> dict:
    """Arrays behind :func:`forecast_many` (see there): per scope x forecast month."""
    cx = _company_context(data, period, horizon)
    comp, months, n, y, skip = cx["comp"], cx["months"], cx["n"], cx["y"], cx["skip"]
    steps = max(skip + n, 1)
    cb = comp.backtest
    pipe_c, W, g, shape = cx["pipe_c"], cx["W"], cx["g"], cx["shape"]
    years = np.arange(skip, skip + n) // 12
    c12 = float(y[-12:].sum())
    out = {"months": months, "scopes": scopes, "company": comp, "index": cx["index"]}
    rows = {c: np.zeros((len(scopes), n)) for c in (*COMPONENTS, "own", "top", "forecast")}
    lam = np.zeros(len(scopes))
    active = np.zeros(len(scopes), int)
    hist = np.zeros((len(scopes), len(y)))
    for level in dict.fromkeys(s.level for s in scopes):
        idx = [i for i, s in enumerate(scopes) if s.level == level]
        if level == "company":
            Ys = np.tile(y, (len(idx), 1))
            Ps = np.tile(np.nan_to_num(pipe_c), (len(idx), 1))
        else:
            ids, Y = _level_panel(data, level)
            pids, P = _level_pipeline(data, level, steps)
            Ys = np.vstack([Y[ids[scopes[i].id]] if scopes[i].id in ids else np.zeros(len(y))
                            for i in idx]).reshape(len(idx), len(y))
            Ps = np.vstack([P[pids[scopes[i].id], skip:skip + n] if scopes[i].id in pids
                            else np.zeros(n) for i in idx]).reshape(len(idx), n)
        hist[idx] = Ys
        T = Ys.shape[1]
        if T >= 12:
            base = Ys[:, [T - 12 + (h % 12) for h in range(skip, skip + n)]]
        else:
            base = np.repeat(Ys[:, -1:] if T else np.zeros((len(idx), 1)), n, axis=1)
        share = Ys[:, -12:].sum(axis=1) / c12 if c12 > 0 else np.zeros(len(idx))
        comps = {"baseline": base, "drift": base * g ** (1 + 0.5 * years),
                 "model": share[:, None] * cx["model"],
                 "pipeline": Ps,
                 "pooled": (Ys[:, -12:].sum(axis=1)[:, None] * shape[None, :]
                            * g ** (1 + 0.5 * years))}
        if comp.selected == "blend":
            own = sum(comps[c] * W[:, j] for j, c in enumerate(COMPONENTS))
        elif comp.selected == "combo":
            own = combo(*(comps[c] for c in COMBO))
        else:
            own = comps[comp.selected]
        own = own * cb.bias_factor
        top = share[:, None] * cx["point"]
        m = (Ys > 0).sum(axis=1)
        lam[idx] = m / (m + SHRINK_MONTHS)
        active[idx] = m
        for c in COMPONENTS:
            rows[c][idx] = comps[c]
        rows["own"][idx] = own
        rows["top"][idx] = top
        rows["forecast"][idx] = lam[idx, None] * own + (1 - lam[idx, None]) * top
    out.update(rows)
    out.update(weight_own=lam, active_months=active, history=hist)
    return out


def forecast_many(data: Dataset, scopes: list[Scope | str], period: Period | str | None = None,
                  horizon: int = 12) -> pd.DataFrame:
    """Forecasts of many (small) scopes in one vectorised call from one company fit.

    For scope ``s`` with history ``y_s`` (won bookings by month) and ``m`` months with a win:
    ``forecast_s = l own_s + (1 - l) share_s x company forecast``, ``l = m / (m + K)``
    (``K`` = :data:`SHRINK_MONTHS`), ``share_s`` = the scope's share of the company's last 12
    months. ``own_s`` is the company's chosen method and blend weights applied to the scope:
    seasonal naive of ``y_s``, the same x the company's trailing growth (drift), ``share_s x``
    the company's ETS (model), the scope's open deals valued with the company's
    probabilities, deal values and timing (pipeline); times the company's bias correction.
    The company forecast is the default :func:`forecast` (memoised, reconciled).

    Returns one row per scope (index: the scope as text): one column per forecast month
    (USD), ``total`` (the period: actuals to date + forecast), ``weight_own`` (``l``),
    ``active_months`` (``m``). No interval: a small scope's own errors are too few to
    calibrate one."""
    sc = [parse_scope(s) for s in scopes]
    r = _many(data, sc, period, horizon)
    cols = [str(m) for m in r["months"]]
    df = pd.DataFrame(r["forecast"], index=[str(s) for s in sc], columns=cols)
    done = np.zeros(len(sc))
    if period is not None:
        pm = set(parse_period(period).months())
        past = [i for i, m in enumerate(r["index"]) if m in pm]
        done = r["history"][:, past].sum(axis=1) if past else done
    df["total"] = done + df[cols].sum(axis=1).to_numpy()
    df["weight_own"] = r["weight_own"]
    df["active_months"] = r["active_months"]
    return df


def _small_forecast(data: Dataset, scope: Scope, period, horizon: int) -> ForecastResult:
    """:class:`ForecastResult` of one small scope from :func:`forecast_many`'s arrays."""
    r = _many(data, [scope], period, horizon)
    comp = r["company"]
    months = r["months"]
    fc = r["forecast"][0]
    table = pd.DataFrame({"month": months.to_numpy(), "actual": np.nan,
                          **{c: r[c][0] for c in COMPONENTS}, "blend": r["own"][0],
                          "combo": combo(*(r[c][0] for c in COMBO)),
                          "forecast": fc, "lo80": np.nan, "hi80": np.nan, "lo95": np.nan,
                          "hi95": np.nan})
    done = 0.0
    if period is not None:
        per = parse_period(period)
        start = history_end(data) + 1
        past_m = [m for m in per.months() if m < start]
        h = pd.Series(r["history"][0], index=r["index"])
        past = pd.DataFrame({"month": past_m, "actual": h.reindex(past_m).to_numpy()})
        table = pd.concat([past, table], ignore_index=True) if len(past) else table
        done = float(past["actual"].fillna(0).sum())
    if not data.has_pipeline:
        table["pipeline"] = np.nan
    table = table[["month", "actual", *METHODS, "forecast", "lo80", "hi80", "lo95", "hi95"]]
    lam = float(r["weight_own"][0])
    m = int(r["active_months"][0])
    why = (f"small scope ({m} months with a win; < {SMALL_MONTHS} or an account): "
           f"{lam:.2f} x its own history with the company's method ({comp.selected}) + "
           f"{1 - lam:.2f} x its share of the company forecast; no own backtest, no interval")
    methods = {**comp.methods, "forecast": why,
               "blend": "the company's blend weights applied to this scope"}
    note = "" if r["history"][0].sum() > 0 else f"no won deals in {scope.label}"
    errors = pd.DataFrame({"method": [*METHODS, "forecast"], "wape": np.nan, "mape": np.nan,
                           "bias": np.nan, "n": 0})
    bt = Backtest(pd.DataFrame(columns=["origin", "month", "horizon", "actual", *METHODS,
                                        "forecast"]), errors, comp.backtest.weights,
                  comp.selected, comp.backtest.bias_factor,
                  note=f"{scope.label}: no own backtest (small scope)")
    total = {"point": done + float(fc.sum()), "lo80": np.nan, "hi80": np.nan,
             "lo95": np.nan, "hi95": np.nan, "basis": "no interval (small scope)"}
    return ForecastResult(scope, table, bt, methods, note, comp.selected, total,
                          {"method": "shrunk toward the company", "weight_own": lam})


def chart_forecast(result: ForecastResult):
    """Line chart of actual, the seasonal-naive baseline, the forecast and its 80% bounds by
    month (USD)."""
    import altair as alt

    t = result.table.assign(month=result.table["month"].astype(str))
    long = (t[["month", "actual", "baseline", "forecast", "lo80", "hi80"]]
            .melt("month", var_name="series", value_name="usd").dropna())
    return (alt.Chart(long).mark_line(point=True)
            .encode(x=alt.X("month:O", title="Month"),
                    y=alt.Y("usd:Q", title="Bookings (USD)"),
                    color=alt.Color("series:N", title=None),
                    tooltip=["month", "series", alt.Tooltip("usd:Q", format=",.0f")])
            .properties(title=f"Bookings forecast - {result.scope.label}"))


def chart_backtest(result: ForecastResult | Backtest):
    """Bar chart of backtest WAPE per method (lower is better)."""
    import altair as alt

    bt = result.backtest if isinstance(result, ForecastResult) else result
    return (alt.Chart(bt.errors).mark_bar()
            .encode(x=alt.X("method:N", sort=list(METHODS)), y=alt.Y("wape:Q", title="WAPE"),
                    tooltip=["method", alt.Tooltip("wape:Q", format=".1%"),
                             alt.Tooltip("mape:Q", format=".1%"), "n"])
            .properties(title="Backtest error (WAPE)"))


# ---- the demo's default decision ------------------------------------------------------------
def demo_decision(ws, by: str = "demo") -> str:
    """Forecast in ``salesplan demo``: the company's (reconciled) forecast for the plan period
    with the method its backtest chose, its 80% range and its track record
    (``forecast/accuracy``; WAPE and coverage of the reconciled forecast when reconciled)."""
    res = forecast(ws.data, period=ws.period)
    ws.save_output("forecast", "company", res.table)
    ws.save_output("forecast", "accuracy", res.accuracy())
    ws.record("forecast", "method", res.selected, by=by)
    t = res.total
    e = res.reconciliation.get("errors") or res.backtest.errors.set_index("method").loc[
        "forecast"]
    how = (f"{res.selected} chosen by backtest"
           + (f", reconciled ({res.reconciliation['method']})"
              if res.reconciliation.get("method") in R.METHODS else ""))
    return (f"{ws.period.label} bookings forecast ${t['point']:,.0f} (80% range "
            f"${t['lo80']:,.0f}-${t['hi80']:,.0f}; {how}, WAPE "
            f"{e['wape']:.1%}, 80% interval coverage {e['cover80']:.0%})")
