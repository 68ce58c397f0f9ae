"""salesplan-nb: an open, reproducible, Jupyter-based sales-planning workbook."""

from .dataset import Dataset
from .schema import TABLES
from .scope import Period, Scope

__version__ = "0.1.0"
__all__ = ["Dataset", "Period", "Scope", "TABLES", "__version__"]
