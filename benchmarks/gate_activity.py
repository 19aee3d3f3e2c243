"""Benchmark: gate-level activity of a design in Verilator against Icarus, same netlist, same events.

Characterizes each design once as the pipeline does (Verilator), then, on that netlist and the
stimulus files of every run of its characterization (each operation at each density, the reset
check's runs, the idle window), times the build and all the runs in three set-ups:

- ``verilator``: the pipeline's build (Verilator's runtime objects from ccache, the design's C++
  compiled anew under a fresh class prefix) and runs;
- ``icarus``: the same counting module in Icarus Verilog, the reference; its activity files must be
  byte-identical to Verilator's (the reset check's runs excepted: each simulator draws its own
  random start state);
- ``icarus-events``: the counter the pipeline used before the counting module, an ``always @(net)`` block per
  net in Icarus (it also counts zero-delay glitches, so its counts differ by those): the
  "today's Icarus counting" of issue 14.

Prints seconds and ratios (SPEC target: Verilator at least 5x faster than ``icarus-events``).
Asserts nothing but the identity of the counts. Usage:
    python benchmarks/gate_activity.py [DESIGN ...]
(default: pb_csr-fc16x16-w4 pb_bmp-fc32x32-w4 pb_csr-fc32x32-w4).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spikemem.config import designs, load_config
from spikemem.pdk import load_pdk_config
from spikemem.processes import run_tool
from spikemem.rtl.render import render_stage
from spikemem.rtl.simulator import verilator_build
from spikemem.synth.characterize import characterize
from spikemem.synth.gatelevel import VERILATOR_OPTIMIZE_ABOVE_NETS, _ref, load_connectivity, macro_instances

DEFAULT_DESIGNS = ("pb_csr-fc16x16-w4", "pb_bmp-fc32x32-w4", "pb_csr-fc32x32-w4")


def event_counter_module(conn, macros) -> str:
    """The pipeline's earlier counter: one ``always @(net)`` counter per net."""
    order = sorted(conn.names)
    lines = [
        "module spikemem_activity;",
        f"    integer counts [0:{max(len(order) - 1, 0)}];",
        "    integer k, fd;",
        "    reg [8*512-1:0] path;",
        "    initial begin",
        f"        for (k = 0; k < {len(order)}; k = k + 1) counts[k] = 0;",
        '        if (!$value$plusargs("activity=%s", path)) path = "activity.txt";',
        '        fd = $fopen(path, "w");',
        "    end",
    ]
    for k, bit in enumerate(order):
        ref = _ref(conn.names[bit], conn.ports)
        lines.append(f"    always @({ref}) if (tb.counting) counts[{k}] = counts[{k}] + 1;")
    counters = "".join(f' $fwrite(fd, " %0d %0d", {_ref(i)}.n_reads, {_ref(i)}.n_writes);' for i in macros)
    lines += [
        '    always @(tb.snapshot) begin $fwrite(fd, "S %0d %0d", tb.events_done, tb.now);' + counters,
        f'        for (k = 0; k < {len(order)}; k = k + 1) $fwrite(fd, " %0d", counts[k]);',
        '        $fwrite(fd, "\\n"); $fflush(fd); end',
        '    always @(tb.events_done) if (tb.counting) begin $fwrite(fd, "E %0d %0d", tb.events_done, tb.now);'
        + counters
        + ' $fwrite(fd, "\\n"); end',
        "endmodule",
    ]
    return "\n".join(lines) + "\n"


def runs_of(gl: Path) -> list[tuple[str, list[str]]]:
    """(run directory relative to ``gl``, the plusargs it ran with) of every run of a characterization."""
    found = []
    for log in sorted(gl.rglob("sim.log")):
        words = log.read_text().splitlines()[0].split()
        found.append((str(log.parent.relative_to(gl)), [w for w in words if w.startswith("+")]))
    return found


