"""Hierarchical reconciliation: territory forecasts that add up to their region, regions to the
company.

The hierarchy (:func:`hierarchy`) is company -> regions -> territories, read from the won deals
(each deal's ``region`` and ``territory``); it exists when every won deal has a region (and, for
the territory level, a territory) and every territory lies in one region. ``S`` (nodes x
bottom) is the summing matrix: row ``i`` marks the bottom series that add up to node ``i``.

Base forecasts ``y^`` (one per node, each from its own backtest-selected method) are made
coherent by a projection ``y~ = S G y^`` with ``G = (S' W^-1 S)^-1 S' W^-1`` (Wickramasuriya,
Athanasopoulos & Hyndman 2019):

- ``mint-shrink``: ``W`` = the base forecasts' backtest error covariance, shrunk toward its
  diagonal (Schafer-Strimmer ``lambda``, :func:`shrink_cov`);
- ``wls-structural``: ``W = diag(S 1)`` (the number of bottom series under each node);
- ``bottom-up``: ``G = [0 | I]`` (the bottom forecasts summed).

Which one is used is chosen by the same rolling-origin backtest as the base methods
(leave-one-origin-out for ``mint-shrink``'s covariance), by the mean WAPE over all nodes.
Negative reconciled bottom values are set to 0 and summed up again, so the result stays
coherent and non-negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesplan_nb.core.scope import Scope
from salesplan_nb.data.dataset import Dataset

METHODS = ("mint-shrink", "wls-structural", "bottom-up")


@dataclass(frozen=True)
class Hierarchy:
    """``nodes``: company, then regions, then territories (the bottom level, if any);
    ``S``: summing matrix (len(nodes) x n_bottom); ``levels``: the levels present."""

    nodes: tuple[Scope, ...]
    S: np.ndarray
    levels: tuple[str, ...]

    @property
    def n_bottom(self) -> int:
        return int(self.S.shape[1])

    def index(self, scope: Scope) -> int | None:
        """Row of ``scope`` in :attr:`nodes`, ``None`` when it is not a node."""
        try:
            return self.nodes.index(scope)
        except ValueError:
            return None


def hierarchy(data: Dataset) -> Hierarchy | None:
    """The company -> region -> territory hierarchy of ``data``'s won deals (see module doc),
    company -> region when territories are missing or not nested in one region; ``None``
    when some won deal has no region or there is only one region with no territories."""
    d = data.deals
    won = d[(d["status"] == "won") & d["close_date"].notna()]
    if won.empty or won["region"].isna().any():
        return None
    regions = sorted(won["region"].astype(str).unique())
    terr_ok = won["territory"].notna().all()
    if terr_ok:
        pairs = d.loc[d["territory"].notna() & d["region"].notna(), ["territory", "region"]]
        pairs = pairs.astype(str).drop_duplicates()
        terr_ok = not pairs["territory"].duplicated().any()
    if terr_ok:
        t_reg = (won[["territory", "region"]].astype(str).drop_duplicates()
                 .sort_values(["region", "territory"]))
        bottom = list(t_reg["territory"])
        reg_of = list(t_reg["region"])
        S = np.vstack([np.ones(len(bottom))]
                      + [np.array([r == reg for r in reg_of], float) for reg in regions]
                      + [np.eye(len(bottom))])
        nodes = (Scope(), *(Scope("region", r) for r in regions),
                 *(Scope("territory", t) for t in bottom))
        return Hierarchy(nodes, S, ("company", "region", "territory"))
    if len(regions) < 2:
        return None
    S = np.vstack([np.ones(len(regions)), np.eye(len(regions))])
    return Hierarchy((Scope(), *(Scope("region", r) for r in regions)), S,
                     ("company", "region"))


def shrink_cov(E: np.ndarray) -> tuple[np.ndarray, float]:
    """Schafer-Strimmer shrinkage of the (uncentred) error covariance of ``E`` (rows =
    backtest forecasts, columns = nodes) toward its diagonal: ``W = l D + (1 - l) C``, ``l`` =
    sum of the off-diagonal correlations' estimated variances / sum of their squares (0..1).
    Returns ``(W, l)``; a node without error variance gets a tiny one so ``W`` inverts."""
    E = np.asarray(E, float)
    n = E.shape[0]
    C = E.T @ E / max(n, 1)
    sd = np.sqrt(np.diag(C))
    floor = max(float(sd.max(initial=0.0)) * 1e-6, 1e-9)
    sd = np.maximum(sd, floor)
    if n < 3:
        return np.diag(sd ** 2), 1.0
    Xs = E / sd
    R = Xs.T @ Xs / n
    v = (Xs ** 2).T @ (Xs ** 2) - (Xs.T @ Xs) ** 2 / n
    v = v / (n * (n - 1))
    off = ~np.eye(len(sd), dtype=bool)
    den = float((R[off] ** 2).sum())
    lam = float(np.clip(v[off].sum() / den, 0, 1)) if den > 0 else 1.0
    W = lam * np.diag(sd ** 2) + (1 - lam) * (np.outer(sd, sd) * R)
    return W, lam


def projection(S: np.ndarray, method: str, W: np.ndarray | None = None) -> np.ndarray:
    """``G`` (n_bottom x n_nodes) of ``method`` (:data:`METHODS`); ``W`` for mint-shrink."""
    n, m = S.shape
    if method == "bottom-up":
        return np.hstack([np.zeros((m, n - m)), np.eye(m)])
    if method == "wls-structural":
        W = np.diag(S.sum(axis=1))
    elif W is None:
        raise ValueError("mint-shrink needs the error covariance W")
    Wi = np.linalg.pinv(W)
    return np.linalg.solve(S.T @ Wi @ S, S.T @ Wi)


def reconcile(base: np.ndarray, S: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Coherent forecasts ``S max(G y^, 0)`` for base forecasts ``base`` (nodes x months)."""
    return S @ np.clip(G @ np.asarray(base, float), 0, None)


