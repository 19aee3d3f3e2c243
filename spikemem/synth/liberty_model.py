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

import hashlib
import json
import re
from pathlib import Path

import numpy as np

NOMINAL_TRANSITION_NS = 0.1  # input transition at which the internal-energy tables are read

_TIME = {"1ns": 1e-9, "1ps": 1e-12, "1us": 1e-6}
_POWER = {"1mw": 1e-3, "1uw": 1e-6, "1nw": 1e-9, "1pw": 1e-12}
_CAP = {"pf": 1e-12, "ff": 1e-15}
_TRANSITION = ("input_transition_time", "input_net_transition")
_LOAD = ("total_output_net_capacitance",)


class LibertyError(ValueError):
    """A Liberty value the energy model needs is missing or cannot be read."""


def _floats(values, where: str) -> np.ndarray:
    """The numbers of a Liberty ``values``/``index`` attribute; anything else in it is an error."""
    text = " ".join(str(v) for v in (values if isinstance(values, list) else [values]))
    items = [x for x in re.split(r"[\s,\\]+", text.replace('"', " ")) if x]
    try:
        out = np.array([float(x) for x in items])
    except ValueError:
        raise LibertyError(f"{where}: not a list of numbers: {text[:120]!r}") from None
    if out.size == 0 or not np.all(np.isfinite(out)):
        raise LibertyError(f"{where}: no numbers or non-finite numbers: {text[:120]!r}")
    return out


def _attr(group, name, default=None):
    try:
        value = group[name]
    except (KeyError, IndexError):
        return default
    return default if value is None else value


def _unit(table: dict, value, what: str, lib_name: str) -> float:
    key = str(value).strip('"').replace(" ", "").lower()
    if key not in table:
        raise LibertyError(f"library {lib_name}: unknown {what} {value!r} (known: {sorted(table)})")
    return table[key]


def _units(lib, lib_name: str) -> dict:
    cap_scale = None
    for attr in lib.attributes:
        if attr.name == "capacitive_load_unit":
            num, unit = attr.value
            cap_scale = float(num) * _unit(_CAP, unit, "capacitive_load_unit", lib_name)
    if cap_scale is None:  # every capacitance and internal energy is in this unit: no guessing it
        raise LibertyError(f"library {lib_name}: no capacitive_load_unit")
    # Liberty's documented defaults where a library leaves the unit out (1ns; 1nW is ours, checked below).
    time_scale = _unit(_TIME, _attr(lib, "time_unit", "1ns"), "time_unit", lib_name)
    leak = _attr(lib, "leakage_power_unit")
    leak_scale = _unit(_POWER, leak, "leakage_power_unit", lib_name) if leak is not None else None
    voltage = float(_attr(lib, "nom_voltage", 1.8))
    # Internal power tables are energies in (capacitance unit) x (voltage unit)^2.
    return {"cap": cap_scale, "time": time_scale, "leakage": leak_scale, "energy": cap_scale, "voltage": voltage}


def _templates(lib) -> dict[str, dict]:
    """Table templates by name: their variables and default indices."""
    out = {}
    for kind in ("power_lut_template", "lu_table_template"):
        for t in lib.get_groups(kind):
            name = str(t.args[0]).strip('"')
            out[name] = {
                "variables": [str(_attr(t, f"variable_{i}", "")).strip('"') for i in (1, 2, 3)],
                "index": [_attr(t, f"index_{i}") for i in (1, 2, 3)],
            }
    return out


def _read_table(table, templates: dict, where: str) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """(transitions, loads, values) of one power table, with the axes the template names (an index
    the table leaves out is the template's); a scalar table has neither axis."""
    name = str(table.args[0]).strip('"') if table.args else "scalar"
    values = _floats(_attr(table, "values", []), f"{where}: values")
    if name == "scalar":
        if values.size != 1:
            raise LibertyError(f"{where}: scalar table with {values.size} values")
        return None, None, values
    if name not in templates:
        raise LibertyError(f"{where}: table template {name!r} is not defined in the library")
    tpl = templates[name]
    axes = {}
    shape = []
    for i, var in enumerate(tpl["variables"]):
        if not var:
            continue
        raw = _attr(table, f"index_{i + 1}", tpl["index"][i])
        if raw is None:
            raise LibertyError(f"{where}: no index_{i + 1} ({var}) in the table or its template {name}")
        idx = _floats(raw, f"{where}: index_{i + 1}")
        if var in _TRANSITION:
            axes["transition"] = (len(shape), idx)
        elif var in _LOAD:
            axes["load"] = (len(shape), idx)
        else:
            raise LibertyError(f"{where}: power table variable {var!r} of template {name} is not supported")
        shape.append(idx.size)
    if values.size != int(np.prod(shape)):
        raise LibertyError(f"{where}: {values.size} values for a {' x '.join(map(str, shape))} table")
    grid = values.reshape(shape)
    if "transition" in axes and "load" in axes and axes["transition"][0] == 1:
        grid = grid.T  # transition first
    tr = axes.get("transition", (None, None))[1]
    ld = axes.get("load", (None, None))[1]
    return tr, ld, grid


