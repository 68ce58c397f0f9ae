"""The batch's heavy optional libraries stay unimported until a path needs them: a cold
``salesplan run`` imports the CLI, every step module and every plan section, so a module-level
import of one of these would cost every plan document its import time (statsmodels and
scipy.stats ~0.7 s each; dask, sqlalchemy, highspy only for some plans)."""

from __future__ import annotations

import json
import subprocess
import sys

#: imported only where used: forecast fits, resources' curve fits, the territory optimiser,
#: SQL sources, the Dask executor, the kernel engine and HTML export
LAZY = ("statsmodels", "scipy.stats", "scipy.optimize", "highspy", "sqlalchemy", "dask",
        "distributed", "jupyter_client", "nbconvert")

CODE = """
import importlib, json, sys
import salesplan_nb.cli
from salesplan_nb.batch import runner
from salesplan_nb.render import report, sections
for m in runner.STEP_MODULES:
    importlib.import_module(m)
for name in sections.SECTION_BUILDERS:
    sections.SECTION_BUILDERS[name]
print(json.dumps({"loaded": sorted(m for m in sys.modules if sys.modules[m] is not None),
                  "iri": "rfc3987_syntax" in sys.modules
                         and sys.modules["rfc3987_syntax"] is not None}))
"""


def test_cli_steps_and_sections_leave_heavy_libraries_unimported():
    out = subprocess.run([sys.executable, "-c", CODE], check=True, capture_output=True,
                         text=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    loaded = set(res["loaded"])
    assert "salesplan_nb.steps.forecast" in loaded and "altair" in loaded  # it did import
    assert sorted(m for m in LAZY if m in loaded) == []
    assert res["iri"] is False  # jsonschema's IRI grammar is skipped (batch.speedups)
