"""Step 10 - territories: balance accounts across territories (or reps) by potential and
workload **per seat**, within each region, keep locked accounts, and move as few accounts as
possible; disruption is counted in dollars.

* **potential** - USD/year per account (:func:`salesplan_nb.steps.market.account_potential`);
* **workload** - ``"accounts"`` (1 per account), ``"calls"`` (planned calls per year by
  segment, :data:`CALLS_PER_YEAR`) or ``"opportunities"`` (open opportunities);
* **seats** - a territory's reps employed at ``as_of`` plus the hiring plan's to-be-hired
  seats (:func:`territory_seats`); a rep unit is one seat;
* **tolerance** - every unit's potential within ``target_u x (1 +- tolerance)``, ``target_u =
  group potential x seats_u / group seats`` (the group's mean per seat x the unit's seats;
  group = the unit's region, or the whole scope with ``cross_region=True``; e.g. 0.05 =
  +-5%); optional ``workload_tolerance`` likewise;
* **moves** - accounts whose unit differs from their current one; each costs ``move_cost``
  (default 1 per account; an unassigned account costs nothing to place); the disruption is
  the moved potential (USD/year) and moved open pipeline (USD).

Solver: a mixed-integer program solved by HiGHS (``highspy``): binary ``x[a,u]`` = account
``a`` in unit ``u``; minimise ``sum cost_a x[a,u]`` over ``u != current(a)`` subject to one unit
per account and ``L <= sum_a potential_a x[a,u] <= U`` per unit; locked accounts are constants.
HiGHS stops within ``mip_gap`` (1%) of the optimum or at
``time_limit``. Large inputs keep only candidate accounts as variables (the heuristic's moved accounts plus
each unit's largest accounts), the rest fixed. The greedy heuristic (move from the unit
furthest outside the band to/from the lightest/heaviest, choosing the account whose potential is
closest to the smaller of the two gaps to the mean; then undo moves that are no longer needed)
gives the warm start and is the fallback when HiGHS finds no solution in its time limit.
"""

from __future__ import annotations

import bisect
import heapq
import os
import sys
import time
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import day_after
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps.market import account_potential
from salesplan_nb.steps.quotas import _hire_key, quota_reps, tbh_seats

#: planned calls per account per year by segment (workload="calls"); Unknown as SMB
CALLS_PER_YEAR = {"Enterprise": 24.0, "Mid-Market": 12.0, "SMB": 6.0}
DEFAULT_TOLERANCE = 0.05
WORKLOADS = ("accounts", "calls", "opportunities")
MAX_MIP_VARIABLES = 120_000
#: ``method="auto"`` skips HiGHS above this many movable accounts (the heuristic alone)
HEURISTIC_ONLY_ABOVE = 250_000


# ---- the array core --------------------------------------------------------------------------
@dataclass
class Solution:
    """An assignment (unit index per account) and how it was found."""

    assign: np.ndarray
    method: str
    status: str
    seconds: float
    moves: int
    within_tolerance: bool


def _shares(n_units: int, seats=None) -> np.ndarray:
    """Each unit's share of the total (fractions summing to 1): ``seats_u / sum(seats)``, or
    ``1 / n_units`` without seats (or when no unit has a seat)."""
    if seats is None:
        return np.full(n_units, 1.0 / n_units)
    s = np.asarray(seats, dtype=float)
    return s / s.sum() if s.sum() > 0 else np.full(n_units, 1.0 / n_units)


