"""The ``salesplan`` command line.

Each sub-command lives in the module that owns its concern; the module exposes
``register_cli(subparsers)`` which adds its parser and sets ``func(args) -> int``. Modules are
listed in :data:`COMMAND_MODULES`, in help order.
"""

from __future__ import annotations

import argparse
import importlib
import sys

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
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
