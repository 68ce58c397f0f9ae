"""Step 7 stakeholders: owners, sign-off workflow, who / when / comment, status table."""

from __future__ import annotations

import pytest
from test_capacity import make_tiny

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.data.workspace import Workspace
from salesplan_nb.steps import stakeholders as K


@pytest.fixture
def ws(tmp_path):
    return Workspace.create(tmp_path / "plan", data=make_tiny(), period="2025-H2")


def test_initial_table_lists_every_section(ws):
    t = K.status_table(ws)
    assert t["section"].tolist() == list(K.PLAN_SECTIONS)
    assert (t["status"] == "unassigned").all() and t["owner"].isna().all()
    assert list(t.columns) == K.COLUMNS


def test_sign_off_workflow(ws, tmp_path):
    K.assign_owner(ws, "quotas", "Dana (RevOps)", by="cro")
    K.request_signoff(ws, "quotas", ["cfo", "cro"], by="Dana (RevOps)", comment="v1")
    with pytest.raises(K.SignOffError, match="not an approver"):
        K.sign_off(ws, "quotas", by="intern")
    K.reject(ws, "quotas", "EMEA quota too high", by="cfo")
    with pytest.raises(K.SignOffError, match="rejected, not awaiting"):
        K.sign_off(ws, "quotas", by="cfo")
    K.request_signoff(ws, "quotas", ["cfo"], by="Dana (RevOps)", comment="v2: EMEA -5%")
    K.sign_off(ws, "quotas", by="cfo", comment="ok")
    again = Workspace.open(tmp_path / "plan")  # persisted in plan.yaml
    row = K.status_table(again).set_index("section").loc["quotas"]
    assert (row["owner"], row["status"], row["decided_by"], row["comment"]) == \
        ("Dana (RevOps)", "approved", "cfo", "ok")
    assert row["requested_by"] == "Dana (RevOps)" and row["approvers"] == "cfo"
    assert row["decided_at"].endswith("Z") and row["decided_at"] >= row["requested_at"]
    h = K.history(again, "quotas")
    assert h["action"].tolist() == ["owner -> Dana (RevOps)", "requested", "rejected",
                                    "requested", "approved"]
    assert h["by"].tolist() == ["cro", "Dana (RevOps)", "cfo", "Dana (RevOps)", "cfo"]
    assert h.loc[2, "comment"] == "EMEA quota too high"
    # the workspace stamps who recorded the decision too
    assert again.decision("stakeholders", "quotas")["by"] == "cfo"


def test_scoped_sign_off_and_owner_status(ws):
    K.assign_owner(ws, "territories", "East VP", scope="region:East", by="cro")
    K.request_signoff(ws, "territories", scope="region:East", by="East VP")
    K.sign_off(ws, "territories", scope="region:East", by="anyone")  # no approvers named
    company = K.status_table(ws, scope="company").set_index("section")
    assert company.loc["territories", "status"] == "unassigned"
    east = K.status_table(ws, scope="region:East").set_index("section")
    assert east.loc["territories", "status"] == "approved"
    assert east.loc["territories", "scope"] == "region:East"
    assert len(east) == len(K.PLAN_SECTIONS)
    both = K.status_table(ws)
    assert len(both) == len(K.PLAN_SECTIONS) + 1
    K.assign_owner(ws, "goals", "CRO")
    assert K.status_table(ws, "company").set_index("section").loc["goals", "status"] == "draft"
    K.chart_signoff(both).to_dict()


def test_bad_input_is_a_clear_error(ws):
    with pytest.raises(ConfigError, match="unknown plan section"):
        K.assign_owner(ws, "vibes", "me")
    with pytest.raises(ConfigError, match="give an owner"):
        K.assign_owner(ws, "goals", " ")
    with pytest.raises(K.SignOffError, match="request_signoff first"):
        K.sign_off(ws, "swot", by="cfo")
    K.request_signoff(ws, "swot")
    with pytest.raises(ConfigError, match="say why"):
        K.reject(ws, "swot", "", by="cfo")
    assert issubclass(K.SignOffError, SalesplanError)


def test_untrusted_names_are_stored_as_text(ws):
    name = "<script>alert(1)</script>; rm -rf /"
    K.assign_owner(ws, "strategy", name, by=name)
    assert K.status_table(ws).set_index("section").loc["strategy", "owner"] == name
