"""Shared test fixtures: the PDK root and the project's configurations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _default_pdk_root() -> str | None:
    shared = ROOT.parent / "shared" / "pdk"
    return str(shared.resolve()) if shared.is_dir() else None


@pytest.fixture(scope="session", autouse=True)
def pdk_root_env():
    """Tests run with PDK_ROOT set (CI exports it; a checkout beside ../shared finds it)."""
    if not os.environ.get("PDK_ROOT") and _default_pdk_root():
        os.environ["PDK_ROOT"] = _default_pdk_root()
    yield os.environ.get("PDK_ROOT")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
