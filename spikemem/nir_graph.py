"""A spiking network read from a NIR file (the Neuromorphic Intermediate Representation, PyPI ``nir``):
its synaptic layers as the encodings store them, and a discrete-time simulation of it for event counts.

What is read:

* **Synaptic layers**: ``Linear`` and ``Affine`` (``y = W x (+ b)``, ``W`` is ``out x in``) and
  ``Conv1d`` / ``Conv2d`` (any stride, padding, dilation and groups). Each becomes an
  ``n_pre x n_post`` matrix, a convolution unrolled with neurons numbered channel-major, row-major
  (the flattening order of NIR's ``Flatten`` and of :class:`~spikemem.encodings.ConvGeometry`).
  A convolution that :class:`~spikemem.encodings.ConvGeometry` can describe (one square kernel, one
  stride and padding, no dilation, one group) also keeps its kernels, so that the functional
  encodings can store it. A bias is part of the neuron's input, not of the synaptic memory: it is
  simulated but not priced.
* **Neurons** ``LIF``, ``CubaLIF``, ``IF``; ``Input``, ``Output`` and ``Flatten`` carry values through;
  ``SumPool2d`` and ``AvgPool2d`` sum or average them over their windows (a (C, H, W) input gives
  (C, H', W') as NIR defines it). Every node's shape is computed from the layers' geometry and
  checked against the shape it declares (``input_type``, ``output_type``), naming the node where
  they disagree. Any other node is passed over with a note naming it when pricing; the simulator
  refuses it.
* **Recurrent connections**: an edge that closes a cycle through a synaptic layer (a recurrent
  weight matrix, e.g. a ``Linear`` from a neuron population back to itself) is priced like any
  synaptic layer (read on each spike of its source neurons; its backward pass and update as any
  layer's) and simulated with one step of delay. A cycle without a synaptic layer, or through a
  ``Delay`` node, is refused naming its nodes.
* A node with a ``weight`` that is none of the synaptic layers above, or a nested graph, is an error:
  pricing it as something else would be wrong.

The simulation steps the continuous-time NIR equations by forward Euler at a time step ``dt``
(the discretization snnTorch and Norse use for their NIR import and export): for a ``CubaLIF``,

    i[t+1] = i[t] + dt / tau_syn * (-i[t] + w_in * x[t])
    v[t+1] = v'[t] + dt / tau_mem * (v_leak - v'[t] + r * i[t])

with ``z[t] = v[t] > v_threshold`` and ``v'[t]`` = ``v_reset`` where ``z[t]``, else ``v[t]``. A node
whose metadata says ``reset: subtract`` (what :mod:`spikemem.snn.nir_export` writes for the
project's network, which NIR 1.0 cannot state otherwise) instead keeps ``v'[t] = v[t]`` and
subtracts ``reset_amount`` from ``v[t+1]`` where it fired, which is the project's LIF exactly.
Nodes see their predecessors' outputs of the same step (no delay on an edge), summed; over a
recurrent edge, the previous step's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .encodings import ConvGeometry
from .encodings.errors import EncodingError
from .price_errors import PriceInputError

SYNAPTIC = ("Linear", "Affine", "Conv1d", "Conv2d")
NEURONS = ("LIF", "CubaLIF", "IF")
POOLING = ("SumPool2d", "AvgPool2d")
# Nodes that carry values on (pooling sums or averages them over windows, Flatten only reshapes).
PASS_THROUGH = ("Input", "Output", "Flatten", *POOLING)


@dataclass
class SynapticLayer:
    """One synaptic layer of the graph: its float weights as a dense ``n_pre x n_post`` matrix."""

    name: str
    node_type: str
    dense: np.ndarray  # n_pre x n_post, float
    bias: np.ndarray | None = None  # per postsynaptic neuron, simulated only
    kernels: np.ndarray | None = None  # (out, in, k, k) where ``geometry`` describes the layer
    geometry: ConvGeometry | None = None
    # Why the functional encodings cannot store this convolution as it is (None: they can, or FC).
    geometry_misfit: str | None = None
    # The value of one integer level, where the file says its weights are integer levels times it.
    weight_step: float | None = None
    declared_bits: int | None = None
    # The output's shape: (C_out, H', W') of a 2-D convolution, (C_out, W') of a 1-D one, else (n_post,).
    out_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.out_shape is None:
            self.out_shape = (int(self.dense.shape[1]),)

    @property
    def n_pre(self) -> int:
        return int(self.dense.shape[0])

    @property
    def n_post(self) -> int:
        return int(self.dense.shape[1])

    @property
    def is_conv(self) -> bool:
        return self.node_type.startswith("Conv")

    @property
    def weights(self) -> np.ndarray:
        """What the encodings store: the kernels of a described convolution, else the matrix."""
        return self.kernels if self.kernels is not None else self.dense


@dataclass
class NetworkGraph:
    """A read NIR graph in topological order, with its synaptic layers and what was passed over."""

    graph: object  # nir.NIRGraph
    order: list[str]
    predecessors: dict[str, list[str]]
    layers: list[SynapticLayer]
    notes: list[str] = field(default_factory=list)
    # every node's output shape where known (C, H, W for feature maps; a flat size otherwise)
    shapes: dict[str, tuple[int, ...] | None] = field(default_factory=dict)
    # the edges that close a cycle (source, target): read with one step of delay
    recurrent: set[tuple[str, str]] = field(default_factory=set)

    def layer(self, name: str) -> SynapticLayer:
        return next(layer for layer in self.layers if layer.name == name)


def _text(value) -> object:
    """A metadata value as NIR's HDF5 reader returns it (bytes for strings, 0-d arrays) made plain."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def metadata(node) -> dict:
    """A node's metadata with strings and scalars decoded."""
    return {k: _text(v) for k, v in (getattr(node, "metadata", None) or {}).items()}


