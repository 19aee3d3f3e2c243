"""The Snakemake workflow: dry run, lint, and the small configuration end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def run(args, cwd, **kw):
    return subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True, **kw)


@pytest.fixture()
def workdir(root, tmp_path) -> Path:
    """A copy of the workflow's sources, so tests never touch the checkout's results/."""
    dst = tmp_path / "wf"
    dst.mkdir()
    for item in ("Snakefile", "rules", "config", "pdk_configs", "spikemem", "envs", "templates", "analysis"):
        src = root / item
        if src.is_dir():
            shutil.copytree(src, dst / item, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dst / item)
    return dst


def test_dry_run_all(root):
    out = run(["-n", "all", "--quiet"], cwd=root)
    assert out.returncode == 0, out.stderr[-3000:]


def test_lint(root):
    out = run(["--lint"], cwd=root)
    assert out.returncode == 0, out.stdout[-3000:]


def test_bad_config_is_refused_naming_the_key(workdir):
    out = run(["-n", "all", "--config", "clock_mhz=-3"], cwd=workdir)
    assert out.returncode != 0
    assert "clock_mhz" in out.stderr + out.stdout


@pytest.mark.slow
def test_small_configuration_end_to_end(workdir):
    out = run(
        ["--cores", "2", "all", "--configfile", "config/test_small.yaml"], cwd=workdir, env={**os.environ}, timeout=1800
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    table = pd.read_csv(workdir / "results/golden/storage_bits.csv")
    assert set(table.encoding) == {"crossbar", "pb_csr", "pb_bmp", "func_rowcol", "func_bmp", "func_pure"}
    # Rerunning with nothing changed runs nothing.
    again = run(["--cores", "2", "all", "--configfile", "config/test_small.yaml", "-n"], cwd=workdir)
    assert "Nothing to be done" in again.stdout + again.stderr
