"""Child processes die with their parent.

``salesplan run`` starts worker processes, and every worker starts a Jupyter kernel. When the
parent is killed with SIGKILL (no ``atexit``, no ``finally``), Linux can still stop the
children: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks the kernel to send the child SIGKILL when
the *thread* that created it exits. The chain parent -> worker -> kernel is covered by
:func:`die_with_parent` in the worker (called first thing in the pool initializer) and
:func:`preexec_die_with_parent` as the kernel's ``Popen(preexec_fn=...)``. The
multiprocessing resource tracker exits by itself once every holder of its pipe is gone.

On other systems both are no-ops (there is no parent-death signal there).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()  # loaded at import: no dlopen between fork and exec


def _prctl_pdeathsig(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent thread exits."""
    if _LIBC is None:
        return False
    try:
        return _LIBC.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except AttributeError:
        return False


def die_with_parent(parent_pid: int | None = None) -> bool:
    """Make this process receive SIGKILL when its parent dies. ``parent_pid`` (the parent's
    pid as seen before the call) closes the race where the parent died before the call:
    then this process exits at once. Returns whether the signal is armed."""
    armed = _prctl_pdeathsig(signal.SIGKILL)
    if armed and parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent is already gone: we were re-parented
    return armed


def preexec_die_with_parent() -> None:
    """``preexec_fn`` for :class:`subprocess.Popen`: runs in the child between fork and exec
    (async-signal-safe: one system call), so the child dies with the process that started
    it."""
    _prctl_pdeathsig(signal.SIGKILL)


__all__ = ["die_with_parent", "preexec_die_with_parent"]
