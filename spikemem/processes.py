"""Running the external tools (simulators, OpenSTA, Yosys) with their output in a log file, and the
one error a failed tool raises."""

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

# Log lines quoted in a tool's error: enough to show the tool's own message, short enough to read.
TAIL_LINES = 15


class ToolError(RuntimeError):
    """An external tool failed (or could not be started): which tool, for which design, its log and
    the log's last lines. The CLI prints it as one message, without a traceback."""

    def __init__(
        self,
        tool: str,
        problem: str,
        log: Path | None = None,
        tail: str = "",
        design: str | None = None,
    ) -> None:
        self.tool = tool
        self.problem = problem
        self.log = log
        self.tail = tail
        self.design = design
        super().__init__(problem)

    def __str__(self) -> str:
        head = self.problem
        if self.design:
            head += f"; design {self.design}"
        if self.log:
            head += f"; log: {self.log}"
        lines = [head] + [f"  | {line}" for line in self.tail.splitlines()]
        return "\n".join(lines)


# The name the stages have caught since before ToolError existed.
ToolFailure = ToolError


def log_tail(log: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of ``log`` (empty where it cannot be read)."""
    try:
        text = Path(log).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_tool(cmd: list[str], log: Path, cwd: Path | None = None, timeout: float = 1800) -> None:
    """Run ``cmd`` with its output in ``log``; on failure raise :class:`ToolError` with the log's
    path and tail."""
    tool = Path(cmd[0]).name
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        f.write("$ " + " ".join(map(str, cmd)) + "\n")
        f.flush()
        try:
            proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=cwd, timeout=timeout)
        except FileNotFoundError:
            raise ToolError(tool, missing_program(cmd[0])) from None
        except subprocess.TimeoutExpired:
            raise ToolError(tool, f"{tool} timed out after {timeout} s", log, log_tail(log)) from None
    if proc.returncode:
        raise ToolError(tool, f"{tool} failed (exit {proc.returncode})", log, log_tail(log))


def missing_program(program: str) -> str:
    """What to say about a program that could not be started: the Debian package that installs it,
    where there is one."""
    package = DEBIAN_PACKAGES.get(Path(program).name)
    if package is None:
        return f"{program} not found"
    return f"{program} is not installed (apt-get install {package})"
