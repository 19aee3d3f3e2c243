"""Energy per read, write and deselected cycle of an OpenRAM macro at transistor level: ngspice
transients of the reduced macro (:mod:`spikemem.sram.netlist`) at two or more data-bit counts,
extrapolated linearly to the macro's word.

Each run plays back-to-back cycles of one kind, so that a measured cycle is in the steady state of
its kind (an access's bitline recharge is paid in the next selected cycle's precharge half): four
writes alternating rows 0 and 1, each flipping every kept bit of its row, four reads alternating
the two rows (which hold complementary data), four deselected cycles; the last two of each kind are
measured. Energy per cycle is the supply's: the integral of V(vccd1) x I over the cycle. The input
pins' own charge (the controller's, counted in its gate-level energy) is not included.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .netlist import GROUND, SUPPLY, Reduced

KINDS = ("write", "read", "deselected")
CYCLES_PER_KIND = 4
MEASURED = (2, 3)  # which cycles of each kind are measured (0-based, the steady state)
VDD = 1.8
TEMPERATURE_C = 25.0
EDGE_NS = 0.1  # input and clock transition time
SETUP_NS = 3.0  # inputs change this long before the clock's rising edge


class SpiceError(RuntimeError):
    """ngspice is missing or its run failed."""


@dataclass(frozen=True)
class Ports:
    """The macro's port-0 pins as the top subcircuit names them."""

    addr: tuple[str, ...]
    din: tuple[str, ...]
    wmask: tuple[str, ...]
    others: tuple[str, ...]  # every other pin of the top, tied to its idle level


def ports_of(top_ports: Sequence[str]) -> Ports:
    """The top subcircuit's pins sorted into what the testbench drives."""

    def bus(name: str) -> tuple[str, ...]:
        pins = [p for p in top_ports if p.startswith(f"{name}[")]
        return tuple(sorted(pins, key=lambda p: int(p[len(name) + 1 : -1])))

    addr, din, wmask = bus("addr0"), bus("din0"), bus("wmask0")
    driven = {*addr, *din, *wmask, "clk0", "csb0", "web0", SUPPLY, GROUND}
    return Ports(addr, din, wmask, tuple(p for p in top_ports if p not in driven))


def _node(name: str, names: dict[str, str]) -> str:
    """A SPICE-safe node name (ngspice reads brackets and dots in its own ways): a top-level pin
    keeps its name with brackets as underscores, an internal net becomes n<k>."""
    if name in (SUPPLY, GROUND):
        return name
    if name not in names:
        names[name] = f"p_{re.sub(r'[^a-z0-9_]', '_', name)}" if "." not in name else f"n{len(names)}"
    return names[name]


def _pwl(points: list[tuple[float, float]]) -> str:
    return "pwl(" + " ".join(f"{t:.4g}n {v:.4g}" for t, v in points) + ")"


def _wave(levels: list[float], period_ns: float) -> str:
    """A PWL input that takes ``levels[k]`` from SETUP_NS before cycle k's rising edge."""
    pts = [(0.0, levels[0])]
    for k in range(1, len(levels)):
        if levels[k] != levels[k - 1]:
            t = (k + 0.5) * period_ns - SETUP_NS
            pts += [(t, levels[k - 1]), (t + EDGE_NS, levels[k])]
    return _pwl(pts)


def schedule(bits: int, words_per_row: int) -> list[dict]:
    """The cycles of one run: per cycle its kind, chip select, write enable, address and data."""
    cycles = []
    data = [0] * bits
    for kind in KINDS:
        for k in range(CYCLES_PER_KIND):
            row = k % 2 if kind != "deselected" else 0
            if kind == "write":  # rows 0 and 1 hold complementary data; each write flips its row's bits
                stored = [(b + row) % 2 for b in range(bits)]
                data = [1 - v for v in stored] if k // 2 % 2 == 0 else stored
            # Reads and deselected cycles hold the data pins (the controller isolates them).
            cycles.append(
                {
                    "kind": kind,
                    "csb": 1 if kind == "deselected" else 0,
                    "web": 0 if kind == "write" else 1,
                    "address": row * words_per_row,
                    "data": list(data),
                }
            )
    return cycles


