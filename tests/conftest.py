"""Shared test helpers: fixture paths."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CONFS = sorted((FIXTURES / "confs").glob("*.conf"))


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
