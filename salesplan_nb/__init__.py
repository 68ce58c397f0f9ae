"""salesplan-nb: an open, reproducible, Jupyter-based sales-planning workbook."""

from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.data.schema import TABLES

__version__ = "0.1.0"
__all__ = ["Dataset", "Period", "Scope", "TABLES", "__version__"]
