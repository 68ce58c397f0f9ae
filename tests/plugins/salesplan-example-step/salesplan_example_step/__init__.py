"""A third-party step for salesplan-nb (the test of the ``salesplan_nb.steps`` entry points).

Lapsed accounts: accounts of the plan's scope that won bookings in the year before the
baseline period but none in the baseline period (USD = won ``amount``). The step adds the
section ``lapsed_accounts`` to long-term plans, before the timeline.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from salesplan_nb.render.report import Section, Table
from salesplan_nb.steps.registry import PlanSection, Step

NOTEBOOK = Path(__file__).resolve().parent / "lapsed_accounts.ipynb"


def lapsed(deals: pd.DataFrame, baseline, prior) -> pd.DataFrame:
    """Accounts with won bookings in ``prior`` and none in ``baseline``: ``account_id``,
    ``prior_bookings`` (USD), largest first."""
    won = deals[deals["status"] == "won"]
    before = won[prior.contains(won["close_date"])].groupby("account_id")["amount"].sum()
    now = set(won.loc[baseline.contains(won["close_date"]), "account_id"])
    out = before[~before.index.isin(now)].sort_values(ascending=False)
    return out.rename("prior_bookings").reset_index()


def lapsed_accounts(ctx) -> Section:
    """The plan section: how many accounts lapsed, and the ten largest."""
    s = Section("lapsed_accounts", "Lapsed accounts")
    prior = ctx.baseline.previous()
    df = lapsed(ctx.deals, ctx.baseline, prior)
    s.add(f"{len(df)} accounts won bookings in {prior.label} but none in {ctx.baseline.label} "
          f"(USD {df['prior_bookings'].sum():,.0f} in {prior.label}).")
    if len(df):
        s.add(Table(df.head(10), {"prior_bookings": "money"}))
    return s


def declarations() -> list:
    """What this package adds: one step (after step 15) and one long-term plan section."""
    return [
        Step("lapsed_accounts", None, "Lapsed accounts (example plug-in)",
             "salesplan_example_step", str(NOTEBOOK),
             "accounts that bought last year but not this year", ("lapsed_accounts",),
             order=15.5),
        PlanSection("lapsed_accounts", "Lapsed accounts",
                    "salesplan_example_step:lapsed_accounts", {"long-term": 80}),
    ]
