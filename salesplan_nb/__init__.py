"""salesplan-nb: an open, reproducible, Jupyter-based sales-planning workbook."""

from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.schema import TABLES

__version__ = "0.1.0"
__all__ = ["Dataset", "Period", "Scope", "TABLES", "__version__"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (``jupyter labextension develop``/``list``)."""
    return [{"src": "labextension", "dest": "salesplan-nb"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The server extension lives in :mod:`salesplan_nb.server`."""
    return [{"module": "salesplan_nb.server"}]
