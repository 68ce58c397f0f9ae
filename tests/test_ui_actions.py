"""AccountActionsEditor and SignOffTracker without a browser: decisions written to plan.yaml
through actions.py / stakeholders.py, errors shown in the widget (never raised), static HTML
with escaped names, and notebooks 07 (stakeholders) and 13 (roll-out) headless at account
level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers import busiest_scope
from test_capacity import make_tiny

from salesplan_nb import Dataset, Scope, ui
from salesplan_nb.data.workspace import Workspace
from salesplan_nb.steps import actions, stakeholders
from salesplan_nb.ui.actions import chart_status_bar

ROOT = Path(__file__).resolve().parents[1]
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory, sample_data):
    path = tmp_path_factory.mktemp("ui_actions") / "plan"
    Workspace.create(path, data=sample_data, source={"kind": "sample", "seed": 7})
    return path


@pytest.fixture
def ws(plan_dir):
    return Workspace.open(plan_dir)


@pytest.fixture
def account(ws) -> Scope:
    return busiest_scope(ws.data, "account")


@pytest.fixture
def shown(monkeypatch) -> list:
    """What the widgets display (static mode): HTML strings and raw bundles, in order."""
    import IPython.display as D

    out: list = []

    def fake(*objs, raw=False, **_kw):
        for o in objs:
            out.append(o if raw else getattr(o, "data", o))

    monkeypatch.setattr(D, "display", fake)
    return out


def _decisions(ws) -> dict:
    return yaml.safe_load((ws.path / "plan.yaml").read_text())["decisions"]


def _stored_actions(ws, account_id: str) -> list[dict]:
    return [i for i in _decisions(ws).get("account_actions") or []
            if i["account_id"] == account_id]


def test_actions_editor_add_status_remove_saved(ws, account):
    w = ui.AccountActionsEditor(ws, account, interactive=True, by="kim")
    assert w.result["known"] and w.result["actions"].empty
    assert w.add_button in w.widget().children  # the live tree holds the form
    # the form, as the analyst fills it in and clicks "Add action"
    w.action.value, w.owner.value, w.due.value = "Run a QBR", "Ana", "2027-03-31"
    w.status.value = "in progress"
    w.add_button.click()
    (item,) = _stored_actions(ws, account.id)
    assert (item["action"], item["owner"], item["due"], item["status"], item["by"]) == \
        ("Run a QBR", "Ana", "2027-03-31", "in progress", "kim")
    assert w.action.value == "" and w.message.value == ""  # form cleared after a save
    b = w.add("Map the buying committee", due="2027-01-15")
    assert list(w.table(w.result)["action"]) == ["Map the buying committee", "Run a QBR"]
    assert list(w.table(w.result)["due"]) == ["2027-01-15", "2027-03-31"]
    assert [v for _, v in w.pick.options] == [b.id, item["id"]]
    # change status through the picker and the Update button
    w.pick.value, w.pick_status.value = b.id, "done"
    w.set_button.click()
    assert {i["id"]: i["status"] for i in _stored_actions(ws, account.id)}[b.id] == "done"
    assert "done 1" in w.summary(w.result)
    # remove
    w.pick.value = item["id"]
    w.remove_button.click()
    assert [i["id"] for i in _stored_actions(ws, account.id)] == [b.id]
    assert w.remove(b.id) and _stored_actions(ws, account.id) == []
    assert w.result["actions"].empty and w.pick.options == ()


def test_actions_editor_errors_shown_not_raised(ws, account):
    w = ui.AccountActionsEditor(ws, account, interactive=True)
    before = _decisions(ws).get("account_actions")
    w.action.value, w.due.value = "Call the CFO", "2027-13-45"
    w.add_button.click()  # raises nothing
    assert "is not a date" in w.message.value and "YYYY-MM-DD" in w.message.value
    assert w.action.value == "Call the CFO" and w.due.value == "2027-13-45"  # kept to fix
    assert w.add("  ") is None and "action is empty" in w.message.value
    assert w.add("x", status="finished") is None and "not one of" in w.message.value
    assert w.set_status("nope", "done") is None and "no account action" in w.message.value
    assert w.remove("nope") is False and "no account action" in w.message.value
    assert w.set_status(None, "done") is None and "pick an action" in w.message.value
    assert _decisions(ws).get("account_actions") == before  # nothing written
    w.due.value = "2027-04-01"
    w.add_button.click()  # corrected: saved, error cleared
    assert w.message.value == "" and [i["due"] for i in _stored_actions(ws, account.id)] == \
        ["2027-04-01"]
    # an account that is not in the data: listed (empty), adding is refused with the reason
    ghost = ui.AccountActionsEditor(ws, Scope("account", "NO-SUCH"), interactive=True)
    assert "not in the plan&#x27;s accounts table" in ghost.summary(ghost.result)
    assert ghost.add("Call") is None
    assert "account &#x27;NO-SUCH&#x27; is not in the plan&#x27;s accounts table" in \
        ghost.message.value
    assert _stored_actions(ws, "NO-SUCH") == []
    # a scope that is not an account: explained in the widget
    region = ui.AccountActionsEditor(ws, "region:EMEA", interactive=True)
    assert region.result is None and "need an account scope" in region.message.value
    assert region.add("Call") is None and "need an account scope" in region.message.value


def test_signoff_tracker_workflow_saved(ws):
    sc = Scope("region", "EMEA")
    owner = ui.SignOffTracker(ws, sc, interactive=True, by="dana")
    assert list(owner.result["section"]) == list(stakeholders.PLAN_SECTIONS)
    owner.pick.value, owner.owner.value = "quotas", "Dana (RevOps)"
    owner.assign_button.click()
    entry = _decisions(ws)["stakeholders"]["quotas@region:EMEA"]["value"]
    assert (entry["owner"], entry["status"]) == ("Dana (RevOps)", "draft")
    # approving before a request: the SignOffError is shown, not raised
    owner.approve_button.click()
    assert "not awaiting sign-off" in owner.message.value
    owner.approvers.value, owner.comment.value = "cfo, cro", "v1"
    owner.request_button.click()
    entry = _decisions(ws)["stakeholders"]["quotas@region:EMEA"]["value"]
    assert (entry["status"], entry["approvers"], entry["comment"]) == \
        ("requested", ["cfo", "cro"], "v1")
    assert owner.message.value == "" and owner.comment.value == ""
    assert owner.approve("quotas") is None and "not an approver" in owner.message.value
    cfo = ui.SignOffTracker(ws, sc, interactive=True, by="cfo")
    cfo.pick.value = "quotas"
    assert (cfo.owner.value, cfo.approvers.value) == ("Dana (RevOps)", "cfo, cro")  # prefilled
    cfo.reject_button.click()  # no comment: refused with the reason
    assert "say why" in cfo.message.value
    assert _decisions(ws)["stakeholders"]["quotas@region:EMEA"]["value"]["status"] == \
        "requested"
    cfo.comment.value = "EMEA quota too high"
    cfo.reject_button.click()
    entry = _decisions(ws)["stakeholders"]["quotas@region:EMEA"]["value"]
    assert (entry["status"], entry["decided_by"], entry["comment"]) == \
        ("rejected", "cfo", "EMEA quota too high")
    owner.request("quotas", ["cfo"], "v2: EMEA -5%")
    assert cfo.approve("quotas", "ok")["status"] == "approved"
    row = cfo.table(cfo.result).set_index("section").loc["quotas"]
    assert (row["owner"], row["status"], row["approvers"], row["decided_by"], row["comment"]) \
        == ("Dana (RevOps)", "approved", "cfo", "cfo", "ok")
    assert cfo.table(cfo.result).loc[0, "decided_by"] == ""  # blank, not "None"
    assert cfo.summary(cfo.result).startswith("1 of 11 plan sections approved")
    assert cfo.chart_view is not None and cfo.chart_view in cfo.widget().children[-2].children
    # the company rows are untouched by the region's sign-off
    assert (stakeholders.status_table(ws, "company")["status"] == "unassigned").all()
    bars = chart_status_bar(cfo.result).to_dict()["datasets"]
    counts = {r["status"]: r["sections"] for r in next(iter(bars.values()))}
    assert counts == {"unassigned": 10, "approved": 1}


def test_signoff_unknown_section_and_empty_owner_shown(ws):
    w = ui.SignOffTracker(ws, interactive=True)
    assert w.assign("pricing", "x") is None and "unknown plan section" in w.message.value
    assert w.assign("goals", "  ") is None and "give an owner" in w.message.value
    assert "goals" not in (_decisions(ws).get("stakeholders") or {})


@pytest.fixture
def evil_ws(tmp_path):
    """A tiny plan whose first account's id and name are an HTML injection attempt."""
    d = make_tiny()
    acc = d.accounts.copy()
    acc.loc[0, ["account_id", "name"]] = EVIL
    opps = d.opportunities.replace({"account_id": {"a1": EVIL}})
    data = Dataset(accounts=acc, opportunities=opps, reps=d.reps, products=d.products,
                   as_of=d.as_of, name="tiny")
    return Workspace.create(tmp_path / "plan", data=data, period="2025-H2")


