"""The Snakemake workflow: dry run, lint, bad configuration, and the small configuration end to
end (golden models to report), including a look at the report in a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SOURCES = ("Snakefile", "rules", "config", "pdk_configs", "spikemem", "envs", "templates", "analysis", "profiles")


def run(args, cwd, **kw):
    return subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True, **kw)


def copy_workflow(root: Path, dst: Path) -> Path:
    """A copy of the workflow's sources, so tests never touch the checkout's results/."""
    dst.mkdir(parents=True)
    for item in SOURCES:
        src = root / item
        if src.is_dir():
            shutil.copytree(src, dst / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst / item)
    return dst


@pytest.fixture()
def workdir(root, tmp_path) -> Path:
    return copy_workflow(root, tmp_path / "wf")


@pytest.fixture(scope="module")
def small_run(root, tmp_path_factory):
    """The whole workflow on config/test_small.yaml, once for this module."""
    wf = copy_workflow(root, tmp_path_factory.mktemp("small") / "wf")
    out = run(
        ["--cores", "2", "all", "--configfile", "config/test_small.yaml"], cwd=wf, env={**os.environ}, timeout=2400
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]
    return wf


def test_dry_run_all(workdir):
    out = run(["-n", "all", "--quiet"], cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]


def test_lint(workdir):
    out = run(["--lint"], cwd=workdir)
    assert out.returncode == 0, out.stdout[-3000:]


def test_slurm_profile_dry_run(workdir):
    """The cluster profile resolves every rule's resources (a real SLURM run: see README)."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    out = run(["--profile", "profiles/slurm", "-n", "all", "--configfile", "config/test_small.yaml"], cwd=workdir)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert "characterize" in out.stdout and "snn_train" in out.stdout


def test_editing_one_snn_setting_touches_only_the_snn_slice(workdir):
    """Rules depend on their stage's slice of the configuration (results/config/<slice>.json), so
    changing the training leaves every hardware stage up to date."""
    assert run(["-n", "all", "--configfile", "config/test_small.yaml"], cwd=workdir).returncode == 0
    slices = workdir / "results/config"
    before = {p.name: p.stat().st_mtime_ns for p in slices.glob("*.json")}
    other = workdir / "config/other.yaml"
    other.write_text((workdir / "config/test_small.yaml").read_text().replace("epochs: 3", "epochs: 4"))
    assert run(["-n", "all", "--configfile", str(other)], cwd=workdir).returncode == 0
    after = {p.name: p.stat().st_mtime_ns for p in slices.glob("*.json")}
    assert after["hardware.json"] == before["hardware.json"]
    assert after["snn.json"] != before["snn.json"] and after["all.json"] != before["all.json"]


def test_bad_config_is_refused_naming_the_key(workdir):
    out = run(["-n", "all", "--config", "clock_mhz=-3"], cwd=workdir)
    assert out.returncode != 0
    assert "clock_mhz" in out.stderr + out.stdout


@pytest.mark.slow
def test_small_configuration_end_to_end(small_run, tmp_path):
    results = small_run / "results"
    table = pd.read_csv(results / "golden/storage_bits.csv")
    assert set(table.encoding) == {"crossbar", "pb_csr", "pb_bmp", "func_rowcol", "func_bmp", "func_pure"}
    energy = pd.read_csv(results / "energy/energy_table.csv")
    assert set(energy.operation) == {"forward", "backward", "update"}
    assert (energy.flow_level == "synthesis").all() or (energy.flow_level == "placed_and_routed").all()
    networks = pd.read_csv(results / "energy/network_energy.csv")
    assert (networks.iteration_j > 0).all() and set(networks.encoding) == {"crossbar", "pb_csr", "pb_bmp"}
    claims = pd.read_csv(results / "report/claims.csv")
    assert len(claims) == 3 and claims.our_value.notna().all()
    # Rerunning with nothing changed runs nothing.
    again = run(["--cores", "2", "all", "--configfile", "config/test_small.yaml", "-n"], cwd=small_run)
    assert "Nothing to be done" in again.stdout + again.stderr
    # The report in a real browser (one test, so that parallel workers do not build the run twice).
    if shutil.which("chromium"):
        check_report_in_browser(small_run, tmp_path)
    else:
        pytest.skip("report browser check needs Debian's chromium (apt-get install chromium)")


from analysis.report import CHROMIUM_FLAGS  # noqa: E402


def check_report_in_browser(small_run: Path, tmp_path: Path) -> None:
    """Open the report in headless Chromium: every figure decodes, every table has rows."""
    report = small_run / "results/report/index.html"
    url = report.resolve().as_uri()
    dom = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p1'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    check = re.search(r'data-check="images (\d+)/(\d+) tables (\d+)/(\d+)"', dom.stdout)
    assert check, dom.stderr[-2000:]
    ok_img, n_img, ok_tab, n_tab = map(int, check.groups())
    assert n_img >= 6 and ok_img == n_img, "every figure decodes"
    assert n_tab >= 3 and ok_tab == n_tab, "every table has rows"
    shot = small_run / "results/report/screenshot.png"
    subprocess.run(
        [
            "chromium",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'p2'}",
            "--window-size=1280,1400",
            f"--screenshot={shot}",
            url,
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 10_000
