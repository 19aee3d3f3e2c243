"""Energy of a simulated window from counted transitions and the Liberty data.

* internal: per cell output transition, the output's internal energy at its actual load (nominal
  input transition); per input-pin transition, the pin's internal energy (clock pins of flops);
* switching: per net transition, ``C V^2 / 2`` with ``C`` the sum of the input-pin capacitances the
  net drives (synthesis level: no wire capacitance; placed and routed designs would add it);
* SRAM: per counted read and write, the macro's access energy from its Liberty;
* leakage: cells' and macros' leakage power over the window's duration.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .gatelevel import Connectivity
from .liberty_model import LibertyError


@dataclass
class NetlistEnergyModel:
    """Per-net loads and per-transition energies of one netlist, precomputed once."""

    order: list[int]
    net_index: dict[int, int]
    switch_j: np.ndarray  # per counted net, energy of one transition: C V^2 / 2
    internal_j: np.ndarray  # per counted net, internal energy of its driver and sinks per transition
    leakage_w: float
    macro_instances: list[str]
    macro_energy: list[dict]
    voltage: float
    unknown_cells: list[str]


def build_energy_model(
    conn: Connectivity,
    order: list[int],
    cells: dict,
    macros: dict[str, dict],
    macro_instances: dict[str, str],
    voltage: float,
) -> NetlistEnergyModel:
    """Per-net loads and energies of ``conn`` from the Liberty models in ``cells`` (standard cells
    and the macros' own models, for their pin capacitances), ``macros`` the macros' access energies.

    A value the Liberty lacks is an error, never a 0 (``LibertyError`` naming library, cell and
    pin): a connected pin the cell's Liberty does not define, an input pin without a capacitance
    (nor a library default), a cell without leakage. Absent internal energy is legitimate: sky130
    books a buffer's input energy on its output (inputs without ``internal_power``) and a tie
    cell's output never toggles; the parser raises on unreadable tables, so absent means the
    Liberty has none. A macro's clock and output energy is its access energy (``macros``).
    """
    load_f: dict[int, float] = defaultdict(float)
    internal: dict[int, float] = defaultdict(float)
    leakage, unknown = 0.0, set()
    output_pins = []
    for inst, c in conn.cells.items():
        model = cells.get(c["type"])
        if model is None:
            unknown.add(c["type"])
            continue
        is_macro = c["type"] in macros
        where = f"library {model.get('library', '?')}, cell {c['type']}"
        if not is_macro:  # macro leakage is counted with the SRAM terms, not here
            if model.get("leakage_w") is None:
                raise LibertyError(f"{where}: no cell_leakage_power (nor a default_cell_leakage_power)")
            leakage += model["leakage_w"]
        for pin, bits in c["connections"].items():
            bits = [b for b in bits if isinstance(b, int)]  # constants drive no net
            if not bits:
                continue
            pm = model["pins"].get(pin)
            if pm is None:
                raise LibertyError(
                    f"{where}, pin {pin}: connected in the netlist (instance {inst}) but not in the Liberty"
                )
            direction = c["directions"].get(pin) or pm.get("direction")
            if direction == "input":
                if pm.get("cap_f") is None:
                    raise LibertyError(f"{where}, pin {pin}: no capacitance (nor a default_input_pin_cap)")
                for b in bits:
                    load_f[b] += pm["cap_f"]
                    if not is_macro:  # a macro's clock energy is its access energy
                        internal[b] += pm.get("internal_j", 0.0)  # absent: no internal_power on the pin
            elif direction == "output" and not is_macro and "internal_j_vs_load" in pm:
                output_pins.extend((b, pm["internal_j_vs_load"]) for b in bits)
            elif direction not in ("input", "output", "inout"):
                raise LibertyError(f"{where}, pin {pin}: no direction in the netlist or the Liberty")
    for b, (loads, energies) in output_pins:
        internal[b] += float(np.interp(load_f[b], loads, energies))
    net_index = {b: k for k, b in enumerate(order)}
    switch = np.array([0.5 * load_f[b] * voltage**2 for b in order])
    inter = np.array([internal[b] for b in order])
    insts = sorted(macro_instances)
    return NetlistEnergyModel(
        order,
        net_index,
        switch,
        inter,
        leakage,
        insts,
        [macros[macro_instances[i]] for i in insts],
        voltage,
        sorted(unknown),
    )


def window_energy(model: NetlistEnergyModel, toggles: np.ndarray, sram: list[tuple[int, int]], seconds: float) -> dict:
    """Energy components (joules) of one window from its transition and access counts."""
    sram_read = sum(r * m["read_j"] for (r, _), m in zip(sram, model.macro_energy, strict=True))
    sram_write = sum(w * m["write_j"] for (_, w), m in zip(sram, model.macro_energy, strict=True))
    sram_leak = sum(m["leakage_w"] for m in model.macro_energy) * seconds
    return {
        "internal_j": float(model.internal_j @ toggles),
        "switching_j": float(model.switch_j @ toggles),
        "logic_leakage_j": model.leakage_w * seconds,
        "sram_read_j": float(sram_read),
        "sram_write_j": float(sram_write),
        "sram_leakage_j": float(sram_leak),
        "sram_reads": int(sum(r for r, _ in sram)),
        "sram_writes": int(sum(w for _, w in sram)),
    }


def dynamic(e: dict) -> float:
    """Energy that scales with activity (what the cost model fits): logic internal and switching,
    SRAM accesses."""
    return e["internal_j"] + e["switching_j"] + e["sram_read_j"] + e["sram_write_j"]
