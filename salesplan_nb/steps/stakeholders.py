"""Step 7 - stakeholders: an owner and a sign-off status for every plan section.

Kept in the plan workspace, section ``stakeholders``, one keyed decision per plan section (and
scope, for sign-offs of one region / territory / rep / account): ``{owner, status, approvers,
history: [{action, by, at, comment}]}``. Status moves ``draft`` (no request yet) ->
``requested`` -> ``approved`` or ``rejected``; a new request after a rejection (or a change of
an approved section) starts again at ``requested``. Who and when are kept for every action.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import altair as alt
import pandas as pd

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.core.scope import Scope

SECTION = "stakeholders"
PLAN_SECTIONS = ("goals", "kpis", "swot", "capacity", "segments", "strategy", "quotas",
                 "territories", "resources", "scenarios", "timeline")
STATUSES = ("unassigned", "draft", "requested", "approved", "rejected")
COLUMNS = ["section", "scope", "owner", "status", "approvers", "requested_by", "requested_at",
           "decided_by", "decided_at", "comment"]


class SignOffError(SalesplanError):
    """A sign-off action that is not allowed in the section's current state."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _who(by: str | None) -> str:
    if by is not None and str(by).strip():
        return str(by).strip()
    from salesplan_nb.data.workspace import current_user
    return current_user()


def _key(section: str, scope: Scope | str | None) -> str:
    if section not in PLAN_SECTIONS:
        raise ConfigError(f"unknown plan section {section!r}; use one of "
                          f"{', '.join(PLAN_SECTIONS)}")
    sc = Scope.parse(scope)
    return section if sc.level == "company" else f"{section}@{sc}"


def _blank() -> dict:
    return {"owner": None, "status": "unassigned", "approvers": [], "history": []}


def _entry(ws, key: str) -> dict:
    e = ws.get(SECTION, key, None)
    return dict(e) if isinstance(e, dict) else _blank()


def _apply(ws, key: str, edit: Callable[[dict], str], by: str, comment: str = "") -> dict:
    """Change the entry ``key`` in one locked read-modify-write of plan.yaml
    (:meth:`Workspace.modify`): ``edit(entry)`` checks and changes it and returns the history
    action; the entry is stored with who and when."""
    from salesplan_nb.data.workspace import plain

    def change(doc: dict) -> dict:
        sec = doc["decisions"].setdefault(SECTION, {})
        if not isinstance(sec, dict):
            raise ConfigError(f"decisions.{SECTION} in plan.yaml must be keyed decisions")
        old = sec.get(key)
        e = dict(old["value"]) if isinstance(old, dict) and isinstance(old.get("value"), dict) \
            else _blank()
        action = edit(e)
        e["history"] = [*e.get("history", []),
                        {"action": action, "by": by, "at": _now(), "comment": comment or ""}]
        sec[key] = {"value": plain(e), "by": by, "at": _now()}
        return e

    return ws.modify(change)


def assign_owner(ws, section: str, owner: str, *, scope: Scope | str | None = None,
                 by: str | None = None) -> dict:
    """Make ``owner`` responsible for ``section`` (status ``draft`` if it had none)."""
    if not str(owner or "").strip():
        raise ConfigError(f"give an owner for section {section!r}")
    key, who = _key(section, scope), _who(by)

    def edit(e: dict) -> str:
        e["owner"] = str(owner).strip()
        if e.get("status") == "unassigned":
            e["status"] = "draft"
        return f"owner -> {e['owner']}"

    return _apply(ws, key, edit, who)


def request_signoff(ws, section: str, approvers: Sequence[str] = (), *,
                    scope: Scope | str | None = None, by: str | None = None,
                    comment: str = "") -> dict:
    """Ask ``approvers`` (names; empty = anyone) to sign ``section`` off."""
    key, who = _key(section, scope), _who(by)

    def edit(e: dict) -> str:
        e["status"] = "requested"
        e["approvers"] = [str(a).strip() for a in approvers if str(a).strip()]
        e["requested_by"], e["requested_at"] = who, _now()
        e["decided_by"] = e["decided_at"] = None
        e["comment"] = comment or ""
        return "requested"

    return _apply(ws, key, edit, who, comment)


