"""The ``salesplan`` command line.

Each sub-command lives in the module that owns its concern; the module exposes
``register_cli(subparsers)`` which adds its parser and sets ``func(args) -> int``. Modules are
listed in :data:`COMMANDS`, in help order; ``salesplan steps`` (the planning process from the
step registry) lives here.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import sys
import threading

from salesplan_nb.batch import speedups

with speedups.no_gc():  # ~1,000 modules load here, none of their objects is garbage
    from salesplan_nb.batch import demo, runner
    from salesplan_nb.core import secrets
    from salesplan_nb.core.errors import SalesplanError
    from salesplan_nb.data import loaders, sample, workspace
    from salesplan_nb.steps import registry as step_registry
    from salesplan_nb.steps import rollout

COMMANDS = [
    loaders,    # salesplan validate
    sample,     # salesplan sample
    workspace,  # salesplan init
    runner,     # salesplan run
    demo,       # salesplan demo
    rollout,    # salesplan accept
]


def format_steps(steps: list[step_registry.Step]) -> str:
    """The process as text: the method's numbered steps in order, then the modules that serve
    every step, each with its notebook (relative to ``notebooks/``) and plan sections."""
    def block(items: list[step_registry.Step]) -> list[str]:
        out = []
        for s in items:
            num = f"{s.number:>2}" if s.number is not None else " *"
            out.append(f"{num}  {s.title:<34} {s.notebook}")
            detail = s.summary + (f" [plan sections: {', '.join(s.sections)}]"
                                  if s.sections else "")
            out.append(f"    {'':<34} {detail}".rstrip())
        return out

    numbered = [s for s in steps if s.number is not None]
    across = [s for s in steps if s.number is None]
    lines = ["The planning process (open the notebooks under notebooks/ in this order; each "
             "records its decisions in plan.yaml)", ""]
    lines += block(numbered)
    if across:
        lines += ["", "Across all steps (*)", ""] + block(across)
    return "\n".join(lines)


def _cli_steps(args: argparse.Namespace) -> int:
    steps = step_registry.steps()
    if args.json:
        print(json.dumps([s.as_dict() for s in steps], indent=1))
    else:
        print(format_steps(steps))
    for reason in step_registry.STEPS.errors.values():
        print(f"warning: a plug-in step did not load: {reason}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salesplan", description="Open, reproducible sales planning in Jupyter.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("steps", help="the planning process: every step and its notebook",
                       description="List the steps of the planning method in order, with the "
                                   "notebook to open and the plan sections of each.")
    p.add_argument("--json", action="store_true",
                   help="machine-readable: key, number, title, module, notebook, sections, "
                        "widgets")
    p.set_defaults(func=_cli_steps)
    for module in COMMANDS:
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


def entry() -> None:
    """The ``salesplan`` console script: :func:`main`, then a quick exit. Non-daemon threads
    are joined, exit handlers run and the standard streams are flushed as in a normal exit;
    only the interpreter's teardown is skipped (freeing every object and module one by one:
    ~0.3 s of CPU after a plan run, memory the OS frees anyway). ``SystemExit`` (``--help``,
    usage errors) exits the usual way."""
    code = main()
    for t in threading.enumerate():
        if t is not threading.current_thread() and not t.daemon:
            t.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line (``strerror: filename`` for OS errors)."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return " ".join(str(exc).split())[:500] or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    entry()
