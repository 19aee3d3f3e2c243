"""Rendering one design's RTL (controller, memories, SRAM simulation models, testbench)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import jinja2
import numpy as np

from ..atomic_files import atomic_write_json, atomic_write_text
from ..config import Design
from ..encodings import Encoding, MemoryParams, get_encoding
from ..encodings.bitfields import bits_for, weight_range
from ..paths import TEMPLATE_DIR
from ..pdk import load_pdk_config
from ..provenance import provenance
from ..workloads import build, memory_params

SIM_DEFINE = "SPIKEMEM_SIM"


def template_env(template_dir: str | Path | None = None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir or TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def capacity_weights(design: Design) -> np.ndarray:
    """All synapses present: the weights a design's memories are sized for."""
    g = design.geometry
    shape = (design.n_pre, design.n_post) if g is None else (g.out_channels, g.in_channels, g.kernel, g.kernel)
    return np.ones(shape, dtype=np.int64)


def capacity(design: Design, params: MemoryParams) -> tuple[Encoding, int]:
    """The encoding at full density (sizes every memory) and its synapse count (``max_nnz``)."""
    weights = capacity_weights(design)
    return build(design, weights, params), int(np.count_nonzero(weights))


def zero_extend(signal: str, width: int, to: int) -> str:
    """A Verilog expression widening ``signal`` from ``width`` to ``to`` bits."""
    if to == width:
        return signal
    if to < width:
        raise ValueError(f"cannot widen {signal} from {width} to {to} bits")
    return f"{{{to - width}'d0, {signal}}}"


def _memory_context(mem, macro, word_bits: int, isolated: bool = True) -> dict:
    """The memory wrapper's parameters; ``isolated``: the bus design of ``memory.bus_isolation``."""
    addr_bits = bits_for(mem.depth)
    ctx = {
        "name": mem.name,
        "word_bits": word_bits,
        "depth": mem.depth,
        "addr_bits": addr_bits,
        "implementation": mem.implementation,
        "macro": mem.macro,
    }
    if mem.implementation == "sram":
        macro_addr_bits = bits_for(macro.depth)
        lanes = math.ceil(word_bits / macro.word_bits)
        banks = math.ceil(mem.depth / macro.depth)
        low = min(addr_bits, macro_addr_bits)
        ctx.update(
            macro_word_bits=macro.word_bits,
            macro_addr_bits=macro_addr_bits,
            macro_wmask_bits=macro.word_bits // 8,
            lanes=lanes,
            banks=banks,
            bank_bits=max(1, addr_bits - macro_addr_bits),
            padded=lanes * macro.word_bits > word_bits,
            lane_wdata_expr=zero_extend("wdata", word_bits, lanes * macro.word_bits),
            macro_addr_expr=zero_extend(f"addr[{low - 1}:0]", low, macro_addr_bits),
            isolated=isolated,
            rdata_expr=("read_or" if isolated and banks > 1 else f"bank_dout[{'bank_r' if banks > 1 else 0}]")
            + (f"[{word_bits - 1}:0]" if lanes * macro.word_bits > word_bits else ""),
        )
    return ctx


def design_context(cfg: Mapping, design: Design) -> dict:
    """Everything the templates need for one design, derived from its capacity memory image."""
    params = memory_params(cfg)
    pdk = load_pdk_config(cfg["pdk"])
    enc, max_nnz = capacity(design, params)
    wb, w = design.weight_bits, params.word_bits
    _, wmax = weight_range(wb)
    delta_bits = wb + 1
    isolated = cfg["memory"]["bus_isolation"]
    memories = [_memory_context(m, pdk.macro(params.macro.name), w, isolated) for m in enc.image.memories.values()]
    pre_bits, post_bits = bits_for(enc.n_pre), bits_for(enc.n_post)
    # One width for the controllers' counters and address arithmetic: wide enough for every index,
    # address and product they form.
    counter_bits = max([pre_bits, post_bits, bits_for(max_nnz + 1)] + [m["addr_bits"] + 1 for m in memories]) + 1
    ctx = {
        "design": design.name,
        "encoding": design.encoding,
        "prefix": f"spikemem_{design.encoding}",
        "word_bits": w,
        "weight_bits": wb,
        "weight_max": wmax,
        "delta_bits": delta_bits,
        "sat_w_ext": f"{{{{{delta_bits + 2 - wb}{{sa_w[{wb - 1}]}}}}, sa_w}}",
        "sat_d_ext": f"{{{{2{{sa_d[{delta_bits - 1}]}}}}, sa_d}}",
        "n_pre": enc.n_pre,
        "n_post": enc.n_post,
        "pre_bits": pre_bits,
        "post_bits": post_bits,
        "index_bits": max(pre_bits, post_bits),
        "counter_bits": counter_bits,
        "max_nnz": max_nnz,
        "memories": memories,
        # The row-stream backward's error mask is one more target of the load port, after the memories.
        "row_stream": enc.row_stream,
        "mask_sel": len(memories),
        "mask_words": math.ceil(enc.n_post / w),
        "load_sel_bits": bits_for(len(memories) + int(enc.row_stream)),
        "load_addr_bits": max(
            [m["addr_bits"] for m in memories] + ([bits_for(math.ceil(enc.n_post / w))] if enc.row_stream else [])
        ),
        "clock_mhz": cfg["clock_mhz"],
        "clock_gating": dict(cfg["clock_gating"]),
        # The testbench's event array holds the longest stimulus it is fed: a verification density
        # or a characterization run (every operation's events at most).
        "max_events": len(enc.operations)
        * max(
            cfg["characterization"]["events_per_operation"],
            cfg["characterization"].get("validation", {}).get("events_per_operation", 0),
            cfg["verification"]["events_per_operation"],
        ),
        **enc.rtl_params(),
    }
    return ctx


