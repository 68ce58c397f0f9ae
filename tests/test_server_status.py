"""The step-status rule (:mod:`salesplan_nb.steps.status`): a step is outdated only by a newer
decision of a step it depends on (directly or transitively), naming that step and when."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.steps import registry
from salesplan_nb.steps.status import Decision, dependencies, registry_reads, step_status

ROOT = Path(__file__).resolve().parents[1]

READS = {"goals": (), "capacity": ("goals",), "territories": ("capacity",),
         "quotas": ("goals", "capacity", "territories"), "swot": (),
         "strategy": ("swot",), "scenarios": ("quotas", "strategy")}


def test_dependencies_are_transitive_with_the_step_they_come_through():
    assert dependencies(READS, "scenarios") == {
        "quotas": None, "strategy": None, "goals": "quotas", "capacity": "quotas",
        "territories": "quotas", "swot": "strategy"}
    assert dependencies(READS, "goals") == {}
    with pytest.raises(ConfigError, match="'quotas' .*reads 'pricing', which is not a step"):
        dependencies({**READS, "quotas": ("pricing",)}, "quotas")
    # a cycle ends where it closes
    assert dependencies({"a": ("b",), "b": ("a",)}, "a") == {"b": None}


def test_outdated_by_a_direct_and_a_transitive_change_not_by_an_unrelated_one():
    latest = {"goals": Decision("ana", "2026-12-01T09:00:00Z"),
              "capacity": Decision("bo", "2026-12-02T10:14:30Z"),
              "quotas": Decision("cy", "2026-12-01T12:00:00Z"),
              "scenarios": Decision("di", "2026-12-01T13:00:00Z"),
              "strategy": Decision("ed", "2026-12-01T08:00:00Z"),
              "swot": Decision("fa", "2026-12-03T08:00:00Z")}
    st = step_status(latest, READS)
    assert (st["goals"].status, st["goals"].by) == ("decided", "ana")
    # quotas reads capacity, which changed after quotas was decided
    assert (st["quotas"].status, st["quotas"].by, st["quotas"].at) == \
        ("outdated", "cy", "2026-12-01T12:00:00Z")
    assert st["quotas"].because == "capacity changed 2026-12-02 10:14"
    # strategy reads swot (changed later); scenarios reads strategy: the latest change wins
    assert st["strategy"].because == "swot changed 2026-12-03 08:00"
    assert st["scenarios"].because == "swot changed 2026-12-03 08:00 (read via strategy)"
    assert st["territories"].status == "not yet"
    # capacity does not read swot or quotas: their later changes leave it decided
    assert (st["capacity"].status, st["capacity"].because) == ("decided", None)

    # transitive only: goals changed after scenarios, reached through quotas
    latest2 = {**latest, "swot": Decision("fa", "2026-11-01T00:00:00Z"),
               "capacity": Decision("bo", "2026-11-01T00:00:00Z"),
               "goals": Decision("ana", "2026-12-05T07:30:00Z")}
    st2 = step_status(latest2, READS)
    assert st2["scenarios"].because == "goals changed 2026-12-05 07:30 (read via quotas)"
    assert st2["swot"].status == "decided" and st2["strategy"].status == "decided"
    # re-deciding scenarios after the change makes it decided again
    latest2["scenarios"] = Decision("di", "2026-12-06T00:00:00Z")
    assert step_status(latest2, READS)["scenarios"].status == "decided"


def test_the_registry_declares_what_each_step_reads_and_the_docs_say_it():
    reads = registry_reads()
    assert set(reads["quotas"]) == {"goals", "capacity", "territories"}
    assert set(reads["scenarios"]) == {"quotas", "capacity", "strategy", "forecast"}
    for key in reads:
        dependencies(reads, key)  # every name read is a step
        assert key not in dependencies(reads, key), f"{key} depends on itself"
    doc = (ROOT / "docs" / "steps.md").read_text()
    block = doc[doc.index("## What each step reads"):]
    for s in registry.steps():
        if not s.module.startswith("salesplan_nb."):
            continue  # a plug-in's step (its own docs)
        m = re.search(rf"^- `{s.key}` reads (.+)$", block, re.M)
        assert m, f"docs/steps.md does not say what {s.key} reads"
        named = re.findall(r"`(\w+)`", m.group(1))
        assert named == list(s.reads), (s.key, named)


def test_the_panels_status_follows_the_registry():
    """The server's step list (sections from the notebooks, reads from the registry): a newer
    capacity decision outdates quotas and scenarios; a newer SWOT outdates roll-out (it reads
    strategy, which reads SWOT) but not capacity or quotas."""
    from salesplan_nb.server.steps import step_list
    from salesplan_nb.server.steps import step_status as panel_status

    stamp = {"by": "ana", "at": "2026-12-01T09:00:00Z"}
    decisions = {"quotas": {"target": dict(stamp)}, "scenarios": {"s": dict(stamp)},
                 "account_actions": [dict(stamp, id="a1")],
                 "capacity": {"hires": {"by": "bo", "at": "2026-12-02T10:14:00Z"}},
                 "swot": [{"id": "w", "by": "cy", "at": "2026-12-03T08:00:00Z"}]}
    out = {s.key: s for s in panel_status(decisions, step_list())}
    assert (out["quotas"].status, out["quotas"].because) == \
        ("outdated", "capacity changed 2026-12-02 10:14")
    assert out["rollout"].because == "swot changed 2026-12-03 08:00 (read via strategy)"
    assert out["scenarios"].status == "outdated"
    assert (out["capacity"].status, out["capacity"].by) == ("decided", "bo")
    assert out["swot"].status == "decided" and out["goals"].status == "not yet"
    decisions["quotas"]["target"]["at"] = "2026-12-04T00:00:00Z"
    out = {s.key: s for s in panel_status(decisions, step_list())}
    assert out["quotas"].status == "decided"
    # roll-out now reads the newer quotas
    assert out["rollout"].because == "quotas changed 2026-12-04 00:00"