def _table_energy(group, units, load_axis: bool, templates: dict, where: str):
    """Average of the rise and fall tables (or the one ``power`` table) of an ``internal_power``
    group: a (loads, energies) curve at the nominal transition, or a single energy for an input pin.
    A group without any table, or a table that cannot be read, raises."""
    tables = [(kind, t) for kind in ("rise_power", "fall_power", "power") for t in group.get_groups(kind)]
    if not tables:
        raise LibertyError(f"{where}: internal_power group without a rise_power, fall_power or power table")
    nominal = NOMINAL_TRANSITION_NS * 1e-9 / units["time"]  # in the library's time unit
    rows = []  # (loads or None, energies or energy) per table
    for kind, t in tables:
        tr, ld, grid = _read_table(t, templates, f"{where} {kind}")
        at_nominal = (
            np.array([np.interp(nominal, tr, grid[:, j]) for j in range(grid.shape[1])])
            if tr is not None and ld is not None
            else np.interp(nominal, tr, grid)
            if tr is not None
            else grid
        )
        if ld is not None and load_axis:
            rows.append((ld, np.asarray(at_nominal, float)))
        else:  # flat over load (an input pin, or an output table that does not depend on load)
            rows.append((None, float(np.mean(at_nominal))))
    if not load_axis:
        return float(np.mean([r[1] if r[0] is None else np.mean(r[1]) for r in rows])) * units["energy"]
    curves = [r for r in rows if r[0] is not None]
    if not curves:
        return ([0.0, 1.0], [float(np.mean([r[1] for r in rows])) * units["energy"]] * 2)  # flat curve
    loads = curves[0][0]
    stacked = [np.interp(loads, r[0], r[1]) if r[0] is not None else np.full(loads.size, r[1]) for r in rows]
    return (list(loads * units["cap"]), list(np.mean(stacked, axis=0) * units["energy"]))


def _default_cap(lib, direction: str):
    """The library's default pin capacitance for ``direction`` (Liberty's rule for a pin without a
    ``capacitance``), or None where the library defines none."""
    value = _attr(lib, f"default_{direction}_pin_cap")
    return None if value is None else float(value)


