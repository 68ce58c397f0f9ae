"""Plan units of a dataset: the regions, territories, accounts and reps that ``salesplan run``
renders one plan for, with their trailing-12-month won bookings (to pick the top N) and a safe
file-name stem each."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import trailing_12_months
from salesplan_nb.core.safenames import unique_names

LEVELS = ("company", "region", "territory", "account", "rep")


@dataclass
class Unit:
    """One plan to render: ``level`` + ``id`` (scope key), ``label`` (name from data,
    untrusted) and ``stem`` (safe file-name stem)."""

    level: str
    id: str
    label: str
    stem: str = ""
    bookings: float = 0.0


def _trailing_bookings(data, column: str) -> pd.Series:
    d = data.deals
    won = d[(d["status"] == "won") & trailing_12_months(data.as_of).contains(d["close_date"])]
    return won.groupby(column)["amount"].sum()


def list_units(data, level: str, only: list[str] | None = None,
               top: int | None = None) -> list[Unit]:
    """Units of ``level`` in ``data``: the company (one unit), regions and territories (tables and deals), accounts,
    active reps. ``top`` keeps the N with the highest trailing-12-month won bookings (up to
    ``as_of``); ``only`` keeps units whose id or name is listed (unknown names are an error)."""
    if level not in LEVELS:
        raise ConfigError(f"--by {level!r}: use one of {', '.join(LEVELS)}")
    if level == "company":  # one plan for the whole company
        d = data.deals
        won = d[(d["status"] == "won") & trailing_12_months(data.as_of).contains(d["close_date"])]
        units = [Unit("company", "company", "Company", "company", float(won["amount"].sum()))]
        return units if top is None or top >= 1 else []
    if level == "region":
        vals = pd.concat([data.territories["region"], data.reps["region"],
                          data.accounts["region"], data.deals["region"]]).dropna().unique()
        units = [Unit("region", str(v), str(v)) for v in sorted(vals)]
        col = "region"
    elif level == "territory":
        names = dict(zip(data.territories["territory_id"], data.territories["name"]))
        ids = pd.concat([data.territories["territory_id"], data.deals["territory"]]).dropna()
        units = [Unit("territory", str(t), str(names.get(t) if pd.notna(names.get(t, None))
                                               else t)) for t in sorted(ids.unique())]
        col = "territory"
    elif level == "account":
        a = data.accounts
        units = [Unit("account", str(i), str(n) if pd.notna(n) else str(i))
                 for i, n in zip(a["account_id"], a["name"])]
        col = "account_id"
    else:
        r = data.reps
        active = r[r["end_date"].isna()] if r["end_date"].isna().any() else r
        units = [Unit("rep", str(i), str(n) if pd.notna(n) else str(i))
                 for i, n in zip(active["rep_id"], active["name"])]
        col = "owner_id"
    book = _trailing_bookings(data, col)
    for u in units:
        u.bookings = float(book.get(u.id, 0.0))
    if only:
        wanted = [str(o) for o in only]
        keep = [u for u in units if u.id in wanted or u.label in wanted]
        found = {u.id for u in keep} | {u.label for u in keep}
        unknown = [w for w in wanted if w not in found]
        if unknown:
            sample = ", ".join(u.id for u in units[:5])
            raise ConfigError(f"--only: no {level} named {', '.join(map(repr, unknown))} in the "
                              f"plan data (ids look like: {sample})")
        units = keep
    if top is not None:
        if top < 1:
            raise ConfigError("--top must be a positive number of units")
        units = sorted(units, key=lambda u: (-u.bookings, u.id))[:top]
    stems = unique_names([f"{u.level}:{u.id}" for u in units])
    for u in units:
        u.stem = stems[f"{u.level}:{u.id}"]
    return units
