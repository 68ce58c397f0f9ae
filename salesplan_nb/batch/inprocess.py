"""A papermill engine that runs a notebook's cells in this process (``salesplan-inprocess``).

papermill still does everything users rely on: it reads the notebook, injects the parameters
cell, records per-cell timing and status metadata and raises ``PapermillExecutionError`` for a
failed cell. Only the *execution* moves: instead of a Jupyter kernel in a subprocess (one
interpreter start, ~2-4 s of imports, ZeroMQ round trips per message), cells run in an
IPython :class:`InteractiveShell` inside the batch worker, which already has the package
imported and the plan's data loaded. The outputs are the nbformat outputs a kernel would
send (``stream``, ``display_data``, ``execute_result``, ``error`` with ename, evalue and
traceback), so the executed notebook and the HTML export are the same.

Isolation: every notebook starts with an empty user namespace (``shell.reset``); a cell that
runs longer than ``execution_timeout`` seconds gets ``TimeoutError`` raised in it (checked
between Python bytecodes); a worker that crashes outright takes only its unit down (the
executor replaces the worker and reports the unit failed). One notebook runs at a time per
process (a lock), since stdout and the display publisher are process-wide.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from typing import Any

import nbformat
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from papermill.engines import Engine, papermill_engines

ENGINE_NAME = "salesplan-inprocess"
_LOCK = threading.Lock()


def _output(output_type: str, **fields: Any) -> nbformat.NotebookNode:
    """An nbformat output as a kernel message becomes one, not validated one by one (the
    executed notebook is validated once when written)."""
    return nbformat.from_dict({"output_type": output_type, **fields})


class _Publisher(DisplayPublisher):
    """``display()`` -> a ``display_data`` output of the running cell."""

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False,
                **kwargs) -> None:
        self.shell.cell_outputs.append(_output(
            "display_data", data=dict(data), metadata=dict(metadata or {})))

    def clear_output(self, wait: bool = False) -> None:
        self.shell.cell_outputs.clear()


class _DisplayHook(DisplayHook):
    """The value of a cell's last expression -> an ``execute_result`` output."""

    def start_displayhook(self) -> None:
        pass

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict, md_dict=None) -> None:
        self.shell.cell_outputs.append(_output(
            "execute_result", data=dict(format_dict), metadata=dict(md_dict or {}),
            execution_count=self.shell.cell_count))

    def finish_displayhook(self) -> None:
        pass


class _Stream:
    """A ``sys.stdout`` / ``sys.stderr`` stand-in: text -> ``stream`` outputs (merged)."""

    encoding = "utf-8"

    def __init__(self, shell: BatchShell, name: str):
        self.shell, self.name = shell, name

    def write(self, text: str) -> int:
        if text:
            outs = self.shell.cell_outputs
            if outs and outs[-1].get("output_type") == "stream" and outs[-1].name == self.name:
                outs[-1].text += text
            else:
                outs.append(_output("stream", name=self.name, text=text))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class BatchShell(InteractiveShell):
    """An IPython shell whose outputs become nbformat outputs of the running cell."""

    displayhook_class = _DisplayHook
    display_pub_class = _Publisher

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.cell_outputs: list = []
        self.cell_count = 0

    def _showtraceback(self, etype, evalue, stb) -> None:
        self.cell_outputs.append(_output(
            "error", ename=getattr(etype, "__name__", str(etype)), evalue=str(evalue),
            traceback=list(stb)))

    def init_io(self) -> None:  # no terminal streams to set up
        pass

    def init_sys_modules(self) -> None:
        """Leave ``sys.modules["__main__"]`` alone (IPython replaces it for good, which breaks
        ``multiprocessing`` spawn in this process); :class:`InProcessEngine` puts the user
        module there only while a notebook runs."""

    def run_cell_outputs(self, source: str, timeout: float | None) -> tuple[list, bool]:
        """Run one cell; returns its outputs and whether it succeeded. A cell still running
        after ``timeout`` seconds gets ``TimeoutError`` raised in it."""
        self.cell_outputs = []
        self.cell_count = self.execution_count
        streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Stream(self, "stdout"), _Stream(self, "stderr")
        guard = _Deadline(threading.get_ident(), timeout) if timeout else None
        try:
            res = self.run_cell(source, store_history=True, silent=False)
        finally:
            if guard:
                guard.cancel()
            sys.stdout, sys.stderr = streams
        return self.cell_outputs, bool(res.success)


