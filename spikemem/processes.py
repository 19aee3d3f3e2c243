"""Running the external tools (simulators, OpenSTA, Yosys) with their output in a log file."""

from __future__ import annotations

import subprocess
from pathlib import Path

# The Debian package that installs each program the flow runs.
DEBIAN_PACKAGES = {
    "iverilog": "iverilog",
    "vvp": "iverilog",
    "verilator": "verilator",
    "sta": "opensta",
    "yosys": "yosys",
}


class ToolFailure(RuntimeError):
    """An external tool failed; the message names its log and ends with the log's last lines."""


def run_tool(cmd: list[str], log: Path, cwd: Path | None = None, timeout: float = 1800) -> None:
    """Run ``cmd`` with its output in ``log``; on failure raise with the log's path and tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        f.write("$ " + " ".join(map(str, cmd)) + "\n")
        f.flush()
        try:
            proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=cwd, timeout=timeout)
        except FileNotFoundError:
            raise ToolFailure(missing_program(cmd[0])) from None
        except subprocess.TimeoutExpired:
            raise ToolFailure(f"{cmd[0]} timed out after {timeout} s; log: {log}") from None
    if proc.returncode:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-25:])
        raise ToolFailure(f"{Path(cmd[0]).name} failed (exit {proc.returncode}); log: {log}\n{tail}")


def missing_program(program: str) -> str:
    """What to say about a program that could not be started: the Debian package that installs it,
    where there is one."""
    package = DEBIAN_PACKAGES.get(Path(program).name)
    if package is None:
        return f"{program} not found"
    return f"{program} is not installed (apt-get install {package})"
