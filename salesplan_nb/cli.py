"""The ``salesplan`` command line.

Each sub-command lives in the module that owns its concern; the module exposes
``register_cli(subparsers)`` which adds its parser and sets ``func(args) -> int``. Modules are
listed in :data:`COMMAND_MODULES`, in help order.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from salesplan_nb.core import secrets
from salesplan_nb.core.errors import SalesplanError

COMMAND_MODULES = [
    "salesplan_nb.data.validate",   # salesplan validate
    "salesplan_nb.data.sample",     # salesplan sample
    "salesplan_nb.data.workspace",  # salesplan init
    "salesplan_nb.batch.runner",     # salesplan run
    "salesplan_nb.batch.demo",       # salesplan demo
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salesplan", description="Open, reproducible sales planning in Jupyter.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a module not written yet
            if exc.name != name:
                raise
            continue
        module.register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SalesplanError as exc:
        print(f"error: {secrets.mask(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except (OSError, MemoryError, RecursionError) as exc:  # the machine, not a bug
        print(f"error: {secrets.mask(_one_line(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback: one line, exit 1 (SALESPLAN_DEBUG=1 shows it)
        if os.environ.get("SALESPLAN_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {secrets.mask(_one_line(exc))}; "
              "please report this with the input that caused it (SALESPLAN_DEBUG=1 shows "
              "the traceback)", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line (``strerror: filename`` for OS errors)."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return " ".join(str(exc).split())[:500] or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
