"""Step 10 - territories: balance accounts across territories (or reps) by potential and
workload, keep locked accounts, and move as few accounts as possible.

* **potential** - USD/year per account (:func:`salesplan_nb.steps.market.account_potential`);
* **workload** - ``"accounts"`` (1 per account) or ``"calls"`` (planned calls per year by
  segment, :data:`CALLS_PER_YEAR`);
* **tolerance** - every unit's potential within ``mean x (1 +- tolerance)``, mean = total
  potential / number of units (e.g. 0.05 = +-5%); optional ``workload_tolerance`` likewise;
* **moves** - accounts whose unit differs from their current one; each costs ``move_cost``
  (default 1 per account; an unassigned account costs nothing to place).

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

#: planned calls per account per year by segment (workload="calls"); Unknown as SMB
CALLS_PER_YEAR = {"Enterprise": 24.0, "Mid-Market": 12.0, "SMB": 6.0}
DEFAULT_TOLERANCE = 0.05
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


def _band(p: np.ndarray, n_units: int, tol: float) -> tuple[float, float, float]:
    mean = float(p.sum()) / n_units
    return mean, mean * (1 - tol), mean * (1 + tol)


def count_moves(assign: np.ndarray, current: np.ndarray) -> int:
    """Accounts assigned to a unit other than their current one (unassigned ones excluded)."""
    return int(((current >= 0) & (assign != current)).sum())


def _within(assign, p, n_units, tol, w=None, wtol=None) -> bool:
    _, lo, hi = _band(p, n_units, tol)
    load = np.bincount(assign, weights=p, minlength=n_units)
    ok = bool(((load >= lo - 1e-6) & (load <= hi + 1e-6)).all())
    if ok and w is not None and wtol is not None:
        _, wlo, whi = _band(w, n_units, wtol)
        wl = np.bincount(assign, weights=w, minlength=n_units)
        ok = bool(((wl >= wlo - 1e-6) & (wl <= whi + 1e-6)).all())
    return ok


def greedy(p: np.ndarray, current: np.ndarray, locked: np.ndarray, n_units: int,
           tol: float, max_iter: int | None = None) -> np.ndarray:
    """Heuristic rebalance (see the module docstring). ``current`` -1 = unassigned."""
    p = np.asarray(p, dtype=float)
    assign = current.copy()
    load = np.bincount(assign[assign >= 0], weights=p[assign >= 0], minlength=n_units)
    # place unassigned accounts, largest first, in the lightest unit
    heap = [(load[u], u) for u in range(n_units)]
    heapq.heapify(heap)
    for a in np.flatnonzero(assign < 0)[np.argsort(-p[assign < 0], kind="stable")]:
        lu, u = heapq.heappop(heap)
        assign[a] = u
        load[u] = lu + p[a]
        heapq.heappush(heap, (load[u], u))
    mean, lo, hi = _band(p, n_units, tol)
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
        d = min(load[src] - mean, mean - load[dst])
        gap = load[src] - load[dst]
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
        if load[t] > hi:
            for r in np.argsort(load, kind="stable")[: max(8, n_units // 4)]:
                a = pick(t, int(r))
                if a is not None:
                    move(a, t, int(r))
                    done = True
                    break
        else:
            for s in np.argsort(-load, kind="stable")[: max(8, n_units // 4)]:
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
        if load[src] - p[a] >= lo and load[dst] + p[a] <= hi:
            move(int(a), int(src), int(dst))
    return assign


def naive(p: np.ndarray, locked: np.ndarray, current: np.ndarray, n_units: int) -> np.ndarray:
    """Baseline: ignore current owners; sort accounts by potential (desc) and give each to the
    currently lightest unit (locked accounts stay put first)."""
    p = np.asarray(p, dtype=float)
    assign = np.where(locked, current, -1)
    load = np.bincount(assign[locked], weights=p[locked], minlength=n_units)
    heap = [(load[u], u) for u in range(n_units)]
    heapq.heapify(heap)
    free = np.flatnonzero(~locked)
    for a in free[np.argsort(-p[free], kind="stable")]:
        lu, u = heapq.heappop(heap)
        assign[a] = u
        heapq.heappush(heap, (lu + p[a], u))
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
         mip_gap=0.01):
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
    _, lo, hi = _band(p, n_units, tol)
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
        _, wlo, whi = _band(w, n_units, wtol)
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
          max_mip_variables: int = MAX_MIP_VARIABLES) -> Solution:
    """Rebalance arrays: ``p`` potential, ``current`` unit index (-1 unassigned), ``locked``.
    ``method``: ``auto`` (HiGHS, heuristic fallback), ``mip`` or ``heuristic``."""
    t0 = time.perf_counter()
    p = np.asarray(p, dtype=float)
    current = np.asarray(current, dtype=np.int64)
    locked = np.asarray(locked, dtype=bool) & (current >= 0)
    w = np.ones(len(p)) if workload is None else np.asarray(workload, dtype=float)
    cost = np.ones(len(p)) if move_cost is None else np.asarray(move_cost, dtype=float)
    if method not in ("auto", "mip", "heuristic"):
        raise ConfigError(f"unknown method {method!r}; use auto, mip or heuristic")
    start = greedy(p, current, locked, n_units, tolerance)
    h_ok = _within(start, p, n_units, tolerance, w, workload_tolerance)
    used, status, assign = "heuristic", "within tolerance" if h_ok else "tolerance not met", start
    if method == "auto" and (~locked).sum() > HEURISTIC_ONLY_ABOVE:
        status += f"; heuristic only above {HEURISTIC_ONLY_ABOVE:,} movable accounts"
    elif method in ("auto", "mip") and n_units > 1:
        left = max(1.0, time_limit - (time.perf_counter() - t0))
        m_assign, m_status = _mip(p, w, current, locked, n_units, tolerance, workload_tolerance,
                                  cost, start, left, max_mip_variables)
        if m_assign is not None and _within(m_assign, p, n_units, tolerance, w,
                                            workload_tolerance):
            used, status, assign = "highs", m_status, m_assign
        else:
            status = f"HiGHS: {m_status}; heuristic used ({status})"
    return Solution(assign, used, status, time.perf_counter() - t0, count_moves(assign, current),
                    _within(assign, p, n_units, tolerance, w, workload_tolerance))


def balance_stats(assign, p, w, n_units: int) -> dict[str, float]:
    """min / max / CV (population sd / mean) of potential and workload per unit, as ratios to
    the mean unit."""
    out = {}
    for name, x in (("potential", p), ("workload", w)):
        load = np.bincount(assign, weights=x, minlength=n_units)
        m = load.mean() if n_units else np.nan
        out[f"{name}_min_vs_mean"] = float(load.min() / m) if m else np.nan
        out[f"{name}_max_vs_mean"] = float(load.max() / m) if m else np.nan
        out[f"{name}_cv"] = float(load.std() / m) if m else np.nan
    return out


# ---- the Dataset level -----------------------------------------------------------------------
@dataclass
class TerritoryPlan:
    """``assignment`` per account (``account_id, name, segment, potential, workload, current,
    proposed, locked, moved``), ``balance`` per unit (``unit, accounts, potential, workload,
    potential_vs_mean, workload_vs_mean``) and ``summary`` figures."""

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
        return self.assignment[self.assignment["moved"]].reset_index(drop=True)


def accounts_frame(data: Dataset, scope: Scope | str | None = None, *,
                   workload: str = "accounts",
                   calls: dict[str, float] | None = None) -> tuple[pd.DataFrame, list[str], str]:
    """Accounts of ``scope`` with ``potential`` (USD/year), ``workload`` and ``current`` unit;
    returns ``(frame, units, unit_level)``. Units are territories for company and region
    scopes, the territory's quota-carrying reps for a territory scope, the rep (or the account's
    owner) for rep and account scopes."""
    from salesplan_nb.steps.market import account_potential
    from salesplan_nb.steps.quotas import quota_reps

    try:
        scope = Scope.parse(scope)
    except ValueError as exc:
        raise ConfigError(f"bad scope {scope!r}: {exc}") from None
    if workload not in ("accounts", "calls"):
        raise ConfigError(f"workload {workload!r}: use 'accounts' or 'calls'")
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
    if workload == "calls":
        table = {**CALLS_PER_YEAR, **(calls or {})}
        wl = seg.map(table).astype(float).fillna(table.get("SMB", 6.0))
    else:
        wl = pd.Series(1.0, index=sel.index)
    cur = sel[col].where(sel[col].isin(units_l))
    out = pd.DataFrame({"account_id": sel["account_id"].astype("string"),
                        "name": sel["name"].astype("string"), "segment": seg.astype("string"),
                        "potential": sel["potential"].astype(float).to_numpy(),
                        "workload": wl.to_numpy(dtype=float),
                        "current": cur.astype("string")})
    return out, units_l, level


def _now_period(data: Dataset) -> Period:
    """The day ``as_of`` as a period (the seats employed at ``as_of``)."""
    return Period(data.as_of, day_after(data.as_of), "as of")


def rebalance(data: Dataset, scope: Scope | str | None = None, *,
              tolerance: float = DEFAULT_TOLERANCE, locked: list[str] | tuple = (),
              workload: str = "accounts", workload_tolerance: float | None = None,
              move_cost: float | dict[str, float] = 1.0, method: str = "auto",
              time_limit: float = 20.0, units: list[str] | None = None,
              baseline: bool = False) -> TerritoryPlan:
    """Balance the accounts of ``scope`` across its units (see :func:`accounts_frame`):
    potential within ``+-tolerance`` of the mean, ``locked`` account ids never move, fewest
    (cost-weighted) moves. ``baseline=True`` runs the naive from-scratch greedy instead."""
    if not (isinstance(tolerance, int | float) and 0 <= tolerance < 1):
        raise ConfigError(f"tolerance {tolerance!r}: use a fraction such as 0.05 (+-5%)")
    if workload_tolerance is not None and not (0 <= workload_tolerance < 5):
        raise ConfigError(f"workload_tolerance {workload_tolerance!r}: use a fraction, e.g. 0.2")
    acc, unit_ids, level = accounts_frame(data, scope, workload=workload)
    if units is not None:
        unit_ids = sorted(set(units) | set(acc["current"].dropna()))
    scope_s = str(Scope.parse(scope))
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
    if n_units == 0 or acc.empty:
        notes.append(f"no accounts to balance in {Scope.parse(scope).label}")
        sol = Solution(np.zeros(len(acc), dtype=np.int64), "none", "nothing to balance", 0.0, 0,
                       True)
        assign = cur
    elif n_units == 1:
        notes.append("one unit: nothing to balance")
        assign = np.zeros(len(acc), dtype=np.int64)
        sol = Solution(assign, "none", "one unit", 0.0, count_moves(assign, cur), True)
    elif baseline:
        t0 = time.perf_counter()
        assign = naive(p, is_locked, cur, n_units)
        sol = Solution(assign, "naive", "greedy from scratch", time.perf_counter() - t0,
                       count_moves(assign, cur), _within(assign, p, n_units, tolerance))
    else:
        sol = solve(p, cur, is_locked, n_units, tolerance=tolerance, workload=w,
                    workload_tolerance=workload_tolerance, move_cost=cost, method=method,
                    time_limit=time_limit)
        assign = sol.assign
        if p.max(initial=0) > p.sum() / n_units * (1 + tolerance):
            notes.append("an account's potential alone exceeds the band: tolerance infeasible")
    if not sol.within_tolerance:
        notes.append(f"tolerance +-{tolerance:.0%} not met ({sol.status})")
    proposed = np.asarray(unit_ids, dtype=object)[assign] if n_units else np.array([], object)
    a = acc.assign(proposed=pd.array(proposed, dtype="string"),
                   locked=is_locked, moved=(cur >= 0) & (assign != cur))
    if n_units:
        pl = np.bincount(assign, weights=p, minlength=n_units)
        wl = np.bincount(assign, weights=w, minlength=n_units)
        cnt = np.bincount(assign, minlength=n_units)
    else:
        pl = wl = cnt = np.zeros(0)
    bal = pd.DataFrame({"unit": pd.array(unit_ids, dtype="string"), "accounts": cnt.astype(int),
                        "potential": pl, "workload": wl,
                        "potential_vs_mean": pl / pl.mean() if n_units and pl.mean() else np.nan,
                        "workload_vs_mean": wl / wl.mean() if n_units and wl.mean() else np.nan})
    summary = {"method": sol.method, "status": sol.status, "moves": sol.moves,
               "seconds": round(sol.seconds, 3), "within_tolerance": sol.within_tolerance,
               "units": n_units, "accounts": len(acc), "locked": int(is_locked.sum()),
               **(balance_stats(assign, p, w, n_units) if n_units else {})}
    return TerritoryPlan(a, bal, summary, level, scope_s, tolerance, notes)


def compare(data: Dataset, scope: Scope | str | None = None, **options) -> pd.DataFrame:
    """Optimised rebalance beside the naive baseline and the current assignment: one row each
    with moves, seconds, within-tolerance and the balance figures."""
    plan = rebalance(data, scope, **options)
    base = rebalance(data, scope, **{**options, "baseline": True})
    acc, unit_ids, _ = accounts_frame(data, scope, workload=options.get("workload", "accounts"))
    rows = [{"plan": "optimised", **plan.summary}, {"plan": "naive baseline", **base.summary}]
    code = pd.Index(unit_ids)
    cur = code.get_indexer(acc["current"].fillna("\x00").to_numpy())
    if len(unit_ids) and (cur >= 0).all():
        rows.append({"plan": "current", "moves": 0,
                     **balance_stats(cur, acc["potential"].to_numpy(float),
                                     acc["workload"].to_numpy(float), len(unit_ids))})
    return pd.DataFrame(rows)


# ---- workspace -------------------------------------------------------------------------------
SECTION = "territories"


def save_territories(ws, plan: TerritoryPlan | None = None, *, locked=None,
                     tolerance: float | None = None, by: str | None = None) -> None:
    """Record locks, tolerance and (with ``plan``) the accepted moves ``[{account_id, from,
    to}]`` in the workspace section ``territories``."""
    values: dict = {}
    if plan is not None:
        mv = plan.moves
        values["accepted_moves"] = [{"account_id": str(r.account_id), "from": str(r.current),
                                     "to": str(r.proposed)} for r in mv.itertuples()]
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
    """Potential per unit vs the mean, with the tolerance band."""
    b = plan.balance
    bars = alt.Chart(b).mark_bar().encode(
        x=alt.X("unit:N", sort="-y"), y=alt.Y("potential_vs_mean:Q", title="potential / mean"),
        tooltip=["unit", "accounts", alt.Tooltip("potential:Q", format=",.0f"),
                 alt.Tooltip("potential_vs_mean:Q", format=".1%")])
    band = alt.Chart(pd.DataFrame({"lo": [1 - plan.tolerance], "hi": [1 + plan.tolerance]}))
    return bars + band.mark_rule(color="red").encode(y="lo:Q") + \
        band.mark_rule(color="red").encode(y="hi:Q")
