"""The Dask worker plugin of :class:`salesplan_nb.batch.executors.DaskExecutor` (its own
module: only Dask runs import ``distributed``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


class WarmPlugin(WorkerPlugin):
    """``warm()`` once per worker - when the plugin is registered and when a worker joins
    later - so tasks only render: imports, the plan's data snapshot and the plan-wide results
    are ready before the first task. A failing warm-up is left to the tasks (each unit then
    reports its own error)."""

    def __init__(self, warm: Callable[[], None]):
        self.warm = warm

    def setup(self, worker: Any) -> None:
        with contextlib.suppress(Exception):
            self.warm()