def _decide(ws, section, scope, by, comment, status) -> dict:
    key, who = _key(section, scope), _who(by)

    def edit(e: dict) -> str:
        if e.get("status") != "requested":
            raise SignOffError(f"section {section!r} ({Scope.parse(scope).label}) is "
                               f"{e.get('status')}, not awaiting sign-off: request_signoff "
                               "first")
        approvers = e.get("approvers") or []
        if approvers and who not in approvers:
            raise SignOffError(f"{who!r} is not an approver of section {section!r}; "
                               f"approvers: {', '.join(approvers)}")
        e["status"] = status
        e["decided_by"], e["decided_at"] = who, _now()
        e["comment"] = comment or ""
        return status

    return _apply(ws, key, edit, who, comment)


def sign_off(ws, section: str, *, scope: Scope | str | None = None, by: str | None = None,
             comment: str = "") -> dict:
    """Approve a requested section (``by`` must be one of its approvers, if any were named)."""
    return _decide(ws, section, scope, by, comment, "approved")


def reject(ws, section: str, comment: str, *, scope: Scope | str | None = None,
           by: str | None = None) -> dict:
    """Reject a requested section; a comment saying why is required."""
    if not str(comment or "").strip():
        raise ConfigError(f"say why section {section!r} is rejected (comment)")
    return _decide(ws, section, scope, by, comment, "rejected")


def status_table(ws, scope: Scope | str | None = None) -> pd.DataFrame:
    """One row per plan section (for ``scope``; ``None`` = company rows plus every scoped
    entry): section, scope, owner, status, approvers, requested_by/at, decided_by/at,
    comment."""
    stored = ws.get(SECTION, default={}) or {}
    rows = []
    scopes = [str(Scope.parse(scope))] if scope is not None else None
    keys = []
    for s in PLAN_SECTIONS:
        if scopes is None or scopes == ["company"]:
            keys.append((s, "company", s))
        if scope is None:
            keys += [(s, k.split("@", 1)[1], k) for k in stored if k.startswith(f"{s}@")]
        elif scopes != ["company"]:
            keys.append((s, scopes[0], _key(s, scope)))
    for s, sc, k in keys:
        e = stored.get(k) if isinstance(stored.get(k), dict) else {}
        rows.append({"section": s, "scope": sc, "owner": e.get("owner"),
                     "status": e.get("status", "unassigned"),
                     "approvers": ", ".join(e.get("approvers") or []),
                     "requested_by": e.get("requested_by"), "requested_at": e.get("requested_at"),
                     "decided_by": e.get("decided_by"), "decided_at": e.get("decided_at"),
                     "comment": e.get("comment", "")})
    return pd.DataFrame(rows, columns=COLUMNS)


def history(ws, section: str, scope: Scope | str | None = None) -> pd.DataFrame:
    """Every action on a section: action, by, at, comment (oldest first)."""
    e = _entry(ws, _key(section, scope))
    return pd.DataFrame(e.get("history", []), columns=["action", "by", "at", "comment"])


def chart_signoff(table: pd.DataFrame) -> alt.Chart:
    """Sections coloured by sign-off status (owner and decider in the tooltip)."""
    return (alt.Chart(table).mark_rect().encode(
        x=alt.X("scope:N", title=None), y=alt.Y("section:N", sort=list(PLAN_SECTIONS),
                                                   title=None),
        color=alt.Color("status:N", scale=alt.Scale(
            domain=list(STATUSES), range=["#dddddd", "#9ecae1", "#fdae6b", "#74c476",
                                          "#fb6a4a"])),
        tooltip=["section:N", "scope:N", "owner:N", "status:N", "approvers:N",
                 "decided_by:N", "decided_at:N", "comment:N"])
        .properties(title="Sign-off status"))