def render_design(
    cfg: Mapping, design: Design, out_dir: str | Path, template_dir: str | Path | None = None
) -> dict[str, Path]:
    """Write the design's Verilog: one file per module (controller, memories), the SRAM
    simulation models and the testbench. Returns the files by role."""
    env = template_env(template_dir)
    ctx = design_context(cfg, design)
    out = Path(out_dir)
    files: dict[str, Path] = {}

    # The controller is the encoding's first template (variants of an encoding may share one).
    top = env.get_template(get_encoding(design.encoding).templates[0]).render(p=ctx)
    files["top"] = out / "rtl" / f"{ctx['prefix']}.v"
    atomic_write_text(files["top"], top)
    pdk = load_pdk_config(cfg["pdk"])
    clock_gate = sram_clock_gate(cfg, pdk)
    mem_tpl = env.get_template("rtl/memory.v.j2")
    for m in ctx["memories"]:
        path = out / "rtl" / f"{ctx['prefix']}_mem_{m['name']}.v"
        text = mem_tpl.render(mem=m, prefix=ctx["prefix"], design=design.name, clock_gate=clock_gate)
        atomic_write_text(path, text)
        files[f"mem_{m['name']}"] = path
    if pdk.clock_gate:
        # The clock gate's model serves the RTL simulation (SRAM clock gates) and the gate-level
        # one (the cells the clock-gating pass maps), whose Liberty-derived models lack it.
        path = out / "sim" / f"{pdk.clock_gate['cell']}.v"
        atomic_write_text(path, env.get_template("rtl/clock_gate_model.v.j2").render(g=pdk.clock_gate))
        files[f"cell_{pdk.clock_gate['cell']}"] = path
    sram_tpl = env.get_template("rtl/sram_model.v.j2")
    for name in sorted({m["macro"] for m in ctx["memories"] if m["implementation"] == "sram"}):
        macro = pdk.macro(name)
        model = {
            "name": name,
            "word_bits": macro.word_bits,
            "depth": macro.depth,
            "addr_bits": bits_for(macro.depth),
            "wmask_bits": macro.word_bits // 8,
        }
        path = out / "sim" / f"{name}.v"
        atomic_write_text(path, sram_tpl.render(m=model))
        files[f"sram_{name}"] = path
    tb = env.get_template("tb/testbench.v.j2").render(p=ctx)
    files["testbench"] = out / "sim" / "tb.v"
    atomic_write_text(files["testbench"], tb)
    return files


def design_sources(files: Mapping[str, Path]) -> list[Path]:
    """The synthesizable sources (controller and memory wrappers), controller first."""
    return [files["top"]] + [p for k, p in files.items() if k.startswith("mem_")]


def simulation_models(files: Mapping[str, Path]) -> list[Path]:
    """Models of what synthesis takes as given: the SRAM macros and the clock-gate cell."""
    return [p for k, p in files.items() if k.startswith(("sram_", "cell_"))]


def sram_clock_gate(cfg: Mapping, pdk) -> dict[str, str] | None:
    """The clock-gate cell the memories gate their macros' clocks with, or None (not gated)."""
    if not cfg["clock_gating"]["sram"]:
        return None
    if pdk.clock_gate is None:
        raise ValueError(
            f"clock_gating.sram is set but pdk_configs/{pdk.name}.yaml names no stdcell.clock_gate "
            "(CELL/CLK/ENABLE/GATED); set clock_gating.sram: false or name the library's clock gate"
        )
    return pdk.clock_gate


def render_stage(cfg: Mapping, design: Design, out_dir: str | Path, template_dir: str | Path | None = None) -> dict:
    """Render the design and write ``manifest.json`` (its files, parameters, provenance) last."""
    out = Path(out_dir)
    files = render_design(cfg, design, out, template_dir)
    manifest = {
        "design": design.as_dict(),
        "files": {k: str(Path(v).relative_to(out)) for k, v in files.items()},
        "parameters": design_context(cfg, design),
        "provenance": provenance(cfg, stage="rtl_render"),
    }
    atomic_write_json(out / "manifest.json", manifest)
    return manifest


def load_manifest(rtl_dir: str | Path) -> dict[str, Path]:
    rtl_dir = Path(rtl_dir)
    manifest = json.loads((rtl_dir / "manifest.json").read_text())
    return {k: rtl_dir / v for k, v in manifest["files"].items()}
