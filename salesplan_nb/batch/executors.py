"""Batch executors: where ``salesplan run`` renders its units, as a registry.

An executor runs ``fn(job)`` for many jobs on its workers and hands each outcome (the return
value, or the exception) to ``done(job, outcome)`` as soon as it is ready. Executors are
registered by name, like papermill's engines::

    from salesplan_nb.batch import executors
    executors.register("mine", MyExecutor)   # or an entry point in the group below
    salesplan run plans/demo --by territory --out reports/t --executor mine

Built in: ``local`` (:class:`LocalExecutor`, worker processes forked from the warm parent)
and ``dask`` (:class:`DaskExecutor`, a ``dask.distributed`` cluster). Third-party packages add
executors through the entry point group ``salesplan_nb.executors`` (``name = "pkg.mod:Class"``);
they are loaded the first time a name is looked up.

One executor can serve several batches (``salesplan demo`` renders its batches on one pool):
``start(warm)`` once, then ``map`` per batch, then ``close``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from salesplan_nb.core.errors import ConfigError

ENTRY_POINT_GROUP = "salesplan_nb.executors"
Done = Callable[[Any, Any], None]


class Executor:
    """Base class: run ``fn(job)`` for every job; report outcomes through ``done``.

    ``workers`` is the number of parallel workers (None: one per core), ``scheduler`` the
    address of a cluster for executors that need one. Subclasses implement :meth:`map`; they
    may pre-start workers in :meth:`start` and free them in :meth:`close`."""

    name = ""

    def __init__(self, workers: int | None = None, scheduler: str | None = None,
                 **options: Any):
        self.workers = max(1, int(workers or os.cpu_count() or 1))
        self.scheduler = scheduler
        self.options = options
        self.started = False

    def start(self, warm: Callable[[], None] | None = None,
              on_exit: Callable[[], None] | None = None) -> None:
        """Start the workers. ``warm()`` prepares a worker (imports, data, plan-wide results)
        before its first job; ``on_exit()`` runs in a worker before it stops."""
        self.started = True

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any], done: Done,
            limit: Callable[[Any], float | None] | None = None) -> None:
        """Run ``fn(job)`` for every job; ``done(job, result_or_exception)`` as each finishes.
        ``limit(job)``: seconds after which a job's worker may be stopped (None: no limit)."""
        raise NotImplementedError

    def slots(self) -> int:
        """How many jobs run at once (for splitting work into enough pieces)."""
        return self.workers

    def close(self) -> None:
        self.started = False

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_EXECUTORS: dict[str, type[Executor]] = {}
_LOADED = {"entry_points": False}


def register(name: str, cls: type[Executor]) -> None:
    """Make ``cls`` available as ``--executor name`` (a later registration replaces it)."""
    if not (isinstance(cls, type) and issubclass(cls, Executor)):
        raise TypeError(f"executor {name!r}: {cls!r} is not a salesplan_nb Executor subclass")
    cls.name = name
    _EXECUTORS[name] = cls


def _load_entry_points() -> None:
    if _LOADED["entry_points"]:
        return
    _LOADED["entry_points"] = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _EXECUTORS:
            continue
        try:
            register(ep.name, ep.load())
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break the CLI
            print(f"warning: executor entry point {ep.name} = {ep.value} cannot be loaded "
                  f"({type(exc).__name__}: {exc}); skipped", file=sys.stderr)


def names() -> list[str]:
    """Registered executor names (built-in and entry points)."""
    _load_entry_points()
    return sorted(_EXECUTORS)


def get(name: str) -> type[Executor]:
    """The executor class registered as ``name``; a ConfigError lists the known names."""
    if name not in _EXECUTORS:
        _load_entry_points()
    if name not in _EXECUTORS:
        raise ConfigError(f"--executor {name!r}: use one of {', '.join(names())} (more can be "
                          f"added through the entry point group {ENTRY_POINT_GROUP})")
    return _EXECUTORS[name]


def create(name: str, workers: int | None = None, scheduler: str | None = None,
           **options: Any) -> Executor:
    """An executor instance of the registered ``name``."""
    return get(name)(workers=workers, scheduler=scheduler, **options)


# ---- local: forked worker processes ------------------------------------------------------------
class WorkerDied(RuntimeError):
    """A worker process ended while rendering a job (crash, out of memory, killed)."""