def test_static_mode_escapes_names(evil_ws, shown):
    sc = Scope("account", EVIL)
    actions.add_action(evil_ws, EVIL, f"Call {EVIL}", EVIL, "2025-09-30", by=EVIL)
    stakeholders.assign_owner(evil_ws, "quotas", EVIL, scope=sc, by="dana")
    w = ui.AccountActionsEditor(evil_ws, sc, interactive=False)
    assert w.chart_view is None and w.result["known"]
    w.show()
    t = ui.SignOffTracker(evil_ws, sc, interactive=False)
    t.show()
    htmls = [o for o in shown if isinstance(o, str)]
    svgs = [o["image/svg+xml"] for o in shown if isinstance(o, dict)]
    assert len(svgs) == 1 and svgs[0].startswith("<svg")  # the sign-off bar
    text = "\n".join(htmls + svgs)
    assert "<img" not in text and "onerror=alert(1)&gt;" in text
    assert sum("Call &lt;img src=x onerror=alert(1)&gt;" in h for h in htmls) == 1
    assert any("Account &lt;img" in h for h in htmls)  # the title names the account, escaped
    # each widget left its table, named by a hash of the scope (never the id)
    name = ui.output_name(sc)
    assert "<" not in name and "/" not in name
    saved = evil_ws.load_output("ui", f"AccountActionsEditor_{name}")
    assert list(saved["action"]) == [f"Call {EVIL}"] and list(saved["owner"]) == [EVIL]
    signoff = evil_ws.load_output("ui", f"SignOffTracker_{name}").set_index("section")
    assert (signoff.loc["quotas", "owner"], signoff.loc["quotas", "status"]) == (EVIL, "draft")


