"""Energy-relevant data of Liberty libraries (parsed with the ``liberty-parser`` package).

Per cell: area, leakage, input pin capacitances, and internal energy per transition: for output
pins as a function of output load (at a nominal input transition), for input pins (clock pins of
flops, mostly) as one value. Rise and fall tables are averaged, and so are the tables of an output's
different related pins: a toggle's energy then does not depend on which input caused it.
For SRAM macros: the clock pin's energy per read and per write access (from the ``when``
conditions on chip select and write enable) and leakage.

Units are normalised to joules, farads, watts and seconds from the library's declared units. The
parsed model is cached as JSON (parsing a full library takes seconds).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

NOMINAL_TRANSITION_NS = 0.1  # input transition at which the internal-energy tables are read

_TIME = {"1ns": 1e-9, "1ps": 1e-12, "1us": 1e-6}
_POWER = {"1mw": 1e-3, "1uw": 1e-6, "1nw": 1e-9, "1pw": 1e-12}


def _floats(values) -> np.ndarray:
    text = " ".join(str(v) for v in (values if isinstance(values, list) else [values]))
    return np.array([float(x) for x in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", text)])


def _attr(group, name, default=None):
    try:
        value = group[name]
    except (KeyError, IndexError):
        return default
    return default if value is None else value


def _units(lib) -> dict:
    cap = lib["capacitive_load_unit"] if "capacitive_load_unit" in str(lib) else None
    cap_scale = 1e-12
    for attr in lib.attributes:
        if attr.name == "capacitive_load_unit":
            num, unit = attr.value
            cap_scale = float(num) * {"pf": 1e-12, "ff": 1e-15}[str(unit).strip('"').lower()]
    time_scale = _TIME[str(_attr(lib, "time_unit", "1ns")).strip('"').lower()]
    leak_scale = _POWER[str(_attr(lib, "leakage_power_unit", "1nw")).strip('"').lower()]
    voltage = float(_attr(lib, "nom_voltage", 1.8))
    del cap
    # Internal power tables are energies in (capacitance unit) x (voltage unit)^2.
    return {"cap": cap_scale, "time": time_scale, "leakage": leak_scale, "energy": cap_scale, "voltage": voltage}


def _table_energy(group, units, load_axis: bool) -> tuple[list[float], list[float]] | float | None:
    """Average of rise and fall tables: a (loads, energies) curve at the nominal transition, or a
    single energy for input-pin tables."""
    curves = []
    for kind in ("rise_power", "fall_power"):
        for table in group.get_groups(kind):
            values = _floats(table["values"])
            idx1 = _floats(_attr(table, "index_1", [])) if _attr(table, "index_1") is not None else None
            idx2 = _floats(_attr(table, "index_2", [])) if _attr(table, "index_2") is not None else None
            curves.append((idx1, idx2, values))
    if not curves:
        return None
    if load_axis:
        rows = []  # (loads, energies) per table; a scalar table is flat over load
        for idx1, idx2, values in curves:
            if values.size == 1:
                rows.append((None, float(values[0])))
            elif idx1 is not None and idx2 is not None and values.size == idx1.size * idx2.size:
                grid = values.reshape(idx1.size, idx2.size)
                rows.append(
                    (idx2, np.array([np.interp(NOMINAL_TRANSITION_NS, idx1, grid[:, j]) for j in range(idx2.size)]))
                )
            else:
                return None
        tables = [r for r in rows if r[0] is not None]
        if not tables:
            return float(np.mean([r[1] for r in rows])) * units["energy"]
        loads = tables[0][0]
        stacked = [np.interp(loads, r[0], r[1]) if r[0] is not None else np.full(loads.size, r[1]) for r in rows]
        return (list(loads * units["cap"]), list(np.mean(stacked, axis=0) * units["energy"]))
    vals = []
    for idx1, _, values in curves:
        if idx1 is not None and values.size == idx1.size and idx1.size > 1:
            vals.append(np.interp(NOMINAL_TRANSITION_NS, idx1, values))
        else:
            vals.append(float(np.mean(values)))
    return float(np.mean(vals)) * units["energy"]


def parse_library(path: str | Path) -> dict:
    """The energy model of one Liberty file."""
    from liberty.parser import parse_liberty

    lib = parse_liberty(Path(path).read_text())
    units = _units(lib)
    cells = {}
    for cell in lib.get_groups("cell"):
        name = str(cell.args[0]).strip('"')
        entry = {
            "area": float(_attr(cell, "area", 0.0)),
            "leakage_w": float(_attr(cell, "cell_leakage_power", 0.0)) * units["leakage"],
            "pins": {},
            "is_memory": bool(cell.get_groups("memory")),
        }
        pins = list(cell.get_groups("pin"))
        for bus in cell.get_groups("bus"):
            pins.extend(bus.get_groups("pin"))
        for pin in pins:
            pname = str(pin.args[0]).strip('"')
            direction = str(_attr(pin, "direction", "")).strip('"')
            info = {"direction": direction, "cap_f": float(_attr(pin, "capacitance", 0.0) or 0.0) * units["cap"]}
            groups = pin.get_groups("internal_power")
            if direction == "output":
                curves = [_table_energy(g, units, load_axis=True) for g in groups]
                curves = [c for c in curves if isinstance(c, tuple)]
                if curves:
                    loads = curves[0][0]
                    info["internal_j_vs_load"] = [
                        loads,
                        list(np.mean([np.interp(loads, c[0], c[1]) for c in curves], axis=0)),
                    ]
            else:
                if entry["is_memory"] and groups:
                    info["access_j"] = {}
                    for g in groups:
                        when = str(_attr(g, "when", "")).strip('"').replace(" ", "")
                        e = _table_energy(g, units, load_axis=False)
                        if e is not None:
                            # Rise and fall are averaged above; one access is one full clock cycle.
                            info["access_j"][when] = 2 * e
                else:
                    values = [_table_energy(g, units, load_axis=False) for g in groups]
                    values = [v for v in values if isinstance(v, float)]
                    if values:
                        info["internal_j"] = float(np.mean(values))
            for key in ("bus_type",):
                info.pop(key, None)
            entry["pins"][pname] = info
        cells[name] = entry
    return {"source": str(path), "units": units, "cells": cells}


def load_library(path: str | Path, cache_dir: str | Path) -> dict:
    """Parsed model of ``path``, cached under ``cache_dir`` (keyed by the file's content hash)."""
    from ..pdk import sha256

    path = Path(path)
    digest = sha256(path)[:16]
    cache = Path(cache_dir) / f"{path.stem}.{digest}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    model = parse_library(path)
    model["sha256"] = sha256(path)
    from ..atomic_files import atomic_write_text

    atomic_write_text(cache, json.dumps(model))
    return model


def sram_access_energy(model: dict, cell: str, clock_pin: str = "clk0") -> dict:
    """Energy of one read and one write of port 0, and the macro's leakage, from its Liberty.

    OpenRAM's sky130 Liberty books the same clock energy whatever the chip select: we charge it
    per access (chip select low) and take a deselected cycle to cost leakage only, since the macro's
    control logic does not fire then.
    """
    pin = model["cells"][cell]["pins"][clock_pin]
    access = pin.get("access_j", {})

    def pick(*conds):
        for c in conds:
            if c in access:
                return access[c]
        raise KeyError(f"{cell}: no clock energy for {conds} in {sorted(access)}")

    return {
        "read_j": pick("!csb0&web0", "!csb0"),
        "write_j": pick("!csb0&!web0", "!csb0"),
        "leakage_w": model["cells"][cell]["leakage_w"],
        "how": "clk0 internal_power (rise + fall) under the when-condition of the access, from the macro Liberty",
    }
