"""Each trained network of the experiment as a NIR file (``spikemem snn export``), for snnTorch,
Norse and the other frameworks that import the Neuromorphic Intermediate Representation.

The mapping (also written into every file's metadata):

* ``input -> fc_hidden -> lif_hidden -> fc_output -> lif_output -> output``: ``Input(700)``,
  ``Linear``, ``CubaLIF(400)``, ``Linear``, ``CubaLIF(250)``, ``Output``.
  The layers have no bias. Weights are the run's integer levels (``best_levels.npz`` by default,
  ``final_levels.npz`` on request) times the value of one level, ``weight_step`` in the node's
  metadata (the adaptive protocol: ``alpha * 2**(1-wb)``; the paper protocol:
  ``2**(1-wb) / scale``); both are powers of two, so the float32 weights are exact. ``nir``'s
  ``Linear`` weight is ``out x in``.
* The project's discrete-time current-based LIF (SPEC.md section 1; dt = 1 ms)::

      syn[t+1] = a syn[t] + I[t];   mem[t+1] = b mem[t] + syn[t] - s[t];   s[t] = mem[t] > 0.9

  is NIR's ``CubaLIF`` stepped by forward Euler at ``dt`` (snnTorch's ``Synaptic`` convention):
  ``tau_syn = dt / (1 - a)``, ``tau_mem = dt / (1 - b)``, ``r = tau_mem / dt``,
  ``w_in = tau_syn / dt``, ``v_leak = 0``, ``v_threshold = 0.9``, which reproduces the decays
  ``a`` and ``b`` the network computes with exactly: ``tau_syn`` 4 ms and ``tau_mem`` 8 ms (SPEC's
  5 ms and 10 ms are the authors' rounded figures; the decays are what was trained).
* **Reset.** The network resets by subtracting 1 (not the threshold, 0.9). NIR 1.0 has only a reset
  to ``v_reset``; the node says ``v_reset = 0`` and its metadata ``reset: subtract``,
  ``reset_amount: 1.0``. A framework that ignores the metadata resets to 0 instead, which changes
  the spikes after the first one; :func:`spikemem.nir_graph.simulate` honours it.
* **States.** The adaptive protocol's states are float: the exported network, simulated, fires
  exactly as trained (the hidden layer's spike count equals the run's ``inference_events``). The
  paper protocol clips and rounds its states to ``activation_bits`` every step, which NIR cannot
  state: the file says so (``state_quantization`` in its metadata), and a float simulation of it
  fires differently (a 4-bit paper-protocol run: 12,829 hidden spikes simulated, 9,660 trained).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_path
from ..price_errors import PriceInputError
from .network import LifConstants
from .paper_protocol import layer_scale
from .quant import shift, sigma
from .train import LAYERS

DT_S = 1e-3  # SPEC section 1: one step is 1 ms


def weight_steps(metrics: Mapping) -> list[float]:
    """The value of one integer weight level of each layer of a trained run."""
    wb = int(metrics["weight_bits"])
    fan_in = [int(metrics["layers"][layer]["n_pre"]) for layer in LAYERS]
    if metrics["protocol"] == "paper":
        return [sigma(wb) / layer_scale(wb, n) for n in fan_in]
    scale = float(metrics["settings"].get("weight_scale", 0.2))
    # The adaptive protocol's alpha covers two standard deviations of the initial weights.
    return [shift(2.0 * scale / np.sqrt(n)) * sigma(wb) for n in fan_in]


def _full(n: int, value: float) -> np.ndarray:
    """One value per neuron: NIR neuron parameters are per-neuron arrays."""
    return np.full(n, value, dtype=np.float64)


def run_graph(run_dir: str | Path, levels: str = "best"):
    """The ``nir.NIRGraph`` of one trained run (its ``metrics.json`` and ``<levels>_levels.npz``)."""
    import nir

    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if not metrics.get("quantized", True):
        raise PriceInputError(f"{run_dir}: an unquantized run has no integer levels to export")
    data = np.load(run_dir / f"{levels}_levels.npz")
    lif = LifConstants(
        **{k: v for k, v in metrics["settings"]["lif"].items() if k in LifConstants.__dataclass_fields__}
    )
    steps = weight_steps(metrics)
    dt = DT_S
    nodes: dict = {}
    n_in = int(metrics["layers"][LAYERS[0]]["n_pre"])
    nodes["input"] = nir.Input(input_type={"input": np.array([n_in])})
    edges, previous = [], "input"
    for layer, step in zip(LAYERS, steps, strict=True):
        lv = data[layer].astype(np.int64)
        n = lv.shape[1]
        nodes[f"fc_{layer}"] = nir.Linear(
            weight=(lv.T * step).astype(np.float32),
            metadata={
                "weight_step": float(step),
                "weight_bits": int(metrics["weight_bits"]),
                "levels": f"{levels}_levels.npz",
            },
        )
        tau_syn, tau_mem = dt / (1.0 - lif.syn_decay), dt / (1.0 - lif.mem_decay)
        nodes[f"lif_{layer}"] = nir.CubaLIF(
            tau_syn=_full(n, tau_syn),
            tau_mem=_full(n, tau_mem),
            r=_full(n, tau_mem / dt),
            v_leak=_full(n, 0.0),
            v_threshold=_full(n, lif.threshold),
            v_reset=_full(n, 0.0),
            w_in=_full(n, tau_syn / dt),
            metadata={
                "dt": dt,
                "discretization": "forward Euler at dt",
                "syn_decay": lif.syn_decay,
                "mem_decay": lif.mem_decay,
                "reset": "subtract",
                "reset_amount": 1.0,
            },
        )
        edges += [(previous, f"fc_{layer}"), (f"fc_{layer}", f"lif_{layer}")]
        previous = f"lif_{layer}"
    nodes["output"] = nir.Output(output_type={"output": np.array([n])})
    edges.append((previous, "output"))
    meta = {
        "dt": dt,
        "source": "spikemem",
        "protocol": metrics["protocol"],
        "training_set": metrics["training_set"],
        "weight_bits": int(metrics["weight_bits"]),
        "seed": int(metrics["seed"]),
        "levels": f"{levels}_levels.npz",
        "mapping": "see spikemem/snn/nir_export.py: CubaLIF by forward Euler at dt, reset by subtraction (metadata)",
    }
    if metrics.get("activation_bits") is not None:
        meta["state_quantization"] = (
            f"trained with syn, mem and mem - threshold clipped to +-(1 - 2^(1-{metrics['activation_bits']})) and "
            "rounded to that grid every step; not expressible in NIR: a float simulation fires differently"
        )
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def export_stage(metrics_files: list[str | Path], out_dir: str | Path, levels: str = "best") -> list[Path]:
    """Write ``<out_dir>/<training set>/w<bits>-s<seed>.nir`` for each run; returns the paths."""
    import nir

    written = []
    for f in metrics_files:
        run_dir = Path(f).parent
        if not (run_dir / "metrics.json").is_file():
            raise PriceInputError(f"{f}: not a training run's metrics.json")
        graph = run_graph(run_dir, levels)
        m = graph.metadata
        out = Path(out_dir) / m["training_set"] / f"w{m['weight_bits']}-s{m['seed']}.nir"
        with atomic_path(out, suffix=".nir") as tmp:
            nir.write(tmp, graph)
        written.append(out)
    return written