def time_runs(cmd: list[str], runs, out: Path) -> float:
    start = time.perf_counter()
    for name, args in runs:
        (out / name).mkdir(parents=True, exist_ok=True)
        redirected = [
            f"+activity={out / name / 'activity.txt'}"
            if a.startswith("+activity=")
            else f"+out={out / name / 'out.txt'}"
            if a.startswith("+out=")
            else a
            for a in args
        ]
        subprocess.run([*cmd, *redirected], check=True, capture_output=True)
    return time.perf_counter() - start


def measure(cfg, design, tmp: Path) -> dict:
    rtl, work = tmp / "rtl", tmp / "work"
    render_stage(cfg, design, rtl)
    result = characterize(cfg, design, rtl, work, tmp / "c.json", tmp / "cache")
    gl = work / "gl"
    sources = [w for w in (gl / "gl_build.log").read_text().split() if w.endswith(".v")]
    runs = runs_of(gl)
    conn = load_connectivity(gl / "gl.json", result["top"])
    n_nets = result["gate_simulation"]["nets"]
    out: dict[str, dict] = {}

    start = time.perf_counter()
    opt = "-O1" if n_nets > VERILATOR_OPTIMIZE_ABOVE_NETS else "-O0"
    prefix = f"Vbench{time.time_ns()}"  # new C++ class names: the design's objects are not in ccache
    cmd = verilator_build(sources, ["-DSPIKEMEM_GATE_SIM"], tmp / "vl", tmp / "vl.log", opt=opt, prefix=prefix)
    out["verilator"] = {"build_s": time.perf_counter() - start, "runs_s": time_runs(cmd, runs, tmp / "out-vl")}

    for name, activity in (("icarus", gl / "activity.v"), ("icarus-events", tmp / "events_activity.v")):
        if name == "icarus-events":
            macros = macro_instances(conn, load_pdk_config(cfg["pdk"]).sram_macros)
            activity.write_text(event_counter_module(conn, macros))
        srcs = [s if not s.endswith("activity.v") else str(activity) for s in sources]
        start = time.perf_counter()
        binary = tmp / f"{name}.vvp"
        run_tool(["iverilog", "-g2005", "-DSPIKEMEM_GATE_SIM", "-s", "tb", "-o", str(binary), *srcs], tmp / "iv.log")
        build = time.perf_counter() - start
        out[name] = {"build_s": build, "runs_s": time_runs(["vvp", "-n", str(binary)], runs, tmp / f"out-{name}")}

    compared = 0
    for name, _ in runs:
        if name.startswith("reset-check"):
            continue
        a, b = (tmp / d / name / "activity.txt" for d in ("out-vl", "out-icarus"))
        if a.read_bytes() != b.read_bytes():
            sys.exit(f"{design.name} {name}: Verilator and Icarus counts differ")
        compared += 1
    cycles = sum(r["cycles"] for r in result["runs"])
    return {"nets": n_nets, "runs": len(runs), "cycles": cycles, "identical_runs": compared, **out}


def main() -> None:
    names = sys.argv[1:] or list(DEFAULT_DESIGNS)
    cfg = load_config(None)
    by_name = {d.name: d for d in designs(cfg)}
    if not shutil.which("ccache"):
        print("note: no ccache; every Verilator build compiles Verilator's runtime too")
    print("gate-level activity, build + all runs of one characterization (seconds), each design as it is measured:")
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            r = measure(cfg, by_name[name], Path(tmp))
        total = {k: r[k]["build_s"] + r[k]["runs_s"] for k in ("verilator", "icarus", "icarus-events")}
        print(
            f"  {name}: {r['nets']} nets, {r['runs']} runs, {r['cycles']} workload cycles; counts identical "
            f"in {r['identical_runs']} runs"
        )
        for k in total:
            print(f"    {k:14s} build {r[k]['build_s']:6.1f}  runs {r[k]['runs_s']:7.1f}  total {total[k]:7.1f}")
        print(
            f"    Verilator is {total['icarus-events'] / total['verilator']:.1f}x faster than the event counter "
            f"(target >= 5x), {total['icarus'] / total['verilator']:.1f}x faster than Icarus with the same counts",
            flush=True,
        )


if __name__ == "__main__":
    main()