def read_graph(path: str | Path):
    """The ``nir.NIRGraph`` in ``path``; a :class:`PriceInputError` naming the problem otherwise."""
    import h5py
    import nir

    path = Path(path)
    if not path.is_file():
        raise PriceInputError(f"{path}: no such file")
    if not h5py.is_hdf5(path):
        raise PriceInputError(
            f"{path}: not a NIR file (NIR files are HDF5, written by nir.write or a framework's export)"
        )
    try:
        # Types are checked here, by sizes, rather than by nir: older exports leave some undefined.
        graph = nir.read(path, type_check=False)
    except Exception as e:  # nir raises bare ValueError, KeyError, AssertionError on malformed files
        raise PriceInputError(f"{path}: not a readable NIR graph ({type(e).__name__}: {e})") from None
    if type(graph).__name__ != "NIRGraph":
        raise PriceInputError(f"{path}: holds a single {type(graph).__name__} node, not a NIR graph")
    return graph


def _topological_order(graph) -> tuple[list[str], dict[str, list[str]], set[tuple[str, str]]]:
    """The nodes in an order where each comes after its predecessors, every predecessor list, and
    the recurrent edges: those that close a cycle (found depth-first from the graph's sources), which
    the order leaves out and the simulation delays by one step. A cycle is accepted only through a
    synaptic layer (a recurrent weight matrix) and without a ``Delay`` node."""
    nodes, edges = graph.nodes, graph.edges
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        for end in (a, b):
            if end not in nodes:
                raise PriceInputError(f"edge ({a!r}, {b!r}) names a node {end!r} the graph does not have")
        preds[b].append(a)
        succs[a].append(b)
    recurrent = _closing_edges(list(nodes), preds, succs)
    if recurrent:
        cycle_nodes = _on_cycles(list(nodes), succs)
        delays = [n for n in cycle_nodes if type(nodes[n]).__name__ == "Delay"]
        if delays:
            raise PriceInputError(
                f"the recurrent connection through {', '.join(delays)} holds a Delay node, which spikemem does not "
                "simulate: remove the delay or give the activity as rates"
            )
        for a, b in sorted(recurrent):
            loop = _path(b, a, succs, recurrent) + [b]
            if not any(type(nodes[n]).__name__ in SYNAPTIC for n in loop):
                raise PriceInputError(
                    "the graph has a cycle without a synaptic layer (through " + ", ".join(dict.fromkeys(loop)) + "): "
                    "a recurrent connection must pass a weight matrix (Linear, Affine, Conv1d or Conv2d)"
                )
    order, ready = [], [n for n in nodes if not [p for p in preds[n] if (p, n) not in recurrent]]
    remaining = {n: len([p for p in ps if (p, n) not in recurrent]) for n, ps in preds.items()}
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in succs[n]:
            if (n, m) in recurrent:
                continue
            remaining[m] -= 1
            if remaining[m] == 0:
                ready.append(m)
    return order, preds, recurrent


