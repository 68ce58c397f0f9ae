"""Errors users see. The CLI prints them without a traceback."""

from __future__ import annotations


class SalesplanError(Exception):
    """Base class: a problem with the user's input, with a message that says how to fix it.
    The CLI exits 1 for every bad input (data, mapping, plan.yaml, option value); 2 is left
    to command-line usage errors (argparse)."""

    exit_code = 1


class DataError(SalesplanError):
    """Source data cannot be loaded; ``report`` lists every problem."""

    exit_code = 1

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class WorkspaceError(SalesplanError):
    """plan.yaml or the plan folder is missing, corrupt or inconsistent."""


class ConfigError(SalesplanError):
    """A mapping file, parameter or option is wrong."""


class ScopeError(ConfigError, ValueError):
    """A scope or period text that cannot be read (also a ValueError for plain callers)."""
