"""Process settings for batch workers, each measured on a plan document (2 cores).

* :func:`skip_iri_checker` - jsonschema (imported by altair and nbformat) loads the optional
  ``rfc3987_syntax`` IRI format checker when installed, which compiles a grammar for ~1.4 s
  of CPU at every interpreter start; no schema salesplan validates uses the ``iri`` formats.
* :func:`one_blas_thread` - batch parallelism is one process per core, so a BLAS thread
  pool per worker only oversubscribes the cores: statsmodels' ETS fits (scipy's L-BFGS-B)
  took 3x the CPU time with two OpenBLAS threads per worker (3.1 s vs 1.0 s for three
  account forecasts).
* :func:`no_gc` - importing the package and its libraries creates ~150,000 objects that live
  as long as the process; the collector ran three full collections over them while they
  loaded (~0.15 s of CPU per start) and freed nothing.
* :func:`freeze` - before forking workers: objects alive then move to the permanent
  generation, so a worker's collections neither scan nor touch (copy-on-write) them.
* :func:`memoise_altair_converter` - Altair builds a lookup table of all ~500 schema
  wrapper classes (one ``json.dumps`` each) every time it wraps an encoding given as a dict,
  ~40 times per plan document; the table depends only on the classes, so it is built once.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from typing import Any


def skip_iri_checker() -> None:
    """Import nothing for jsonschema's optional ``iri`` format (call before jsonschema)."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """No garbage collection inside the block (imports of long-lived modules); the
    collector's previous state is restored after it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def freeze() -> None:
    """Everything alive now into the permanent generation (``gc.freeze``; call right before
    forking workers; :func:`thaw` when the parent has no more workers to start)."""
    gc.freeze()


def thaw() -> None:
    """Undo :func:`freeze` in this process (forked workers keep theirs)."""
    gc.unfreeze()


def one_blas_thread() -> None:
    """Limit every loaded BLAS library (numpy's, scipy's) to one thread in this process."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def memoise_altair_converter() -> bool:
    """Reuse Altair's schema-hash -> wrapper class table; False when this Altair version has
    no such table (then nothing is changed)."""
    from altair.utils import schemapi

    conv = getattr(schemapi, "_FromDict", None)
    if conv is None or getattr(conv, "_salesplan_memo", False) \
            or not hasattr(conv, "hash_schema"):
        return False
    original = conv.__init__
    tables: dict[tuple, Any] = {}

    def __init__(self, wrapper_classes, /) -> None:  # noqa: N807 - replaces __init__
        key = tuple(wrapper_classes)
        if key not in tables:
            original(self, key)
            tables[key] = self.class_dict
        self.class_dict = tables[key]

    conv.__init__ = __init__
    conv._salesplan_memo = True
    return True


def apply() -> None:
    """All of the above (idempotent)."""
    skip_iri_checker()
    one_blas_thread()
    memoise_altair_converter()