def _wape(f: np.ndarray, a: np.ndarray) -> np.ndarray:
    """WAPE per column (node): sum |F - A| / sum A (NaN where sum A = 0)."""
    s = a.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, np.abs(f - a).sum(axis=0) / np.where(s > 0, s, 1), np.nan)


def backtest_reconciliation(h: Hierarchy, rows: list[pd.DataFrame], use_from: int
                            ) -> tuple[str, pd.DataFrame, dict[str, np.ndarray]]:
    """Score every :data:`METHODS` on the nodes' backtests (``rows[i]``: node ``i``'s
    ``Backtest.rows``, same origins and months), months ``use_from`` ahead and later.

    mint-shrink's ``W`` for an origin comes from the other origins' errors only. Returns the
    chosen method (lowest mean WAPE over nodes; ties and near-ties within 0.1 point go to the
    simpler method in :data:`METHODS` order reversed), a table ``node, level, base, <method>
    ...`` of WAPEs (fractions), and the reconciled backtest forecasts per method (rows x
    nodes)."""
    key = ["origin", "month"]
    ref = rows[0][key + ["horizon"]].reset_index(drop=True)
    F = np.column_stack([r.set_index(key)["forecast"].reindex(
        pd.MultiIndex.from_frame(ref[key])).to_numpy(float) for r in rows])
    A = np.column_stack([r.set_index(key)["actual"].reindex(
        pd.MultiIndex.from_frame(ref[key])).to_numpy(float) for r in rows])
    F, A = np.nan_to_num(F), np.nan_to_num(A)
    used = ref["horizon"].to_numpy() >= use_from
    org = ref["origin"].to_numpy()
    out: dict[str, np.ndarray] = {}
    for m in METHODS:
        R = np.zeros_like(F)
        if m == "mint-shrink":
            for o in dict.fromkeys(org):
                mo = org == o
                W, _ = shrink_cov((F - A)[~mo & used])
                R[mo] = reconcile(F[mo].T, h.S, projection(h.S, m, W)).T
        else:
            R = reconcile(F.T, h.S, projection(h.S, m)).T
        out[m] = R
    table = pd.DataFrame({"node": [n.label for n in h.nodes],
                          "level": [n.level for n in h.nodes],
                          "base": _wape(F[used], A[used])})
    for m in METHODS:
        table[m] = _wape(out[m][used], A[used])
    mean = {m: float(np.nanmean(table[m])) for m in METHODS}
    best = min(mean.values())
    chosen = next(m for m in reversed(METHODS) if mean[m] <= best + 0.001)
    out["base"] = F
    out["actual"] = A
    out["used"] = used
    out["horizon"] = ref["horizon"].to_numpy()
    out["origin"] = org
    return chosen, table, out
