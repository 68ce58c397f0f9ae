"""Widgets: the Python side of the step widgets (ipywidgets / anywidget).

``from salesplan_nb import ui`` gives the shared helpers of :mod:`salesplan_nb.ui.base`
(``ui.open_plan``, ``ui.show``...) and every widget class by name (``ui.QuotaAllocator``),
imported on first use.
"""

from salesplan_nb.ui import base as _base
from salesplan_nb.ui.base import *  # noqa: F401,F403


def __getattr__(name: str):
    if hasattr(_base, name):
        return getattr(_base, name)
    classes = _base.widget_classes()
    if name in classes:
        return classes[name]
    raise AttributeError(name)
