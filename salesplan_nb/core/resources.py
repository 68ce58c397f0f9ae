"""Where the package's non-Python resources live: the step and plan notebooks.

A source checkout keeps them at the top of the repository (``notebooks/``); a wheel ships the
same files as package data (``salesplan_nb/notebooks/``). One rule for both: the checkout's
folder when it exists (so edits in the checkout are used at once), else the installed copy;
``$SALESPLAN_NOTEBOOKS`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

from salesplan_nb.core.errors import ConfigError

PACKAGE = Path(__file__).resolve().parents[1]  # the salesplan_nb package folder


def notebook_dir(kind: str = "") -> Path:
    """The notebooks folder (``kind``: ``"steps"`` or ``"plans"`` for its sub-folder)."""
    env = os.environ.get("SALESPLAN_NOTEBOOKS")
    candidates = ([Path(env)] if env else
                  [PACKAGE.parent / "notebooks", PACKAGE / "notebooks"])  # checkout, wheel
    for base in candidates:
        folder = base / kind if kind else base
        if folder.is_dir():
            return folder
    raise ConfigError(f"notebook folder {kind or 'notebooks'} is missing (looked in "
                      f"{', '.join(str(c) for c in candidates)}); reinstall salesplan-nb or set "
                      "SALESPLAN_NOTEBOOKS to a folder holding steps/ and plans/")
