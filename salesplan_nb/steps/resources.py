"""Step 11 - resources: allocate a budget across investments (headcount, programs, tools) with
diminishing returns, to maximise the total return.

Response curves (spend ``s`` and return in USD per period):

* ``exp``   - ``return = a x (1 - exp(-s / b))``; marginal ``(a / b) x exp(-s / b)``; ``a`` is
  the saturation level (USD), ``b`` the spend (USD) that reaches 63% of it;
* ``power`` - ``return = a x s^k`` with ``0 < k < 1``; marginal ``a k s^(k-1)``.

Curves are configured, or fitted from history with ``scipy.optimize.curve_fit``
(:func:`fit_curve`, the fit and its R^2 stated in ``Investment.fit``).

The optimum equalises marginal returns (KKT): every item strictly between its bounds has the
same marginal return ``lambda``; items at their minimum have marginal <= lambda, at their
maximum >= lambda. :func:`allocate` finds ``lambda`` by bisection on
``sum_i clip(marginal_i^-1(lambda), min_i, max_i) = budget`` (``method="kkt"``), or by greedy
increments (``"greedy"``: ``steps`` equal increments, each to the item with the highest marginal
return) or ``scipy.optimize.minimize`` (``"slsqp"``); :func:`kkt_check` verifies the result.
Marginal ROI = extra return per extra USD at the allocated spend.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import day_after
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps.quotas import history_window, quota_reps, round_groups

CURVES = ("exp", "power")
KINDS = ("headcount", "program", "tool", "other")


@dataclass
class Investment:
    """One investment line: its response curve, current spend and bounds (USD)."""

    name: str
    a: float
    b: float = float("nan")
    k: float = float("nan")
    curve: str = "exp"
    kind: str = "program"
    current: float = 0.0
    min_spend: float = 0.0
    max_spend: float = float("inf")
    fit: str = "configured"

    def __post_init__(self) -> None:
        if self.curve not in CURVES:
            raise ConfigError(f"investment {self.name!r}: curve {self.curve!r} is not one of "
                              f"{', '.join(CURVES)}")
        if not (np.isfinite(self.a) and self.a > 0):
            raise ConfigError(f"investment {self.name!r}: a = {self.a!r} must be > 0 (USD)")
        if self.curve == "exp" and not (np.isfinite(self.b) and self.b > 0):
            raise ConfigError(f"investment {self.name!r}: exp curve needs b > 0 (USD of spend)")
        if self.curve == "power" and not (0 < self.k < 1):
            raise ConfigError(f"investment {self.name!r}: power curve needs 0 < k < 1 "
                              "(diminishing returns)")
        if self.min_spend < 0 or self.max_spend < self.min_spend or self.current < 0:
            raise ConfigError(f"investment {self.name!r}: need 0 <= min_spend <= max_spend and "
                              "current >= 0")

    def value(self, s):
        s = np.maximum(np.asarray(s, dtype=float), 0.0)
        if self.curve == "exp":
            return self.a * -np.expm1(-s / self.b)
        return self.a * s ** self.k

    def marginal(self, s):
        s = np.maximum(np.asarray(s, dtype=float), 0.0)
        if self.curve == "exp":
            return self.a / self.b * np.exp(-s / self.b)
        with np.errstate(divide="ignore"):
            return self.a * self.k * np.where(s > 0, s, 0.0) ** (self.k - 1)

    def spend_at(self, lam: float) -> float:
        """Spend where the marginal return equals ``lam`` (clipped to the bounds)."""
        if self.curve == "exp":
            s = self.b * np.log(self.a / (self.b * lam)) if lam < self.a / self.b else 0.0
        else:
            s = (lam / (self.a * self.k)) ** (1.0 / (self.k - 1.0))
        return float(np.clip(s, self.min_spend, self.max_spend))


def as_investments(items) -> list[Investment]:
    """Investments from objects, dicts or a DataFrame with the same fields."""
    if isinstance(items, pd.DataFrame):
        items = items.to_dict("records")
    out = []
    for it in items or []:
        if isinstance(it, Investment):
            out.append(it)
        elif isinstance(it, dict):
            known = {k: v for k, v in it.items() if k in Investment.__dataclass_fields__
                     and not (isinstance(v, float) and np.isnan(v) and k in ("min_spend",
                                                                              "max_spend"))}
            try:
                out.append(Investment(**known))
            except TypeError as exc:
                raise ConfigError(f"investment {it!r}: {exc}; give name and a") from None
        else:
            raise ConfigError(f"cannot read investment {it!r}: use a dict or Investment")
    names = [i.name for i in out]
    if len(set(names)) != len(names):
        raise ConfigError("investment names must be unique")
    return out


# ---- allocation ------------------------------------------------------------------------------
@dataclass
class Allocation:
    """``table`` per item: ``name, kind, curve, current, spend, change`` (USD),
    ``return_current, return`` (USD), ``marginal_roi`` (USD return per extra USD at the
    allocated spend), ``avg_roi`` (return / spend), ``bound`` (min/max/interior)."""

    table: pd.DataFrame
    budget: float
    total_return: float
    current_return: float
    lam: float
    method: str
    notes: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        return "; ".join(self.notes)

    @property
    def uplift(self) -> float:
        """Extra return over the current split (USD)."""
        return self.total_return - self.current_return


def _empty_table() -> pd.DataFrame:
    cols = {"name": "string", "kind": "string", "curve": "string", "current": float,
            "spend": float, "change": float, "return_current": float, "return": float,
            "marginal_roi": float, "avg_roi": float, "bound": "string"}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})


def _solve_kkt(inv: list[Investment], budget: float) -> tuple[np.ndarray, float]:
    hi = max(float(np.max([i.marginal(i.min_spend) for i in inv])), 1e-12)
    hi = hi if np.isfinite(hi) else 1e12
    lo = 1e-15
    total = lambda lam: sum(i.spend_at(lam) for i in inv)  # noqa: E731 - decreasing in lam
    for _ in range(300):  # bisection in log space
        mid = np.sqrt(lo * hi)
        if total(mid) > budget:
            lo = mid
        else:
            hi = mid
        if hi / lo - 1 < 1e-14:
            break
    lam = float(np.sqrt(lo * hi))
    s = np.array([i.spend_at(lam) for i in inv])
    # spread the last rounding residue over interior items, in proportion to their spend
    resid = budget - s.sum()
    free = (s > np.array([i.min_spend for i in inv])) & (s < np.array([i.max_spend for i in inv]))
    if free.any() and abs(resid) > 0:
        s[free] += resid * s[free] / s[free].sum() if s[free].sum() else resid / free.sum()
    return s, lam


def _solve_greedy(inv: list[Investment], budget: float, steps: int) -> np.ndarray:
    s = np.array([i.min_spend for i in inv], dtype=float)
    rest = budget - s.sum()
    step = rest / steps
    heap = []
    for j, i in enumerate(inv):
        if s[j] + step <= i.max_spend + 1e-9:
            gain = float(i.value(s[j] + step) - i.value(s[j]))
            heapq.heappush(heap, (-gain, j))
    for _ in range(steps):
        if not heap:
            break
        _, j = heapq.heappop(heap)
        s[j] += step
        i = inv[j]
        if s[j] + step <= i.max_spend + 1e-9:
            heapq.heappush(heap, (-float(i.value(s[j] + step) - i.value(s[j])), j))
    return s


def _solve_slsqp(inv: list[Investment], budget: float) -> np.ndarray:
    from scipy.optimize import minimize

    scale = budget or 1.0
    x0 = np.array([min(max(budget / len(inv), i.min_spend), i.max_spend) for i in inv]) / scale
    res = minimize(lambda x: -sum(i.value(v * scale) for i, v in zip(inv, x)) / scale, x0,
                   jac=lambda x: -np.array([i.marginal(v * scale) for i, v in zip(inv, x)]),
                   bounds=[(i.min_spend / scale, min(i.max_spend, budget) / scale) for i in inv],
                   constraints=[{"type": "eq", "fun": lambda x: x.sum() - budget / scale}],
                   method="SLSQP", options={"ftol": 1e-12, "maxiter": 500})
    if not res.success:
        raise ConfigError(f"SLSQP did not converge ({res.message}); use method='kkt'")
    return res.x * scale


def allocate(budget: float, investments, *, method: str = "kkt", steps: int = 20_000,
             current_at_budget: bool = True) -> Allocation:
    """Allocate ``budget`` (USD) across ``investments`` to maximise the total return.

    Spends are rounded to cents and sum exactly to the budget. The comparison "current split"
    is each item's ``current`` spend, scaled to the budget when ``current_at_budget`` and the
    current total differs from it (the note says so)."""
    inv = as_investments(investments)
    if not (isinstance(budget, int | float) and np.isfinite(budget) and budget >= 0):
        raise ConfigError(f"budget {budget!r} must be a non-negative amount in USD")
    if method not in ("kkt", "greedy", "slsqp"):
        raise ConfigError(f"unknown method {method!r}; use kkt, greedy or slsqp")
    notes: list[str] = []
    if not inv:
        return Allocation(_empty_table(), float(budget), 0.0, 0.0, float("nan"), method,
                          ["no investments to allocate"])
    mins = sum(i.min_spend for i in inv)
    maxs = sum(i.max_spend for i in inv)
    if mins > budget + 0.005:
        raise ConfigError(f"minimum spends sum to {mins:,.2f} USD, above the budget "
                          f"{budget:,.2f}; lower a min_spend or raise the budget")
    if maxs < budget - 0.005:
        raise ConfigError(f"maximum spends sum to {maxs:,.2f} USD, below the budget "
                          f"{budget:,.2f}; raise a max_spend or lower the budget")
    if method == "kkt":
        s, lam = _solve_kkt(inv, float(budget))
    elif method == "greedy":
        s = _solve_greedy(inv, float(budget), steps)
        lam = float("nan")
    else:
        s = _solve_slsqp(inv, float(budget))
        lam = float("nan")
    s = np.clip(s, [i.min_spend for i in inv], [i.max_spend for i in inv])
    cents = round_groups(s, np.zeros(len(s), dtype=np.int64),
                         np.array([int(round(budget * 100))]))
    s = cents / 100.0
    cur = np.array([i.current for i in inv], dtype=float)
    if current_at_budget and cur.sum() > 0 and abs(cur.sum() - budget) > 0.005:
        notes.append(f"current split ({cur.sum():,.0f} USD) scaled to the budget "
                     f"({budget:,.0f} USD) for the comparison")
        cur = cur * budget / cur.sum()
    ret = np.array([float(i.value(v)) for i, v in zip(inv, s)])
    ret_cur = np.array([float(i.value(v)) for i, v in zip(inv, cur)])
    mr = np.array([float(i.marginal(v)) for i, v in zip(inv, s)])
    bound = ["min" if v <= i.min_spend + 0.01 else "max" if v >= i.max_spend - 0.01
             else "interior" for i, v in zip(inv, s)]
    if not np.isfinite(lam):
        inter = [m for m, b in zip(mr, bound) if b == "interior"]
        lam = float(np.median(inter)) if inter else float("nan")
    t = pd.DataFrame({
        "name": [i.name for i in inv], "kind": [i.kind for i in inv],
        "curve": [i.curve for i in inv], "current": cur, "spend": s, "change": s - cur,
        "return_current": ret_cur, "return": ret, "marginal_roi": mr,
        "avg_roi": np.where(s > 0, ret / np.where(s > 0, s, 1.0), np.nan), "bound": bound})
    for c in ("name", "kind", "curve", "bound"):
        t[c] = t[c].astype("string")
    return Allocation(t, float(budget), float(ret.sum()), float(ret_cur.sum()), lam, method,
                      notes)


def kkt_check(alloc: Allocation, investments) -> dict[str, float]:
    """Optimality check: relative spread (max - min) / mean of the marginal returns of interior
    items, and the worst violation of the bound conditions (items at min with marginal above
    lambda, at max with marginal below it), relative to lambda."""
    t = alloc.table
    inter = t.loc[t["bound"] == "interior", "marginal_roi"].to_numpy(dtype=float)
    lam = float(inter.mean()) if len(inter) else alloc.lam
    spread = float((inter.max() - inter.min()) / lam) if len(inter) > 1 else 0.0
    at_min = t.loc[t["bound"] == "min", "marginal_roi"].to_numpy(dtype=float)
    at_max = t.loc[t["bound"] == "max", "marginal_roi"].to_numpy(dtype=float)
    viol = max([0.0, *((at_min - lam) / lam), *((lam - at_max) / lam)])
    return {"lambda": lam, "interior_spread": spread, "bound_violation": float(viol)}


# ---- fitting from history --------------------------------------------------------------------
def fit_curve(spend, returns, curve: str = "exp", name: str = "fitted", **fields) -> Investment:
    """Fit a response curve to history with ``scipy.optimize.curve_fit``; the result's ``fit``
    states the formula, parameters, R^2 and number of points."""
    from scipy.optimize import curve_fit

    x = np.asarray(spend, dtype=float)
    y = np.asarray(returns, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x >= 0)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) <= 0:
        raise ConfigError(f"fitting {name!r} needs at least 3 points with different spends; "
                          f"got {len(x)}")
    if curve == "exp":
        f = lambda s, a, b: a * -np.expm1(-s / b)  # noqa: E731
        p0 = [max(y.max(), 1.0) * 1.5, max(np.median(x), 1.0)]
        bounds = ([1e-9, 1e-9], [np.inf, np.inf])
    elif curve == "power":
        f = lambda s, a, k: a * np.maximum(s, 0) ** k  # noqa: E731
        p0 = [max(y.mean(), 1.0) / max(np.mean(x), 1.0) ** 0.5, 0.5]
        bounds = ([1e-12, 1e-6], [np.inf, 0.999999])
    else:
        raise ConfigError(f"curve {curve!r} is not one of {', '.join(CURVES)}")
    try:
        par, _ = curve_fit(f, x, y, p0=p0, bounds=bounds, maxfev=20_000)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"could not fit a {curve} curve to {name!r}: {exc}") from None
    pred = f(x, *par)
    ss = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float(((y - pred) ** 2).sum()) / ss if ss else float("nan")
    if curve == "exp":
        text = (f"return = {par[0]:,.0f} x (1 - exp(-spend / {par[1]:,.0f})), fitted by "
                f"curve_fit to {len(x)} points, R^2 = {r2:.2f}")
        return Investment(name=name, a=float(par[0]), b=float(par[1]), curve="exp", fit=text,
                          **fields)
    text = (f"return = {par[0]:.4g} x spend^{par[1]:.3f}, fitted by curve_fit to {len(x)} points,"
            f" R^2 = {r2:.2f}")
    return Investment(name=name, a=float(par[0]), k=float(par[1]), curve="power", fit=text,
                      **fields)


def headcount_history(data: Dataset, scope: Scope | str | None = None) -> pd.DataFrame:
    """Per unit below ``scope`` (territories under company/region; regions' own territories):
    quota-carrying reps active at ``as_of`` and trailing-12-month bookings (USD).
    Columns ``unit, reps, bookings``."""
    scope = Scope.parse(scope)
    now = Period(data.as_of, day_after(data.as_of), "as of")
    reps = quota_reps(data, now)
    if scope.level == "region":
        reps = reps[reps["region"] == scope.id]
    elif scope.level != "company":
        return pd.DataFrame({"unit": pd.Series(dtype="string"), "reps": pd.Series(dtype=int),
                             "bookings": pd.Series(dtype=float)})
    win = history_window(data)
    d = data.deals
    won = d[(d["status"] == "won") & win.contains(d["close_date"])]
    b = won["amount"].groupby(won["territory"]).sum()
    n = reps.groupby("territory").size()
    return pd.DataFrame({"unit": n.index.astype("string"), "reps": n.to_numpy(),
                         "bookings": n.index.map(b).astype(float).fillna(0.0)})


def headcount_investment(data: Dataset, scope: Scope | str | None = None, *,
                         cost_per_rep: float, curve: str = "exp",
                         max_reps: float | None = None) -> Investment:
    """Fit the headcount response across the units of ``scope``: ``spend = reps x
    cost_per_rep`` (USD/year, fully loaded) vs trailing-12-month bookings per territory, then
    scale to the scope: ``a`` x number of units (the curve of an average territory times the
    territories, spend spread evenly). ``current`` = the scope's reps x cost."""
    if not (isinstance(cost_per_rep, int | float) and cost_per_rep > 0):
        raise ConfigError("cost_per_rep must be a positive USD amount per rep per year")
    h = headcount_history(data, scope)
    if len(h) < 3:
        raise ConfigError(f"fitting headcount needs 3+ territories in {Scope.parse(scope).label}"
                          f" (have {len(h)}); configure the headcount curve instead")
    one = fit_curve(h["reps"] * cost_per_rep, h["bookings"], curve, name="headcount")
    m = len(h)
    # sum of m identical territories each spending s/m: exp -> a' = m a, b' = m b;
    # power -> a' = m^(1-k) a
    if curve == "exp":
        inv = Investment("headcount", a=one.a * m, b=one.b * m, curve="exp", kind="headcount")
    else:
        inv = Investment("headcount", a=one.a * m ** (1 - one.k), k=one.k, curve="power",
                         kind="headcount")
    inv.current = float(h["reps"].sum() * cost_per_rep)
    inv.max_spend = float(max_reps * cost_per_rep) if max_reps else float("inf")
    inv.fit = (f"per territory: {one.fit}; scaled to {m} territories (spend = reps x "
               f"{cost_per_rep:,.0f} USD)")
    return inv


def plan_resources(data: Dataset, scope: Scope | str | None = None,
                   period: Period | str | None = None, *, budget: float,
                   investments=(), cost_per_rep: float | None = None,
                   method: str = "kkt") -> Allocation:
    """Allocate ``budget`` for ``scope`` across ``investments`` plus, when ``cost_per_rep`` is
    given and the scope has 3+ territories, headcount fitted from the data. A scope without
    deals gives an empty labelled allocation."""
    try:
        sc = Scope.parse(scope)
        per = Period.year(data.as_of.year + 1) if period is None else Period.parse(period)
    except ValueError as exc:
        raise ConfigError(f"bad scope or period: {exc}") from None
    notes = []
    if sc.level != "company" and sc.filter(data.deals).empty:
        a = Allocation(_empty_table(), float(budget), 0.0, 0.0, float("nan"), method,
                       [f"no deals in {sc.label} for {per.label}"])
        return a
    inv = as_investments(investments)
    if cost_per_rep is not None and not any(i.kind == "headcount" for i in inv):
        try:
            inv.append(headcount_investment(data, sc, cost_per_rep=cost_per_rep))
            notes.append(inv[-1].fit)
        except ConfigError as exc:
            notes.append(f"headcount not fitted: {exc}")
    out = allocate(budget, inv, method=method)
    out.notes = notes + out.notes
    return out


# ---- workspace -------------------------------------------------------------------------------
SECTION = "resources"


def save_resources(ws, alloc: Allocation, investments, by: str | None = None) -> None:
    """Record the budget, the investments and the accepted spends in section ``resources``."""
    ws.record_many(SECTION, {
        "budget": alloc.budget, "method": alloc.method,
        "investments": [{k: v for k, v in asdict(i).items()
                         if not (isinstance(v, float) and not np.isfinite(v))}
                        for i in as_investments(investments)],
        "accepted": dict(zip(alloc.table["name"].astype(str), alloc.table["spend"]))}, by=by)


def load_resources(ws) -> dict:
    """``{"budget", "method", "investments": [Investment], "accepted": {name: USD}}``."""
    s = ws.get(SECTION) or {}
    return {"budget": s.get("budget"), "method": s.get("method", "kkt"),
            "investments": as_investments(s.get("investments") or []),
            "accepted": dict(s.get("accepted") or {})}


def chart_allocation(alloc: Allocation) -> alt.Chart:
    """Current vs optimal spend per item (USD)."""
    t = alloc.table.melt(id_vars=["name", "marginal_roi"], value_vars=["current", "spend"],
                         var_name="split", value_name="usd")
    return alt.Chart(t).mark_bar().encode(
        x=alt.X("usd:Q", title="USD"), y=alt.Y("split:N", title=None), row="name:N",
        color="split:N", tooltip=["name", "split", alt.Tooltip("usd:Q", format=",.0f"),
                                  alt.Tooltip("marginal_roi:Q", format=".3f")])
