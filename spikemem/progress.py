"""Progress lines of long jobs: always in the job's log, and on the workflow's terminal too when the
rule hands one over.

A rule sends its command's output to its log file, so Snakemake's terminal would show nothing of a
job until it ends. The long rules (characterize, snn_train) therefore run their command with file
descriptor 3 duplicated from Snakemake's stderr (``3>&2``) and ``SPIKEMEM_PROGRESS_FD=3``; a progress
line goes to the log and to that descriptor. Run by hand, without the variable, it goes to stderr only.
"""

from __future__ import annotations

import os
import sys

PROGRESS_FD_VARIABLE = "SPIKEMEM_PROGRESS_FD"


def _terminal_fd() -> int | None:
    value = os.environ.get(PROGRESS_FD_VARIABLE, "")
    if not value.isdigit():
        return None
    fd = int(value)
    try:
        os.fstat(fd)
    except OSError:
        return None  # the rule did not open it (or a caller ran the command by hand): log only
    return fd


def progress(line: str) -> None:
    """Write one progress line to stderr (the job's log) and to the workflow's terminal, if any."""
    print(line, file=sys.stderr, flush=True)
    fd = _terminal_fd()
    if fd is not None and fd != sys.stderr.fileno():
        try:
            os.write(fd, (line + "\n").encode())
        except OSError:
            pass  # a closed terminal must not fail the job
