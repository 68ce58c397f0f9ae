"""Where an account belongs: the one rule that fills an account's blank region, territory and
owner from its deals.

**Rule (latest deal):** a blank ``region`` / ``territory`` / ``owner_id`` of an account takes
the value of the account's latest deal by ``created_date`` that has one. A deal's region and
territory are its owner rep's, else the account's (as in ``Dataset.deals``). Undated deals
count as the latest (in CRMs they are the newest, e.g. prospecting deals not yet engaged);
between deals created the same day the later row wins. Values recorded on the account are
never overwritten.

Why the latest deal and not the most frequent value: territories and owners change (reps
leave, books are rebalanced), and the latest deal shows who covers the account now, which is
what quotas, territory books and plans assign; the most frequent value lags every
reassignment by years of history. It also gives one owner even when counts tie.
"""

from __future__ import annotations

import pandas as pd

#: account columns filled from the deals
FILL_COLUMNS = ("region", "territory", "owner_id")


def latest_deal_values(deals: pd.DataFrame, columns: tuple[str, ...] = FILL_COLUMNS
                       ) -> pd.DataFrame:
    """Per ``account_id``: each of ``columns`` from the latest deal (by ``created_date``,
    undated last, ties: the later row) that has a value. ``deals`` needs ``account_id``,
    ``created_date`` and ``columns``."""
    d = deals.dropna(subset=["account_id"])
    return d.sort_values("created_date", kind="stable").groupby("account_id")[
        list(columns)].last()


def fill_account_places(accounts: pd.DataFrame, deals: pd.DataFrame,
                        columns: tuple[str, ...] = FILL_COLUMNS) -> pd.DataFrame:
    """A copy of ``accounts`` with blank ``columns`` filled by :func:`latest_deal_values`
    (the module's rule). Only the deals of accounts with a blank are read."""
    acc = accounts.copy()
    cols = [c for c in columns if c in acc.columns]
    need = acc[cols].isna().any(axis=1)
    if not need.any():
        return acc
    ids = acc.loc[need, "account_id"].dropna().unique()
    last = latest_deal_values(deals[deals["account_id"].isin(ids)], tuple(cols))
    for col in cols:
        filled = acc["account_id"].map(last[col])
        acc[col] = acc[col].fillna(filled.astype(acc[col].dtype) if len(last) else filled)
    return acc
