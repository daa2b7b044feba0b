"""Shared test fixtures; the shared helpers themselves are in tests/helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import FIXTURES


@pytest.fixture
def fixtures() -> Path:
    """The fixture folder (tests/fixtures)."""
    return FIXTURES