def _die_with_parent() -> None:
    """This worker dies with its parent, even on SIGKILL (:mod:`salesplan_nb.batch.lifetime`:
    the one definition of the rule; no-op off Linux)."""
    from salesplan_nb.batch import lifetime

    lifetime.die_with_parent()


def _rss_mb(field: str = "VmRSS") -> float:
    """Resident memory of this process in MB (``VmRSS`` now, ``VmHWM`` peak; Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return _rss_mb("VmHWM")


_STATE = {"worker": False}


def in_worker() -> bool:
    """True inside a :class:`LocalExecutor` worker process."""
    return _STATE["worker"]


def _serve(conn, warm: Callable[[], None] | None, on_exit: Callable[[], None] | None,
           max_rss_mb: float | None) -> None:
    """A worker's loop: receive ``(fn, job)``, send ``(kind, value, peak_mb, retiring)``."""
    _STATE["worker"] = True
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    try:
        if warm is not None:
            warm()
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                return
            if msg is None:
                return
            fn, job = msg
            try:
                out: tuple = ("ok", fn(job))
            except BaseException as exc:  # noqa: BLE001 - reported as the job's outcome
                out = ("error", exc)
            retiring = bool(max_rss_mb) and _rss_mb() > max_rss_mb
            try:
                conn.send((*out, _rss_mb("VmHWM"), retiring))
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable exception
                conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}"),
                           _rss_mb("VmHWM"), retiring))
            if retiring:
                return
    finally:
        if on_exit is not None:
            with contextlib.suppress(Exception):
                on_exit()


