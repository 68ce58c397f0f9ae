"""Step 11 - resources: allocate a budget across channels (the tactics' categories, tools,
programs) with diminishing returns, on top of the committed tactic spend, beside the capacity
plan's headcount.

Response curves (spend ``s`` and return in USD per plan period):

* ``exp``    - ``return = a x (1 - exp(-s / b))``; marginal ``(a / b) x exp(-s / b)``; ``a`` is
  the saturation level (USD), ``b`` the spend (USD) that reaches 63% of it. A channel's curve
  is set from one known point and an elasticity (:func:`saturating`): at the committed spend
  ``s0`` it returns ``R0`` (the bookings its recorded tactics add in the scenario model) with
  elasticity ``e = d ln R / d ln s`` (the scenarios' spend elasticity, 0.3, a stated prior:
  the data hold no spend history); ``x = s0 / b`` solves ``x / (e^x - 1) = e``, ``b = s0 /
  x``, ``a = R0 / (1 - e^-x)``;
* ``power``  - ``return = a x s^k`` with ``0 < k < 1``; marginal ``a k s^(k-1)``;
* ``linear`` - ``return = a + k x (s - current)``: a line through the plan point (headcount:
  ``a`` = the capacity plan's capacity, ``k`` = what one more rep returns per USD of cost).

Curves are configured, set from a point and an elasticity, or fitted from history points with
``scipy.optimize.curve_fit`` (:func:`fit_curve`, the fit and its R^2 stated in
``Investment.fit``).

The optimum equalises marginal returns (KKT): every item strictly between its bounds has the
same marginal return ``lambda``; items at their minimum have marginal <= lambda, at their
maximum >= lambda. :func:`allocate` finds ``lambda`` by bisection on
``sum_i clip(marginal_i^-1(lambda), min_i, max_i) = budget`` (``method="kkt"``), or by greedy
increments (``"greedy"``) or ``scipy.optimize.minimize`` (``"slsqp"``); :func:`kkt_check`
verifies the result. A channel never gets less than its committed tactic spend (its
``min_spend``); headcount is the capacity plan's (fixed: ``min = max``), its marginal return
("one more rep returns $X") is reported, never optimised.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps.quotas import round_groups

CURVES = ("exp", "power", "linear")
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
        if self.curve == "linear":
            if not (np.isfinite(self.a) and self.a >= 0 and np.isfinite(self.k)
                    and self.k >= 0):
                raise ConfigError(f"investment {self.name!r}: a linear line needs a >= 0 (USD "
                                  "at the current spend) and k >= 0 (USD per USD)")
        elif not (np.isfinite(self.a) and self.a > 0):
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
        if self.curve == "linear":
            return np.maximum(self.a + self.k * (s - self.current), 0.0)
        if self.curve == "exp":
            return self.a * -np.expm1(-s / self.b)
        return self.a * s ** self.k

    def marginal(self, s):
        s = np.maximum(np.asarray(s, dtype=float), 0.0)
        if self.curve == "linear":
            return np.full(s.shape, float(self.k)) if s.ndim else float(self.k)
        if self.curve == "exp":
            return self.a / self.b * np.exp(-s / self.b)
        with np.errstate(divide="ignore"):
            return self.a * self.k * np.where(s > 0, s, 0.0) ** (self.k - 1)

    def spend_at(self, lam: float) -> float:
        """Spend where the marginal return equals ``lam`` (clipped to the bounds)."""
        if self.curve == "linear":
            s = self.max_spend if self.k > lam else self.min_spend
        elif self.curve == "exp":
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
    allocated spend), ``avg_roi`` (return / spend), ``bound`` (min/max/interior/fixed)."""

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
    fixed = np.array([i.min_spend == i.max_spend for i in inv])
    flex = cur[~fixed].sum()
    room = budget - cur[fixed].sum()
    if current_at_budget and flex > 0 and abs(flex - room) > 0.005 and room > 0:
        notes.append(f"current split ({flex:,.0f} USD of flexible lines) scaled to the "
                     f"budget left for them ({room:,.0f} USD) for the comparison")
        cur = np.where(fixed, cur, cur * room / flex)
    ret = np.array([float(i.value(v)) for i, v in zip(inv, s)])
    ret_cur = np.array([float(i.value(v)) for i, v in zip(inv, cur)])
    mr = np.array([float(i.marginal(v)) for i, v in zip(inv, s)])
    bound = ["fixed" if i.min_spend == i.max_spend else "min" if v <= i.min_spend + 0.01
             else "max" if v >= i.max_spend - 0.01 else "interior" for i, v in zip(inv, s)]
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


