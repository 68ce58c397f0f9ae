"""What a plan document is about: the workspace (cached per process), the scope, the plan
period and its *baseline* - the last complete period of the plan's length before the data's
``as_of`` (:func:`salesplan_nb.steps.plan_model.plan_baseline`), so an annual plan for 2027
with data to mid-2026 is built on 2025 actuals; a long-term plan on the last complete year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from salesplan_nb.core import display
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import DOCUMENT_TYPES, Period, Scope
from salesplan_nb.data.workspace import Workspace
from salesplan_nb.steps import plan_model

__all__ = ["PlanContext", "open_workspace", "unit_label", "context", "default_plan_type",
           "period_label"]


_WS_CACHE: dict[str, tuple[tuple, Any]] = {}


def _stamp(plan_dir: Path) -> tuple:
    files = [plan_dir / "plan.yaml", *sorted((plan_dir / "data").glob("*.parquet"))]
    return tuple((str(f), f.stat().st_mtime_ns) for f in files if f.exists())


def open_workspace(plan_dir: str | Path):
    """``Workspace.open(plan_dir)``, cached per process while plan.yaml and the data snapshot
    are unchanged (batch workers render many units from one workspace)."""

    p = Path(plan_dir).resolve()
    stamp = _stamp(p)
    hit = _WS_CACHE.get(str(p))
    if hit and hit[0] == stamp:
        return hit[1]
    ws = Workspace.open(p)
    _WS_CACHE[str(p)] = (stamp, ws)
    return ws


@dataclass
class PlanContext:
    """What a plan document is about: workspace, scope, plan period, baseline period."""

    ws: Any
    scope: Scope
    period: Period
    baseline: Period
    plan_type: str
    unit_label: str
    cache: dict = field(default_factory=dict)

    @property
    def data(self):
        return self.ws.data

    @property
    def deals(self) -> pd.DataFrame:
        """The scope's deals (all dates), filtered once per context; read-only."""
        return self.once("scope_deals", lambda: self.scope.filter(self.data.deals))

    @property
    def title(self) -> str:
        kind = {"long-term": "Long-term", "annual": "Annual", "territory": "Territory",
                "account": "Account", "company": "Company"}.get(self.plan_type, "Sales")
        if self.scope.level == "company" and self.plan_type == "annual":
            kind = "Company annual"
        if self.plan_type == "rep":  # step 13: the rep's plan reads as a quota letter
            return f"Quota letter and rep plan {period_label(self.period)}: {self.unit_label}"
        return f"{kind} sales plan {period_label(self.period)}: {self.unit_label}"

    @property
    def region(self) -> str | None:
        """The region the unit belongs to (the region itself for a region; None for the
        company or when the data does not say)."""
        def first(table: str, key: str) -> str | None:
            df = self.data.table(table)
            hit = df.loc[df[key] == self.scope.id, "region"].dropna() \
                if "region" in df.columns else []
            return str(hit.iloc[0]) if len(hit) else None

        lv = self.scope.level
        if lv == "region":
            return str(self.scope.id)
        if lv in ("territory", "account", "rep"):
            got = first(*{"territory": ("territories", "territory_id"),
                          "account": ("accounts", "account_id"),
                          "rep": ("reps", "rep_id")}[lv])
            if got is None and len(self.deals):
                regions = self.deals["region"].dropna()
                got = str(regions.mode().iloc[0]) if len(regions) else None
            return got
        return None

    @property
    def segments(self) -> set[str]:
        """Customer segments the unit sells to (segments of its deals; all for the company)."""
        return set(self.deals["segment"].dropna().astype(str)) if "segment" in \
            self.deals.columns else set()

    def once(self, key: str, fn):
        """Compute ``fn()`` once per context (sections share results)."""
        if key not in self.cache:
            self.cache[key] = fn()
        return self.cache[key]


def period_label(period: Period) -> str:
    """A readable period: ``2027``, ``2027-Q1``; whole calendar years as ``2027-2029`` (not
    ``2027..2029`` or ``2027-01-01..2029-12-31``)."""
    if ".." not in period.label:
        return period.label
    st, en = period.start, period.end
    if (st.month, st.day, en.month, en.day) == (1, 1, 1, 1) and en.year - st.year > 1:
        return f"{st.year}-{en.year - 1}"
    if (st.month, st.day, en.month, en.day) == (1, 1, 1, 1) and en.year - st.year == 1:
        return str(st.year)
    return period.label.replace("..", " to ")


def unit_label(data, scope: Scope) -> str:
    """Human name of a scope: rep and account names, territory names, else the id."""
    if scope.level == "company":
        return "Company"
    table, key = {"rep": ("reps", "rep_id"), "account": ("accounts", "account_id"),
                  "territory": ("territories", "territory_id")}.get(scope.level, (None, None))
    if table:
        df = data.table(table)
        hit = df.loc[df[key] == scope.id, "name"]
        if len(hit) and pd.notna(hit.iloc[0]):
            return display.label(hit.iloc[0]) if scope.level != "territory" else \
                f"{display.label(hit.iloc[0])} ({display.label(scope.id)})"
    return display.label(scope.id)


def context(plan_dir: str | Path, scope_level: str = "company", unit: str | None = None,
            period: str | None = None, plan_type: str | None = None) -> PlanContext:
    """Build the context of one plan document (the notebooks' first call)."""

    ws = open_workspace(plan_dir)
    unit = (str(unit).strip() or None) if unit is not None else None
    try:
        scope = Scope(scope_level, unit if scope_level != "company" else None)
    except ValueError as exc:
        raise ConfigError(f"scope_level={scope_level!r}, unit={unit!r}: {exc}; give a level "
                          "(company, region, territory, rep, account) and a unit id from the "
                          "data") from None
    try:
        per = Period.parse(period) if period else ws.period
    except ValueError as exc:
        raise ConfigError(f"period={period!r}: {exc}; e.g. 2027 or 2027-Q1") from None
    ptype = plan_type or ws.plan_type
    if ptype not in DOCUMENT_TYPES:
        raise ConfigError(f"plan type {ptype!r} is not one of {', '.join(DOCUMENT_TYPES)}")
    # the plan model's baseline (a long-term plan's: the last complete calendar year)
    base = plan_model.plan_baseline(Period.parse(str(ws.data.as_of.year + 1))
                                    if ptype == "long-term" else per, ws.data.as_of)
    return PlanContext(ws, scope, per, base, ptype, unit_label(ws.data, scope))


def default_plan_type(scope_level: str, ws_plan_type: str) -> str:
    """The plan type of a scope: territory -> territory plan, account -> account plan, rep ->
    rep plan (the quota letter), else the workspace's annual or long-term type (the batch
    runner's rule)."""
    if scope_level in ("territory", "account", "rep"):
        return scope_level
    return ws_plan_type if ws_plan_type in ("annual", "long-term") else "annual"
