"""The plan document's content as data: a :class:`Section` holds blocks - :class:`Text`
paragraphs, :class:`Table` s (:mod:`salesplan_nb.core.tables`), Altair charts and
:class:`Missing` notes naming the decision or data that is absent and where to provide it.
Blocks carry raw values (names from data unescaped); :mod:`salesplan_nb.render.html` escapes
them when it renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import altair as alt

from salesplan_nb.core.tables import Table

__all__ = ["Text", "Table", "Missing", "Section", "is_chart"]


class Text(str):
    """A paragraph of plain text (escaped when rendered)."""


@dataclass
class Missing:
    """A note that a section cannot be filled: ``what`` is missing and ``how`` to provide it
    (the decision to take and the notebook to take it in)."""

    what: str
    how: str = ""

    def text(self) -> str:
        return f"Not available: {self.what}." + (f" {self.how}" if self.how else "")


def is_chart(block: Any) -> bool:
    """An Altair chart block."""
    return isinstance(block, alt.TopLevelMixin)


@dataclass
class Section:
    """A titled part of the plan document; plain strings added become :class:`Text`."""

    key: str
    title: str
    blocks: list[Any] = field(default_factory=list)

    def add(self, *blocks: Any) -> Section:
        self.blocks.extend(Text(b) if type(b) is str else b for b in blocks if b is not None)
        return self

    @property
    def missing(self) -> list[Missing]:
        return [b for b in self.blocks if isinstance(b, Missing)]
