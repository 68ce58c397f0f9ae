"""Forecasting: monthly bookings (USD) per scope, with backtested accuracy.

Four forecasts of won bookings per calendar month, each USD per month:

- **baseline** - seasonal naive: ``y[m] = y[m - 12]`` (same month last year). With fewer than
  12 months of history it cannot exist; the baseline then falls back to plain naive
  (``y[m] = last observed month``) and says so in ``methods``.
- **model** - statsmodels ``ExponentialSmoothing`` (ETS): additive trend and multiplicative (all
  months > 0) or additive seasonality, the lower AIC of the two, when history >= 24 months
  (2 seasons); damped additive trend without seasonality (Holt) for 4..23 months; the history
  mean below 4 months. Forecasts are clipped at 0.
- **pipeline** - open deals x P(won), spread over their likely close months (see
  :func:`stage_probabilities` and :func:`pipeline_forecast`).
- **blend** - ``w_base * baseline + w_model * model + w_pipe * pipeline``, weights on a 0.1 grid
  summing to 1, chosen per months-ahead step to minimise WAPE in the rolling-origin backtest
  (see :func:`blend_weights`).

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

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import last_whole_month
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.schema import NO_PIPELINE

METHODS = ("baseline", "model", "pipeline", "blend")
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

    Method ``closed win rate`` (closed deals carry no stage, e.g. Won/Lost only):
    ``p(s) = won / (won + lost)`` of closed deals in scope, the same for every stage; the
    pipeline forecast then refines it by deal age (see :func:`pipeline_forecast`).

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
        p = {s: p0 for s in out.index}
        method = "closed win rate"
    out["p_win"] = pd.Series(p)
    out["method"] = method
    out = out.reset_index().rename(columns={"index": "stage"})
    return out[cols].astype({"stage": "string", "method": "string"})


def _pipeline_at(deals_scope: pd.DataFrame, closed_before: pd.DataFrame, open_at: pd.DataFrame,
                 origin: pd.Period, horizon: int, stage_p: dict | None,
                 keep_own_amount: bool) -> np.ndarray:
    """Expected bookings (USD) per month ``origin .. origin+horizon-1`` from ``open_at``."""
    out = np.zeros(horizon)
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
    by_product, overall = _amount_lookup(closed_before)
    amt = _impute_amount(open_at, by_product, overall, keep_own_amount)
    month_starts = pd.period_range(origin, periods=horizon + 1, freq="M").start_time
    bounds = np.asarray((month_starts - start).days, dtype=float)
    share = _close_month_shares(ages, won_c, bounds)
    return (p * amt) @ share


def pipeline_forecast(data: Dataset, scope: Scope | str = "company", horizon: int = 12,
                      stage_order: list[str] | None = None) -> pd.DataFrame:
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
    """
    scope = parse_scope(scope)
    d = scope.filter(data.deals)
    origin = history_end(data) + 1
    months = pd.period_range(origin, periods=horizon, freq="M")
    closed = d[d["status"].isin(["won", "lost"]) & d["close_date"].notna()]
    open_ = d[d["status"] == "open"]
    sp = stage_probabilities(data, scope, stage_order)
    stage_p = (dict(zip(sp["stage"], sp["p_win"])) if len(sp) and
               sp["method"].iloc[0] == "lost-at-stage" else None)
    vals = _pipeline_at(d, closed, open_, origin, horizon, stage_p, keep_own_amount=True)
    return pd.DataFrame({"month": months, "pipeline": vals})


# --------------------------------------------------------------------------- backtest
def _errors(f: np.ndarray, a: np.ndarray) -> dict:
    f, a = np.asarray(f, float), np.asarray(a, float)
    pos = a > 0
    wape = float(np.abs(f - a).sum() / a.sum()) if a.sum() > 0 else np.nan
    mape = float(np.mean(np.abs(f[pos] - a[pos]) / a[pos])) if pos.any() else np.nan
    return {"wape": wape, "mape": mape, "bias": float((f - a).sum() / a.sum())
            if a.sum() > 0 else np.nan, "n": int(len(a))}


_GRID = [w for w in itertools.product(np.round(np.arange(0, 1.01, 0.1), 1), repeat=3)
         if abs(sum(w) - 1) < 1e-9]


