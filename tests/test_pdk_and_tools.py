"""PDK discovery and tool discovery tell the truth about this machine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from spikemem.pdk import PdkError, check_pdk, load_pdk_config, pdk_root
from spikemem.processes import ToolFailure, run_tool
from spikemem.tools import discover, flow_level


def test_pdk_check_finds_every_file(pdk_root_env):
    if not pdk_root_env:
        pytest.skip("no PDK on this machine")
    files = check_pdk(load_pdk_config("sky130hd"))
    assert "stdcell.liberty" in files and len(files) == 3 + 2 * 3
    assert all(len(f["sha256"]) == 64 for f in files.values())


def test_missing_pdk_root_says_what_to_set(monkeypatch):
    monkeypatch.delenv("PDK_ROOT", raising=False)
    with pytest.raises(PdkError, match="PDK_ROOT is not set.*ciel"):
        pdk_root()


def test_missing_file_is_named(tmp_path, pdk_root_env):
    if not pdk_root_env:
        pytest.skip("no PDK on this machine")
    partial = tmp_path / "pdk"
    shutil.copytree(pdk_root_env, partial)
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
