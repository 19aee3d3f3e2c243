"""Benchmark: an RTL edit of one encoding -> updated energy table, on the small configuration.

Builds the energy table once in a scratch copy of the workflow, appends a comment line to
templates/rtl/pb_bmp.v.j2 (every rendered design of that encoding changes), and times the rerun to
``results/energy/energy_table.csv``, printing which rules reran. Only the pb_bmp branch may rerun.
Target (SPEC.md section 6): under 60 seconds on this machine. Prints a ratio; asserts nothing.
Usage: python benchmarks/incremental.py
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("Snakefile", "rules", "config", "pdk_configs", "profiles", "spikemem", "envs", "templates", "analysis")
TARGET = "results/energy/energy_table.csv"
CMD = [sys.executable, "-m", "snakemake", TARGET, "--cores", "2", "--configfile", "config/test_small.yaml"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wf = Path(tmp) / "wf"
        wf.mkdir()
        for item in SOURCES:
            src = ROOT / item
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, wf / item)
        subprocess.run(CMD, cwd=wf, check=True, capture_output=True)
        template = wf / "templates/rtl/pb_bmp.v.j2"
        template.write_text(template.read_text() + "// benchmark edit\n")
        start = time.perf_counter()
        out = subprocess.run(CMD, cwd=wf, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        reran = Counter(re.findall(r"^(?:local)?rule (\w+):", out.stdout + out.stderr, flags=re.M))
        designs = sorted(set(re.findall(r"wildcards: design=(\S+)", out.stdout + out.stderr)))
    print(f"rerun after editing templates/rtl/pb_bmp.v.j2: {seconds:.1f} s  (target 60 s: ratio {seconds / 60:.2f})")
    print("rules rerun:", dict(reran))
    print("designs rerun:", designs)
    others = [d for d in designs if not d.startswith("pb_bmp-")]
    print("only the pb_bmp branch reran" if not others else f"OTHER designs reran: {others}")


if __name__ == "__main__":
    main()