def saturating(name: str, spend: float, ret: float, elasticity: float, **fields
               ) -> Investment:
    """An ``exp`` curve through ``(spend, ret)`` (USD, USD) with elasticity ``elasticity``
    (``d ln return / d ln spend``, 0 < e < 1) there: ``x = spend / b`` solves ``x / (e^x - 1)
    = e``, ``b = spend / x``, ``a = ret / (1 - e^-x)`` (see the module doc)."""
    if not 0 < elasticity < 1:
        raise ConfigError(f"channel {name!r}: elasticity {elasticity!r} must be in (0, 1) "
                          "(diminishing returns)")
    if not (spend > 0 and ret > 0):
        raise ConfigError(f"channel {name!r}: a saturating curve needs a spend and a return "
                          f"> 0 (got {spend!r}, {ret!r})")
    lo, hi = 1e-9, 60.0  # x / (e^x - 1) falls from 1 (x -> 0) to ~0
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid / np.expm1(mid) > elasticity:
            lo = mid
        else:
            hi = mid
    x = (lo + hi) / 2
    b = spend / x
    a = ret / -np.expm1(-x)
    fields.setdefault("fit", f"return = {a:,.0f} x (1 - exp(-spend / {b:,.0f})): {ret:,.0f} USD"
                      f" at {spend:,.0f} USD with elasticity {elasticity:.2f} there")
    return Investment(name=name, a=float(a), b=float(b), curve="exp", **fields)


def committed_spend(tactics, period: Period | str) -> dict[str, float]:
    """Committed spend per channel (the tactic's category), USD in ``period``: each recorded
    tactic's budget x the share of its months that fall in the period."""
    from salesplan_nb.steps import strategy

    per = Period.parse(period)
    months = set(per.months())
    out: dict[str, float] = {}
    if hasattr(tactics, "items") and not isinstance(tactics, dict | list | tuple):
        tactics = strategy.load_tactics(tactics)
    for t in tactics or []:
        t = t if isinstance(t, strategy.Tactic) else strategy.Tactic.from_dict(dict(t))
        tm = t.months()
        share = sum(m in months for m in tm) / len(tm) if len(tm) else 0.0
        if t.budget > 0 and share > 0:
            out[t.category] = out.get(t.category, 0.0) + t.budget * share
    return out


def channel_investments(ws, model=None, scope: Scope | str = "company",
                        elasticity: float | None = None) -> list[Investment]:
    """One saturating channel per tactic category with committed spend (:func:`saturating`):
    ``current = min_spend`` = the committed spend, the return there = the bookings that
    category's tactics add in ``scope`` (scenario model of the workspace: plan with vs without
    them, USD), elasticity ``elasticity`` (default: the scenario model's spend elasticity, a
    stated prior). A channel whose tactics add nothing measurable is a fixed line at its
    committed spend."""
    from salesplan_nb.steps import scenarios, strategy

    tactics = strategy.load_tactics(ws)
    committed = committed_spend(tactics, ws.period)
    if not committed:
        return []
    model = model or scenarios.from_workspace(ws, ws.period)
    e = model.assumptions.spend_elasticity if elasticity is None else float(elasticity)
    sc = Scope.parse(scope)
    if sc.level not in ("company", "region", "territory", "rep"):
        sc = Scope.parse("company")  # the scenario model has no account level
    base = model.recompute().total(sc, "bookings")
    out = []
    for cat, spend in sorted(committed.items()):
        mine = [t for t in tactics if t.category == cat]
        ch = scenarios.tactic_changes(mine, ws.period, ws.data)
        ret = model.recompute(scenarios.Scenario(cat, ch)).total(sc, "bookings") - base
        fields = {"kind": "program", "current": spend, "min_spend": spend}
        if ret > 0:
            out.append(saturating(cat, spend, ret, e, **fields))
        else:
            out.append(Investment(cat, a=0.0, k=0.0, curve="linear", **fields,
                                  max_spend=spend, fit="committed; no modelled return"))
    return out


