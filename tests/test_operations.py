"""Operations: a workflow killed (SIGKILL) in the middle of synthesis and in the middle of training
resumes to results identical to an uninterrupted run's, never taking a half-written file as
complete; repeated runs give byte-identical energy tables and identical van Rossum curves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_workflow import SNAKEMAKE, copy_workflow

DESIGN = "pb_bmp-fc8x8-w2"
CHAR = f"results/synth/{DESIGN}/characterization.json"
TRAIN = "results/snn/runs/adaptive-e8g8/w2-s0/metrics.json"
CURVE = "results/snn/runs/adaptive-e8g8/w2-s0/curve.csv"


def workflow(root: Path, where: Path) -> Path:
    wf = copy_workflow(root, where)
    # Long enough training that it can be caught in the middle.
    cfg = (wf / "config/test_small.yaml").read_text().replace("epochs: 3", "epochs: 2500")
    (wf / "config/test_small.yaml").write_text(cfg)
    return wf


def snakemake(wf: Path, *targets: str, extra=()) -> subprocess.CompletedProcess:
    return subprocess.run(
        # Targets first: --configfile takes several values and would swallow them.
        [*SNAKEMAKE, *targets, *extra, "--cores", "2", "--configfile", "config/test_small.yaml"],
        cwd=wf,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def kill_when(wf: Path, target: str, ready, timeout: float = 600) -> None:
    """Start the workflow for ``target`` and SIGKILL its whole process group once ``ready(wf)``."""
    proc = subprocess.Popen(
        [*SNAKEMAKE, target, "--cores", "2", "--configfile", "config/test_small.yaml"],
        cwd=wf,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None and not ready(wf):
            time.sleep(0.2)
        assert proc.poll() is None, "the workflow finished before it could be interrupted"
        assert ready(wf), "the interruption point was never reached"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # A killed Snakemake leaves its lock behind; unlocking is the user's first step, as in README.
    unlock = snakemake(wf, extra=("--unlock",))
    assert unlock.returncode == 0, unlock.stderr[-2000:]


def complete_or_absent(path: Path) -> None:
    """A result file that exists must be whole: every result is written by atomic rename."""
    if path.exists():
        if path.suffix == ".json":
            json.loads(path.read_text())
        else:
            assert path.read_text().endswith("\n")


def in_synthesis(wf: Path) -> bool:
    return (wf / f"results/synth/{DESIGN}/work/sc/build").exists() and not (wf / CHAR).exists()


def in_training(wf: Path) -> bool:
    log = wf / "logs/snn/train-adaptive-e8g8-s0.log"
    return log.exists() and time.time() - log.stat().st_mtime > 1.0 and not (wf / TRAIN).exists()


@pytest.mark.slow
@pytest.mark.tools
@pytest.mark.requires("iverilog", "vvp", "sta")
def test_interrupted_and_repeated_runs_give_identical_results(root, tmp_path):
    reference = workflow(root, tmp_path / "reference")
    out = snakemake(reference, CHAR, TRAIN)
    assert out.returncode == 0, out.stderr[-3000:]

    wf = workflow(root, tmp_path / "interrupted")
    kill_when(wf, TRAIN, in_training)
    complete_or_absent(wf / TRAIN)
    complete_or_absent(wf / CURVE)
    kill_when(wf, CHAR, in_synthesis)
    complete_or_absent(wf / CHAR)
    out = snakemake(wf, CHAR, TRAIN, extra=("--rerun-incomplete",))
    assert out.returncode == 0, out.stderr[-3000:]

    # Identical van Rossum curves; identical energies; byte-identical energy tables.
    assert (wf / CURVE).read_bytes() == (reference / CURVE).read_bytes()
    a, b = (json.loads((d / CHAR).read_text()) for d in (reference, wf))
    assert a["runs"] == b["runs"] and a["synthesis"]["cells_by_type"] == b["synthesis"]["cells_by_type"]
    tables = []
    for d in (reference, wf):
        table = d / "table.csv"
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "spikemem",
                "energy-table",
                "-c",
                "config/test_small.yaml",
                "--out",
                str(table),
                str(d / CHAR),
            ],
            cwd=d,
            capture_output=True,
            text=True,
        )
        assert res.returncode == 0, res.stderr
        tables.append(table.read_bytes())
    assert tables[0] == tables[1]
