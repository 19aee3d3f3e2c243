"""Benchmark: measured time and peak memory of every rule of a finished run, against the SPEC target
(peak memory of any rule under 4 GiB, so `--cores 8` fits a laptop) and against the resources the
rules declare for a cluster (`mem_mb`, `runtime`: a job that outgrows them is killed by SLURM).

The measurements are Snakemake's own `benchmark:` files (results/benchmarks/<rule>/<job>.tsv,
written by the heavy rules); the declared resources come from a dry run of the same configuration.
Prints a table and the ratios; asserts nothing.

Usage: python benchmarks/rule_resources.py [--results results] [--configfile config/config.yaml]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

TARGET_MIB = 4096


def measured(results: Path) -> pd.DataFrame:
    rows = []
    for tsv in sorted((results / "benchmarks").glob("*/*.tsv")):
        bench = pd.read_csv(tsv, sep="\t")
        rows.append(
            {
                "rule": tsv.parent.name,
                "job": tsv.stem,
                "seconds": float(bench["s"].max()),
                "max_rss_mib": float(pd.to_numeric(bench["max_rss"], errors="coerce").max()),
            }
        )
    return pd.DataFrame(rows)


def declared(workdir: Path, configfile: str) -> dict[str, dict[str, float]]:
    """mem_mb and runtime (minutes) per rule, as a forced dry run resolves them."""
    cmd = [sys.executable, "-m", "snakemake", "-n", "-F", "all", "--configfile", configfile]
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=True).stdout
    resources: dict[str, dict[str, float]] = {}
    rule = None
    for line in out.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line):
            rule = m.group(1)
        elif rule and (m := re.match(r"^\s+resources: (.*)", line)):
            pairs = dict(p.split("=", 1) for p in m.group(1).split(", ") if "=" in p)
            resources[rule] = {k: float(pairs[k]) for k in ("mem_mb", "runtime") if k in pairs}
    return resources


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default="results")
    p.add_argument("--configfile", default="config/config.yaml")
    args = p.parse_args()
    results = Path(args.results)
    jobs = measured(results)
    if jobs.empty:
        sys.exit(f"no benchmark files under {results}/benchmarks: run the workflow first")
    limits = declared(results.resolve().parent, args.configfile)
    per_rule = jobs.groupby("rule").agg(
        jobs=("job", "count"),
        max_seconds=("seconds", "max"),
        total_seconds=("seconds", "sum"),
        max_rss_mib=("max_rss_mib", "max"),
    )
    per_rule["declared_mem_mb"] = [limits.get(r, {}).get("mem_mb") for r in per_rule.index]
    per_rule["declared_runtime_min"] = [limits.get(r, {}).get("runtime") for r in per_rule.index]
    per_rule["rss_over_declared"] = per_rule.max_rss_mib / per_rule.declared_mem_mb
    per_rule["time_over_declared"] = per_rule.max_seconds / 60 / per_rule.declared_runtime_min
    pd.set_option("display.width", 160)
    print(per_rule.round(2).to_string())
    print("(declared NaN: the rule declares nothing; the cluster profile's default-resources apply)")
    peak = per_rule.max_rss_mib.max()
    print(f"\npeak memory of any rule: {peak:.0f} MiB = {peak / TARGET_MIB:.2f} x the 4 GiB target")
    over = per_rule[(per_rule.rss_over_declared > 1) | (per_rule.time_over_declared > 1)]
    print("rules exceeding their declared cluster resources:", ", ".join(over.index) or "none")


if __name__ == "__main__":
    main()
