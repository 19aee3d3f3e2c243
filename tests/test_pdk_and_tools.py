"""PDK discovery and tool discovery tell the truth about this machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import unavailable

from spikemem.pdk import PdkError, check_pdk, load_pdk_config, pdk_root
from spikemem.processes import ToolFailure, run_tool
from spikemem.tools import discover, flow_level


def test_pdk_check_finds_every_file(pdk):
    files = check_pdk(load_pdk_config("sky130hd"))
    assert "stdcell.liberty" in files and len(files) == 3 + 2 * 3
    assert all(len(f["sha256"]) == 64 for f in files.values())


def test_missing_pdk_root_says_what_to_set(monkeypatch):
    monkeypatch.delenv("PDK_ROOT", raising=False)
    with pytest.raises(PdkError, match="PDK_ROOT is not set.*ciel"):
        pdk_root()


def test_missing_file_is_named(tmp_path, pdk):
    partial = tmp_path / "pdk"
    shutil.copytree(pdk, partial)
    (partial / "sky130A/libs.ref/sky130_fd_sc_hd/techlef/sky130_fd_sc_hd__nom.tlef").unlink()
    with pytest.raises(PdkError, match="missing stdcell.techlef"):
        check_pdk(load_pdk_config("sky130hd"), root=partial, hashes=False)


@pytest.mark.parametrize(
    "program, package",
    [("iverilog", "iverilog"), ("vvp", "iverilog"), ("verilator", "verilator"), ("sta", "opensta"), ("yosys", "yosys")],
)
def test_missing_program_names_its_package(tmp_path, monkeypatch, program, package):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no program can be found
    with pytest.raises(ToolFailure, match=rf"^{program} is not installed \(apt-get install {package}\)$"):
        run_tool([program, "--version"], tmp_path / "tool.log")


def test_doctor_agrees_with_path():
    tools = discover()
    for name in ("iverilog", "verilator", "openroad"):
        assert tools[name].usable == (shutil.which(name) is not None)
    assert flow_level(tools) == ("placed_and_routed" if shutil.which("openroad") else "synthesis")


def test_doctor_cli_json():
    out = subprocess.run([sys.executable, "-m", "spikemem", "doctor", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data["tools"]) >= {"yosys", "pyosys", "sta", "iverilog", "verilator", "openroad"}


def test_cli_reports_config_errors_cleanly(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("pdk: sky130hd\n")
    out = subprocess.run(
        [sys.executable, "-m", "spikemem", "config", "validate", "-c", str(bad)], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "spikemem: error: config key" in out.stderr and "Traceback" not in out.stderr


def _fake_commands(tmp_path, uid: int, have_dpkg: bool):
    """A PATH where `id -u` gives ``uid`` and dpkg knows no package (the real tools stay)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (bin_dir / "dpkg").write_text("#!/bin/sh\nexit 1\n" if not have_dpkg else "#!/bin/sh\nexit 0\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.requires("iverilog", "vvp", "verilator", "sta")
def test_tool_installer_as_non_root_names_optional_packages_and_goes_on(root, tmp_path):
    """`make test` as a user: the optional packages (chromium, SLURM) are named, not fatal."""
    if not shutil.which("yosys"):
        unavailable("needs Debian's yosys (apt-get install yosys)")
    env = _fake_commands(tmp_path, uid=1000, have_dpkg=False)
    script = root / "scripts/install_system_tools.sh"
    out = subprocess.run(["bash", script, "--optional", "chromium", "munge"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "chromium munge" in out.stderr and "skip" in out.stderr


def test_tool_installer_as_non_root_stops_without_an_eda_tool(root, tmp_path):
    env = _fake_commands(tmp_path, uid=1000, have_dpkg=True)
    # A PATH with bash and coreutils but none of the EDA tools.
    tools = tmp_path / "bin"
    for name in ("bash", "sed", "sort", "printf", "cat"):
        if shutil.which(name):
            (tools / name).symlink_to(shutil.which(name))
    env["PATH"] = str(tools)
    out = subprocess.run(
        [shutil.which("bash"), root / "scripts/install_system_tools.sh"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 1
    assert "iverilog" in out.stderr and "opensta" in out.stderr and "stopping" in out.stderr
