"""``make golden``: re-execute the golden notebooks in place (kernel ``salesplan-nb``).

Stored outputs are normalised so that a refresh without a change of numbers leaves git clean:
consecutive stdout chunks are merged into one stream output (how the kernel splits them
depends on timing) and no execution timing metadata is kept.

Usage: ``python tests/nbval/refresh.py [notebook.ipynb ...]`` (default: all in tests/nbval).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def coalesce(outputs: list) -> list:
    """Merge consecutive stream outputs of the same stream into one."""
    out: list = []
    for o in outputs:
        if (o.get("output_type") == "stream" and out and out[-1].get("output_type") == "stream"
                and out[-1].get("name") == o.get("name")):
            out[-1]["text"] = "".join(out[-1]["text"]) + "".join(o["text"])
        else:
            out.append(o)
    return out


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="salesplan-nb", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce(cell.outputs)
            cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    print(f"refreshed {path.name}")


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(HERE.glob("*.ipynb"))
    for p in paths:
        refresh(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
