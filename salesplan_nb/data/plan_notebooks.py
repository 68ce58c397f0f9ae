"""A plan workspace carries its own step notebooks.

Creating a plan copies every step notebook (``notebooks/steps/*.ipynb``, found by
:func:`salesplan_nb.core.resources.notebook_dir`) into the plan folder, with the parameters
cell pointing at that folder (``plan_dir = "."``: a kernel's working directory is the
notebook's folder) and the data-source parameters cleared (the plan has its snapshot). Two
plans never share state, and a plan folder is complete on its own: it can be moved, zipped or
put under version control as one unit.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from salesplan_nb.core.errors import WorkspaceError
from salesplan_nb.core.resources import notebook_dir

# parameter name -> the value a copied notebook gets (Python source)
PLAN_PARAMETERS = {"plan_dir": '"."', "data_source": '""', "mapping": '""'}


def point_at_plan(source: str) -> str:
    """The parameters cell ``source`` with :data:`PLAN_PARAMETERS` set (comments kept)."""
    for name, value in PLAN_PARAMETERS.items():
        pattern = re.compile(rf"^({name}\s*=\s*)(\"[^\"]*\"|'[^']*'|\S+)(.*)$", re.M)
        source = pattern.sub(lambda m, v=value: f"{m.group(1)}{v}{m.group(3)}", source)
    return source


def copy_step_notebooks(plan_dir: str | Path, source: str | Path | None = None,
                        overwrite: bool = False) -> list[Path]:
    """Copy the step notebooks into ``plan_dir``; returns the copies in file order.

    An existing notebook is kept unless ``overwrite`` (it may hold the analyst's edits)."""
    plan_dir = Path(plan_dir)
    src = Path(source) if source else notebook_dir("steps")
    notebooks = sorted(src.glob("*.ipynb"))
    if not notebooks:
        raise WorkspaceError(f"no step notebooks in {src}; reinstall salesplan-nb")
    out = []
    for nb_path in notebooks:
        target = plan_dir / nb_path.name
        out.append(target)
        if target.exists() and not overwrite:
            continue
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
                cell.source = point_at_plan(cell.source)
        nbformat.write(nb, target)
    return out
