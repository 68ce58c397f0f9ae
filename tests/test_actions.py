"""Account actions (actions.py): record, validate, update, list; shown in the account plan."""

from __future__ import annotations

import pandas as pd
import pytest

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.render import report
from salesplan_nb.steps import actions


@pytest.fixture
def ws(tmp_path):
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

    return Workspace.create(tmp_path / "plan", data=generate(seed=3, accounts=60,
                                                              opportunities=400))


def _acc(ws, i: int = 0) -> str:
    return str(ws.data.accounts["account_id"].iloc[i])


def test_add_records_who_when_and_normalises(ws, monkeypatch):
    monkeypatch.setenv("SALESPLAN_USER", "kim")
    a = actions.add_action(ws, _acc(ws), "  Run a QBR ", "Ana", pd.Timestamp("2027-03-31"),
                           "In_Progress")
    assert (a.action, a.owner, a.due, a.status) == ("Run a QBR", "Ana", "2027-03-31",
                                                   "in progress")
    assert a.id and a.by == "kim" and a.at.endswith("Z")
    stored = ws.items("account_actions")[0]
    assert stored["due"] == "2027-03-31" and stored["account_id"] == _acc(ws)
    b = actions.add_action(ws, _acc(ws), "Map stakeholders", due="2027-01-15", by="lee")
    assert b.status == "planned" and b.by == "lee"
    df = actions.list_actions(ws, _acc(ws))
    assert list(df.columns) == actions.COLUMNS
    assert list(df["action"]) == ["Map stakeholders", "Run a QBR"]  # by due date
    assert df["due"].dtype.kind == "M"
    assert actions.list_actions(ws, _acc(ws, 1)).empty


@pytest.mark.parametrize("kwargs, match", [
    ({"due": "2027-13-45"}, r"due date '2027-13-45' is not a date; write it as YYYY-MM-DD"),
    ({"due": "next week"}, "is not a date"),
    ({"due": "today"}, "moves with the clock"),
    ({"due": "1066-10-14"}, "outside 1990..2100"),
    ({"status": "finished"}, r"status 'finished' is not one of planned, in progress, done, "
                             "blocked"),
    ({"action": "  "}, "action is empty"),
    ({"account_id": "NO-SUCH"}, r"account 'NO-SUCH' is not in the plan's accounts table"),
    ({"account_id": ""}, "account_id is empty"),
])
def test_bad_input_is_a_clear_error(ws, kwargs, match):
    args = {"account_id": _acc(ws), "action": "Call", "owner": "", "due": None,
            "status": "planned", **kwargs}
    with pytest.raises(ConfigError, match=match):
        actions.add_action(ws, **args)
    assert ws.items("account_actions") == []  # nothing half-written


def test_update_validates_and_restamps(ws):
    a = actions.add_action(ws, _acc(ws), "Pilot", "Ana", "2027-02-01", by="kim")
    u = actions.update_action(ws, a.id, status="Done", due="2027-02-10", by="lee")
    assert (u.status, u.due, u.by, u.action) == ("done", "2027-02-10", "lee", "Pilot")
    with pytest.raises(ConfigError, match="status 'late'"):
        actions.update_action(ws, a.id, status="late")
    with pytest.raises(ConfigError, match="cannot change account_id"):
        actions.update_action(ws, a.id, account_id="other")
    with pytest.raises(ConfigError, match="no account action with id 'zzz'"):
        actions.update_action(ws, "zzz", status="done")
    assert actions.load_actions(ws)[0].status == "done"  # the bad updates changed nothing
    actions.remove_action(ws, a.id)
    assert actions.load_actions(ws) == []


def test_hand_broken_item_names_its_id(ws):
    ws.add_item("account_actions", {"id": "x1", "account_id": _acc(ws), "action": "Call",
                                    "due": "soon", "status": "planned"})
    with pytest.raises(ConfigError, match=r"item 'x1' in plan.yaml: due date 'soon'"):
        actions.list_actions(ws)
    # the plan document reports it in the section instead of failing the unit
    ctx = report.context(ws.path, "account", _acc(ws), None, "account")
    sec = report.build(ctx, ["account_actions"])[0]
    assert "x1" in sec.missing[0].text() and issubclass(ConfigError, SalesplanError)


def test_account_plan_shows_the_actions(ws):
    acc = _acc(ws)
    actions.add_action(ws, acc, "<script>x</script> workshop", "<b>Ana</b>", "2020-01-31",
                       "blocked", by="kim")
    actions.add_action(ws, acc, "Renewal", "Lee", "2027-06-30", "planned")
    actions.add_action(ws, _acc(ws, 1), "Other account's action", "Zed", None)
    ctx = report.context(ws.path, "account", acc, None, "account")
    sec = report.account_actions(ctx)
    assert not sec.missing
    table = next(b for b in sec.blocks if isinstance(b, report.Table))
    assert list(table.df["action"]) == ["<script>x</script> workshop", "Renewal"]
    assert list(table.df.columns[:4]) == ["action", "owner", "due", "status"]
    assert "recorded by" in table.df.columns
    assert "1 not done and past due" in sec.blocks[0]
    html = "".join(report.block_html(b) for b in sec.blocks)
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert "2027-06-30" in html and "Other account" not in html
    risks = report.account_risks(ctx).blocks[0].df
    assert "blocked action" in set(risks["risk"])
    empty = report.account_actions(report.context(ws.path, "account", _acc(ws, 2), None,
                                                  "account"))
    assert "no actions are recorded" in empty.missing[0].text()