def _best_weights(bt: pd.DataFrame) -> tuple[float, float, float]:
    """Grid weights (baseline, model, pipeline) minimising WAPE over the rows of ``bt``."""
    if bt.empty or bt["actual"].sum() <= 0:
        return (0.0, 1.0, 0.0)
    F = bt[["baseline", "model", "pipeline"]].to_numpy()
    a = bt["actual"].to_numpy()
    W = np.array(_GRID)
    err = np.abs(F @ W.T - a[:, None]).sum(axis=0)
    return tuple(float(x) for x in W[int(np.argmin(err))])


@dataclass
class Backtest:
    """Rolling-origin backtest: ``rows`` (origin, month, horizon, actual and one column per
    method, USD), ``errors`` (method, wape, mape, bias, n) and the blend ``weights`` chosen per
    horizon step ``{h: {"baseline": w, "model": w, "pipeline": w}}``."""

    rows: pd.DataFrame
    errors: pd.DataFrame
    weights: dict[int, dict[str, float]]
    note: str = ""

    @property
    def by_horizon(self) -> pd.DataFrame:
        """Errors per months-ahead step: horizon, method, wape, mape, bias, n."""
        out = [{"horizon": int(h), "method": m, **_errors(g[m], g["actual"])}
               for h, g in self.rows.groupby("horizon") for m in METHODS]
        return pd.DataFrame(out, columns=["horizon", "method", "wape", "mape", "bias", "n"])


def backtest(data: Dataset, scope: Scope | str = "company", n_origins: int = 6,
             horizon: int = 3, min_train: int = 3) -> Backtest:
    """Rolling-origin backtest of every method for ``scope`` (see module doc)."""
    if n_origins < 1 or horizon < 1 or min_train < 1:
        raise ConfigError("backtest needs n_origins, horizon and min_train >= 1")
    scope = parse_scope(scope)
    y = monthly_bookings(data, scope)
    d = scope.filter(data.deals)
    first = max(min_train, len(y) - n_origins)
    origins = list(range(first, len(y)))
    rows = []
    closed_all = d[d["status"].isin(["won", "lost"]) & d["close_date"].notna()]
    for oi in origins:
        o = y.index[oi]
        h = min(horizon, len(y) - oi)
        hist = y.iloc[:oi]
        base, _ = seasonal_naive(hist, h)
        model, _ = ets_forecast(hist, h)
        t0 = o.start_time
        closed_b = closed_all[closed_all["close_date"] < t0]
        open_at = d[(d["created_date"] < t0) &
                    ((d["close_date"] >= t0) | (d["status"] == "open"))]
        pipe = _pipeline_at(d, closed_b, open_at, o, h, None, keep_own_amount=False)
        for k in range(h):
            rows.append((str(o), str(y.index[oi + k]), k + 1, float(y.iloc[oi + k]),
                         base[k], model[k], pipe[k]))
    bt = pd.DataFrame(rows, columns=["origin", "month", "horizon", "actual", "baseline",
                                     "model", "pipeline"])
    if bt.empty:
        note = (f"{scope.label}: {len(y)} months of history; a backtest needs more than "
                f"{min_train}")
        bt["blend"] = pd.Series(dtype=float)
        errors = pd.DataFrame({"method": list(METHODS), "wape": np.nan, "mape": np.nan,
                               "bias": np.nan, "n": 0})
        return Backtest(bt, errors, {}, note)
    # blend: weights per horizon step; its error scored leave-one-origin-out
    blend = np.zeros(len(bt))
    for o in bt["origin"].unique():
        m = (bt["origin"] == o).to_numpy()
        for h in bt.loc[m, "horizon"].unique():
            mh = m & (bt["horizon"] == h).to_numpy()
            train = (~m) & (bt["horizon"] == h).to_numpy()
            w = _best_weights(bt[train]) if train.any() else (0.0, 1.0, 0.0)
            blend[mh] = bt.loc[mh, ["baseline", "model", "pipeline"]].to_numpy() @ np.array(w)
    bt["blend"] = blend
    errors = pd.DataFrame([{"method": meth, **_errors(bt[meth], bt["actual"])}
                           for meth in METHODS])
    weights = {int(h): dict(zip(("baseline", "model", "pipeline"), _best_weights(g)))
               for h, g in bt.groupby("horizon")}
    note = (f"{scope.label}: {len(y)} months of history, {bt['origin'].nunique()} origins, "
            f"horizon 1..{horizon}")
    return Backtest(bt, errors, weights, note)