def headcount_line(data: Dataset, scope: Scope | str | None = None,
                   period: Period | str | None = None, *, cost_per_rep: float,
                   capacity_settings: dict | None = None) -> Investment:
    """Headcount as the capacity plan has it (fixed, never optimised): spend = mean monthly
    headcount (existing seats with attrition and backfill + the hiring plan) x
    ``cost_per_rep`` (USD/year, fully loaded) x months / 12; return = the plan's capacity (USD);
    marginal ``k`` = what one more rep hired in the first plan month returns (capacity's
    ``hire_yield`` RRE-months x productivity, USD) / its cost in the period (``cost_per_rep``
    x months / 12): "one more rep returns $X"."""
    from salesplan_nb.steps import capacity

    if not (isinstance(cost_per_rep, int | float) and cost_per_rep > 0):
        raise ConfigError("cost_per_rep must be a positive USD amount per rep per year")
    cs = dict(capacity_settings or {})
    plan = capacity.capacity_plan(data, scope, period, **cs)
    per = plan.period
    n = per.n_months
    seats = float(plan.monthly["headcount"].mean()) if len(plan.monthly) else 0.0
    spend = seats * cost_per_rep * n / 12
    first = str(plan.monthly["month"].iloc[0]) if len(plan.monthly) else str(per.months()[0])
    kw = {k: cs[k] for k in ("ramp", "attrition", "backfill_lag") if k in cs}
    one = capacity.hire_yield(per, first, **kw) * (plan.productivity if np.isfinite(
        plan.productivity) else 0.0)
    cost_one = cost_per_rep * n / 12
    inv = Investment("headcount", a=max(plan.capacity, 0.0), k=one / cost_one, curve="linear",
                     kind="headcount", current=spend, min_spend=spend, max_spend=spend)
    inv.fit = (f"the capacity plan: {seats:.1f} seats on average (hiring plan included) x "
               f"{cost_per_rep:,.0f} USD/year = {spend:,.0f} USD for {plan.capacity:,.0f} USD "
               f"of capacity; one more rep from {first} returns {one:,.0f} USD for "
               f"{cost_one:,.0f} USD (the plan's headcount is the capacity step's)")
    return inv


def plan_resources(data: Dataset, scope: Scope | str | None = None,
                   period: Period | str | None = None, *, budget: float,
                   investments=(), cost_per_rep: float | None = None,
                   method: str = "kkt", capacity_settings: dict | None = None,
                   committed: dict[str, float] | None = None) -> Allocation:
    """Allocate ``budget`` for ``scope`` across ``investments`` plus, when ``cost_per_rep`` is
    given, the capacity plan's headcount (:func:`headcount_line`, fixed). ``committed``
    (channel -> USD): an investment of that name never gets less. A scope without deals gives
    an empty labelled allocation."""
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
    for i in inv:
        c = float((committed or {}).get(i.name, 0.0))
        if c > i.min_spend:
            i.min_spend = c
            i.max_spend = max(i.max_spend, c)
    if cost_per_rep is not None and not any(i.kind == "headcount" for i in inv):
        inv.append(headcount_line(data, sc, per, cost_per_rep=cost_per_rep,
                                  capacity_settings=capacity_settings))
        notes.append(inv[-1].fit)
    out = allocate(budget, inv, method=method)
    out.notes = notes + out.notes
    return out