def deck(
    reduced: Reduced,
    ports: Ports,
    models: Path,
    period_ns: float,
    words_per_row: int,
    bitline_cap_ff: float = 0.0,
) -> tuple[str, list[tuple[str, int]]]:
    """The ngspice deck of one run and the measurements it makes: (name, cycle index)."""
    names: dict[str, str] = {}
    lines = [
        f"* reduced macro: {reduced.bits} data bits, columns {reduced.columns}, rows {list(reduced.rows)}",
        ".option scale=1.0u",
        f'.lib "{models}" tt',
        f".temp {TEMPERATURE_C}",
    ]
    for i, d in enumerate(reduced.devices):
        nodes = " ".join(_node(n, names) for n in d.nodes)
        lines.append(f"x{i} {nodes} {d.model} {' '.join(d.params)}")
    if bitline_cap_ff:
        bitlines = sorted({n for d in reduced.devices for n in d.nodes if re.search(r"\.(bl|br)_0_\d+$", n)})
        lines += [f"cbl{i} {_node(n, names)} 0 {bitline_cap_ff}f" for i, n in enumerate(bitlines)]
    cycles = schedule(reduced.bits, words_per_row)
    n = len(cycles) + 1  # a warm-up cycle (a deselected one) first
    lines += [f"vvdd {SUPPLY} 0 {VDD}", f"vvss {GROUND} 0 0"]
    clock = [(0.0, 0.0)]
    for k in range(n):
        rise = (k + 0.5) * period_ns
        clock += [
            (rise, 0.0),
            (rise + EDGE_NS, VDD),
            (rise + period_ns / 2, VDD),
            (rise + period_ns / 2 + EDGE_NS, 0.0),
        ]
    lines.append(f"vclk0 {_node('clk0', names)} 0 {_pwl(clock)}")
    warm = {"csb": 1, "web": 1, "address": 0, "data": [0] * reduced.bits}
    plan = [warm, *cycles]
    lines.append(f"vcsb0 {_node('csb0', names)} 0 {_wave([VDD * c['csb'] for c in plan], period_ns)}")
    lines.append(f"vweb0 {_node('web0', names)} 0 {_wave([VDD * c['web'] for c in plan], period_ns)}")
    for b, pin in enumerate(ports.addr):
        lines.append(f"va{b} {_node(pin, names)} 0 {_wave([VDD * (c['address'] >> b & 1) for c in plan], period_ns)}")
    for b, pin in enumerate(ports.din[: reduced.bits]):
        lines.append(f"vd{b} {_node(pin, names)} 0 {_wave([VDD * c['data'][b] for c in plan], period_ns)}")
    lines += [f"vm{b} {_node(pin, names)} 0 {VDD}" for b, pin in enumerate(ports.wmask)]
    # The other port idles (deselected, its clock low); outputs are left open.
    for pin in ports.others:
        if pin.startswith("csb1"):
            lines.append(f"v_{_node(pin, names)} {_node(pin, names)} 0 {VDD}")
        elif pin.startswith(("clk1", "addr1")):
            lines.append(f"v_{_node(pin, names)} {_node(pin, names)} 0 0")
    # Kept bitcells start holding complementary rows (row 0: 0101..., row 1: 1010...).
    ics = []
    for (row, col), (q, q_bar) in sorted(reduced.storage.items()):
        v = VDD * ((col // words_per_row + row) % 2)
        ics += [f"v({_node(q, names)})={v}", f"v({_node(q_bar, names)})={VDD - v}"]
    lines.append(".ic " + " ".join(ics))
    measures = []
    for k, c in enumerate(cycles):
        if k % CYCLES_PER_KIND in MEASURED:
            name = f"e_{c['kind']}_{k}"
            start = (k + 1 + 0.5) * period_ns
            lines.append(f".meas tran {name} integ i(vvdd) from={start:.4g}n to={start + period_ns:.4g}n")
            measures.append((name, k))
    lines += [f".tran 10p {(n + 0.5) * period_ns:.4g}n uic", ".end"]
    return "\n".join(lines) + "\n", measures


SPICEINIT = "set ngbehavior=hsa\nset skywaterpdk\nset ng_nomodcheck\n"


def run(deck_text: str, measures: Sequence[tuple[str, int]], work: Path, timeout_s: float = 7200) -> dict[str, float]:
    """Run one deck in ngspice (batch mode) and read its measurements from the log: the supply
    energy (J) of each measured cycle, keyed by measurement name."""
    exe = shutil.which("ngspice")
    if exe is None:
        raise SpiceError("ngspice not found: install it (Debian: apt-get install ngspice)")
    work.mkdir(parents=True, exist_ok=True)
    deck_file, log_file = work / "deck.sp", work / "ngspice.log"
    # A finished run of the same deck (its log written after it, every measurement in it) is
    # reused: an interrupted characterization resumes where it stopped.
    reuse = (
        deck_file.exists()
        and deck_file.read_text() == deck_text
        and log_file.exists()
        and log_file.stat().st_mtime >= deck_file.stat().st_mtime
        and all(name in _measured(log_file.read_text(errors="replace")) for name, _ in measures)
    )
    returncode = 0
    if not reuse:
        (work / ".spiceinit").write_text(SPICEINIT)
        deck_file.write_text(deck_text)
        log_file.unlink(missing_ok=True)
        cmd = [exe, "-b", "deck.sp", "-o", "ngspice.log"]
        returncode = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout_s).returncode
    log = log_file.read_text(errors="replace") if log_file.exists() else ""
    found = _measured(log)
    missing = [name for name, _ in measures if name not in found]
    if returncode != 0 or missing:
        tail = "\n".join(log.splitlines()[-15:])
        raise SpiceError(f"ngspice run in {work} failed (exit {returncode}; missing {missing}):\n{tail}")
    # i(vvdd) flows into the source's + terminal: the supply delivers -V * integral
    return {name: -VDD * found[name] for name, _ in measures}


def elapsed_seconds(work: Path) -> float | None:
    """The wall time ngspice reports for the run in ``work`` (also for a reused run)."""
    log = work / "ngspice.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    m = re.search(r"Total elapsed time \(seconds\) =\s*([0-9.]+)", text)
    return float(m.group(1)) if m else None


def _measured(log: str) -> dict[str, float]:
    """The measurements an ngspice log prints (``name = value from= ... to= ...``)."""
    pattern = r"^\s*(e_\w+)\s*=\s*([-+0-9.eE]+)"
    return {m.group(1): float(m.group(2)) for m in re.finditer(pattern, log, flags=re.MULTILINE)}


def per_kind(energies: Mapping[str, float]) -> dict[str, float]:
    """Mean measured energy per cycle of each kind (J)."""
    out = {}
    for kind in KINDS:
        vals = [e for name, e in energies.items() if name.startswith(f"e_{kind}_")]
        out[kind] = sum(vals) / len(vals)
    return out


def linear_in_bits(by_bits: Mapping[int, Mapping[str, float]], word_bits: int) -> dict[str, dict[str, float]]:
    """Per kind, the fixed part and the part per data bit of a least-squares line through the runs
    at several bit counts, and the energy of the full word: fixed + word_bits x per bit."""
    import numpy as np

    bits = sorted(by_bits)
    if len(bits) < 2:
        raise ValueError("the line needs runs at two bit counts or more")
    out = {}
    for kind in KINDS:
        y = np.array([by_bits[b][kind] for b in bits])
        per_bit, fixed = np.polyfit(np.array(bits, dtype=float), y, 1)
        out[kind] = {"fixed_j": float(fixed), "per_bit_j": float(per_bit), "word_j": float(fixed + word_bits * per_bit)}
    return out