def parse_library(path: str | Path) -> dict:
    """The energy model of one Liberty file.

    Strict where a value feeds the energy: an unreadable or malformed table, an ``internal_power``
    group without a table, or a missing unit raises ``LibertyError``. What a library legitimately
    leaves out is recorded as absent, not as 0: an input pin without ``internal_power`` (sky130
    books a buffer's input energy on its output), an output without it (tie cells, whose output
    never toggles) have no internal energy; an input pin without ``capacitance`` takes the library's
    ``default_input_pin_cap`` and, without one either, is recorded with ``cap_f`` None (the energy
    model raises if a netlist uses it); a cell without ``cell_leakage_power`` takes
    ``default_cell_leakage_power`` or is recorded with ``leakage_w`` None (likewise).
    """
    from liberty.parser import parse_liberty

    path = Path(path)
    lib = parse_liberty(path.read_text())
    lib_name = path.name
    units = _units(lib, lib_name)
    templates = _templates(lib)
    cells = {}
    default_leak = _attr(lib, "default_cell_leakage_power")
    for cell in lib.get_groups("cell"):
        name = str(cell.args[0]).strip('"')
        leak = _attr(cell, "cell_leakage_power", default_leak)
        if leak is not None and units["leakage"] is None:
            raise LibertyError(f"library {lib_name}: leakage powers without a leakage_power_unit")
        entry = {
            "library": lib_name,
            "area": float(_attr(cell, "area", 0.0)),
            "leakage_w": None if leak is None else float(leak) * units["leakage"],
            "pins": {},
            "is_memory": bool(cell.get_groups("memory")),
        }
        # (name, pin group, enclosing bus group or None): a bus's pins inherit its direction and
        # capacitance, and the netlist connects the bus by its own name (din0, not din0[31:0]).
        pins = [(str(pin.args[0]).strip('"'), pin, None) for pin in cell.get_groups("pin")]
        for bus in cell.get_groups("bus"):
            inner = list(bus.get_groups("pin"))
            pins.append((str(bus.args[0]).strip('"'), inner[0] if inner else bus, bus))
        for pname, pin, bus in pins:
            where = f"library {lib_name}, cell {name}, pin {pname}"

            def get(attr, default=None, pin=pin, bus=bus):
                value = _attr(pin, attr)
                return value if value is not None or bus is None else _attr(bus, attr, default)

            direction = str(get("direction", "")).strip('"')
            cap = get("capacitance")
            if cap is None and direction in ("input", "inout"):
                cap = _default_cap(lib, direction)
            info = {"direction": direction, "cap_f": None if cap is None else float(cap) * units["cap"]}
            groups = list(pin.get_groups("internal_power"))
            if bus is not None and pin is not bus:
                groups += list(bus.get_groups("internal_power"))
            if direction == "output":
                if groups:
                    curves = [_table_energy(g, units, True, templates, where) for g in groups]
                    loads = curves[0][0]
                    info["internal_j_vs_load"] = [
                        loads,
                        list(np.mean([np.interp(loads, c[0], c[1]) for c in curves], axis=0)),
                    ]
            elif entry["is_memory"] and groups:
                info["access_j"] = {}
                for g in groups:
                    when = str(_attr(g, "when", "")).strip('"').replace(" ", "")
                    # Rise and fall are averaged; one access is one full clock cycle.
                    info["access_j"][when] = 2 * _table_energy(g, units, False, templates, f"{where} when {when}")
            elif groups:
                info["internal_j"] = float(np.mean([_table_energy(g, units, False, templates, where) for g in groups]))
            entry["pins"][pname] = info
        cells[name] = entry
    return {"source": str(path), "units": units, "cells": cells}


def code_fingerprint() -> str:
    """What a parsed model depends on besides the Liberty file: this module's source and the
    Liberty parser's version. Part of the cache key, so that an edit of the parser is never
    answered from a cache the old code filled."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256(Path(__file__).read_bytes())
    try:
        h.update(version("liberty-parser").encode())
    except PackageNotFoundError:  # pragma: no cover
        pass
    return h.hexdigest()[:12]


def cache_path(path: str | Path, cache_dir: str | Path) -> Path:
    """The cache file of ``load_library``: keyed by the Liberty's content and ``code_fingerprint``."""
    from ..pdk import sha256

    path = Path(path)
    return Path(cache_dir) / f"{path.stem}.{sha256(path)[:16]}.{code_fingerprint()}.json"


def load_library(path: str | Path, cache_dir: str | Path) -> dict:
    """Parsed model of ``path``, cached under ``cache_dir`` (``cache_path``)."""
    from ..pdk import sha256

    path = Path(path)
    cache = cache_path(path, cache_dir)
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
    where = f"library {Path(model['source']).name}, cell {cell}"
    if cell not in model["cells"]:
        raise LibertyError(f"{where}: no such cell")
    entry = model["cells"][cell]
    if clock_pin not in entry["pins"]:
        raise LibertyError(f"{where}, pin {clock_pin}: no such pin")
    access = entry["pins"][clock_pin].get("access_j", {})

    def pick(*conds):
        for c in conds:
            if c in access:
                return access[c]
        raise LibertyError(f"{where}, pin {clock_pin}: no internal_power for {conds} (has {sorted(access)})")

    if entry["leakage_w"] is None:
        raise LibertyError(f"{where}: no cell_leakage_power (nor a default_cell_leakage_power)")
    return {
        "read_j": pick("!csb0&web0", "!csb0"),
        "write_j": pick("!csb0&!web0", "!csb0"),
        "leakage_w": entry["leakage_w"],
        "how": "clk0 internal_power (rise + fall) under the when-condition of the access, from the macro Liberty",
    }
