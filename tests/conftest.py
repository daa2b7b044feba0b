"""Shared test fixtures; the shared helpers themselves are in tests/helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import FIXTURES


@pytest.fixture
def fixtures() -> Path:
    """The fixture folder (tests/fixtures)."""
    return FIXTURES


@pytest.fixture(scope="session", autouse=True)
def _private_tls_keys() -> None:
    """git keeps no file modes but the executable bit, so a checkout leaves the fixture TLS keys
    0644; ascad refuses a key other users may read (docs/settings.md), as an operator's would be
    refused: tighten them to 0600 as the operator would."""
    for key in (FIXTURES / "tls").glob("*.key"):
        key.chmod(0o600)
