"""Account actions: what will be done for a key account, by whom, by when (account plans).

Actions live in the workspace list section ``account_actions``; each item holds
``account_id, action, owner, due, status`` plus ``id``, ``by`` and ``at`` (who recorded or last
changed it, and when, in UTC) stamped by :class:`salesplan_nb.data.workspace.Workspace`.

``due`` is a calendar date stored as ISO text (``2027-03-31``); ``status`` is one of
:data:`STATUSES`. Bad input raises :class:`~salesplan_nb.core.errors.ConfigError` naming the value
and the fix; a hand-edited item that breaks the rules is reported with its id when loaded.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

import pandas as pd

from salesplan_nb.core.errors import ConfigError

SECTION = "account_actions"
STATUSES = ("planned", "in progress", "done", "blocked")
EDITABLE = ("action", "owner", "due", "status")
COLUMNS = ["id", "account_id", "action", "owner", "due", "status", "by", "at"]
_FIRST_YEAR, _LAST_YEAR = 1990, 2100


@dataclass
class AccountAction:
    """One action for an account: ``due`` an ISO date (or None), ``status`` in STATUSES;
    ``id``/``by``/``at`` are set by the workspace."""

    account_id: str
    action: str
    owner: str = ""
    due: str | None = None
    status: str = "planned"
    id: str | None = None
    by: str | None = None
    at: str | None = None

    @classmethod
    def from_item(cls, item: dict) -> AccountAction:
        """An action from a stored item; a broken item is a ConfigError naming its id."""
        known = {f.name for f in fields(cls)}
        body = {k: v for k, v in item.items() if k in known}
        where = f"decisions.{SECTION} item {item.get('id')!r}"
        try:
            a = cls(**{"account_id": "", "action": "", **body})
            return _validated(a, where)
        except ConfigError as exc:
            raise ConfigError(f"{where} in plan.yaml: {exc}") from None


def parse_due(value) -> str | None:
    """``value`` (text, date or Timestamp) as an ISO date string; blank/None -> None.
    Raises ConfigError for text that is not a date or a year outside 1990..2100."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if isinstance(value, str) and value.strip().lower() in ("now", "today", "tomorrow",
                                                            "yesterday"):
        raise ConfigError(f"due date {value!r} moves with the clock; write the date as "
                          "YYYY-MM-DD")
    try:
        ts = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, OverflowError):
        ts = None
    if ts is None or pd.isna(ts):
        raise ConfigError(f"due date {value!r} is not a date; write it as YYYY-MM-DD, "
                          "e.g. 2027-03-31")
    if not _FIRST_YEAR <= ts.year <= _LAST_YEAR:
        raise ConfigError(f"due date {value!r} is outside {_FIRST_YEAR}..{_LAST_YEAR}; "
                          "check the year")
    return ts.date().isoformat()


def parse_status(value) -> str:
    """``value`` as one of STATUSES (case, ``_`` and ``-`` are forgiven: ``In_Progress``)."""
    text = re.sub(r"[\s_-]+", " ", str(value if value is not None else "")).strip().lower()
    if text not in STATUSES:
        raise ConfigError(f"status {value!r} is not one of {', '.join(STATUSES)}")
    return text


def _text(value, what: str, required: bool = False) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        value = ""
    if not isinstance(value, str | int | float):
        raise ConfigError(f"{what} {value!r} must be text")
    text = str(value).strip()
    if required and not text:
        raise ConfigError(f"{what} is empty; describe the action, e.g. 'Run a QBR with the "
                          "buying committee'")
    return text


def _validated(a: AccountAction, where: str = "") -> AccountAction:
    a.account_id = _text(a.account_id, "account_id", required=False)
    if not a.account_id:
        raise ConfigError("account_id is empty; give the account's id from the data")
    a.action = _text(a.action, "action", required=True)
    a.owner = _text(a.owner, "owner")
    a.due = parse_due(a.due)
    a.status = parse_status(a.status)
    return a


def _check_account(ws, account_id: str) -> None:
    ids = ws.data.accounts["account_id"].astype(str)
    if not (ids == account_id).any():
        some = ", ".join(ids.head(3))
        raise ConfigError(f"account {account_id!r} is not in the plan's accounts table; use an "
                          f"account id from the data (e.g. {some})")


def add_action(ws, account_id: str, action: str, owner: str = "", due=None,
               status: str = "planned", *, by: str | None = None) -> AccountAction:
    """Record an action for ``account_id`` (which must be in the data); returns it with
    ``id``, ``by`` and ``at``."""
    a = _validated(AccountAction(str(account_id) if account_id is not None else "", action,
                                 owner, due, status))
    _check_account(ws, a.account_id)
    body = {k: v for k, v in asdict(a).items() if k not in ("id", "by", "at")}
    return AccountAction(**ws.add_item(SECTION, body, by=by))


def update_action(ws, action_id: str, *, by: str | None = None, **changes) -> AccountAction:
    """Change ``action``, ``owner``, ``due`` or ``status`` of a stored action (who/when are
    re-stamped); returns the updated action."""
    bad = sorted(set(changes) - set(EDITABLE))
    if bad:
        raise ConfigError(f"cannot change {', '.join(bad)} of an account action; editable "
                          f"fields are {', '.join(EDITABLE)}")
    current = {i.get("id"): i for i in ws.items(SECTION)}
    if action_id not in current:
        known = ", ".join(str(k) for k in list(current)[:5]) or "none recorded"
        raise ConfigError(f"no account action with id {action_id!r} (ids: {known})")
    merged = AccountAction.from_item({**current[action_id], **changes})
    body = {k: getattr(merged, k) for k in changes}
    return AccountAction.from_item(ws.update_item(SECTION, action_id, body, by=by))


def remove_action(ws, action_id: str) -> None:
    """Delete a stored action."""
    if action_id not in {i.get("id") for i in ws.items(SECTION)}:
        raise ConfigError(f"no account action with id {action_id!r}")
    ws.remove_item(SECTION, action_id)


def load_actions(ws, account_id: str | None = None) -> list[AccountAction]:
    """Stored actions (of ``account_id`` when given), in recording order."""
    out = [AccountAction.from_item(i) for i in ws.items(SECTION)]
    return out if account_id is None else [a for a in out if a.account_id == str(account_id)]


def list_actions(ws, account_id: str | None = None) -> pd.DataFrame:
    """Actions as a table (:data:`COLUMNS`; ``due`` as datetime64, NaT when open-ended),
    sorted by due date (undated last), then recording order."""
    acts = load_actions(ws, account_id)
    df = pd.DataFrame([asdict(a) for a in acts], columns=COLUMNS)
    df["due"] = pd.to_datetime(df["due"])
    return df.sort_values("due", kind="stable", na_position="last", ignore_index=True)
