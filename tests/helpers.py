"""Small helpers shared by test modules (imported as ``from helpers import ...``)."""
from __future__ import annotations

from salesplan_nb import Dataset, Scope

LEVEL_COLUMN = {"region": "region", "territory": "territory", "rep": "owner_id",
                "account": "account_id"}


def busiest_scope(data: Dataset, level: str) -> Scope:
    """The scope at ``level`` with the most won deals (the company scope for ``company``)."""
    if level == "company":
        return Scope()
    won = data.deals[data.deals["status"] == "won"]
    return Scope(level, str(won[LEVEL_COLUMN[level]].value_counts().index[0]))