def workspace_investments(ws, *, cost_per_rep: float | None = None, investments=(),
                          scope: Scope | str | None = None, model=None) -> list[Investment]:
    """The workspace's lines: its tactics' channels (:func:`channel_investments`, never below
    the committed spend) plus ``investments`` (e.g. tools; a name already a channel keeps
    the given curve, with the committed spend as its floor), and the capacity plan's headcount
    (:func:`headcount_line`, fixed) when ``cost_per_rep`` is given."""
    from salesplan_nb.steps import capacity

    extra = as_investments(investments)
    committed = committed_spend(ws, ws.period)
    for i in extra:
        c = committed.get(i.name, 0.0)
        if c > i.min_spend:
            i.min_spend, i.max_spend = c, max(i.max_spend, c)
    chans = [c for c in channel_investments(ws, model, scope or "company")
             if c.name not in {i.name for i in extra}]
    inv = [*chans, *extra]
    seats = Scope.parse(scope).level in ("company", "region", "territory", "rep")
    if cost_per_rep is not None and seats and not any(i.kind == "headcount" for i in inv):
        inv.append(headcount_line(ws.data, scope, ws.period, cost_per_rep=cost_per_rep,
                                  capacity_settings=capacity.load_capacity_settings(ws)))
    return inv


def from_workspace(ws, *, budget: float, cost_per_rep: float | None = None,
                   investments=(), scope: Scope | str | None = None,
                   method: str = "kkt", model=None) -> tuple[Allocation, list[Investment]]:
    """Allocate ``budget`` over :func:`workspace_investments`; returns the allocation and
    the lines (to save with :func:`save_resources`)."""
    inv = workspace_investments(ws, cost_per_rep=cost_per_rep, investments=investments,
                                scope=scope, model=model)
    alloc = plan_resources(ws.data, scope, ws.period, budget=budget, investments=inv,
                           method=method)
    alloc.notes = [i.fit for i in inv if i.kind == "headcount"] + alloc.notes
    return alloc, inv


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


# ---- the demo's default decision ------------------------------------------------------------
COST_PER_REP = 180_000  # USD per rep per year, fully loaded (the demo's figure)
TOOLS = Investment("sales tools and enablement", a=2_000_000, b=300_000, kind="tool",
                   current=150_000, fit="configured (the demo's figure)")


def current_plus(investments, uplift: float = 0.10) -> float:
    """The default budget (USD): every line at its current or committed spend (whichever is
    higher), plus ``uplift``, rounded to $1,000, kept between the lines' minimum and maximum
    spends - a budget the fixed headcount and the committed tactics always fit in (with only
    fixed lines, their cost)."""
    inv = as_investments(investments)
    budget = round(sum(max(i.min_spend, i.current) for i in inv) * (1 + uplift), -3)
    return float(min(max(budget, sum(i.min_spend for i in inv)),
                     sum(i.max_spend for i in inv)))


def demo_decision(ws, by: str = "demo") -> str:
    """Step 11 in ``salesplan demo``: the capacity plan's headcount (fixed) and the tactics'
    channels at their committed spend plus tools; the budget is 10% above that current
    spend, the extra allocated where the next dollar returns most."""
    inv = workspace_investments(ws, cost_per_rep=COST_PER_REP, investments=[TOOLS])
    budget = current_plus(inv)
    alloc = plan_resources(ws.data, None, ws.period, budget=budget, investments=inv)
    save_resources(ws, alloc, inv, by=by)
    ws.save_output("resources", "allocation", alloc.table)
    split = ", ".join(f"{r.name} ${r.spend:,.0f}" for r in alloc.table.itertuples())
    return (f"budget ${budget:,.0f} (current + 10%): {split}; return ${alloc.total_return:,.0f}"
            f", marginal ROI {alloc.lam:.2f}")
