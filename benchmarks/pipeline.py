"""Benchmark: the whole pipeline from a clean state, as a newcomer runs it (`snakemake --cores 2 all`).

Copies the workflow (no results, no logs, no .snakemake) into a scratch directory, runs the
configuration there and prints:
- the wall time and its ratio to the SPEC target (20 minutes for the default configuration on two
  cores);
- the CPU time of the Snakemake process itself (scheduling, file checks: time the jobs do not get);
- per rule, the summed wall time of its jobs (Snakemake's `benchmark:` files) and its share, the
  five most expensive first;
- how busy the cores were (summed job time / wall time / cores);
- where characterization time goes: its stages (synthesis, simulator build, gate-level runs, ...)
  summed over designs from each result's ``stage_seconds``, and the mean per design;
- the lower bound this sets on the wall time (all job time spread perfectly over the cores).
Prints ratios; asserts nothing.

Usage: python benchmarks/pipeline.py [--configfile config/config.yaml] [--cores 2] [--keep DIR]
A full default run takes tens of minutes; `--configfile config/test_small.yaml` takes a few.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("Snakefile", "rules", "config", "pdk_configs", "profiles", "spikemem", "envs", "templates", "analysis")
TARGET_S = 20 * 60


def rule_times(results: Path) -> pd.DataFrame:
    """Summed wall time and job count per rule (a variant's jobs count under their rule)."""
    rows = []
    for tsv in (results / "benchmarks").glob("*/*.tsv"):
        rule = tsv.parent.name.split("-")[0]
        rows.append({"rule": rule, "seconds": float(pd.read_csv(tsv, sep="\t")["s"].max())})
    frame = pd.DataFrame(rows, columns=["rule", "seconds"])
    table = frame.groupby("rule")["seconds"].agg(["sum", "count"]).sort_values("sum", ascending=False)
    table["share"] = table["sum"] / table["sum"].sum()
    return table


def characterize_stages(results: Path) -> pd.Series:
    """Seconds per characterization stage, summed over every design (and variant) characterized."""
    totals: dict[str, float] = {}
    for path in results.glob("synth*/*/characterization.json"):
        for stage, seconds in json.loads(path.read_text()).get("stage_seconds", {}).items():
            totals[stage] = totals.get(stage, 0.0) + seconds
    return pd.Series(totals, dtype=float).sort_values(ascending=False)


def run(workdir: Path, configfile: str, cores: int) -> tuple[float, float]:
    """Run the pipeline in ``workdir``; return its wall time and the Snakemake process's own CPU time."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "all", "--configfile", configfile]
    # As `make run` does: the PDK beside the checkout unless PDK_ROOT says otherwise.
    env = {"PDK_ROOT": str((ROOT.parent / "shared/pdk").resolve()), **os.environ}
    log = workdir / "pipeline-benchmark.log"
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
        watched, own_cpu = psutil.Process(proc.pid), 0.0
        while proc.poll() is None:
            try:
                times = watched.cpu_times()
                own_cpu = times.user + times.system  # this process only, not its jobs
            except psutil.Error:
                pass
            time.sleep(1.0)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"the pipeline failed (exit {proc.returncode}); see {log}")
    return wall, own_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default="config/config.yaml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="run in this (new) directory and keep it")
    args = parser.parse_args()
    scratch = None
    if args.keep:
        workdir = args.keep
        workdir.mkdir(parents=True)
    else:
        scratch = tempfile.TemporaryDirectory()
        workdir = Path(scratch.name)
    for item in SOURCES:
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, workdir / item)
    wall, own_cpu = run(workdir, args.configfile, args.cores)
    table = rule_times(workdir / "results")
    job_s = table["sum"].sum()
    print(f"pipeline {args.configfile}, {args.cores} cores, clean start: {wall / 60:.1f} min wall")
    if args.configfile == "config/config.yaml":
        print(f"  ratio to the 20-minute target: {wall / TARGET_S:.2f}")
    print(f"  Snakemake's own CPU: {own_cpu:.0f} s ({own_cpu / wall:.0%} of one core)")
    print(f"  jobs with benchmark files: {job_s:.0f} s summed; cores busy {job_s / wall / args.cores:.0%}")
    print("  most expensive rules (summed job wall time, share, jobs):")
    for rule, row in table.head(5).iterrows():
        print(f"    {rule:16s} {row['sum']:8.0f} s  {row['share']:5.1%}  {int(row['count'])}")
    floor = job_s / args.cores
    print(f"  lower bound with perfect packing: {floor / 60:.1f} min (ratio {floor / TARGET_S:.2f} to 20 min)")
    stages = characterize_stages(workdir / "results")
    if len(stages):
        n = len(list((workdir / "results").glob("synth*/*/characterization.json")))
        print(f"  characterization stages over {n} designs (summed s, mean s per design):")
        for stage, seconds in stages.items():
            print(f"    {stage:16s} {seconds:8.0f} s  {seconds / n:6.1f}")
    if scratch is not None:
        scratch.cleanup()


if __name__ == "__main__":
    main()
