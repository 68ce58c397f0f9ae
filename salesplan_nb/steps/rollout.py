"""Step 13 - roll-out: what each rep and account team must do.

- per-rep quota letters: the company quota split with the saved decisions
  (:func:`salesplan_nb.steps.quotas.quotas_from`), one row per rep with territory, region,
  quota (USD), ramp, the drivers that build it and the quarterly split
  (:func:`salesplan_nb.steps.quotas.quota_letters`); a scope below company shows its part of
  the company split (:func:`salesplan_nb.steps.quotas.subtree`);
- key-account actions with owners and due dates (:mod:`salesplan_nb.steps.actions`).
"""

from __future__ import annotations

import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.units import list_units
from salesplan_nb.steps import actions, quotas

DEMO_ACCOUNT_PLANS = 10  # account plans the demo renders (most trailing bookings), with actions


def letters(ws, scope: Scope | str | None = None,
            period: Period | str | None = None) -> pd.DataFrame:
    """Quota letters (:func:`~salesplan_nb.steps.quotas.quota_letters`) of the reps in
    ``scope`` (company, region, territory or rep), from the company split for ``period``
    (default: the plan's) with the decisions saved in step 9."""
    scope = Scope.parse(scope) if isinstance(scope, str) else (scope or Scope())
    period = period if period is not None else ws.period
    company = quotas.quotas_from(ws.data, quotas.load_quotas(ws), scope=None, period=period)
    plan = company
    if scope.level != "company":
        if scope.level not in quotas.LEVELS:
            raise ConfigError(f"{scope.label}: quota letters go to reps; choose a company, "
                              "region, territory or rep scope")
        plan = quotas.subtree(company, scope.level, str(scope.id))
        if plan is None:
            out = pd.DataFrame(columns=quotas.LETTER_COLUMNS)
            out.attrs["note"] = f"{scope.label} has no quota in the company split"
            return out
    return quotas.quota_letters(plan, ws.data)


# ---- the demo's default decision ------------------------------------------------------------
def demo_decision(ws, by: str = "demo") -> str:
    """Step 13 in ``salesplan demo``: three actions with owners and due dates for each of the
    :data:`DEMO_ACCOUNT_PLANS` largest accounts (the account plans the demo renders), and the
    reps' quota letters saved as an output."""
    units = list_units(ws.data, "account", top=DEMO_ACCOUNT_PLANS)
    start = ws.period.start
    plan = [("Executive business review with the buying committee", "Key account manager", 1),
            ("Map whitespace: products not yet bought", "Solutions engineer", 2),
            ("Agree a joint account plan and renewal timeline", "Key account manager", 3)]
    n = 0
    for unit in units:
        for text, owner, months in plan:
            due = (start + pd.DateOffset(months=months) - pd.Timedelta(days=1)).date()
            actions.add_action(ws, unit.id, text, owner, due, by=by)
            n += 1
    sheet = letters(ws)
    ws.save_output("rollout", "quota_letters", sheet)
    return (f"{n} actions with owners and due dates for the {len(units)} largest accounts; "
            f"quota letters for {len(sheet)} reps")
