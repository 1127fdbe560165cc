"""Shared test helpers: repository paths and the ../shared location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MLENTORY_SHARED_DIR", REPO.parent / "shared"))


def require_services() -> bool:
    """True when CI demands real services (tests then fail instead of skipping)."""
    return os.environ.get("MLENTORY_REQUIRE_SERVICES", "") not in ("", "0", "false")


@pytest.fixture
def shared_dir() -> Path:
    """The ../shared folder, or skip the real-data test with a clear message."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found: real-data suite skipped")
    return SHARED