def _closing_edges(nodes: list[str], preds: dict[str, list[str]], succs: dict[str, list[str]]) -> set[tuple[str, str]]:
    """The edges that close a cycle in a depth-first walk from the sources (then from any node left)."""
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done
    closing: set[tuple[str, str]] = set()
    for root in [n for n in nodes if not preds[n]] + nodes:
        if root in state:
            continue
        stack = [(root, iter(succs[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                closing.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succs[nxt])))
    return closing


def _path(start: str, goal: str, succs: dict[str, list[str]], skip: set[tuple[str, str]]) -> list[str]:
    """Nodes from ``start`` to ``goal`` along edges not in ``skip`` (breadth first); [] if none."""
    came: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        n = queue.pop(0)
        if n == goal:
            out = []
            while n is not None:
                out.append(n)
                n = came[n]
            return out[::-1]
        for m in succs[n]:
            if m not in came and (n, m) not in skip:
                came[m] = n
                queue.append(m)
    return []


def _on_cycles(candidates: list[str], succs: dict[str, list[str]]) -> list[str]:
    """The nodes among ``candidates`` (those Kahn's algorithm left) that lie on a cycle: that reach
    themselves; the nodes merely downstream of a cycle are left out."""
    left = set(candidates)

    def reaches_itself(start: str) -> bool:
        seen, stack = set(), [m for m in succs[start] if m in left]
        while stack:
            n = stack.pop()
            if n == start:
                return True
            if n not in seen:
                seen.add(n)
                stack += [m for m in succs[n] if m in left]
        return False

    return sorted(n for n in left if reaches_itself(n))


def _size(shape) -> int | None:
    if shape is None:
        return None
    return int(np.prod(np.asarray(shape).ravel())) if np.asarray(shape).size else None


def _out_size(node) -> int | None:
    t = getattr(node, "output_type", None) or {}
    return _size(next(iter(t.values()))) if t else None


def _pair(value, what: str, name: str) -> tuple[int, int]:
    a = np.asarray(value).ravel()
    if a.size == 1:
        return int(a[0]), int(a[0])
    if a.size == 2:
        return int(a[0]), int(a[1])
    raise PriceInputError(f"node {name!r}: {what} {value!r} is not one or two integers")


def unroll_conv(
    weight: np.ndarray,
    input_hw: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[tuple[int, int], tuple[int, int]],
    dilation: tuple[int, int],
    groups: int,
) -> np.ndarray:
    """The dense ``n_pre x n_post`` matrix of a 2-D convolution (a 1-D one has height 1): input
    ``(c, y, x)`` is neuron ``(c * H + y) * W + x``, output likewise, as PyTorch and NIR compute it
    (``padding`` is ``((top, bottom), (left, right))``)."""
    c_out, c_in_g, kh, kw = weight.shape
    h, w = input_hw
    c_in = c_in_g * groups
    oh = (h + sum(padding[0]) - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + sum(padding[1]) - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if oh < 1 or ow < 1:
        raise PriceInputError(f"the {kh}x{kw} kernel does not fit the padded {h}x{w} input")
    dense = np.zeros((c_in * h * w, c_out * oh * ow), dtype=float)
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        for ci in range(c_in_g):
            c = g * c_in_g + ci
            for ky in range(kh):
                for kx in range(kw):
                    oy = np.arange(oh)
                    ox = np.arange(ow)
                    iy = oy * stride[0] + ky * dilation[0] - padding[0][0]
                    ix = ox * stride[1] + kx * dilation[1] - padding[1][0]
                    vy, vx = (iy >= 0) & (iy < h), (ix >= 0) & (ix < w)
                    yy, xx = np.meshgrid(oy[vy], ox[vx], indexing="ij")
                    pre = (c * h + iy[vy][:, None]) * w + ix[vx][None, :]
                    post = (o * oh + yy) * ow + xx
                    dense[pre.ravel(), post.ravel()] = weight[o, ci, ky, kx]
    return dense


def _conv_layer(name: str, node, node_type: str) -> SynapticLayer:
    weight = np.asarray(node.weight, dtype=float)
    if node.input_shape is None:
        raise PriceInputError(f"{node_type} node {name!r} has no input_shape: its layer size is unknown")
    if node_type == "Conv1d":
        if weight.ndim != 3:
            raise PriceInputError(f"Conv1d node {name!r}: weight must be (C_out, C_in, N), got {weight.shape}")
        weight = weight[:, :, None, :]
        hw = (1, int(np.asarray(node.input_shape).ravel()[0]))
        stride = (1, _pair(node.stride, "stride", name)[0])
        dilation = (1, _pair(node.dilation, "dilation", name)[0])
        pad_in = node.padding
        kernel_hw = (1, weight.shape[3])
    else:
        if weight.ndim != 4:
            raise PriceInputError(f"Conv2d node {name!r}: weight must be (C_out, C_in, H, W), got {weight.shape}")
        hw = _pair(node.input_shape, "input_shape", name)
        stride = _pair(node.stride, "stride", name)
        dilation = _pair(node.dilation, "dilation", name)
        pad_in = node.padding
        kernel_hw = weight.shape[2:]
    groups = int(np.asarray(node.groups).ravel()[0])
    if groups < 1 or weight.shape[0] % groups:
        raise PriceInputError(f"{node_type} node {name!r}: {weight.shape[0]} output channels in {groups} groups")
    pad_in = _text(pad_in)
    pads = []
    for axis in range(2):
        k, d = kernel_hw[axis], dilation[axis]
        if isinstance(pad_in, str):
            total = 0 if pad_in == "valid" or (node_type == "Conv1d" and axis == 0) else d * (k - 1)
            pads.append((total // 2, total - total // 2))  # PyTorch's 'same': the odd pixel at the end
        else:
            p = (
                _pair(pad_in, "padding", name)[axis]
                if node_type == "Conv2d"
                else (0, _pair(pad_in, "padding", name)[0])[axis]
            )
            pads.append((p, p))
    dense = unroll_conv(weight, hw, stride, tuple(pads), dilation, groups)
    bias = np.asarray(node.bias, dtype=float).ravel() if getattr(node, "bias", None) is not None else None
    oh_ow = dense.shape[1] // weight.shape[0]
    if bias is not None and bias.size == weight.shape[0]:
        bias = np.repeat(bias, oh_ow)
    layer = SynapticLayer(name, node_type, dense, bias)
    oh = (hw[0] + sum(pads[0]) - dilation[0] * (kernel_hw[0] - 1) - 1) // stride[0] + 1
    ow = (hw[1] + sum(pads[1]) - dilation[1] * (kernel_hw[1] - 1) - 1) // stride[1] + 1
    layer.out_shape = (weight.shape[0], oh, ow) if node_type == "Conv2d" else (weight.shape[0], ow)
    misfit = []
    if node_type != "Conv2d":
        misfit.append("a 1-D convolution")
    if kernel_hw[0] != kernel_hw[1]:
        misfit.append(f"a {kernel_hw[0]}x{kernel_hw[1]} kernel (not square)")
    if stride[0] != stride[1] or pads[0] != pads[1] or pads[0][0] != pads[0][1]:
        misfit.append("unequal strides or paddings")
    if dilation != (1, 1):
        misfit.append(f"dilation {dilation}")
    if groups != 1:
        misfit.append(f"{groups} groups")
    if not misfit:
        try:
            layer.geometry = ConvGeometry(
                weight.shape[1], hw[0], hw[1], weight.shape[0], kernel_hw[0], stride[0], pads[0][0]
            )
            layer.kernels = weight
        except EncodingError as e:
            misfit.append(str(e))
    layer.geometry_misfit = "; ".join(misfit) or None
    return layer


def synaptic_layer(name: str, node) -> SynapticLayer:
    """The synaptic layer of a ``Linear``, ``Affine``, ``Conv1d`` or ``Conv2d`` node."""
    node_type = type(node).__name__
    if node_type in ("Linear", "Affine"):
        w = np.asarray(node.weight, dtype=float)
        if w.ndim != 2:
            raise PriceInputError(f"{node_type} node {name!r}: weight must be 2-D (out x in), got shape {w.shape}")
        bias = np.asarray(node.bias, dtype=float).ravel() if node_type == "Affine" else None
        if bias is not None and bias.size not in (1, w.shape[0]):
            raise PriceInputError(f"Affine node {name!r}: bias of {bias.size} values for {w.shape[0]} outputs")
        layer = SynapticLayer(name, node_type, w.T.copy(), bias)
    else:
        layer = _conv_layer(name, node, node_type)
    meta = metadata(node)
    if "weight_step" in meta:
        layer.weight_step = float(meta["weight_step"])
        layer.declared_bits = int(meta["weight_bits"]) if "weight_bits" in meta else None
    if not np.all(np.isfinite(layer.dense)):
        raise PriceInputError(f"{node_type} node {name!r}: weights hold NaN or infinity")
    return layer


def _shape(value) -> tuple[int, ...] | None:
    if value is None:
        return None
    a = np.asarray(value).ravel()
    return tuple(int(v) for v in a) if a.size else None


def _declared(node, attr: str) -> tuple[int, ...] | None:
    """The shape a node declares (``input_type`` or ``output_type``, its first port)."""
    t = getattr(node, attr, None) or {}
    return _shape(next(iter(t.values()))) if t else None


def _spatial(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape without leading 1s beyond (C, H, W): a framework's batch dimension of 1."""
    while len(shape) > 3 and shape[0] == 1:
        shape = shape[1:]
    return shape


def pooled_shape(name: str, node, shape: tuple[int, ...] | None) -> tuple[int, int, int]:
    """The (C, H', W') a ``SumPool2d`` / ``AvgPool2d`` gives its (C, H, W) input, as NIR defines it."""
    if shape is None or len(_spatial(shape)) != 3:
        raise PriceInputError(
            f"node {name!r} ({type(node).__name__}) pools a (C, H, W) input, but its input's shape is "
            f"{'unknown' if shape is None else shape}: give the node before it a shape (e.g. a Conv2d input_shape)"
        )
    c, h, w = _spatial(shape)
    (kh, kw), (sh, sw), (ph, pw) = (
        _pair(node.kernel_size, "kernel_size", name),
        _pair(node.stride, "stride", name),
        _pair(node.padding, "padding", name),
    )
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    if oh < 1 or ow < 1:
        raise PriceInputError(f"node {name!r}: the {kh}x{kw} pooling window does not fit the {h}x{w} input")
    return c, oh, ow


def network_graph(graph) -> NetworkGraph:
    """The synaptic layers of a read graph in topological order, with every node's output shape:
    computed from the layers' geometry (pooling and ``Flatten`` change it as NIR defines them) and
    checked against the shapes the nodes declare."""
    order, preds, recurrent = _topological_order(graph)
    layers, notes = [], []
    shapes: dict[str, tuple[int, ...] | None] = {}
    takes: dict[str, tuple[str, int | None]] = {}  # node -> (type, values it takes), for the recurrent edges
    for name in order:
        node = graph.nodes[name]
        node_type = type(node).__name__
        incoming = next((shapes[p] for p in preds[name] if shapes.get(p) is not None), None)
        if node_type == "NIRGraph":
            raise PriceInputError(f"node {name!r} is a nested graph: spikemem prices flat feed-forward graphs")
        if node_type in SYNAPTIC:
            layer = synaptic_layer(name, node)
            layers.append(layer)
            n_in, out = layer.n_pre, layer.out_shape
        elif getattr(node, "weight", None) is not None:
            raise PriceInputError(
                f"node {name!r} is a synaptic node of type {node_type}, which spikemem cannot price "
                f"(it prices {', '.join(SYNAPTIC)})"
            )
        else:
            declared_in = _declared(node, "input_type")
            n_in = _size(declared_in)
            if node_type in POOLING:
                out = pooled_shape(name, node, incoming or declared_in)
            elif node_type == "Flatten":
                source = incoming or declared_in
                out = (_size(source),) if source is not None else None
            else:
                out = _declared(node, "output_type") or incoming or declared_in
                if node_type not in (*NEURONS, *PASS_THROUGH):
                    notes.append(f"node {name!r} ({node_type}) passed over: it holds no synaptic memory")
        takes[name] = (node_type, n_in)
        for p in preds[name]:
            _check_edge(p, shapes.get(p), name, node_type, n_in)
        declared_out = _declared(node, "output_type")
        if declared_out is not None and out is not None and _size(declared_out) != _size(out):
            raise PriceInputError(
                f"node {name!r} ({node_type}) declares an output of shape {declared_out} ({_size(declared_out)} "
                f"values), but its input and parameters give {out} ({_size(out)} values)"
            )
        shapes[name] = out
    for a, b in sorted(recurrent):
        _check_edge(a, shapes.get(a), b, *takes[b])
        notes.append(
            f"recurrent connection {a!r} -> {b!r}: priced like any synaptic layer; simulated with one step of delay"
        )
    if not layers:
        raise PriceInputError("the graph has no synaptic layer (Linear, Affine, Conv1d or Conv2d) to price")
    return NetworkGraph(graph, order, preds, layers, notes, shapes, recurrent)


def _check_edge(p: str, shape: tuple[int, ...] | None, name: str, node_type: str, n_in: int | None) -> None:
    given = _size(shape)
    if given is not None and n_in is not None and given != n_in:
        raise PriceInputError(
            f"shapes do not match: node {p!r} gives {given} values (shape {shape}), node {name!r} ({node_type}) "
            f"takes {n_in}"
        )


# --------------------------------------------------------------------------- simulation


def _param(node, name: str, n: int, node_name: str, default: float | None = None) -> np.ndarray:
    value = getattr(node, name, None)
    if value is None:
        if default is None:
            raise PriceInputError(f"node {node_name!r} has no {name}")
        value = default
    a = np.asarray(value, dtype=float).ravel()
    if a.size == 1:
        return np.full(n, a[0])
    if a.size != n:
        raise PriceInputError(f"node {node_name!r}: {name} has {a.size} values for {n} neurons")
    return a


class _Neurons:
    """The state of one neuron node, stepped by forward Euler (see the module docstring)."""

    def __init__(self, name: str, node, n: int, dt: float) -> None:
        self.kind = type(node).__name__
        p = lambda attr, default=None: _param(node, attr, n, name, default)  # noqa: E731
        self.threshold = p("v_threshold")
        self.v_reset = p("v_reset", 0.0)
        self.r = p("r")
        if self.kind == "IF":
            self.k_mem, self.v_leak = np.zeros(n), np.zeros(n)
            self.gain = dt * self.r  # dv/dt = R I
        else:
            tau = p("tau_mem" if self.kind == "CubaLIF" else "tau")
            self.k_mem, self.v_leak = dt / tau, p("v_leak", 0.0)
            self.gain = self.k_mem * self.r
        self.k_syn = dt / p("tau_syn") if self.kind == "CubaLIF" else None
        self.w_in = p("w_in", 1.0) if self.kind == "CubaLIF" else None
        meta = metadata(node)
        self.subtract = meta.get("reset") == "subtract"
        self.amount = float(meta.get("reset_amount", 1.0))
        self.v = np.zeros(n)
        self.i = np.zeros(n)

    def step(self, x: np.ndarray) -> np.ndarray:
        z = self.v > self.threshold
        base = self.v if self.subtract else np.where(z, self.v_reset, self.v)
        drive = self.i if self.kind == "CubaLIF" else x
        self.v = base + self.k_mem * (self.v_leak - base) + self.gain * drive
        if self.subtract:
            self.v = self.v - self.amount * z
        if self.kind == "CubaLIF":
            self.i = self.i + self.k_syn * (self.w_in * x - self.i)
        return z.astype(float)


def _pool(x: np.ndarray, shape: tuple[int, ...], node, name: str) -> np.ndarray:
    """A ``SumPool2d`` (window sums) or ``AvgPool2d`` (window means) of one step's flat values."""
    c, h, w = _spatial(shape)
    (kh, kw), (sh, sw), (ph, pw) = (
        _pair(node.kernel_size, "kernel_size", name),
        _pair(node.stride, "stride", name),
        _pair(node.padding, "padding", name),
    )
    padded = np.pad(x.reshape(c, h, w), ((0, 0), (ph, ph), (pw, pw)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
    out = windows.sum(axis=(3, 4))
    return (out / (kh * kw) if type(node).__name__ == "AvgPool2d" else out).ravel()


def simulate(net: NetworkGraph, inputs: Mapping[str, np.ndarray], dt: float) -> dict[str, dict]:
    """Run the graph over the input trains (``Input`` node name -> time x neurons) and count, per
    synaptic layer, the presynaptic events (non-zero inputs: one memory row read each) and the
    postsynaptic spikes of the neuron nodes it feeds."""
    graph = net.graph
    steps = {len(v) for v in inputs.values()}
    if len(steps) != 1:
        raise PriceInputError(f"the input trains have different lengths: {sorted(steps)}")
    (t_steps,) = steps
    state: dict[str, _Neurons] = {}
    layers = {layer.name: layer for layer in net.layers}
    counts = {name: {"forward": 0.0} for name in layers}
    for name in net.order:
        node = graph.nodes[name]
        kind = type(node).__name__
        if kind not in (*NEURONS, *SYNAPTIC, *PASS_THROUGH):
            raise PriceInputError(
                f"cannot simulate node {name!r} of type {kind}: the simulator runs {', '.join(NEURONS)} neurons, "
                f"{', '.join(SYNAPTIC)} layers and {', '.join(PASS_THROUGH)}; give the activity as rates instead"
            )
    previous: dict[str, np.ndarray] = {}
    for t in range(t_steps):
        values: dict[str, np.ndarray] = {}
        for name in net.order:
            node = graph.nodes[name]
            kind = type(node).__name__
            if kind == "Input":
                values[name] = inputs[name][t]
                continue
            x = (
                sum(_input(net, p, name, values, previous) for p in net.predecessors[name])
                if net.predecessors[name]
                else None
            )
            if x is None:
                raise PriceInputError(f"node {name!r} ({kind}) has no input")
            if name in layers:
                layer = layers[name]
                counts[name]["forward"] += float(np.count_nonzero(x))
                y = x @ layer.dense
                values[name] = y + layer.bias if layer.bias is not None else y
            elif kind in POOLING:
                values[name] = _pool(x, net.shapes[net.predecessors[name][0]], node, name)
            elif kind in NEURONS:
                if name not in state:  # sized by its input: NIR allows scalar parameters
                    state[name] = _Neurons(name, node, x.size, dt)
                values[name] = state[name].step(x)
            else:
                values[name] = x
        previous = values
    for name in counts:
        counts[name]["spike_rate"] = counts[name]["forward"] / (layers[name].n_pre * t_steps)
    return counts


def _input(net: NetworkGraph, p: str, name: str, values: dict, previous: dict) -> np.ndarray:
    """What node ``p`` gives ``name`` this step: its value, or over a recurrent edge last step's
    (zeros in the first step)."""
    if (p, name) not in net.recurrent:
        return values[p]
    return previous[p] if p in previous else np.zeros(_size(net.shapes[p]) or 0)


def load_input_spikes(path: str | Path, net: NetworkGraph) -> dict[str, np.ndarray]:
    """The input trains of an ``.npz`` file: per ``Input`` node, an array time x neurons (or time x the
    node's shape), named after the node, or the file's only array for a graph with one input."""
    path = Path(path)
    inputs = {n: node for n, node in net.graph.nodes.items() if type(node).__name__ == "Input"}
    if not inputs:
        raise PriceInputError("the graph has no Input node to feed the input spikes to")
    try:
        data = np.load(path, allow_pickle=False)
        arrays = {k: data[k] for k in data.files}
    except Exception as e:
        raise PriceInputError(f"{path}: not a readable .npz file of input spikes ({e})") from None
    out = {}
    for name, node in inputs.items():
        if name in arrays:
            a = arrays[name]
        elif len(arrays) == 1 and len(inputs) == 1:
            a = next(iter(arrays.values()))
        else:
            raise PriceInputError(f"{path}: no array named {name!r} for the Input node (it has {', '.join(arrays)})")
        n = _out_size(node)
        if a.ndim < 2 or (n is not None and int(np.prod(a.shape[1:])) != n):
            raise PriceInputError(
                f"{path}: input spikes of shape {a.shape} do not fit Input node {name!r} of {n} neurons "
                "(expected time x neurons)"
            )
        out[name] = a.reshape(a.shape[0], -1).astype(float)
    return out
