"""An OpenRAM macro's schematic SPICE netlist, flattened and reduced to ``bits`` data bits.

A whole macro (about 110,000 devices) does not reach an operating point in reasonable time. An
access, though, exercises the decoder path of one row, the columns of the word (precharge, column
mux, sense amplifier, write driver) and the control: the reduction keeps those for the first
``bits`` data bits and two real rows, and

* drops every cell (a leaf subcircuit instance: bitcell, precharge, mux, sense amplifier, driver,
  flip-flop) that touches a column or data bit beyond them;
* replaces the other rows' bitcells on the kept columns by their port-0 access devices held off,
  merged into one device per bitline with ``m`` = the rows (the load those rows put on the bitline);
* drops the read-only port 1 (its address, data path and control) and ties its wordlines low and
  its bitlines high, so that its cells neither load nor drive anything.

The decoder, every wordline driver, the replica column that times the sense amplifiers and the
control logic stay whole. The energy of the full word then follows from runs at two or more
``bits`` (:mod:`spikemem.sram.transient`), linear in the bits: the fixed part (decoder, control,
replica) and a part per data bit (its columns, the wordline's load on them, its periphery).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

# The read-only port's instances (OpenRAM names them with the port number), dropped whole; its
# replica column's cells also put one access gate on each port-0 wordline (of 66 or more), lost.
PORT1_INSTANCES = frozenset(
    {
        "xcontrol1",
        "xrow_address1",
        "xcol_address1",
        "xport_data1",
        "xport_address1",
        "xcol_address_decoder1",
        "xreplica_col_1",
    }
)
BITCELL = "sky130_fd_bd_sram__openram_dp_cell"
REPLICA_CELL = "sky130_fd_bd_sram__openram_dp_cell_replica"
MAIN_ARRAY = "bitcell_array"
SUPPLY, GROUND = "vccd1", "vssd1"

_BANK_BITLINE = re.compile(r"\.(bl|br)_0_(\d+)$")  # port 0's bitline of a main-array column
_PORT1_NET = re.compile(r"(^|\.)(rbl_)?(bl|br|wl)_1_\d+$")
_BIT_NET = (
    re.compile(r"^(din0|dout0|bank_din0)\[(\d+)\]$"),  # the macro's data pins and its data flip-flops' outputs
    re.compile(r"\.(bl|br)_out_(\d+)$"),  # a column mux's output: the data bit's sense/write node
)
_CELL_ROW_COL = re.compile(r"^xbit_r(\d+)_c(\d+)$")
_WORDLINE = re.compile(r"\.wl_0_(\d+)$")  # port 0's wordline of a row


class NetlistError(ValueError):
    """The netlist is not an OpenRAM macro of the expected structure."""


@dataclass(frozen=True)
class Instance:
    name: str
    nodes: tuple[str, ...]
    ref: str
    params: tuple[str, ...]


@dataclass
class Subckt:
    name: str
    ports: tuple[str, ...]
    instances: list[Instance] = field(default_factory=list)


@dataclass(frozen=True)
class Device:
    """A transistor of the flattened netlist: its instance path (instance, subcircuit) from the top,
    its nodes (flattened net names), its model and parameters."""

    path: tuple[tuple[str, str], ...]
    nodes: tuple[str, ...]
    model: str
    params: tuple[str, ...]

    @property
    def cell(self) -> tuple[tuple[str, str], ...]:
        """The leaf subcircuit instance the device belongs to."""
        return self.path[:-1]


def parse(text: str) -> dict[str, Subckt]:
    """The subcircuits of a SPICE netlist (names lowercased; continuation lines joined)."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("*"):
            continue
        if line.startswith("+") and lines:
            lines[-1] += " " + line[1:]
        else:
            lines.append(line)
    subckts: dict[str, Subckt] = {}
    current: Subckt | None = None
    for line in lines:
        tokens = line.lower().split()
        head = tokens[0]
        if head == ".subckt":
            current = Subckt(tokens[1], tuple(t for t in tokens[2:] if "=" not in t))
            subckts[current.name] = current
        elif head == ".ends":
            current = None
        elif head.startswith("x") and current is not None:
            args = [t for t in tokens[1:] if "=" not in t]
            params = tuple(t for t in tokens[1:] if "=" in t)
            current.instances.append(Instance(head, tuple(args[:-1]), args[-1], params))
        elif current is not None and not head.startswith("."):
            raise NetlistError(f"unexpected element in {current.name}: {line[:60]!r}")
    return subckts


def flatten(subckts: dict[str, Subckt], top: str) -> list[Device]:
    """Every transistor under ``top`` with flattened net names: the top's ports keep their names,
    a subcircuit's internal nets are prefixed with its instance path."""
    if top not in subckts:
        raise NetlistError(f"no subcircuit {top!r} in the netlist")
    out: list[Device] = []

    def walk(sub: Subckt, path: tuple[tuple[str, str], ...], netmap: dict[str, str], prefix: str) -> None:
        for inst in sub.instances:
            nodes = tuple(netmap.get(n) or f"{prefix}{n}" for n in inst.nodes)
            child = subckts.get(inst.ref)
            if child is None:
                out.append(Device((*path, (inst.name, inst.ref)), nodes, inst.ref, inst.params))
                continue
            if len(child.ports) != len(nodes):
                raise NetlistError(
                    f"{inst.name} connects {len(nodes)} nodes to {child.name}'s {len(child.ports)} ports"
                )
            walk(
                child,
                (*path, (inst.name, child.name)),
                dict(zip(child.ports, nodes, strict=True)),
                f"{prefix}{inst.name}.",
            )

    root = subckts[top]
    walk(root, (), {p: p for p in root.ports}, "")
    return out


