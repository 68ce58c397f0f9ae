"""Credentials never reach disk or output.

The rule (docs/decisions.md, issue 16): a database URL is stored and shown *without* its
password. The password comes from the environment at load time: libpq's ``PGPASSWORD`` or
``~/.pgpass`` for PostgreSQL, or a whole URL kept in an environment variable and given as
``env:NAME`` (a named connection). :func:`mask` hides a password in any text shown to a user
or a log (``user:***@``); :func:`strip` removes it from text written to disk (``user@``).
"""

from __future__ import annotations

import re

# scheme://user:password@  (the password may be empty; '@', '/' and spaces end it)
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):(?P<pw>[^@/\s]*)@")


def has_password(text: str) -> bool:
    """Whether ``text`` holds a URL with a password."""
    return bool(_URL_PASSWORD.search(str(text)))


def mask(text: str) -> str:
    """``text`` with every URL password replaced by ``***`` (for messages and logs)."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}:***@", str(text))


def strip(text: str) -> str:
    """``text`` with every URL password removed (for files: ``user:pw@host`` ->
    ``user@host``)."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}@", str(text))


__all__ = ["has_password", "mask", "strip"]
