"""Shared fixtures: the example programs of the repository, compiled once per test session."""

from pathlib import Path

import pytest

import puntos

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def pharmacy_source() -> str:
    return (EXAMPLES / "pharmacy" / "program.pts").read_text()


@pytest.fixture(scope="session")
def pharmacy(pharmacy_source: str) -> puntos.Program:
    return puntos.compile(pharmacy_source, "program.pts")


@pytest.fixture(scope="session")
def no_history() -> dict:
    """The account the pharmacy needs at least: its tiers read the spend of the last 12 months."""
    return {"spend": {"12 months": 0}}
