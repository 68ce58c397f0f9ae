"""Shared fixtures. Real data is read from ../shared/data (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAVEN_DIR = ROOT.parent / "shared" / "data" / "maven-crm"


@pytest.fixture(scope="session")
def maven_dir() -> Path:
    if not MAVEN_DIR.exists():
        pytest.fail(f"real test data missing: {MAVEN_DIR}")
    return MAVEN_DIR


@pytest.fixture(scope="session")
def maven_data(maven_dir):
    """Maven CRM loaded through the ``maven-crm`` preset (a Dataset)."""
    from salesplan_nb.loaders import load

    return load(maven_dir, mapping="maven-crm")


@pytest.fixture(scope="session")
def sample_data():
    """A small seeded sample company (a Dataset): fast enough for unit tests."""
    from salesplan_nb.sample import generate

    return generate(seed=7, accounts=400, opportunities=6000)