def test_static_error_is_html_not_raised(ws, shown):
    w = ui.AccountActionsEditor(ws, "rep:R-0002", interactive=False)
    w.show()
    assert sum("need an account scope" in o for o in shown if isinstance(o, str)) >= 1


def test_widgets_registered():
    classes = ui.widget_classes()
    assert classes["AccountActionsEditor"] is ui.AccountActionsEditor
    assert classes["SignOffTracker"] is ui.SignOffTracker


@pytest.mark.notebook
@pytest.mark.timeout(180)
def test_notebooks_07_and_13_headless_at_account_level(tmp_path):
    import papermill as pm

    plan = tmp_path / "plan"
    ws = Workspace.open_or_create_sample(plan, seed=7, accounts=400, opportunities=6000)
    sc = busiest_scope(ws.data, "account")
    actions.add_action(ws, sc.id, "Escalate <b>renewal</b>", "Ana", "2027-02-15")
    stakeholders.assign_owner(ws, "strategy", "Lee", scope=sc)
    stakeholders.request_signoff(ws, "strategy", ["cro"], scope=sc)
    code = []
    for name in ("07_stakeholders", "13_rollout"):
        out = tmp_path / f"{name}.ipynb"
        pm.execute_notebook(str(ROOT / "notebooks" / "steps" / f"{name}.ipynb"), str(out),
                            parameters={"plan_dir": str(plan), "scope_level": "account",
                                        "unit": sc.id, "interactive": False},
                            kernel_name="salesplan-nb", progress_bar=False, cwd=str(tmp_path))
        code += [c for c in json.loads(out.read_text())["cells"] if c["cell_type"] == "code"]
        # the source notebook stays stripped
        src = json.loads((ROOT / "notebooks" / "steps" / f"{name}.ipynb").read_text())
        assert all(not c.get("outputs") for c in src["cells"] if c["cell_type"] == "code")
    outs = [o for c in code for o in c.get("outputs", [])]

    def outputs_of(text: str) -> list[dict]:  # cell ids are renumbered by nbstripout
        (cell,) = [c for c in code if text in "".join(c["source"])]
        return cell.get("outputs", [])

    assert not [o for o in outs if o["output_type"] == "error"]
    assert "application/vnd.jupyter.widget-view+json" not in \
        {k for o in outs for k in o.get("data", {})}
    acts = json.dumps(outputs_of("AccountActionsEditor("))
    assert "Escalate &lt;b&gt;renewal&lt;/b&gt;" in acts and "<b>renewal" not in acts
    signoff = outputs_of("SignOffTracker(")
    assert any("image/svg+xml" in o.get("data", {}) for o in signoff)
    assert "requested" in json.dumps(signoff) and "Lee" in json.dumps(signoff)
    # the account's quota letters are its territory's
    assert "accounts are planned with their territory" in json.dumps(outputs_of("letters ="))
    again = Workspace.open(plan)
    for widget in ("AccountActionsEditor", "SignOffTracker"):
        assert again.load_output("ui", f"{widget}_{ui.output_name(sc)}") is not None, widget
