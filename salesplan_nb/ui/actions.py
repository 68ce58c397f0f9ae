"""Widgets for the plan document: key-account actions and section sign-off.

* :class:`AccountActionsEditor` - the actions of one account (:mod:`salesplan_nb.steps.actions`,
  list section ``account_actions``): add (text, owner, due date, status), re-status, remove.
* :class:`QuotaLetterAcceptance` - the reps' answers to their quota letters (step 13,
  :mod:`salesplan_nb.steps.rollout`, list section ``rep_acceptance``): pick a rep, record
  accepted / pending / disputed with who answered and a comment; the table lists every letter
  of the scope with its status.
* :class:`SignOffTracker` - owner, status and approvers of every plan section for a scope
  (:mod:`salesplan_nb.steps.stakeholders`, keyed section ``stakeholders``): assign an owner, request
  sign-off, approve or reject with a comment.

Every click is written through the planning module into plan.yaml at once (who and when are
stamped); a rejected input (bad date, unknown account, sign-off out of turn, reject without a
comment) is shown in red in the widget and nothing is saved. Static mode renders the saved
state as an escaped HTML table (and, for sign-off, an SVG bar of sections by status).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.steps import actions, quotas, rollout, stakeholders
from salesplan_nb.ui import StepWidget

__all__ = ["AccountActionsEditor", "QuotaLetterAcceptance", "SignOffTracker"]

# the colours of stakeholders.chart_signoff, so both charts read alike
STATUS_COLOURS = dict(zip(stakeholders.STATUSES,
                          ["#dddddd", "#9ecae1", "#fdae6b", "#74c476", "#fb6a4a"], strict=True))


class _ActionWidget(StepWidget):
    """A StepWidget whose buttons call a planning function: on a SalesplanError the message is
    shown in the widget (nothing raised, nothing saved); on success the view is refreshed."""

    def _apply(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            out = fn(*args, **kwargs)
        except SalesplanError as exc:
            self.error(str(exc))
            return None
        self.refresh()
        return out


class AccountActionsEditor(_ActionWidget):
    """Actions for the account scope: what will be done, by whom, by when, and its status.
    ``scope`` must be an account (``Scope("account", id)``); the table lists its actions by
    due date (undated last)."""

    section = actions.SECTION
    title = "Account actions"

    def build(self) -> None:
        import ipywidgets as W

        self.action = W.Text(placeholder="e.g. Run a QBR with the buying committee",
                             description="Action")
        self.owner = W.Text(description="Owner")
        self.due = W.Text(placeholder="YYYY-MM-DD (blank: open-ended)", description="Due")
        self.status = W.Dropdown(options=actions.STATUSES, value="planned",
                                 description="Status")
        self.add_button = W.Button(description="Add action", button_style="success")
        self.add_button.on_click(lambda _b: self._add_clicked())
        self.pick = W.Dropdown(options=[], description="Action")
        self.pick_status = W.Dropdown(options=actions.STATUSES, description="Set status")
        self.set_button = W.Button(description="Update")
        self.set_button.on_click(lambda _b: self.set_status(self.pick.value,
                                                            self.pick_status.value))
        self.remove_button = W.Button(description="Remove", button_style="danger")
        self.remove_button.on_click(lambda _b: self.remove(self.pick.value))

    def extra(self) -> list:
        import ipywidgets as W

        return [W.HBox([self.action, self.owner]), W.HBox([self.due, self.status]),
                self.add_button,
                W.HBox([self.pick, self.pick_status, self.set_button, self.remove_button])]

    @property
    def account_id(self) -> str:
        return str(self.scope.id)

    def _add_clicked(self) -> None:
        if self.add(self.action.value, self.owner.value, self.due.value,
                    self.status.value) is not None:
            self.action.value, self.due.value = "", ""  # kept on error, to be corrected

    def add(self, action: str, owner: str = "", due: Any = None,
            status: str = "planned") -> actions.AccountAction | None:
        """Record an action for the account (:func:`actions.add_action`); None and the error
        shown when it is rejected."""
        if self.scope.level != "account":
            self.error(self._not_account())
            return None
        return self._apply(actions.add_action, self.ws, self.account_id, action, owner, due,
                           status, by=self.by)

    def set_status(self, action_id: str | None, status: str) -> actions.AccountAction | None:
        """Change the status of a stored action (:func:`actions.update_action`)."""
        if not action_id:
            self.error("pick an action first")
            return None
        return self._apply(actions.update_action, self.ws, action_id, status=status,
                           by=self.by)

    def remove(self, action_id: str | None) -> bool:
        """Delete a stored action (:func:`actions.remove_action`); False when it is unknown."""
        if not action_id:
            self.error("pick an action first")
            return False
        # remove_action returns None: "or True" tells success from a shown error (None)
        return self._apply(lambda: actions.remove_action(self.ws, action_id) or True) \
            is not None

    def _not_account(self) -> str:
        return (f"account actions need an account scope, not {self.scope.label!r}; run with "
                "scope_level='account' and unit=<account id>")

    def compute(self) -> dict:
        if self.scope.level != "account":
            raise ConfigError(self._not_account())
        df = actions.list_actions(self.ws, self.account_id)
        known = bool((self.ws.data.accounts["account_id"].astype(str) == self.account_id).any())
        if self.interactive and hasattr(self, "pick"):
            self.pick.options = [(f"{r.action} ({r.status})", r.id) for r in df.itertuples()]
        return {"actions": df, "known": known}

    def summary(self, result: dict) -> str:
        df = result["actions"]
        counts = ", ".join(f"{k} {v}" for k, v in df["status"].value_counts().items())
        text = f"{len(df)} action(s)" + (f": {counts}" if counts else "")
        if not result["known"]:
            text += (f"; account {self.account_id!r} is not in the plan's accounts table, so "
                     "no action can be added")
        return html.escape(text)

    def table(self, result: dict) -> pd.DataFrame:
        df = result["actions"][["action", "owner", "due", "status", "by", "at"]].copy()
        df["due"] = df["due"].dt.strftime("%Y-%m-%d").fillna("")
        return df


class QuotaLetterAcceptance(_ActionWidget):
    """The quota letters of the scope (the company split with the hiring plan, as the plan
    documents show it) and each rep's answer: pick a rep, type who answers and a comment,
    press Accept, Dispute (a comment says what) or Reset to pending. Every answer is written
    at once through :func:`rollout.record_acceptance` (one locked read-modify-write of
    plan.yaml); a rejected input is shown in red and nothing is saved."""

    section = rollout.SECTION
    title = "Quota letters: acceptance"

    def build(self) -> None:
        import ipywidgets as W

        self.pick = W.Dropdown(options=[], description="Rep")
        self.who = W.Text(value=self.by or "", placeholder="who answers (name)",
                          description="By")
        self.comment = W.Textarea(placeholder="comment (required to dispute)",
                                  description="Comment")
        self.buttons = {}
        for status, label, style in (("accepted", "Accept", "success"),
                                     ("disputed", "Dispute", "danger"),
                                     ("pending", "Reset to pending", "")):
            b = W.Button(description=label, button_style=style)
            b.on_click(lambda _b, st=status: self._clicked(st))
            self.buttons[status] = b

    def extra(self) -> list:
        import ipywidgets as W

        return [W.HBox([self.pick, self.who]), self.comment, W.HBox(list(self.buttons.values()))]

    def _clicked(self, status: str) -> None:
        if self.answer(self.pick.value, status, self.who.value, self.comment.value) is not None:
            self.comment.value = ""

    def answer(self, rep: str | None, status: str = "accepted", by: str | None = None,
               comment: str = "") -> dict | None:
        """Record ``rep``'s answer (:func:`rollout.record_acceptance`); None and the error
        shown when it is rejected (unknown rep, to-be-hired seat, no name, dispute without a
        comment)."""
        if not rep:
            self.error("pick a rep first")
            return None
        return self._apply(rollout.record_acceptance, self.ws, rep, status,
                           by=by if by is not None else (self.by or ""), comment=comment,
                           period=self.period)

    def compute(self) -> pd.DataFrame:
        sheet = rollout.letters(self.ws, self.scope, self.period)
        table = rollout.acceptance(self.ws, sheet, self.period)
        if self.interactive and hasattr(self, "pick"):
            self.pick.options = [(f"{r.rep} ({r.rep_id}) - {r.status}", r.rep_id)
                                 for r in table.itertuples()
                                 if not str(r.rep_id).startswith(quotas.TBH_PREFIX)]
        return table

    def summary(self, result: pd.DataFrame) -> str:
        n = len(result)
        return html.escape(f"{n} quota letter{'s' if n != 1 else ''} in {self.scope.label}: "
                           + rollout.counts_text(rollout.acceptance_counts(result)))

    def table(self, result: pd.DataFrame) -> pd.DataFrame:
        t = result[["rep", "rep_id", "territory", "quota", "status", "by", "at", "comment",
                    "note"]].copy()
        t["at"] = t["at"].dt.strftime("%Y-%m-%d %H:%M").fillna("")
        return t


def chart_status_bar(table: pd.DataFrame, title: str = "Plan sections by sign-off status"
                     ) -> alt.Chart:
    """Bar per sign-off status: number of plan sections in it (section names in the tooltip),
    from a :func:`stakeholders.status_table`."""
    agg = (table.groupby("status", sort=False)["section"]
           .agg(sections="count", names=lambda s: ", ".join(s)).reset_index())
    order = [s for s in stakeholders.STATUSES if s in set(agg["status"])]
    return alt.Chart(agg).mark_bar().encode(
        x=alt.X("sections:Q", title="sections", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("status:N", sort=order, title=None),
        color=alt.Color("status:N", legend=None, scale=alt.Scale(
            domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values()))),
        tooltip=["status:N", "sections:Q", alt.Tooltip("names:N", title="plan sections")],
    ).properties(title=title, width=360, height=alt.Step(22))


class SignOffTracker(_ActionWidget):
    """Owner, sign-off status and approvers of every plan section for the scope. Actions are
    taken as ``by`` (default: the current user, ``$SALESPLAN_USER``); an approver list limits
    who may approve or reject."""

    section = stakeholders.SECTION
    title = "Sign-off"

    def build(self) -> None:
        import ipywidgets as W

        self.pick = W.Dropdown(options=stakeholders.PLAN_SECTIONS, description="Plan section")
        self.pick.observe(lambda _ch: self._prefill(), names="value")
        self.owner = W.Text(description="Owner")
        self.assign_button = W.Button(description="Assign owner")
        self.assign_button.on_click(lambda _b: self.assign(self.pick.value, self.owner.value))
        self.approvers = W.Text(placeholder="names, comma-separated (blank: anyone)",
                                description="Approvers")
        self.comment = W.Textarea(placeholder="why (required to reject)", description="Comment")
        self.request_button = W.Button(description="Request sign-off")
        self.request_button.on_click(lambda _b: self.request(
            self.pick.value, self.approvers.value, self.comment.value))
        self.approve_button = W.Button(description="Approve", button_style="success")
        self.approve_button.on_click(lambda _b: self.approve(self.pick.value,
                                                             self.comment.value))
        self.reject_button = W.Button(description="Reject", button_style="danger")
        self.reject_button.on_click(lambda _b: self.reject(self.pick.value, self.comment.value))

    def extra(self) -> list:
        import ipywidgets as W

        return [self.pick, W.HBox([self.owner, self.assign_button]),
                W.HBox([self.approvers, self.request_button]), self.comment,
                W.HBox([self.approve_button, self.reject_button])]

    def _prefill(self) -> None:
        """Show the picked section's owner and approvers in the form."""
        if self.result is None:
            return
        row = self.result[self.result["section"] == self.pick.value]
        if len(row):
            owner, approvers = row["owner"].iloc[0], row["approvers"].iloc[0]
            self.owner.value = str(owner) if pd.notna(owner) else ""
            self.approvers.value = str(approvers) if pd.notna(approvers) else ""

    def _done(self, out: dict | None) -> dict | None:
        if out is not None:
            self.comment.value = ""
        return out

    def assign(self, section: str, owner: str) -> dict | None:
        """Make ``owner`` responsible for ``section`` (:func:`stakeholders.assign_owner`)."""
        return self._apply(stakeholders.assign_owner, self.ws, section, owner,
                           scope=self.scope, by=self.by)

    def request(self, section: str, approvers: str | list[str] = "",
                comment: str = "") -> dict | None:
        """Ask ``approvers`` (a list or comma-separated text; blank: anyone) to sign off."""
        if isinstance(approvers, str):
            approvers = [a.strip() for a in approvers.split(",") if a.strip()]
        return self._done(self._apply(stakeholders.request_signoff, self.ws, section,
                                      approvers, scope=self.scope, by=self.by,
                                      comment=comment))

    def approve(self, section: str, comment: str = "") -> dict | None:
        """Approve a requested section (:func:`stakeholders.sign_off`)."""
        return self._done(self._apply(stakeholders.sign_off, self.ws, section,
                                      scope=self.scope, by=self.by, comment=comment))

    def reject(self, section: str, comment: str) -> dict | None:
        """Reject a requested section; the comment says why (:func:`stakeholders.reject`)."""
        return self._done(self._apply(stakeholders.reject, self.ws, section, comment,
                                      scope=self.scope, by=self.by))

    def compute(self) -> pd.DataFrame:
        return stakeholders.status_table(self.ws, self.scope)

    def summary(self, result: pd.DataFrame) -> str:
        counts = result["status"].value_counts()
        parts = [f"{s} {counts[s]}" for s in stakeholders.STATUSES if s in counts]
        return html.escape(f"{counts.get('approved', 0)} of {len(result)} plan sections "
                           f"approved ({', '.join(parts)})")

    def chart(self, result: pd.DataFrame) -> alt.Chart:
        return chart_status_bar(result, f"Sign-off - {self.scope.label}")

    def table(self, result: pd.DataFrame) -> pd.DataFrame:
        t = result[["section", "owner", "status", "approvers", "requested_by", "decided_by",
                    "decided_at", "comment"]]
        return t.where(t.notna(), "")  # blank, not "None", where nothing happened yet
