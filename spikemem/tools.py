"""Discovery of the external tools the flow can use, and the flow level they allow."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .processes import DEBIAN_PACKAGES

MIN_YOSYS = (0, 48)


def apt_install(program: str) -> str:
    """The command that installs ``program`` on Debian."""
    return f"apt-get install {DEBIAN_PACKAGES[program]}"


@dataclass
class Tool:
    """One tool: where it is, its version, whether the flow can use it, and notes."""

    name: str
    path: str | None = None
    version: str | None = None
    usable: bool = False
    notes: list[str] = field(default_factory=list)
    features: dict[str, bool] = field(default_factory=dict)


def _run(cmd: list[str], stdin: str | None = None, timeout: float = 30) -> str:
    try:
        out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"<failed: {e}>"
    return (out.stdout or "") + (out.stderr or "")


def _version_tuple(text: str) -> tuple[int, ...]:
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(g) for g in m.groups() if g is not None) if m else ()


def find_yosys() -> Tool:
    """A ``yosys`` >= 0.48 with Tcl on PATH (SiliconCompiler 0.38 needs one)."""
    t = Tool("yosys", shutil.which("yosys"))
    if t.path:
        t.version = (_run([t.path, "-V"]).strip().splitlines() or [None])[0]
        new_enough = _version_tuple(t.version or "")[:2] >= MIN_YOSYS
        t.features["tcl"] = "No such command" not in _run([t.path, "-p", "help tcl"])
        t.usable = new_enough and t.features["tcl"]
        if not new_enough:
            t.notes.append(f"older than {'.'.join(map(str, MIN_YOSYS))}: too old for SiliconCompiler 0.38")
    else:
        t.notes.append("not on PATH")
    return t


def find_pyosys() -> Tool:
    """PyPI's pyosys (a current libyosys without a CLI) and the Tcl that Python's tkinter brings."""
    t = Tool("pyosys")
    spec = importlib.util.find_spec("pyosys")
    if spec is None:
        t.notes.append("not installed (pip install pyosys)")
        return t
    t.path = str(Path(spec.origin).parent)
    probe = (
        "from pyosys import libyosys as ys\n"
        "v = ys.yosys_maybe_version\n"
        "print(v() if callable(v) else v)\n"
        "import tkinter\n"
        "print('tcl', tkinter.Tcl().eval('info patchlevel'))\n"
    )
    import sys

    out = _run([sys.executable, "-c", probe])
    lines = [ln for ln in out.splitlines() if ln.strip()]
    t.version = next((ln for ln in lines if ln.startswith("Yosys")), None)
    t.features["tcl"] = any(ln.startswith("tcl ") for ln in lines)
    t.features["abc"] = (Path(t.path) / "yosys-abc").exists()
    t.usable = bool(t.version) and t.features["tcl"]
    return t


def find_sta() -> Tool:
    """OpenSTA: ``report_power`` is required; ``read_vcd`` is used when present."""
    t = Tool("sta", shutil.which("sta"))
    if not t.path:
        t.notes.append(f"not on PATH ({apt_install('sta')})")
        return t
    t.version = _run([t.path, "-version"]).strip().splitlines()[0]
    with tempfile.NamedTemporaryFile("w", suffix=".tcl", delete=False) as f:
        f.write(
            "foreach c {read_vcd read_saif report_power set_power_activity} "
            '{ puts "has $c [llength [info commands $c]]" }\nexit\n'
        )
    out = _run([t.path, "-no_init", "-no_splash", f.name])
    Path(f.name).unlink(missing_ok=True)
    for c in ("read_vcd", "read_saif", "report_power", "set_power_activity"):
        t.features[c] = f"has {c} 1" in out
    t.usable = t.features["report_power"]
    if not t.features["read_vcd"]:
        t.notes.append("no read_vcd: activity is annotated with set_power_activity instead")
    return t


def find_simple(name: str, version_args: list[str], hint: str) -> Tool:
    """A program found on PATH and usable once found; ``hint`` says how to install it."""
    t = Tool(name, shutil.which(name))
    if t.path:
        out = _run([t.path, *version_args]).strip()
        t.version = out.splitlines()[0] if out else None
        t.usable = True
    else:
        t.notes.append(f"not on PATH ({hint})")
    return t


def discover() -> dict[str, Tool]:
    """Every tool the flow can use."""
    return {
        "yosys": find_yosys(),
        "pyosys": find_pyosys(),
        "sta": find_sta(),
        "iverilog": find_simple("iverilog", ["-V"], apt_install("iverilog")),
        "verilator": find_simple("verilator", ["--version"], apt_install("verilator")),
        "openroad": find_simple("openroad", ["-version"], "no package for this platform; build OpenROAD from source"),
    }


def flow_level(tools: dict[str, Tool]) -> str:
    """``placed_and_routed`` where OpenROAD is installed, else ``synthesis``."""
    return "placed_and_routed" if tools["openroad"].usable else "synthesis"


def synthesis_backend(tools: dict[str, Tool]) -> str:
    """Which Yosys SiliconCompiler will run: a real one from PATH, or the pyosys front-end."""
    if tools["yosys"].usable:
        return f"yosys from PATH ({tools['yosys'].path})"
    if tools["pyosys"].usable:
        return "pyosys front-end (libyosys from PyPI with Tcl from Python's tkinter)"
    return "none: install a yosys >= 0.48 with Tcl, or `pip install pyosys`"


@dataclass(frozen=True)
class Requirement:
    """A program the configured flow cannot run without: what it is for and how to install it."""

    tool: str
    purpose: str
    install: str


PYOSYS_INSTALL = "pip install pyosys"


def requirements(cfg: Mapping) -> list[Requirement]:
    """The tools a run of configuration ``cfg`` needs. OpenROAD is never required (without it the
    flow stops at synthesis), nor is a Yosys binary (the pyosys front-end stands in for it)."""
    simulators = set(cfg["verification"]["simulators"]) | {cfg["characterization"]["simulator"]}
    if "auto" in simulators:  # either may be chosen, design by design
        simulators |= {"icarus", "verilator"}
    verilator_use = "lint and Verilator simulation" if "verilator" in simulators else "lint of every design"
    needed = [
        Requirement("pyosys", "netlist preparation and the gate-level cell models", PYOSYS_INSTALL),
        Requirement("sta", "OpenSTA: timing and the power cross-check", apt_install("sta")),
        Requirement("verilator", verilator_use, apt_install("verilator")),
    ]
    if "icarus" in simulators:
        needed += [
            Requirement("iverilog", "Icarus Verilog: its compiler", apt_install("iverilog")),
            Requirement("vvp", "Icarus Verilog: its simulation runtime", apt_install("vvp")),
        ]
    return needed


def missing_requirements(tools: Mapping[str, Tool], cfg: Mapping) -> list[Requirement]:
    """The requirements of ``cfg`` (see :func:`requirements`) this machine does not meet, and a
    synthesis backend where there is none."""
    missing = []
    for req in requirements(cfg):
        if req.tool == "pyosys":
            # The cell models need libyosys only; Tcl matters where pyosys stands in for yosys.
            found = bool(tools["pyosys"].version)
        elif req.tool in tools:
            found = tools[req.tool].usable
        else:
            found = shutil.which(req.tool) is not None
        if not found:
            missing.append(req)
    if not (tools["yosys"].usable or tools["pyosys"].usable):
        missing.append(
            Requirement(
                "yosys",
                "synthesis through SiliconCompiler: a yosys >= 0.48 with Tcl, or pyosys with Python's tkinter",
                f"{PYOSYS_INSTALL}, in a Python that has tkinter",
            )
        )
    return missing


def report(tools: dict[str, Tool]) -> dict:
    """What the doctor writes: every tool, the synthesis backend and the flow level."""
    return {
        "tools": {k: asdict(v) for k, v in tools.items()},
        "synthesis_backend": synthesis_backend(tools),
        "flow_level": flow_level(tools),
    }