class _Worker:
    def __init__(self, ctx, warm, on_exit, max_rss_mb):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, warm, on_exit, max_rss_mb),
                                daemon=True, name="salesplan-worker")
        self.proc.start()
        child.close()
        self.job: Any = None
        self.since = 0.0
        self.tries = 0

    def stop(self, kill: bool = False) -> None:
        if kill:
            with contextlib.suppress(Exception):
                self.proc.kill()
        else:
            with contextlib.suppress(Exception):
                self.conn.send(None)
        self.proc.join(timeout=None if kill else 10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


class LocalExecutor(Executor):
    """Worker processes on this machine, pre-started and reused for every batch.

    Where the platform can ``fork`` (Linux), workers are forked from the parent *after*
    ``warm()`` ran there, so they start with the package imported, the plan's data snapshot
    loaded and the plan-wide results computed, sharing those pages copy-on-write; elsewhere
    they are spawned and run ``warm()`` themselves. A worker that dies takes only its job
    down: the job is retried once on a fresh worker, then reported as :class:`WorkerDied`.
    A worker whose resident memory passes ``max_rss_mb`` (option, MB) after a job is replaced
    by a fresh one, so memory stays bounded over thousands of jobs. Options: ``max_rss_mb``
    (default 1,200), ``retries`` (default 1)."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None,
                 **options: Any):
        super().__init__(workers, scheduler, **options)
        import multiprocessing as mp

        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        self.ctx = mp.get_context(options.get("start_method") or method)
        self.max_rss_mb = float(options.get("max_rss_mb") or 1200)
        self.retries = int(options.get("retries", 1))
        self.pool: list[_Worker] = []
        self.peak_rss_mb = 0.0
        self.replaced = 0
        self._warm: Callable[[], None] | None = None
        self._on_exit: Callable[[], None] | None = None

    def start(self, warm=None, on_exit=None) -> None:
        if self.started:
            return
        self._on_exit = on_exit
        fork = self.ctx.get_start_method() == "fork"
        if fork:
            if warm is not None:
                warm()  # in the parent: every fork inherits it
        else:
            self._warm = warm
        from salesplan_nb.batch import speedups

        if fork:  # the workers' collections skip (and never copy) what they inherit
            speedups.freeze()
        try:
            self.pool = [self._spawn() for _ in range(self.workers)]
        finally:
            if fork:
                speedups.thaw()
        self.started = True

    def _spawn(self) -> _Worker:
        return _Worker(self.ctx, self._warm, self._on_exit, self.max_rss_mb)

    def _replace(self, w: _Worker, kill: bool = False) -> _Worker:
        """Stop ``w`` and put a fresh worker in its slot."""
        w.stop(kill=kill)
        nw = self._spawn()
        self.pool[self.pool.index(w)] = nw
        self.replaced += 1
        return nw

    def map(self, fn, jobs, done, limit=None) -> None:
        from multiprocessing.connection import wait

        if not self.started:
            self.start()
        todo = iter(jobs)
        retry: list[tuple[Any, int]] = []
        more = True

        def feed(w: _Worker) -> None:
            nonlocal more
            if retry:
                w.job, w.tries = retry.pop()
            elif more:
                try:
                    w.job, w.tries = next(todo), 0
                except StopIteration:
                    more = False
                    return
            else:
                return
            w.since = time.monotonic()
            w.conn.send((fn, w.job))

        for w in list(self.pool):
            feed(w)
        while any(w.job is not None for w in self.pool):
            busy = [w for w in self.pool if w.job is not None]
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=1.0)
            now = time.monotonic()
            for w in busy:
                job, msg = w.job, None
                if w.conn in ready or w.proc.sentinel in ready:
                    with contextlib.suppress(EOFError, OSError):
                        if w.conn.poll():
                            msg = w.conn.recv()
                if msg is not None:
                    _kind, value, peak, retiring = msg
                    self.peak_rss_mb = max(self.peak_rss_mb, peak)
                    w.job = None
                    done(job, value)
                    feed(self._replace(w) if retiring or not w.proc.is_alive() else w)
                    continue
                lim = limit(job) if limit else None
                died = w.proc.sentinel in ready or not w.proc.is_alive()
                late = lim is not None and now - w.since > lim
                if not (died or late):
                    continue
                nw = self._replace(w, kill=not died)
                code = w.proc.exitcode
                if died and w.tries < self.retries:
                    retry.append((job, w.tries + 1))
                elif late:
                    done(job, TimeoutError(f"no result after {lim:.0f} s; the worker was "
                                           "stopped"))
                else:
                    done(job, WorkerDied(f"the worker process ended (exit code {code}) "
                                         "while rendering this unit"))
                feed(nw)

    def close(self) -> None:
        for w in self.pool:
            w.stop()
        self.pool = []
        self.started = False


# ---- dask ----------------------------------------------------------------------------------------
class DaskExecutor(Executor):
    """A ``dask.distributed`` cluster at ``scheduler`` (e.g. ``tcp://127.0.0.1:8786``).

    ``warm()`` runs once on every worker (a worker plugin: also on workers that join later)
    before the first job, and jobs are
    submitted a few at a time per worker thread (bounded memory in the client for thousands
    of units). Each job is one task; a task whose worker dies is reported failed."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None,
                 **options: Any):
        super().__init__(workers, scheduler, **options)
        if not scheduler:
            raise ConfigError("--executor dask needs --scheduler ADDRESS "
                              "(e.g. tcp://127.0.0.1:8786)")
        self.client = None

    def start(self, warm=None, on_exit=None) -> None:
        if self.started:
            return
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
            raise ConfigError("--executor dask needs dask.distributed installed") from exc
        try:
            self.client = Client(self.scheduler, timeout=20)
        except OSError as exc:
            raise ConfigError(f"cannot reach the dask scheduler at {self.scheduler}: {exc}") \
                from None
        if warm is not None:  # every worker, and any that joins later, warms up once
            with contextlib.suppress(Exception):
                from salesplan_nb.batch.daskplugin import WarmPlugin

                self.client.register_plugin(WarmPlugin(warm), name="salesplan-warm")
        self.started = True

    def slots(self) -> int:
        if self.client is None:
            return self.workers
        return sum(self.client.nthreads().values()) or 1

    def map(self, fn, jobs, done, limit=None) -> None:
        from distributed import as_completed

        if not self.started:
            self.start()
        threads = sum(self.client.nthreads().values()) or 1
        todo = iter(jobs)
        keys: dict[Any, Any] = {}

        def submit():
            job = next(todo, None)
            if job is None:
                return None
            f = self.client.submit(fn, job, pure=False, key=f"salesplan-{time.time_ns()}")
            keys[f.key] = job
            return f

        first = [f for f in (submit() for _ in range(2 * threads)) if f is not None]
        if not first:
            return
        seq = as_completed(first)
        for f in seq:
            job = keys.pop(f.key)
            try:
                out = f.result()
            except Exception as exc:  # noqa: BLE001 - the unit fails, the batch goes on
                out = exc
            f.release()
            done(job, out)
            nxt = submit()
            if nxt is not None:
                seq.add(nxt)

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
        self.client = None
        self.started = False


register("local", LocalExecutor)
register("dask", DaskExecutor)

__all__ = ["Executor", "LocalExecutor", "DaskExecutor", "WorkerDied", "register", "get",
           "create", "names", "ENTRY_POINT_GROUP"]
