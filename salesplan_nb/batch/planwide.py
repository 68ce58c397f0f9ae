"""Plan-wide results of a batch run: computed once per run, each unit then reads its slice.

Account plans spend most of their time forecasting their own account (one ``forecast`` per
account: ETS fits and a backtest). A batch run computes the forecasts of all its account units
first, through one call (:func:`account_forecasts`), and stores each in the workspace's results
cache (:func:`salesplan_nb.render.figures.cached_forecast`: the same key the plan notebook
reads), so every unit's notebook finds its forecast ready and a second run finds them all.

An account's forecast is cheap once the company hierarchy is fitted (the forecast step's
small-scope rule: the company's choice, shrunk by the account's own history; ~5 ms CPU), so
:data:`ONE_CALL` is True: the parent computes every account's forecast in one pass before the
workers start. With ONE_CALL False the accounts are split into chunks computed on the run's
workers (:func:`precompute_forecasts`), for forecast options that are expensive per scope.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: True: every account forecast is computed in the parent in one pass before the workers
#: start (an account's forecast costs ~5 ms CPU once the company hierarchy is fitted, the
#: forecast step's small-scope rule); False: chunks on the workers (each refits the company)
ONE_CALL = True
#: accounts per chunk when :data:`ONE_CALL` is False (small enough to balance 2+ workers,
#: large enough that a chunk's set-up is negligible)
CHUNK = 25


def account_forecasts(data, scopes: Sequence, period) -> dict:
    """``{scope: ForecastResult}`` for many small scopes (accounts), default options, in one
    call. Switching to the forecast step's vectorised function is this one line."""
    from salesplan_nb.steps import forecast as forecast_step

    return {s: forecast_step.forecast(data, s, period) for s in scopes}


@dataclass
class ForecastChunk:
    """Picklable work item: forecast these ``level`` units of ``plan_dir`` for ``period``."""

    plan_dir: str
    level: str
    ids: tuple[str, ...]
    period: str | None


def store_forecasts(chunk: ForecastChunk) -> int:
    """Compute (with one :func:`account_forecasts` call) and store in the results cache the
    forecasts of ``chunk`` that are not stored yet; returns how many were computed. A scope
    whose forecast fails is left out: its unit computes it and reports the error itself."""
    from salesplan_nb.core.scope import Period, Scope
    from salesplan_nb.data import resultcache
    from salesplan_nb.render import figures
    from salesplan_nb.render.context import open_workspace

    ws = open_workspace(chunk.plan_dir)
    period = Period.parse(chunk.period) if chunk.period else ws.period
    scopes = [Scope(chunk.level, i) for i in chunk.ids]
    todo = [s for s in scopes if not resultcache.stored(
        ws, "forecast", args=(s, period.label, "default"))]
    if not todo:
        return 0
    try:
        results = account_forecasts(ws.data, todo, period)
    except Exception:  # noqa: BLE001 - one bad scope: fall back to one call per scope
        results = {}
        for s in todo:
            try:
                results.update(account_forecasts(ws.data, [s], period))
            except Exception:  # noqa: BLE001,S112 - the unit reports it
                continue
    for s, r in results.items():
        figures.cached_forecast(ws, s, period, build=lambda r=r: r)
    return len(results)


def chunks(plan_dir: str, level: str, ids: Sequence[str], period: str | None,
           size: int | None = None, slots: int = 1) -> list[ForecastChunk]:
    """``ids`` in chunks of at most ``size`` (default: all in one when :data:`ONE_CALL`, else
    :data:`CHUNK`), and at least two per slot (parallel worker) so every worker has work;
    units are dealt round-robin (large and small accounts mix)."""
    ids = list(ids)
    size = size or (len(ids) if ONE_CALL else CHUNK)
    n = max(1, math.ceil(len(ids) / max(1, size)))
    if not ONE_CALL:
        n = min(len(ids), max(n, 2 * slots))
    return [ForecastChunk(plan_dir, level, tuple(ids[i::n]), period) for i in range(n)
            if ids[i::n]]


def precompute_forecasts(plan_dir: str, level: str, ids: Sequence[str], period: str | None,
                         pool: Any | None = None,
                         progress: Callable[[int], None] | None = None) -> int:
    """The forecasts of every ``level`` unit in ``ids`` into the results cache, once per run:
    in this process when :data:`ONE_CALL` (or without a pool), else chunk by chunk on ``pool``
    (an executor: ``pool.map``). Returns how many were computed (0: all were stored)."""
    slots = pool.slots() if pool is not None else 1
    todo = chunks(plan_dir, level, ids, period, slots=slots)
    done = {"n": 0}
    if ONE_CALL or pool is None:
        for c in todo:
            done["n"] += store_forecasts(c)
            if progress:
                progress(len(c.ids))
        return done["n"]

    def one(chunk: ForecastChunk, out: Any) -> None:
        if isinstance(out, int):
            done["n"] += out
        if progress:
            progress(len(chunk.ids))

    pool.map(store_forecasts, todo, one, limit=lambda c: 120.0 + 60.0 * len(c.ids))
    return done["n"]


__all__ = ["account_forecasts", "store_forecasts", "precompute_forecasts", "chunks",
           "ForecastChunk", "ONE_CALL", "CHUNK"]