@dataclass
class Reduced:
    """A reduced macro: its devices, the kept bitcells' storage nodes (for initial conditions), and
    what was kept."""

    devices: list[Device]
    storage: dict[tuple[int, int], tuple[str, str]]  # (row, column) -> (q, q_bar)
    bits: int
    columns: list[int]
    rows: tuple[int, ...]
    devices_full: int


def column_bits(devices: Iterable[Device]) -> dict[int, int]:
    """Each main-array column's data bit, read from the column multiplexers' cells (a cell joining a
    column's bitline to a data bit's mux output)."""
    nets_of: dict[tuple, set[str]] = defaultdict(set)
    for d in devices:
        nets_of[d.cell].update(d.nodes)
    mapping: dict[int, int] = {}
    for nets in nets_of.values():
        cols = {int(m.group(2)) for n in nets if (m := _BANK_BITLINE.search(n))}
        bits = {int(m.group(2)) for n in nets if (m := _BIT_NET[1].search(n))}
        if len(cols) == 1 and len(bits) == 1:
            mapping[cols.pop()] = bits.pop()
    if not mapping:
        raise NetlistError("no column multiplexer found (no cell joins a bitline bl_0_<c> to a bl_out_<bit>)")
    return mapping


def reduce(
    devices: list[Device], bits: int, rows: tuple[int, ...] = (0, 1), keep_replica_column: bool = False
) -> Reduced:
    """The macro reduced to its first ``bits`` data bits and the bitcell ``rows`` (module docstring);
    the replica column's cells on other rows merge like the array's, unless ``keep_replica_column``
    (the check that merging them changes nothing)."""
    col_bit = column_bits(devices)
    if not 1 <= bits <= max(col_bit.values()) + 1:
        raise NetlistError(f"bits must be 1..{max(col_bit.values()) + 1}, not {bits}")
    kept_cols = sorted(c for c, b in col_bit.items() if b < bits)

    def dropped_net(net: str) -> bool:
        if m := _BANK_BITLINE.search(net):
            return col_bit.get(int(m.group(2)), 0) >= bits
        return any((m := rx.search(net)) and int(m.group(2)) >= bits for rx in _BIT_NET)

    def tie(net: str) -> str:
        # Port 1 is gone: its wordlines low, its bitlines at the precharge level.
        if m := _PORT1_NET.search(net):
            return GROUND if m.group(3) == "wl" else SUPPLY
        return net

    cells: dict[tuple, list[Device]] = defaultdict(list)
    for d in devices:
        if not any(inst in PORT1_INSTANCES for inst, _ in d.path):
            cells[d.cell].append(d)
    kept: list[Device] = []
    storage: dict[tuple[int, int], tuple[str, str]] = {}
    # (bitline, model, parameters) -> rows whose access device there is replaced by one held off
    held_off: dict[tuple[str, str, tuple[str, ...]], int] = defaultdict(int)
    for cell, devs in cells.items():
        if any(dropped_net(n) for d in devs for n in d.nodes):
            continue
        inst, sub = cell[-1] if cell else ("", "")
        in_main = len(cell) >= 2 and cell[-2][1] == MAIN_ARRAY
        rc = _CELL_ROW_COL.match(inst)
        if sub == BITCELL and in_main and rc:
            row, col = int(rc.group(1)), int(rc.group(2))
            if row in rows:
                prefix = ".".join(i for i, _ in cell) + "."
                storage[(row, col)] = (f"{prefix}q", f"{prefix}q_bar")
                row = None
        elif sub == REPLICA_CELL and not keep_replica_column:
            # a replica column's cell on a port-0 wordline that never rises is as idle as a bitcell there
            wordline = next((m for d in devs if (m := _WORDLINE.search(d.nodes[1]))), None)
            row = int(wordline.group(1)) if wordline and int(wordline.group(1)) not in rows else None
        else:
            row = None
        if row is None:
            kept.extend(Device(d.path, tuple(tie(n) for n in d.nodes), d.model, d.params) for d in devs)
            continue
        for d in devs:  # the port-0 access devices: drain on the bitline, gate on the row's wl_0
            if _WORDLINE.search(d.nodes[1]) and int(_WORDLINE.search(d.nodes[1]).group(1)) == row:
                held_off[(d.nodes[0], d.model, tuple(x for x in d.params if not x.startswith("m=")))] += 1
    for (bitline, model, params), count in sorted(held_off.items()):
        # drain on the bitline, gate low, source on a stored 0 (bl) or 1 (br): off either way
        source = SUPPLY if re.search(r"(^|[._])br_?\d", bitline) else GROUND
        kept.append(
            Device(
                (("xheld_off", "held_off"), (f"x_{bitline}", model)),
                (bitline, GROUND, source, GROUND),
                model,
                (*params, f"m={count}"),
            )
        )
    if not storage:
        raise NetlistError(f"no bitcell of rows {rows} kept: not an OpenRAM bitcell_array of {BITCELL}")
    return Reduced(kept, storage, bits, kept_cols, rows, len(devices))