def _band(p: np.ndarray, n_units: int, tol: float, seats=None
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit target, lower and upper bound (USD): ``target_u = total x seats_u /
    sum(seats)`` (equal shares without seats) and ``target_u x (1 -+ tol)``."""
    tgt = float(np.sum(p)) * _shares(n_units, seats)
    return tgt, tgt * (1 - tol), tgt * (1 + tol)


def count_moves(assign: np.ndarray, current: np.ndarray) -> int:
    """Accounts assigned to a unit other than their current one (unassigned ones excluded)."""
    return int(((current >= 0) & (assign != current)).sum())


def _within(assign, p, n_units, tol, w=None, wtol=None, seats=None) -> bool:
    _, lo, hi = _band(p, n_units, tol, seats)
    load = np.bincount(assign, weights=p, minlength=n_units)
    ok = bool(((load >= lo - 1e-6) & (load <= hi + 1e-6)).all())
    if ok and w is not None and wtol is not None:
        _, wlo, whi = _band(w, n_units, wtol, seats)
        wl = np.bincount(assign, weights=w, minlength=n_units)
        ok = bool(((wl >= wlo - 1e-6) & (wl <= whi + 1e-6)).all())
    return ok


def greedy(p: np.ndarray, current: np.ndarray, locked: np.ndarray, n_units: int,
           tol: float, max_iter: int | None = None, seats=None) -> np.ndarray:
    """Heuristic rebalance (see the module docstring). ``current`` -1 = unassigned;
    ``seats`` per unit make the band per seat (default: equal units)."""
    p = np.asarray(p, dtype=float)
    assign = current.copy()
    load = np.bincount(assign[assign >= 0], weights=p[assign >= 0], minlength=n_units)
    mean, lo, hi = _band(p, n_units, tol, seats)
    scale = max(float(np.sum(p)) / n_units, 1e-12)
    # place unassigned accounts, largest first, in the unit furthest below its target
    heap = [((load[u] - mean[u]) / scale, u) for u in range(n_units)]
    heapq.heapify(heap)
    for a in np.flatnonzero(assign < 0)[np.argsort(-p[assign < 0], kind="stable")]:
        _, u = heapq.heappop(heap)
        assign[a] = u
        load[u] += p[a]
        heapq.heappush(heap, ((load[u] - mean[u]) / scale, u))
    movable = ~locked
    # per unit: sorted (potential, account) lists of movable accounts
    pots: list[list[float]] = [[] for _ in range(n_units)]
    accs: list[list[int]] = [[] for _ in range(n_units)]
    idx = np.flatnonzero(movable)
    for a in idx[np.lexsort((idx, p[idx], assign[idx]))]:
        pots[assign[a]].append(float(p[a]))
        accs[assign[a]].append(int(a))

    def move(a: int, src: int, dst: int) -> None:
        i = bisect.bisect_left(pots[src], p[a])
        while accs[src][i] != a:
            i += 1
        del pots[src][i], accs[src][i]
        j = bisect.bisect_left(pots[dst], p[a])
        pots[dst].insert(j, float(p[a]))
        accs[dst].insert(j, a)
        assign[a] = dst
        load[src] -= p[a]
        load[dst] += p[a]

    def pick(src: int, dst: int) -> int | None:
        d = min(load[src] - mean[src], mean[dst] - load[dst])
        gap = (load[src] - mean[src]) + (mean[dst] - load[dst])  # excess + deficit
        if d <= 0 or gap <= 0:
            return None
        lst = pots[src]
        i = bisect.bisect_left(lst, d)
        best, best_err = None, np.inf
        for k in (i - 1, i, i + 1):
            if 0 <= k < len(lst) and 0 < lst[k] < gap:
                err = abs(lst[k] - d)
                # prefer an account going back to its current unit (no move cost)
                if current[accs[src][k]] == dst:
                    err *= 0.5
                if err < best_err:
                    best, best_err = accs[src][k], err
        return best

    max_iter = max_iter or 20 * n_units + len(p)
    for _ in range(max_iter):
        viol = np.maximum(load - hi, lo - load)
        t = int(np.argmax(viol))
        if viol[t] <= 1e-9:
            break
        done = False
        dev = load - mean
        if load[t] > hi[t]:
            for r in np.argsort(dev, kind="stable")[: max(8, n_units // 4)]:
                a = pick(t, int(r))
                if a is not None:
                    move(a, t, int(r))
                    done = True
                    break
        else:
            for s in np.argsort(-dev, kind="stable")[: max(8, n_units // 4)]:
                a = pick(int(s), t)
                if a is not None:
                    move(a, int(s), t)
                    done = True
                    break
        if not done:
            break
    # local improvement: undo moves that the band no longer needs
    for a in np.flatnonzero((assign != current) & (current >= 0) & movable):
        src, dst = assign[a], current[a]
        if load[src] - p[a] >= lo[src] and load[dst] + p[a] <= hi[dst]:
            move(int(a), int(src), int(dst))
    return assign


def naive(p: np.ndarray, locked: np.ndarray, current: np.ndarray, n_units: int,
          seats=None) -> np.ndarray:
    """Baseline: ignore current owners; sort accounts by potential (desc) and give each to the
    unit furthest below its target (lightest per seat; locked accounts stay put first)."""
    p = np.asarray(p, dtype=float)
    assign = np.where(locked, current, -1)
    load = np.bincount(assign[locked], weights=p[locked], minlength=n_units)
    tgt = float(np.sum(p)) * _shares(n_units, seats)
    scale = max(float(np.sum(p)) / n_units, 1e-12)
    heap = [((load[u] - tgt[u]) / scale, u) for u in range(n_units)]
    heapq.heapify(heap)
    free = np.flatnonzero(~locked)
    for a in free[np.argsort(-p[free], kind="stable")]:
        _, u = heapq.heappop(heap)
        assign[a] = u
        load[u] += p[a]
        heapq.heappush(heap, ((load[u] - tgt[u]) / scale, u))
    return assign



def _quiet_highs(highspy):
    """A ``highspy.Highs`` with logging off. HiGHS prints its banner from C++ while the object
    is built (before ``output_flag`` can be set), so file descriptor 1 points at /dev/null for
    that moment; the solver's output stays off afterwards through ``output_flag``."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


def _mip(p, w, current, locked, n_units, tol, wtol, cost, start, time_limit, max_vars,
         mip_gap=0.01, seats=None):
    """Solve with HiGHS; returns (assign or None, status text)."""
    import highspy

    n = len(p)
    var = ~locked
    n_var = int(var.sum())
    if n_var * n_units > max_vars:  # keep candidates only
        k = max(1, max_vars // n_units)
        cand = var & (start != current)
        room = max(0, k - int(cand.sum()))
        per = max(1, room // n_units)
        order = np.lexsort((-p, start))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - np.searchsorted(start[order], start[order])
        cand |= var & (rank < per)
        var = cand
    vi = np.flatnonzero(var)
    fixed = ~var
    fixed_load = np.bincount(start[fixed], weights=p[fixed], minlength=n_units)
    _, lo, hi = _band(p, n_units, tol, seats)
    nv = len(vi)
    if nv == 0:
        return None, "no movable accounts"
    # columns: (account vi[i], unit u) -> i * n_units + u
    cols_a = np.repeat(np.arange(nv), n_units)
    cols_u = np.tile(np.arange(n_units), nv)
    a_idx = vi[cols_a]
    cc = np.where((current[a_idx] >= 0) & (cols_u != current[a_idx]), cost[a_idx], 0.0)
    n_rows = nv + n_units
    rows = [cols_a, nv + cols_u]
    vals = [np.ones(len(cols_a)), p[a_idx]]
    rlo = [np.ones(nv), lo - fixed_load]
    rhi = [np.ones(nv), hi - fixed_load]
    if wtol is not None:
        fixed_w = np.bincount(start[fixed], weights=w[fixed], minlength=n_units)
        _, wlo, whi = _band(w, n_units, wtol, seats)
        rows.append(nv + n_units + cols_u)
        vals.append(w[a_idx])
        rlo.append(wlo - fixed_w)
        rhi.append(whi - fixed_w)
        n_rows += n_units
    per_col = len(rows)
    index = np.stack(rows, axis=1).ravel().astype(np.int32)
    value = np.stack(vals, axis=1).ravel().astype(float)
    ncol = len(cols_a)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = ncol, n_rows
    lp.col_cost_ = cc
    lp.col_lower_ = np.zeros(ncol)
    lp.col_upper_ = np.ones(ncol)
    lp.row_lower_ = np.concatenate(rlo)
    lp.row_upper_ = np.concatenate(rhi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, ncol * per_col + 1, per_col, dtype=np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.integrality_ = [highspy.HighsVarType.kInteger] * ncol
    h = _quiet_highs(highspy)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", mip_gap)
    if np.allclose(cost, np.round(cost)):  # integer objective: a gap below 1 move is optimal
        h.setOptionValue("mip_abs_gap", 0.999)
    h.passModel(lp)
    sol = highspy.HighsSolution()
    x0 = np.zeros(ncol)
    x0[np.arange(nv) * n_units + start[vi]] = 1.0
    sol.col_value = x0.tolist()
    h.setSolution(sol)
    h.run()
    st = h.getModelStatus()
    S = highspy.HighsModelStatus
    info = h.getInfo()
    if st == S.kInfeasible:
        return None, "infeasible: no assignment meets the tolerance"
    if info.primal_solution_status != 2:  # 2 = feasible
        return None, f"no solution ({h.modelStatusToString(st)})"
    x = np.asarray(h.getSolution().col_value).reshape(nv, n_units)
    assign = start.copy()
    assign[vi] = x.argmax(axis=1)
    label = f"optimal (within {mip_gap:.0%})" if st == S.kOptimal else \
        f"{h.modelStatusToString(st).lower()} (best found, gap {info.mip_gap:.1%})"
    if len(vi) < (~locked).sum():
        label += f"; {len(vi):,} candidate accounts of {(~locked).sum():,} movable"
    return assign, label


def solve(p, current, locked, n_units: int, *, tolerance: float = DEFAULT_TOLERANCE,
          workload=None, workload_tolerance: float | None = None, move_cost=None,
          method: str = "auto", time_limit: float = 20.0,
          max_mip_variables: int = MAX_MIP_VARIABLES, seats=None) -> Solution:
    """Rebalance arrays: ``p`` potential, ``current`` unit index (-1 unassigned), ``locked``.
    ``method``: ``auto`` (HiGHS, heuristic fallback), ``mip`` or ``heuristic``. ``seats`` per
    unit (reps): each unit's band is around ``total x seats_u / sum(seats)`` (per seat)."""
    t0 = time.perf_counter()
    p = np.asarray(p, dtype=float)
    current = np.asarray(current, dtype=np.int64)
    locked = np.asarray(locked, dtype=bool) & (current >= 0)
    w = np.ones(len(p)) if workload is None else np.asarray(workload, dtype=float)
    cost = np.ones(len(p)) if move_cost is None else np.asarray(move_cost, dtype=float)
    if method not in ("auto", "mip", "heuristic"):
        raise ConfigError(f"unknown method {method!r}; use auto, mip or heuristic")
    start = greedy(p, current, locked, n_units, tolerance, seats=seats)
    h_ok = _within(start, p, n_units, tolerance, w, workload_tolerance, seats)
    used, status, assign = "heuristic", "within tolerance" if h_ok else "tolerance not met", start
    if method == "auto" and (~locked).sum() > HEURISTIC_ONLY_ABOVE:
        status += f"; heuristic only above {HEURISTIC_ONLY_ABOVE:,} movable accounts"
    elif method in ("auto", "mip") and n_units > 1:
        left = max(1.0, time_limit - (time.perf_counter() - t0))
        m_assign, m_status = _mip(p, w, current, locked, n_units, tolerance, workload_tolerance,
                                  cost, start, left, max_mip_variables, seats=seats)
        if m_assign is not None and _within(m_assign, p, n_units, tolerance, w,
                                            workload_tolerance, seats):
            used, status, assign = "highs", m_status, m_assign
        else:
            status = f"HiGHS: {m_status}; heuristic used ({status})"
    return Solution(assign, used, status, time.perf_counter() - t0, count_moves(assign, current),
                    _within(assign, p, n_units, tolerance, w, workload_tolerance, seats))


def balance_stats(assign, p, w, n_units: int, seats=None, group=None) -> dict[str, float]:
    """min / max / CV (population sd / mean) of potential and workload per unit - per seat
    when ``seats`` are given - as ratios to the mean of the unit's ``group`` (e.g. its region;
    one group by default): ``(load_u / seats_u) / (sum of the group's load / its seats)``.
    Units without a seat are left out of the ratios."""
    s = np.ones(n_units) if seats is None else np.asarray(seats, dtype=float)
    g = np.zeros(n_units, dtype=np.int64) if group is None else np.asarray(group)
    out = {}
    for name, x in (("potential", p), ("workload", w)):
        load = np.bincount(assign, weights=x, minlength=n_units).astype(float)
        r = per_seat_vs_mean(load, s, g)
        ok = np.isfinite(r)
        out[f"{name}_min_vs_mean"] = float(r[ok].min()) if ok.any() else np.nan
        out[f"{name}_max_vs_mean"] = float(r[ok].max()) if ok.any() else np.nan
        out[f"{name}_cv"] = float(r[ok].std() / r[ok].mean()) if ok.any() and r[ok].mean() \
            else np.nan
    return out


def per_seat_vs_mean(load: np.ndarray, seats: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``(load_u / seats_u) / (group load / group seats)`` per unit; NaN without a seat."""
    load, seats = np.asarray(load, float), np.asarray(seats, float)
    gl = pd.Series(load).groupby(group).transform("sum").to_numpy()
    gs = pd.Series(seats).groupby(group).transform("sum").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (load / seats) / (gl / gs)
    return np.where((seats > 0) & (gl > 0), r, np.nan)


# ---- the Dataset level -----------------------------------------------------------------------
@dataclass
class TerritoryPlan:
    """``assignment`` per account (``account_id, name, segment, potential, open_pipeline,
    workload, current, proposed, locked, moved``), ``balance`` per unit (``unit, group,
    seats, accounts, potential, workload, potential_per_seat, potential_vs_mean,
    workload_vs_mean, potential_before_vs_mean``; ``*_vs_mean`` per seat vs the group's mean)
    and ``summary`` figures."""

    assignment: pd.DataFrame
    balance: pd.DataFrame
    summary: dict
    unit_level: str
    scope: str
    tolerance: float
    notes: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        return "; ".join(self.notes)

    @property
    def moves(self) -> pd.DataFrame:
        """The moved accounts (one proposal each) with their potential and open pipeline
        (USD): the disruption in dollars."""
        return self.assignment[self.assignment["moved"]].reset_index(drop=True)


def open_pipeline(data: Dataset) -> pd.Series:
    """Open pipeline per account (USD): sum of ``amount`` of its ``open`` opportunities."""
    o = data.opportunities
    op = o[(o["status"] == "open").fillna(False)]
    return op["amount"].astype(float).fillna(0.0).groupby(op["account_id"].astype(str)).sum()


def accounts_frame(data: Dataset, scope: Scope | str | None = None, *,
                   workload: str = "accounts",
                   calls: dict[str, float] | None = None) -> tuple[pd.DataFrame, list[str], str]:
    """Accounts of ``scope`` with ``potential`` (USD/year), ``open_pipeline`` (USD),
    ``workload``, ``region`` and ``current`` unit; returns ``(frame, units, unit_level)``.
    Units are territories for company and region scopes, the territory's quota-carrying reps
    for a territory scope, the rep (or the account's owner) for rep and account scopes.
    ``workload``: ``accounts`` (1 each), ``calls`` (:data:`CALLS_PER_YEAR`) or
    ``opportunities`` (open opportunities of the account)."""
    try:
        scope = Scope.parse(scope)
    except ValueError as exc:
        raise ConfigError(f"bad scope {scope!r}: {exc}") from None
    if workload not in WORKLOADS:
        raise ConfigError(f"workload {workload!r}: use one of {', '.join(WORKLOADS)}")
    acc = account_potential(data).table
    if scope.level == "company":
        sel, level = acc, "territory"
    elif scope.level == "region":
        sel, level = acc[(acc["region"] == scope.id).fillna(False)], "territory"
    elif scope.level == "territory":
        sel, level = acc[(acc["territory"] == scope.id).fillna(False)], "rep"
    elif scope.level == "rep":
        sel, level = acc[(acc["owner_id"] == scope.id).fillna(False)], "rep"
    else:
        sel, level = acc[acc["account_id"] == scope.id], "rep"
    sel = sel.reset_index(drop=True)
    col = "territory" if level == "territory" else "owner_id"
    if level == "territory":
        units = set(sel["territory"].dropna())
        t = data.territories
        if scope.level == "region":
            units |= set(t.loc[(t["region"] == scope.id).fillna(False), "territory_id"])
        elif scope.level == "company":
            units |= set(t["territory_id"].dropna())
    elif scope.level == "territory":
        reps = quota_reps(data, _now_period(data))
        units = set(reps.loc[reps["territory"] == scope.id, "rep_id"])
    else:
        units = set(sel["owner_id"].dropna()) | ({scope.id} if scope.level == "rep" else set())
    units_l = sorted(str(u) for u in units)
    seg = sel["segment"].fillna("Unknown")
    pipe = sel["account_id"].astype(str).map(open_pipeline(data)).astype(float).fillna(0.0)
    if workload == "calls":
        table = {**CALLS_PER_YEAR, **(calls or {})}
        wl = seg.map(table).astype(float).fillna(table.get("SMB", 6.0))
    elif workload == "opportunities":
        o = data.opportunities
        n_open = o.loc[(o["status"] == "open").fillna(False), "account_id"].astype(str)\
            .value_counts()
        wl = sel["account_id"].astype(str).map(n_open).astype(float).fillna(0.0)
    else:
        wl = pd.Series(1.0, index=sel.index)
    cur = sel[col].where(sel[col].isin(units_l))
    out = pd.DataFrame({"account_id": sel["account_id"].astype("string"),
                        "name": sel["name"].astype("string"), "segment": seg.astype("string"),
                        "region": sel["region"].astype("string"),
                        "potential": sel["potential"].astype(float).to_numpy(),
                        "open_pipeline": pipe.to_numpy(dtype=float),
                        "workload": wl.to_numpy(dtype=float),
                        "current": cur.astype("string")})
    return out, units_l, level


def _now_period(data: Dataset) -> Period:
    """The day ``as_of`` as a period (the seats employed at ``as_of``)."""
    return Period(data.as_of, day_after(data.as_of), "as of")


def territory_seats(data: Dataset, hires=(), period: Period | str | None = None) -> pd.Series:
    """Seats per territory (reps): the quota-carrying reps employed at ``as_of``
    (:func:`salesplan_nb.steps.quotas.quota_reps`) plus the to-be-hired seats of the hiring
    plan ``hires`` starting in ``period`` (default: the year after ``as_of``), placed by the
    quotas step's rule (:func:`salesplan_nb.steps.quotas.tbh_seats`: the territory with the
    most potential per seat on today's books)."""
    reps = quota_reps(data, _now_period(data))
    if hires:
        per = Period.parse(period) if period is not None else \
            Period.parse(str(pd.Timestamp(data.as_of).year + 1))
        tbh = tbh_seats(data, quota_reps(data, per), _hire_key(hires), per)
        reps = pd.concat([reps[["rep_id", "territory"]], tbh[["rep_id", "territory"]]])
    return reps.groupby("territory").size().astype(float)


def _unit_regions(data: Dataset, acc: pd.DataFrame, unit_ids: list[str]) -> list[str]:
    """Region of each territory unit: the territories table, else its accounts' most common."""
    t = data.territories.dropna(subset=["territory_id"])
    reg = dict(zip(t["territory_id"].astype(str), t["region"].astype("string")))
    mode = acc.dropna(subset=["current", "region"]).groupby("current")["region"].agg(
        lambda s: s.mode().iloc[0])
    out = []
    for u in unit_ids:
        r = reg.get(u)
        out.append(str(r) if r is not None and not pd.isna(r) else str(mode.get(u, "")))
    return out


def rebalance(data: Dataset, scope: Scope | str | None = None, *,
              tolerance: float = DEFAULT_TOLERANCE, locked: list[str] | tuple = (),
              workload: str = "accounts", workload_tolerance: float | None = None,
              move_cost: float | dict[str, float] = 1.0, method: str = "auto",
              time_limit: float = 20.0, units: list[str] | None = None,
              baseline: bool = False, per_seat: bool = True, hires=(),
              period: Period | str | None = None, seats: dict[str, float] | None = None,
              cross_region: bool = False) -> TerritoryPlan:
    """Balance the accounts of ``scope`` across its units (see :func:`accounts_frame`):
    potential **per seat** within ``+-tolerance`` of the mean per seat (``per_seat``; the
    seats of a territory are :func:`territory_seats` with the hiring plan ``hires``, or
    ``seats``; a rep is one seat), workload per seat likewise with ``workload_tolerance``,
    ``locked`` account ids never move, fewest (cost-weighted) moves. Territories are balanced
    **within their region** (each region its own mean per seat; accounts never change
    region) unless ``cross_region=True``. ``baseline=True`` runs the naive from-scratch greedy
    instead. The summary states the disruption in dollars: ``moved_potential`` (USD/year)
    and ``moved_pipeline`` (open pipeline, USD), beside the account count ``moves``."""
    if not (isinstance(tolerance, int | float) and 0 <= tolerance < 1):
        raise ConfigError(f"tolerance {tolerance!r}: use a fraction such as 0.05 (+-5%)")
    if workload_tolerance is not None and not (0 <= workload_tolerance < 5):
        raise ConfigError(f"workload_tolerance {workload_tolerance!r}: use a fraction, e.g. 0.2")
    acc, unit_ids, level = accounts_frame(data, scope, workload=workload)
    if units is not None:
        unit_ids = sorted(set(units) | set(acc["current"].dropna()))
    sc = Scope.parse(scope)
    scope_s = str(sc)
    locked_set = {str(a) for a in locked}
    missing = locked_set - set(acc["account_id"])
    notes: list[str] = []
    if missing:
        notes.append(f"{len(missing)} locked account(s) not in this scope: ignored")
    n_units = len(unit_ids)
    code = pd.Index(unit_ids)
    cur = code.get_indexer(acc["current"].fillna("\x00").to_numpy()).astype(np.int64)
    is_locked = acc["account_id"].isin(locked_set).to_numpy() & (cur >= 0)
    p = acc["potential"].to_numpy(dtype=float)
    w = acc["workload"].to_numpy(dtype=float)
    if isinstance(move_cost, dict):
        cost = acc["account_id"].map(move_cost).astype(float).fillna(1.0).to_numpy()
    else:
        cost = np.full(len(acc), float(move_cost))
    # seats per unit and the balancing groups (regions)
    if per_seat and level == "territory":
        got = pd.Series(seats, dtype=float) if seats is not None else \
            territory_seats(data, hires, period)
        seat_v = np.array([float(got.get(u, 0.0)) for u in unit_ids])
        if n_units and seat_v.sum() <= 0:
            notes.append("no seats in the scope's territories: balanced per territory")
            seat_v = np.ones(n_units)
    else:
        seat_v = np.ones(n_units)
    basis = "per seat" if per_seat and level == "territory" else f"per {level}"
    if level == "territory" and sc.level == "company" and not cross_region:
        regions = _unit_regions(data, acc, unit_ids)
    else:
        regions = [""] * n_units
    reg_code = pd.Index(sorted(set(regions)))
    group = reg_code.get_indexer(regions) if n_units else np.zeros(0, dtype=np.int64)
    # an account's group: its current unit's, else (unassigned) its own region's
    acc_reg = acc["region"].fillna("").astype(str).to_numpy()
    a_group = np.where(cur >= 0, group[np.clip(cur, 0, None)] if n_units else -1,
                       reg_code.get_indexer(acc_reg) if len(reg_code) > 1 else 0)
    if (a_group < 0).any():  # unassigned, in no region of the units: the first group
        notes.append(f"{int((a_group < 0).sum())} unassigned account(s) outside the units' "
                     f"regions placed in {reg_code[0] or 'the scope'}")
        a_group = np.where(a_group < 0, 0, a_group)
    if n_units == 0 or acc.empty:
        notes.append(f"no accounts to balance in {sc.label}")
        sol = Solution(np.zeros(len(acc), dtype=np.int64), "none", "nothing to balance", 0.0, 0,
                       True)
        assign = cur
    elif n_units == 1:
        notes.append("one unit: nothing to balance")
        assign = np.zeros(len(acc), dtype=np.int64)
        sol = Solution(assign, "none", "one unit", 0.0, count_moves(assign, cur), True)
    else:
        assign = cur.copy()
        parts, t0 = [], time.perf_counter()
        for gi in range(len(reg_code)):
            uix = np.flatnonzero(group == gi)
            aix = np.flatnonzero(a_group == gi)
            if len(uix) == 0 or len(aix) == 0:
                continue
            local = pd.Index(uix).get_indexer(cur[aix]).astype(np.int64)  # -1 stays -1
            s_l = seat_v[uix]
            if len(uix) == 1:
                a_l = np.zeros(len(aix), dtype=np.int64)
                part = Solution(a_l, "none", "one unit", 0.0, count_moves(a_l, local), True)
            elif baseline:
                a_l = naive(p[aix], is_locked[aix], local, len(uix), seats=s_l)
                part = Solution(a_l, "naive", "greedy from scratch", 0.0,
                                count_moves(a_l, local),
                                _within(a_l, p[aix], len(uix), tolerance, seats=s_l))
            else:
                part = solve(p[aix], local, is_locked[aix], len(uix), tolerance=tolerance,
                             workload=w[aix], workload_tolerance=workload_tolerance,
                             move_cost=cost[aix], method=method,
                             time_limit=time_limit / max(1, len(reg_code)), seats=s_l)
                tgt = p[aix].sum() * _shares(len(uix), s_l)
                if p[aix].max(initial=0) > tgt.max(initial=0) * (1 + tolerance):
                    notes.append(("" if len(reg_code) == 1 else f"{reg_code[gi]}: ")
                                 + "an account's potential alone exceeds the band: "
                                 "tolerance infeasible")
            assign[aix] = uix[part.assign]
            parts.append((reg_code[gi], part))
        ok = all(pt.within_tolerance for _, pt in parts)
        methods = sorted({pt.method for _, pt in parts})
        status = "; ".join((f"{g}: " if g else "") + pt.status for g, pt in parts)
        sol = Solution(assign, "+".join(methods) or "none", status,
                       time.perf_counter() - t0, count_moves(assign, cur), ok)
    if not sol.within_tolerance:
        notes.append(f"tolerance +-{tolerance:.0%} not met ({sol.status})")
    proposed = np.asarray(unit_ids, dtype=object)[assign] if n_units else np.array([], object)
    moved = (cur >= 0) & (assign != cur)
    a = acc.assign(proposed=pd.array(proposed, dtype="string"),
                   locked=is_locked, moved=moved)
    if n_units:
        pl = np.bincount(assign, weights=p, minlength=n_units)
        wl = np.bincount(assign, weights=w, minlength=n_units)
        cnt = np.bincount(assign, minlength=n_units)
        ok_cur = cur >= 0
        pl0 = np.bincount(cur[ok_cur], weights=p[ok_cur], minlength=n_units)
    else:
        pl = wl = cnt = pl0 = np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pps = np.where(seat_v > 0, pl / seat_v, np.nan)
    bal = pd.DataFrame({"unit": pd.array(unit_ids, dtype="string"),
                        "group": pd.array(regions, dtype="string"), "seats": seat_v,
                        "accounts": cnt.astype(int), "potential": pl, "workload": wl,
                        "potential_per_seat": pps,
                        "potential_vs_mean": per_seat_vs_mean(pl, seat_v, group),
                        "workload_vs_mean": per_seat_vs_mean(wl, seat_v, group),
                        "potential_before_vs_mean": per_seat_vs_mean(pl0, seat_v, group)})
    tot_p, tot_pipe = float(p.sum()), float(acc["open_pipeline"].sum())
    mp = float(p[moved].sum())
    mpipe = float(acc["open_pipeline"].to_numpy()[moved].sum())
    before = balance_stats(np.where(cur >= 0, cur, 0)[cur >= 0], p[cur >= 0], w[cur >= 0],
                           n_units, seat_v, group) if n_units and (cur >= 0).any() else {}
    summary = {"method": sol.method, "status": sol.status, "moves": sol.moves,
               "moved_potential": mp, "moved_pipeline": mpipe,
               "moved_potential_share": mp / tot_p if tot_p else 0.0,
               "moved_pipeline_share": mpipe / tot_pipe if tot_pipe else 0.0,
               "seconds": round(sol.seconds, 3), "within_tolerance": sol.within_tolerance,
               "basis": basis, "within": "all units" if len(reg_code) <= 1 else "region",
               "units": n_units, "seats": float(seat_v.sum()), "accounts": len(acc),
               "locked": int(is_locked.sum()),
               **(balance_stats(assign, p, w, n_units, seat_v, group) if n_units else {}),
               **{f"before_{k}": v for k, v in before.items()}}
    return TerritoryPlan(a, bal, summary, level, scope_s, tolerance, notes)


def summary_text(plan: TerritoryPlan) -> str:
    """One sentence: the per-seat spread before / after and the disruption in dollars."""
    s = plan.summary
    what = "seat" if s.get("basis") == "per seat" else plan.unit_level
    mean = "the region's mean" if s.get("within") == "region" else "the mean"
    spread = ""
    if "potential_min_vs_mean" in s and "before_potential_min_vs_mean" in s:
        spread = (f"potential per {what} {s['before_potential_min_vs_mean']:.2f}x-"
                  f"{s['before_potential_max_vs_mean']:.2f}x of {mean} before, "
                  f"{s['potential_min_vs_mean']:.2f}x-{s['potential_max_vs_mean']:.2f}x after "
                  f"(+-{plan.tolerance:.0%} asked; workload {s['workload_min_vs_mean']:.2f}x-"
                  f"{s['workload_max_vs_mean']:.2f}x); ")
    return (f"{s.get('units', 0)} {plan.unit_level} units, {spread}{s.get('moves', 0)} accounts "
            f"move: ${s.get('moved_potential', 0.0):,.0f} potential "
            f"({s.get('moved_potential_share', 0.0):.1%}) and ${s.get('moved_pipeline', 0.0):,.0f}"
            f" open pipeline ({s.get('moved_pipeline_share', 0.0):.1%})"
            + (f"; {plan.note}" if plan.note else ""))


def disruption(plan: TerritoryPlan) -> pd.DataFrame:
    """Disruption in dollars per proposal (from -> to unit): accounts, moved potential
    (USD/year) and moved open pipeline (USD), with a ``total`` row."""
    mv = plan.moves
    cols = ["from", "to", "accounts", "potential", "open_pipeline"]
    if mv.empty:
        return pd.DataFrame(columns=cols)
    g = (mv.groupby(["current", "proposed"], sort=True)
         .agg(accounts=("account_id", "size"), potential=("potential", "sum"),
              open_pipeline=("open_pipeline", "sum")).reset_index()
         .rename(columns={"current": "from", "proposed": "to"}))
    total = pd.DataFrame([{"from": "total", "to": "", "accounts": int(g["accounts"].sum()),
                           "potential": float(g["potential"].sum()),
                           "open_pipeline": float(g["open_pipeline"].sum())}])
    return pd.concat([g, total], ignore_index=True)[cols]


def compare(data: Dataset, scope: Scope | str | None = None, **options) -> pd.DataFrame:
    """Optimised rebalance beside the naive baseline and the current assignment: one row each
    with moves, seconds, within-tolerance and the balance figures."""
    plan = rebalance(data, scope, **options)
    base = rebalance(data, scope, **{**options, "baseline": True})
    rows = [{"plan": "optimised", **plan.summary}, {"plan": "naive baseline", **base.summary}]
    before = {k[len("before_"):]: v for k, v in plan.summary.items() if k.startswith("before_")}
    if before:
        rows.append({"plan": "current", "moves": 0, **before})
    return pd.DataFrame(rows)


# ---- workspace -------------------------------------------------------------------------------
SECTION = "territories"


def save_territories(ws, plan: TerritoryPlan | None = None, *, locked=None,
                     tolerance: float | None = None, by: str | None = None) -> None:
    """Record locks, tolerance and (with ``plan``) the accepted moves ``[{account_id, from,
    to, level, potential, open_pipeline}]`` (``level``: territory or rep; USD) in the
    workspace section ``territories``. Moves recorded earlier for accounts outside ``plan``
    (another region's, say) are kept; the quotas step reads the books after these moves."""
    values: dict = {}
    if plan is not None:
        mv = plan.moves
        mine = set(plan.assignment["account_id"].astype(str))
        kept = [m for m in load_territories(ws)["accepted_moves"]
                if str(m.get("account_id")) not in mine]
        values["accepted_moves"] = kept + [
            {"account_id": str(r.account_id), "from": str(r.current), "to": str(r.proposed),
             "level": plan.unit_level, "potential": round(float(r.potential), 2),
             "open_pipeline": round(float(r.open_pipeline), 2)} for r in mv.itertuples()]
        values["scope"] = plan.scope
        values["tolerance"] = plan.tolerance
        values["locked"] = sorted(plan.assignment.loc[plan.assignment["locked"], "account_id"]
                                  .astype(str))
    if locked is not None:
        values["locked"] = sorted(str(a) for a in locked)
    if tolerance is not None:
        values["tolerance"] = float(tolerance)
    if values:
        ws.record_many(SECTION, values, by=by)


def load_territories(ws) -> dict:
    """``{"locked": [...], "tolerance": float, "accepted_moves": [...], "scope": str}``."""
    saved = ws.get(SECTION) or {}
    return {"locked": list(saved.get("locked") or []),
            "tolerance": float(saved.get("tolerance", DEFAULT_TOLERANCE)),
            "accepted_moves": list(saved.get("accepted_moves") or []),
            "scope": saved.get("scope", "company")}


def chart_balance(plan: TerritoryPlan) -> alt.Chart:
    """Potential per seat of each unit vs its group's (region's) mean per seat, with the
    tolerance band."""
    b = plan.balance
    bars = alt.Chart(b).mark_bar().encode(
        x=alt.X("unit:N", sort="-y"),
        y=alt.Y("potential_vs_mean:Q", title="potential per seat / mean"),
        tooltip=["unit", "group", "seats", "accounts",
                 alt.Tooltip("potential:Q", format=",.0f"),
                 alt.Tooltip("potential_vs_mean:Q", format=".1%")])
    band = alt.Chart(pd.DataFrame({"lo": [1 - plan.tolerance], "hi": [1 + plan.tolerance]}))
    return bars + band.mark_rule(color="red").encode(y="lo:Q") + \
        band.mark_rule(color="red").encode(y="hi:Q")


# ---- the demo's default decision ------------------------------------------------------------
def demo_decision(ws, by: str = "demo") -> str:
    """Step 10 in ``salesplan demo``: balance each region's territories to +-10% of the
    region's mean potential per seat (seats = reps employed at ``as_of`` plus the hiring
    plan's to-be-hired seats) and accounts per seat to +-25%; accounts with open deals stay
    with their territory; moves never cross a region."""
    from salesplan_nb.steps.capacity import load_capacity_settings

    data = ws.data
    opp = data.opportunities
    locked = sorted(set(opp.loc[opp["status"] == "open", "account_id"].dropna()))
    tolerance, wtol = 0.10, 0.25
    hires = load_capacity_settings(ws).get("hires") or []
    plan = rebalance(data, "company", tolerance=tolerance, workload_tolerance=wtol,
                     locked=locked, hires=hires, period=ws.period, time_limit=40)
    save_territories(ws, plan, by=by)
    ws.record_many(SECTION, {"balanced_within": "region", "workload_tolerance": wtol}, by=by)
    ws.save_output("territories", "balance", plan.balance)
    s = plan.summary
    return (f"balanced within each region to +-{tolerance:.0%} of the region's mean potential "
            f"per seat and +-{wtol:.0%} accounts per seat ({s['seats']:.0f} seats incl. "
            f"{len(hires) and sum(float(h['count'] if isinstance(h, dict) else h.count) for h in hires):.0f} "
            f"to be hired; {'within' if s['within_tolerance'] else 'NOT within'} tolerance): "
            f"potential per seat {s['before_potential_min_vs_mean']:.2f}x-"
            f"{s['before_potential_max_vs_mean']:.2f}x of the region mean before, "
            f"{s['potential_min_vs_mean']:.2f}x-{s['potential_max_vs_mean']:.2f}x after; "
            f"{len(locked)} accounts with open deals locked; {s['moves']} accounts moved "
            f"(${s['moved_potential']:,.0f} potential, ${s['moved_pipeline']:,.0f} open "
            "pipeline)")
