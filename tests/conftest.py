"""Shared fixtures. Real data is read from ../shared/data (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The workplace's real-data folder: ``$SALESPLAN_SHARED_DATA``, else the first
    ``shared/data`` beside the checkout or one of its parents, else /work/shared/data."""
    if os.environ.get("SALESPLAN_SHARED_DATA"):
        return Path(os.environ["SALESPLAN_SHARED_DATA"])
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return Path("/work/shared/data")


MAVEN_DIR = shared_data_dir() / "maven-crm"


@pytest.fixture(scope="session")
def maven_dir() -> Path:
    if not MAVEN_DIR.exists():
        pytest.fail(f"real test data missing: {MAVEN_DIR}")
    return MAVEN_DIR


@pytest.fixture(scope="session")
def maven_data(maven_dir):
    """Maven CRM loaded through the ``maven-crm`` preset (a Dataset)."""
    from salesplan_nb.data.loaders import load

    return load(maven_dir, mapping="maven-crm")


@pytest.fixture(scope="session")
def sample_data():
    """A small seeded sample company (a Dataset): fast enough for unit tests."""
    from salesplan_nb.data.sample import generate

    return generate(seed=7, accounts=400, opportunities=6000)


@pytest.fixture(scope="session")
def demo_plan_renders(tmp_path_factory):
    """A small seeded company with the demo's decisions; its plans rendered on demand."""
    from helpers import PlanRenders

    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

    data = generate(seed=5, accounts=300, opportunities=2500)
    return PlanRenders(Workspace.create(tmp_path_factory.mktemp("plans-demo") / "plan",
                                        data=data))


@pytest.fixture(scope="session")
def maven_plan_renders(tmp_path_factory, maven_data):
    """Maven CRM with the demo's decisions; its plans rendered on demand."""
    from helpers import PlanRenders

    from salesplan_nb.data.workspace import Workspace

    return PlanRenders(Workspace.create(tmp_path_factory.mktemp("plans-maven") / "plan",
                                        data=maven_data))
