"""Shared test fixtures: the PDK root and the project's configurations, and the one rule for
tests that need something the machine may lack (an EDA tool, the PDK, Chromium, SLURM).

Such a test calls :func:`unavailable` (or carries ``@pytest.mark.requires(...)``): it skips with
the reason on a developer's machine, and fails where ``SPIKEMEM_NO_SKIPS`` is set (``.ci/run``
sets it), so CI can never pass by skipping.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
NO_SKIPS = "SPIKEMEM_NO_SKIPS"
# What to install for each program a test may need (Debian packages).
PACKAGE_OF = {
    "iverilog": "iverilog",
    "vvp": "iverilog",
    "verilator": "verilator",
    "sta": "opensta",
    "chromium": "chromium",
}


def unavailable(reason: str) -> None:
    """Skip the calling test for ``reason``, or fail it when ``SPIKEMEM_NO_SKIPS`` is set."""
    if os.environ.get(NO_SKIPS):
        pytest.fail(f"{reason} ({NO_SKIPS} is set: nothing may skip here)", pytrace=False)
    pytest.skip(reason)


def import_or_unavailable(module: str) -> ModuleType:
    """Import ``module``, or :func:`unavailable` naming it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        unavailable(f"needs the Python package {module} (pip install -e '.[test]')")
        raise  # unreachable: unavailable() raises


def pytest_configure(config):
    config.addinivalue_line("markers", "requires(*programs): needs these programs on PATH (see PACKAGE_OF)")


def pytest_runtest_setup(item):
    # Under --dist loadgroup (make test) a test marked xdist_group carries its group in its node id:
    # that is how pytest-xdist sends the group to one worker. pytest 9.2 broke it with pytest-xdist
    # 3.8 (the id no longer comes from the attribute xdist sets), so the small run's tests spread
    # over both workers and each built the small run (about 700 s). Fail them rather than pay twice.
    if getattr(item.config.option, "loadgroup", False) and any(item.iter_markers("xdist_group")):
        if "@" not in item.nodeid:
            pytest.fail(
                f"pytest-xdist did not apply xdist_group under pytest {pytest.__version__}: install the "
                "pinned versions (pip install -c constraints.txt -e '.[test]')",
                pytrace=False,
            )
    for marker in item.iter_markers("requires"):
        missing = [p for p in marker.args if shutil.which(p) is None]
        if missing:
            packages = sorted({PACKAGE_OF.get(p, p) for p in missing})
            unavailable(f"needs {', '.join(missing)} (apt-get install {' '.join(packages)})")


def _default_pdk_root() -> str | None:
    shared = ROOT.parent / "shared" / "pdk"
    return str(shared.resolve()) if shared.is_dir() else None


@pytest.fixture(scope="session", autouse=True)
def pdk_root_env():
    """Tests run with PDK_ROOT set (CI exports it; a checkout beside ../shared finds it)."""
    if not os.environ.get("PDK_ROOT") and _default_pdk_root():
        os.environ["PDK_ROOT"] = _default_pdk_root()
    yield os.environ.get("PDK_ROOT")


@pytest.fixture()
def pdk(pdk_root_env) -> Path:
    """The PDK root, for tests that read PDK files."""
    if not pdk_root_env or not Path(pdk_root_env).is_dir():
        unavailable("needs the PDK: set PDK_ROOT to an open_pdks tree holding sky130A (see README)")
    return Path(pdk_root_env)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
