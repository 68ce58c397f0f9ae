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