def blend_weights(bt: Backtest, step: int) -> dict[str, float]:
    """Blend weights for forecast month ``step`` (1 = first month ahead): the backtest's weights
    for that horizon; beyond the backtested horizon, the last horizon's weights with the
    pipeline share moved to the model (the open pipeline does not cover far months)."""
    if not bt.weights:
        return {"baseline": 0.0, "model": 1.0, "pipeline": 0.0}
    last = max(bt.weights)
    w = dict(bt.weights[min(step, last)])
    if step > last:
        w["model"] += w["pipeline"]
        w["pipeline"] = 0.0
    return w


# --------------------------------------------------------------------------- forecast
@dataclass
class ForecastResult:
    """``table``: month, actual, baseline, model, pipeline, blend (USD per month) for the
    forecast months; ``backtest``: :class:`Backtest`; ``methods``: what each column used."""

    scope: Scope
    table: pd.DataFrame
    backtest: Backtest
    methods: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def weights(self) -> dict[int, dict[str, float]]:
        return self.backtest.weights


def forecast(data: Dataset, scope: Scope | str = "company", period: Period | str | None = None,
             horizon: int = 12, n_origins: int = 6, backtest_horizon: int = 3,
             stage_order: list[str] | None = None) -> ForecastResult:
    """Monthly bookings forecast for ``scope``: baseline, model, pipeline and blend.

    Forecast months: ``period``'s months after :func:`history_end` if ``period`` is given
    (months already closed show ``actual``), else the ``horizon`` months after history."""
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
    # forecast every month from ``start`` to the last wanted one (a period may start later)
    skip = months[0].ordinal - start.ordinal if n else 0
    steps = max(skip + n, 1)
    bt = backtest(data, scope, n_origins=n_origins, horizon=backtest_horizon)
    base, m_base = seasonal_naive(hist, steps)
    model, m_model = ets_forecast(hist, steps)
    pipe_df = pipeline_forecast(data, scope, steps, stage_order)
    pipe = pipe_df["pipeline"].to_numpy()
    W = np.array([[blend_weights(bt, k + 1)[m] for m in ("baseline", "model", "pipeline")]
                  for k in range(steps)])
    if not data.has_pipeline:  # orders only: no pipeline forecast, the blend goes without it
        W[:, 2] = 0.0
        rest = W[:, :2].sum(axis=1, keepdims=True)
        W = np.where(rest > 0, W / np.where(rest > 0, rest, 1.0), np.array([[0.0, 1.0, 0.0]]))
        pipe = np.full(len(pipe), np.nan)
    blend = W[:, 0] * base + W[:, 1] * model + W[:, 2] * np.nan_to_num(pipe)
    sl = slice(skip, skip + n)
    table = pd.DataFrame({"month": months, "baseline": base[sl], "model": model[sl],
                          "pipeline": pipe[sl], "blend": blend[sl]})
    if period is not None:
        actual = hist.reindex(period.months())
        past = pd.DataFrame({"month": actual.index, "actual": actual.to_numpy()})
        past = past[past["month"] < start]
        table = pd.concat([past, table], ignore_index=True)
    else:
        table.insert(1, "actual", np.nan)
    table = table[["month", "actual", *METHODS]]
    sp = stage_probabilities(data, scope, stage_order)
    methods = {
        "baseline": m_base, "model": m_model,
        "pipeline": ("stage probabilities (lost-at-stage)" if len(sp) and
                     sp["method"].iloc[0] == "lost-at-stage" else
                     "age-conditioned closed win rate") + "; timing from won cycles longer than the age",
        "blend": ("weights per month ahead (baseline/model/pipeline): " + "; ".join(
            f"h{h}: {w['baseline']:.1f}/{w['model']:.1f}/{w['pipeline']:.1f}"
            for h, w in bt.weights.items()) + " (min backtest WAPE)") if bt.weights else
            "model only (no backtest possible)",
    }
    if not data.has_pipeline:
        methods["pipeline"] = NO_PIPELINE
        methods["blend"] = "baseline and model only (" + NO_PIPELINE + ")"
    note = "" if hist.sum() > 0 else f"no won deals in {scope.label}"
    return ForecastResult(scope, table, bt, methods, note)


def chart_forecast(result: ForecastResult):
    """Line chart of actual and the four forecasts by month (USD)."""
    import altair as alt

    t = result.table.assign(month=result.table["month"].astype(str))
    long = t.melt("month", var_name="series", value_name="usd").dropna()
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