class _Deadline:
    """Raise ``TimeoutError`` in thread ``ident`` after ``seconds`` unless cancelled."""

    def __init__(self, ident: int, seconds: float):
        self.ident, self.seconds = ident, seconds
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True
        self.timer.start()

    def _fire(self) -> None:
        exc = ctypes.py_object(type("CellTimeout", (TimeoutError,), {
            "__init__": _timeout_init(self.seconds)}))
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.ident), exc)

    def cancel(self) -> None:
        self.timer.cancel()


def _timeout_init(seconds: float):
    def init(self, *args):
        TimeoutError.__init__(self, *(args or (f"cell still running after {seconds:g} s "
                                              "(--timeout)",)))
    return init


_SHELL: dict[str, BatchShell] = {}
LAST: dict[str, Any] = {}  # the notebook being executed (papermill raises on a failed cell)


def shell(fresh: bool = False) -> BatchShell:
    """This process's shell (created once; ``get_ipython()`` in notebooks returns it).
    ``fresh`` drops a shell inherited from a forked parent (e.g. JupyterLab's kernel)."""
    from salesplan_nb.batch.executors import in_worker

    if (fresh or in_worker()) and InteractiveShell.initialized() and \
            not isinstance(InteractiveShell.instance(), BatchShell):
        InteractiveShell.clear_instance()
    current = InteractiveShell.instance() if InteractiveShell.initialized() else None
    if _SHELL.get("s") is not current:  # display() publishes to the current instance only
        _SHELL.clear()
    if "s" not in _SHELL:
        if current is not None:
            _SHELL["s"] = _adopt()
        else:
            from traitlets.config import Config

            cfg = Config()
            cfg.HistoryManager.enabled = False
            cfg.InteractiveShell.cache_size = 0  # no Out[] cache: reset() skips gc.collect()
            BatchShell.clear_instance()  # a stale subclass singleton would not be current
            _SHELL["s"] = BatchShell.instance(config=cfg)
    return _SHELL["s"]


def _adopt() -> BatchShell:
    inst = InteractiveShell.instance()
    if isinstance(inst, BatchShell):
        return inst
    raise RuntimeError("another IPython shell runs in this process; use the kernel engine "
                       "(salesplan run --engine kernel)")


@contextlib.contextmanager
def _as_main(module):
    """``module`` as ``sys.modules["__main__"]`` for the duration (pickle, dataclasses and
    ``__name__ == "__main__"`` in cells see the notebook's namespace, as in a kernel)."""
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


class InProcessEngine(Engine):
    """papermill engine: execute the managed notebook's code cells in :func:`shell`."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                 execution_timeout=None, **kwargs):
        sh = shell()
        LAST["nb"] = nb_man.nb
        with _LOCK, _as_main(sh.user_module):
            sh.reset(new_session=False)
            sh.execution_count = 1
            nb = nb_man.nb
            for index, cell in enumerate(nb.cells):
                nb_man.cell_start(cell, index)
                failed = False
                if cell.cell_type == "code":
                    cell.execution_count = sh.execution_count
                    outputs, ok = sh.run_cell_outputs(cell.source, execution_timeout)
                    cell.outputs = outputs
                    failed = not ok
                if failed:
                    nb_man.cell_exception(cell, cell_index=index)
                nb_man.cell_complete(cell, cell_index=index)
                if failed:
                    break
            nb.metadata["language_info"] = {
                "name": "python", "version": sys.version.split()[0],
                "mimetype": "text/x-python", "file_extension": ".py",
                "codemirror_mode": {"name": "ipython", "version": 3},
                "pygments_lexer": "ipython3", "nbconvert_exporter": "python"}
            sh.reset(new_session=False)  # drop the unit's objects now, not at the next unit
        return nb


def register() -> str:
    """Register the engine with papermill (idempotent); returns its name."""
    papermill_engines.register(ENGINE_NAME, InProcessEngine)
    return ENGINE_NAME


def execute(notebook: Any, parameters: dict, timeout: float | None) -> Any:
    """``papermill.execute_notebook`` of ``notebook`` (path or node) in this process."""
    import papermill

    return papermill.execute_notebook(notebook, None, parameters=parameters,
                                      engine_name=register(), progress_bar=False,
                                      kernel_name="python3", execution_timeout=timeout,
                                      log_output=False)
