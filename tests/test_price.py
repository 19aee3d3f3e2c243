"""Your network, priced: NIR graphs built here with the nir package (no download), read, simulated
and priced per layer and encoding; the trained networks exported as NIR and read back; bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikemem.cli import main
from spikemem.config import load_config
from spikemem.encodings import REGISTRY, ConvGeometry, encode_conv, encode_fc
from spikemem.network_energy import OPS
from spikemem.nir_graph import network_graph, read_graph, simulate, unroll_conv
from spikemem.nir_pricing import (
    BEST_MIX,
    network_rows,
    price_layers,
    price_stage,
    quantize,
    rates_activity,
    simulated_activity,
    upper_bound_activity,
)
from spikemem.price_errors import PriceInputError
from spikemem.snn.network import LifConstants, lif_forward
from spikemem.synth.energy_table import COEFFICIENTS, CYCLE_COEFFICIENTS
from spikemem.workloads import memory_params

nir = pytest.importorskip("nir")

ROOT = Path(__file__).resolve().parent.parent
MACRO = "sky130_sram_1kbyte_1rw1r_32x256_8"


@pytest.fixture(scope="module")
def cfg():
    return load_config(ROOT / "config" / "test_small.yaml")


def _table() -> pd.DataFrame:
    """A tiny hand-made energy table (as tests/test_energy_bases.py makes one): FC rows for the
    index-based encodings, conv rows for the functional ones, made-up coefficients, at 2-8 bits."""
    base = {
        **dict.fromkeys(COEFFICIENTS, 1e-12),
        "e_sram_read_word_j": 10e-12,
        "e_sram_write_word_j": 12e-12,
        **dict.fromkeys(CYCLE_COEFFICIENTS, 0.0),
        "cycles_per_event": 10.0,
        "logic_leakage_w": 1e-6,
        "sram_leakage_w": 4e-6,
        "macro_count": 2,
        "sram_macros": MACRO,
        "flagged": False,
        "fit_designs": "x-fc8x8-w4;x-fc16x16-w4",
        "validation_design": "x-fc32x32-w4",
        "flow_level": "synthesis",
    }
    rows = []
    for name, cls in REGISTRY.items():
        layer = "fc" if "fc" in cls.layer_types else "conv"
        fit = base["fit_designs"] if layer == "fc" else "x-conv1x6x6o4k3s1p1-w4"
        for wb in range(2, 9):
            for op in OPS:
                rows.append(
                    {
                        "layer": layer,
                        "encoding": name,
                        "weight_bits": wb,
                        "operation": op,
                        **base,
                        "fit_designs": fit,
                        "validation_design": base["validation_design"] if layer == "fc" else None,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture()
def table_csv(tmp_path) -> Path:
    path = tmp_path / "energy_table.csv"
    _table().to_csv(path, index=False)
    (tmp_path / "energy_table.provenance.json").write_text(json.dumps({"cost_model": "hand-made for tests"}))
    return path


def _lif(shape) -> nir.LIF:
    return nir.LIF(
        tau=np.full(shape, 0.01), r=np.full(shape, 10.0), v_leak=np.zeros(shape), v_threshold=np.full(shape, 0.5)
    )


def fc_graph(rng, n_in=24, n_hid=16, n_out=8):
    """Input -> Affine -> LIF -> Affine -> LIF -> Output, sparse float weights."""
    w1 = rng.normal(0, 0.3, (n_hid, n_in)) * (rng.random((n_hid, n_in)) < 0.4)
    w2 = rng.normal(0, 0.3, (n_out, n_hid)) * (rng.random((n_out, n_hid)) < 0.6)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc1": nir.Affine(weight=w1, bias=np.zeros(n_hid)),
        "lif1": _lif(n_hid),
        "fc2": nir.Affine(weight=w2, bias=np.zeros(n_out)),
        "lif2": _lif(n_out),
        "output": nir.Output(output_type={"output": np.array([n_out])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def conv_graph(rng):
    """Conv2d -> LIF -> Flatten -> Affine -> LIF, integer-valued weights (used as they are)."""
    k = rng.integers(-3, 4, (4, 1, 3, 3)).astype(float)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([1, 6, 6])}),
        "conv": nir.Conv2d(input_shape=(6, 6), weight=k, stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(4)),
        "lif1": _lif((4, 6, 6)),
        "flat": nir.Flatten(input_type={"input": np.array([4, 6, 6])}, start_dim=0),
        "fc": nir.Affine(weight=rng.integers(-3, 4, (10, 144)).astype(float), bias=np.zeros(10)),
        "lif2": _lif(10),
        "output": nir.Output(output_type={"output": np.array([10])}),
    }
    edges = [("input", "conv"), ("conv", "lif1"), ("lif1", "flat"), ("flat", "fc"), ("fc", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


@pytest.fixture()
def fc_file(tmp_path) -> Path:
    path = tmp_path / "fc.nir"
    nir.write(path, fc_graph(np.random.default_rng(0)))
    return path


@pytest.fixture()
def conv_file(tmp_path) -> Path:
    path = tmp_path / "conv.nir"
    nir.write(path, conv_graph(np.random.default_rng(1)))
    return path


def _spikes(tmp_path, n_in=24, steps=40, p=0.3) -> Path:
    path = tmp_path / "in.npz"
    np.savez(path, spikes=(np.random.default_rng(2).random((steps, n_in)) < p).astype(np.uint8))
    return path


# --------------------------------------------------------------------------- storage and the best encoding


def test_fc_storage_matches_an_independent_count_and_the_encodings_formula(cfg, fc_file):
    net = network_graph(read_graph(fc_file))
    assert [layer.name for layer in net.layers] == ["fc1", "fc2"]
    rows = pd.DataFrame(price_layers(cfg, _table(), net, upper_bound_activity(net, 1), [4]))
    graph = read_graph(fc_file)
    params = memory_params(cfg)
    for name in ("fc1", "fc2"):
        w = np.asarray(graph.nodes[name].weight).T  # nir: out x in; encodings: pre x post
        top = 7  # 4 bits, symmetric
        levels = np.clip(np.rint(w / (np.abs(w).max() / top)), -top, top).astype(np.int64)
        nnz = int(np.count_nonzero(levels))
        for r in rows[rows.layer == name].itertuples():
            assert r.nonzero_weights == nnz and r.weight_bits == 4
            enc = encode_fc(r.encoding, levels, 4, params)
            assert {"payload_bits": r.payload_bits, "metadata_bits": r.metadata_bits} == enc.storage_formula()
            dense_store = enc.connectivity().all()
            # A dense store keeps every weight, a sparse one the non-zero weights.
            assert r.payload_bits == (w.size if dense_store else nnz) * 4
            assert r.storage_bits == r.payload_bits + r.metadata_bits
    assert set(rows.encoding) == {n for n, c in REGISTRY.items() if "fc" in c.layer_types}


def test_recommended_encoding_is_the_argmin(cfg, fc_file):
    net = network_graph(read_graph(fc_file))
    rows = price_layers(cfg, _table(), net, upper_bound_activity(net, 3), [3, 6])
    df = pd.DataFrame(rows)
    for (_, _), g in df.groupby(["requested_bits", "layer"]):
        assert g[g.best_for_layer].dynamic_j.iloc[0] == g.dynamic_j.min() and g.best_for_layer.sum() == 1
    nets = pd.DataFrame(network_rows(rows))
    for _, g in nets.groupby("requested_bits"):
        assert g.recommended.sum() == 1
        assert g[g.recommended].dynamic_j.iloc[0] == g.dynamic_j.min()
        mix = g[g.encoding == BEST_MIX].iloc[0]
        # The per-layer mix is never worse than any single encoding on every layer.
        assert mix.dynamic_j <= g.dynamic_j.min() + 1e-24


def test_conv_layer_priced_in_functional_and_unrolled_encodings(cfg, conv_file):
    net = network_graph(read_graph(conv_file))
    conv = net.layer("conv")
    g = ConvGeometry(1, 6, 6, 4, 3, 1, 1)
    assert conv.geometry == g
    assert np.array_equal(conv.dense, g.unroll(conv.kernels.astype(np.int64)))
    rows = pd.DataFrame(price_layers(cfg, _table(), net, upper_bound_activity(net, 1)))
    c = rows[rows.layer == "conv"]
    assert set(c.encoding) == set(REGISTRY)  # functional (conv rows) and index-based (FC rows, unrolled)
    assert set(c[c.table_rows == "conv"].encoding) == {n for n, k in REGISTRY.items() if "fc" not in k.layer_types}
    kernels = conv.kernels.astype(np.int64)
    assert (c.weight_bits == 3).all() and c.quantization.str.startswith("integer").all()  # |w| <= 3: 3 bits
    params = memory_params(cfg)
    for r in c.itertuples():
        enc = encode_conv(r.encoding, kernels, g, 3, params)
        assert r.payload_bits == enc.storage_formula()["payload_bits"]
    # 6x6 -> 4x6x6 with 3x3 kernels is 5184 positions, beyond the 32x32 (1024) validated: flagged.
    assert c[c.table_rows == "fc"].beyond_characterized.all()
    assert rows[rows.layer == "fc"].beyond_characterized.all()  # 144 x 10 = 1440 > 1024 too


def _conv_reference(x, weight, stride, pad, dilation, groups):
    """Direct 2-D convolution (PyTorch semantics) of one input (C, H, W), for the unroll check."""
    c_out, c_in_g, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), pad[0], pad[1]))
    oh = (xp.shape[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[2] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((c_out, oh, ow))
    for o in range(c_out):
        grp = o // (c_out // groups)
        for y in range(oh):
            for xx in range(ow):
                for ci in range(c_in_g):
                    for ky in range(kh):
                        for kx in range(kw):
                            out[o, y, xx] += (
                                weight[o, ci, ky, kx]
                                * xp[
                                    grp * c_in_g + ci,
                                    y * stride[0] + ky * dilation[0],
                                    xx * stride[1] + kx * dilation[1],
                                ]
                            )
    return out


def test_unrolled_convolution_equals_a_direct_convolution():
    rng = np.random.default_rng(3)
    weight = rng.normal(size=(4, 1, 2, 3))  # 2 input channels in 2 groups: one input channel per kernel
    x = rng.normal(size=(2, 7, 8))
    stride, pad, dilation = (2, 1), ((1, 1), (0, 2)), (1, 2)
    dense = unroll_conv(weight, (7, 8), stride, pad, dilation, groups=2)
    ref = _conv_reference(x, weight, stride, pad, dilation, groups=2)
    assert np.allclose(x.ravel() @ dense, ref.ravel())


# --------------------------------------------------------------------------- activity


def test_three_activity_sources_are_labelled_and_the_upper_bound_bounds(cfg, fc_file, tmp_path, table_csv):
    spikes = _spikes(tmp_path)
    out = {}
    for label, kwargs in (
        ("simulation", {"spikes": spikes, "dt": 1e-3}),
        ("rates", {"rates": ["*=0.2,0.1"], "steps": 40}),
        ("upper_bound", {"steps": 40}),
    ):
        text, layers, networks, prov = price_stage(cfg, fc_file, table_csv, tmp_path / label / "fc.csv", [4], **kwargs)
        df = pd.read_csv(layers)
        assert (df.activity_source == label).all() and (df.steps == 40).all()
        assert f"activity: {label}" in text
        p = json.loads(prov.read_text())
        assert p["activity"]["source"] == label and p["nir_version"] == nir.__version__
        assert p["energy_table"]["path"] == str(table_csv)
        assert p["energy_table"]["provenance"] == {"cost_model": "hand-made for tests"}
        assert p["inputs"]["model"]["sha256"] and p["weight_bits"] == [4]
        assert oct(layers.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
        out[label] = df.set_index(["layer", "encoding"])
    sim, bound, rates = out["simulation"], out["upper_bound"], out["rates"]
    assert (
        "UPPER BOUND"
        in json.loads((tmp_path / "upper_bound" / "fc.provenance.json").read_text())["activity"]["description"]
    )
    # Simulation prices inference only; the bound is at least the simulated activity's energy.
    assert (sim.backward_j == 0).all() and (sim.update_j == 0).all() and (sim.forward_events > 0).all()
    assert (bound.forward_j >= sim.forward_j).all() and (bound.dynamic_j >= sim.dynamic_j).all()
    assert (bound.dynamic_j >= rates.dynamic_j).all()
    # Rates: 0.2 x 24 inputs x 40 steps presynaptic events on fc1; 0.1 x 16 x 40 errors.
    assert rates.loc[("fc1", "crossbar"), "forward_events"] == pytest.approx(0.2 * 24 * 40)
    assert rates.loc[("fc1", "crossbar"), "backward_events"] == pytest.approx(0.1 * 16 * 40)


def _umask() -> int:
    import os

    m = os.umask(0o022)
    os.umask(m)
    return m


def test_simulated_events_count_the_spikes_each_layer_reads(fc_file, tmp_path):
    net = network_graph(read_graph(fc_file))
    spikes = _spikes(tmp_path)
    act = simulated_activity(net, spikes, 1e-3)
    x = np.load(spikes)["spikes"]
    assert act.layers["fc1"]["forward"] == np.count_nonzero(x)
    assert act.steps == 40 and act.source == "simulation"


def test_rates_from_a_yaml_file_and_missing_layers(cfg, fc_file, tmp_path, table_csv):
    rates = tmp_path / "rates.yaml"
    rates.write_text("steps: 10\nlayers:\n  fc1: {spike_rate: 0.5, error_rate: 0.1}\n  fc2: {spike_rate: 0.2}\n")
    _, layers, _, _ = price_stage(cfg, fc_file, table_csv, tmp_path / "r.csv", [4], rates_file=rates)
    df = pd.read_csv(layers)
    assert (df[df.layer == "fc2"].backward_events == 0).all() and (df.steps == 10).all()
    net = network_graph(read_graph(fc_file))
    with pytest.raises(PriceInputError, match="no rates for layer 'fc2'"):
        rates_activity(net, {"fc1": {"spike_rate": 0.1}}, 1)
    with pytest.raises(PriceInputError, match="in \\[0, 1\\]"):
        rates_activity(net, {"*": {"spike_rate": 2.0}}, 1)


def test_quantization_keeps_integer_levels_and_scales_floats(fc_file):
    net = network_graph(read_graph(fc_file))
    layer = net.layer("fc1")
    levels, wb, how = quantize(layer, 5)
    assert wb == 5 and np.abs(levels).max() == 15 and how.startswith("symmetric")
    layer.dense = np.rint(layer.dense * 10)
    levels, wb, how = quantize(layer, None)
    assert np.array_equal(levels, layer.dense.astype(np.int64)) and how.startswith("integer")
    assert 2 ** (wb - 2) - 1 < np.abs(levels).max() <= 2 ** (wb - 1) - 1
    with pytest.raises(PriceInputError, match="need"):
        quantize(layer, 2)


# --------------------------------------------------------------------------- export round trip


def _fake_run(tmp_path, protocol="adaptive", wb=4, sizes=(20, 12, 6)) -> Path:
    """A training run's files as spikemem snn train writes them (metrics.json, levels)."""
    rng = np.random.default_rng(5)
    run = tmp_path / "runs" / f"{protocol}-x" / f"w{wb}-s3"
    run.mkdir(parents=True)
    top = 2 ** (wb - 1) - 1
    levels = {
        "hidden": rng.integers(-top, top + 1, (sizes[0], sizes[1])),
        "output": rng.integers(-top, top + 1, (sizes[1], sizes[2])),
    }
    np.savez(run / "best_levels.npz", **{k: v.astype(np.int16) for k, v in levels.items()})
    np.savez(run / "final_levels.npz", **{k: v.astype(np.int16) for k, v in levels.items()})
    metrics = {
        "weight_bits": wb,
        "seed": 3,
        "protocol": protocol,
        "training_set": f"{protocol}-x",
        "quantized": True,
        "layers": {
            "hidden": {"n_pre": sizes[0], "n_post": sizes[1]},
            "output": {"n_pre": sizes[1], "n_post": sizes[2]},
        },
        "settings": {
            "weight_scale": 0.2,
            "lif": {"syn_decay": 0.75, "mem_decay": 0.875, "threshold": 0.9, "surrogate_slope": 100.0},
        },
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


@pytest.mark.parametrize("protocol", ["adaptive", "paper"])
def test_export_round_trips_weights_and_neurons(tmp_path, protocol, capsys):
    from spikemem.snn.nir_export import weight_steps

    run = _fake_run(tmp_path, protocol)
    assert main(["snn", "export", "--out-dir", str(tmp_path / "nir"), str(run / "metrics.json")]) == 0
    path = tmp_path / "nir" / f"{protocol}-x" / "w4-s3.nir"
    assert capsys.readouterr().out.strip() == str(path)
    g = nir.read(path)
    metrics = json.loads((run / "metrics.json").read_text())
    steps = weight_steps(metrics)
    levels = np.load(run / "best_levels.npz")
    for layer, step in zip(("hidden", "output"), steps, strict=True):
        node = g.nodes[f"fc_{layer}"]
        assert isinstance(node, nir.Linear)
        assert np.array_equal(node.weight, (levels[layer].T * step).astype(np.float32))
        assert np.array_equal(np.rint(node.weight / step), levels[layer].T)  # powers of two: exact
        lif = g.nodes[f"lif_{layer}"]
        assert isinstance(lif, nir.CubaLIF)
        dt = 1e-3
        assert np.allclose(1 - dt / lif.tau_syn, 0.75) and np.allclose(1 - dt / lif.tau_mem, 0.875)
        assert np.allclose(lif.v_threshold, 0.9) and np.allclose(lif.v_leak, 0.0)
        assert np.allclose(lif.r * dt / lif.tau_mem, 1.0) and np.allclose(lif.w_in * dt / lif.tau_syn, 1.0)
        assert lif.metadata["reset"] in ("subtract", b"subtract")
    assert isinstance(g.nodes["input"], nir.Input) and isinstance(g.nodes["output"], nir.Output)
    chain = ["input", "fc_hidden", "lif_hidden", "fc_output", "lif_output", "output"]
    assert sorted(g.edges) == sorted(zip(chain[:-1], chain[1:], strict=True))


def test_exported_network_simulates_as_the_projects_lif(tmp_path):
    """The read-back graph, run by the NIR simulator, fires exactly as the project's own LIF layers."""
    run = _fake_run(tmp_path, "adaptive", wb=6, sizes=(30, 20, 10))
    from spikemem.snn.nir_export import export_stage, weight_steps

    (path,) = export_stage([run / "metrics.json"], tmp_path / "nir")
    net = network_graph(read_graph(path))
    x = (np.random.default_rng(4).random((60, 30)) < 0.3).astype(float)
    counts = simulate(net, {"input": x}, 1e-3)
    levels = np.load(run / "best_levels.npz")
    steps = weight_steps(json.loads((run / "metrics.json").read_text()))
    hidden, _ = lif_forward(x @ (levels["hidden"] * steps[0]), LifConstants())
    assert counts["fc_hidden"]["forward"] == np.count_nonzero(x)
    # The output layer reads one row per hidden spike: the hidden layer fired as the project's LIF.
    assert np.count_nonzero(hidden) > 0
    assert counts["fc_output"]["forward"] == np.count_nonzero(hidden)


def test_exported_file_prices_the_trained_levels(cfg, tmp_path, table_csv):
    run = _fake_run(tmp_path, "paper", wb=4)
    from spikemem.snn.nir_export import export_stage

    (path,) = export_stage([run / "metrics.json"], tmp_path / "nir")
    _, layers, _, _ = price_stage(cfg, path, table_csv, tmp_path / "p.csv")
    df = pd.read_csv(layers)
    levels = np.load(run / "best_levels.npz")
    assert (df.weight_bits == 4).all()
    assert df.groupby("layer").nonzero_weights.first().to_dict() == {
        f"fc_{k}": int(np.count_nonzero(levels[k])) for k in ("hidden", "output")
    }


# --------------------------------------------------------------------------- bad inputs


def _bad(tmp_path, graph) -> Path:
    path = tmp_path / "bad.nir"
    nir.write(path, graph)
    return path


def _price_argv(model: Path, table_csv: Path, out: Path, *extra: str) -> list[str]:
    """``spikemem price`` of ``model`` on the small configuration and the test's energy table."""
    config = ROOT / "config" / "test_small.yaml"
    return ["price", str(model), "--config", str(config), "--table", str(table_csv), "--out", str(out), *extra]


def _run_cli(args, capsys) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    "case, message",
    [
        ("not_nir", "not a NIR file"),
        ("recurrent", "cycle without a synaptic layer"),
        ("unsupported", "weight must be 2-D"),
        ("mismatch", "shapes do not match"),
        ("missing", "no such file"),
    ],
)
def test_bad_inputs_give_one_clear_message(case, message, tmp_path, table_csv, capsys):
    rng = np.random.default_rng(0)
    if case == "not_nir":
        model = tmp_path / "model.nir"
        model.write_text("not hdf5")
    elif case == "missing":
        model = tmp_path / "absent.nir"
    elif case == "recurrent":
        nodes = {
            "input": nir.Input(input_type={"input": np.array([4])}),
            "fc": nir.Linear(weight=rng.normal(size=(4, 4))),
            "lif": _lif(4),
            "rec": _lif(4),
            "output": nir.Output(output_type={"output": np.array([4])}),
        }
        edges = [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")]
        model = _bad(tmp_path, nir.NIRGraph(nodes=nodes, edges=edges, type_check=False))
    elif case == "unsupported":
        nodes = {
            "input": nir.Input(input_type={"input": np.array([4])}),
            "fc": nir.Linear(weight=rng.normal(size=(2, 4, 4))),
            "output": nir.Output(output_type={"output": np.array([2, 4])}),
        }
        model = _bad(tmp_path, nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "output")], type_check=False))
    else:
        nodes = {
            "input": nir.Input(input_type={"input": np.array([5])}),
            "fc": nir.Affine(weight=rng.normal(size=(3, 4)), bias=np.zeros(3)),
            "output": nir.Output(output_type={"output": np.array([3])}),
        }
        model = _bad(tmp_path, nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "output")], type_check=False))
    code, err = _run_cli(_price_argv(model, table_csv, tmp_path / "o.csv"), capsys)
    assert code == 2 and err.startswith("spikemem: error: ") and message in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_bad_activity_inputs(cfg, fc_file, tmp_path, table_csv, capsys):
    base = _price_argv(fc_file, table_csv, tmp_path / "o.csv")
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, spikes=np.zeros((10, 5)))
    for extra, message in (
        (["--spikes", str(wrong), "--dt", "1e-3"], "do not fit Input node 'input' of 24 neurons"),
        (["--spikes", str(_spikes(tmp_path))], "give --dt"),
        (["--rate", "fc9=0.1"], "not synaptic layers of the graph"),
        (["--rate", "fc1=lots"], "expected LAYER=SPIKE_RATE"),
        (["--weight-bits", "20"], "widths run from"),
    ):
        code, err = _run_cli(base + extra, capsys)
        assert code == 2 and message in err and len(err.splitlines()) == 1, (extra, err)
    # A neuron the simulator does not run is named.
    g = fc_graph(np.random.default_rng(0))
    g.nodes["lif1"] = nir.LI(tau=np.full(16, 0.01), r=np.ones(16), v_leak=np.zeros(16))
    model = _bad(tmp_path, g)
    net = network_graph(read_graph(model))
    assert any("'lif1' (LI) passed over" in n for n in net.notes)
    with pytest.raises(PriceInputError, match="cannot simulate node 'lif1' of type LI"):
        simulated_activity(net, _spikes(tmp_path), 1e-3)


def test_cli_prints_the_table_and_the_recommendation(fc_file, tmp_path, table_csv, capsys):
    code = main(_price_argv(fc_file, table_csv, tmp_path / "fc.csv", "--weight-bits", "4"))
    out = capsys.readouterr().out
    assert code == 0
    assert "recommended at w4:" in out and "UPPER BOUND" in out and str(table_csv) in out
    nets = pd.read_csv(tmp_path / "fc.network.csv")
    assert nets.recommended.sum() == 1


# --------------------------------------------------------------------------- the command's polish


def test_energies_print_in_the_unit_that_fits():
    from spikemem.nir_pricing import _si

    assert _si(999.7e-9) == "1 uJ" and _si(1.234e-9) == "1.23 nJ" and _si(0.0) == "0"
    assert _si(2.5) == "2.5 J" and _si(4e-16) == "0.4 fJ" and _si(float("nan")) == "-"


def test_widths_the_table_lacks_are_refused_up_front(fc_file, tmp_path, table_csv, capsys):
    code, err = _run_cli(_price_argv(fc_file, table_csv, tmp_path / "o.csv", "--weight-bits", "4", "10"), capsys)
    assert code == 2 and "--weight-bits 10" in err and "widths 2, 3, 4, 5, 6, 7, 8 only" in err
    assert not (tmp_path / "o.csv").exists()


def test_a_rate_without_an_error_rate_is_a_stated_assumption(fc_file, tmp_path, table_csv, capsys):
    code = main(_price_argv(fc_file, table_csv, tmp_path / "o.csv", "--rate", "fc1=0.1,0.02", "--rate", "fc2=0.2"))
    out = capsys.readouterr().out
    assert code == 0
    activity = out.splitlines()[0]
    assert "fc1 spike 0.1, error 0.02;" in activity and "fc2 spike 0.2, error 0 (assumed)" in activity
    assert "No error rate given for fc2: assumed 0" in activity
    prov = json.loads((tmp_path / "o.provenance.json").read_text())
    assert prov["activity"]["error_rate_assumed_zero"] == ["fc2"]


def _recurrent(rng, loop=None) -> nir.NIRGraph:
    """Input 4 -> Linear -> LIF 6 <-> Linear 6x6 (recurrent), LIF -> Linear -> Output 2."""
    nodes = {
        "input": nir.Input(input_type={"input": np.array([4])}),
        "fc": nir.Linear(weight=rng.normal(0, 1.5, size=(6, 4))),
        "lif": nir.LIF(tau=np.full(6, 1e-3), r=np.ones(6), v_leak=np.zeros(6), v_threshold=np.full(6, 0.5)),
        "rec": loop if loop is not None else nir.Linear(weight=rng.normal(0, 0.8, size=(6, 6))),
        "out_fc": nir.Linear(weight=rng.normal(size=(2, 6))),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out_fc"), ("out_fc", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_a_recurrent_weight_matrix_is_priced_and_simulated_with_one_step_of_delay(cfg, tmp_path, table_csv):
    rng = np.random.default_rng(5)
    path = _bad(tmp_path, _recurrent(rng))
    net = network_graph(read_graph(path))
    assert [(layer.name, layer.n_pre, layer.n_post) for layer in net.layers] == [
        ("fc", 4, 6),
        ("rec", 6, 6),
        ("out_fc", 6, 2),
    ]
    assert net.recurrent == {("rec", "lif")} and any("recurrent connection 'rec' -> 'lif'" in n for n in net.notes)
    trains = (np.random.default_rng(6).random((40, 4)) < 0.5).astype(float)
    counts = simulate(net, {"input": trains}, 1e-3)
    # Independently: LIF with dt = tau (the membrane takes its input each step), the loop's input
    # the spikes of the step before.
    fc, rec = net.layer("fc").dense, net.layer("rec").dense
    v, z_prev, spikes = np.zeros(6), np.zeros(6), 0
    for x in trains:
        z = v > 0.5
        base = np.where(z, 0.0, v)
        v = base + (0.0 - base) + (x @ fc + z_prev @ rec)
        z_prev = z.astype(float)
        spikes += np.count_nonzero(z)
    assert counts["rec"]["forward"] == counts["out_fc"]["forward"] == spikes > 0
    text, layers, _, _ = price_stage(cfg, path, table_csv, tmp_path / "r.csv", weight_bits=[4])
    assert "rec" in set(pd.read_csv(layers).layer) and "recurrent connection" in text


def test_unsupported_cycles_are_refused_naming_their_nodes(tmp_path, table_csv, capsys):
    rng = np.random.default_rng(0)
    for loop, message in (
        (nir.LIF(tau=np.full(6, 1e-3), r=np.ones(6), v_leak=np.zeros(6), v_threshold=np.full(6, 0.5)),
         "a cycle without a synaptic layer (through lif, rec)"),
        (nir.Delay(delay=np.ones(6)), "through rec holds a Delay node"),
    ):  # fmt: skip
        model = _bad(tmp_path, _recurrent(rng, loop))
        code, err = _run_cli(_price_argv(model, table_csv, tmp_path / "o.csv"), capsys)
        assert code == 2 and message in err and "out_fc" not in err, err


def test_debug_shows_the_traceback_and_keeps_the_exit_code(tmp_path, table_csv, capsys):
    model = tmp_path / "absent.nir"
    code, err = _run_cli(_price_argv(model, table_csv, tmp_path / "o.csv"), capsys)
    code_debug, err_debug = _run_cli(_price_argv(model, table_csv, tmp_path / "o.csv", "--debug"), capsys)
    assert code == code_debug == 2
    assert "Traceback" in err_debug and err_debug.splitlines()[-1] == err


def test_flagged_operations_are_named_in_the_terminal(fc_file, tmp_path, capsys):
    table = _table()
    table.loc[(table.operation == "update") & (table.weight_bits == 4), "flagged"] = True
    path = tmp_path / "flagged.csv"
    table.to_csv(path, index=False)
    code = main(_price_argv(fc_file, path, tmp_path / "o.csv", "--weight-bits", "4"))
    out = capsys.readouterr().out
    assert code == 0 and "table-flagged (update)" in out and "table-flagged (backward" not in out


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncated", "damaged or not a spikemem energy table: no column"),
        ("foreign", "damaged or not a spikemem energy table: no column layer, encoding"),
        ("bad value", "damaged energy table: line 5: 'weight_bits'"),
        ("no rows", "has no rows"),
        ("empty", "not a readable CSV"),
    ],
)
def test_a_damaged_or_foreign_energy_table_is_refused(damage, message, fc_file, tmp_path, table_csv, capsys):
    bad = tmp_path / "bad_table.csv"
    text = table_csv.read_text()
    if damage == "truncated":
        bad.write_text(text[:300])
    elif damage == "foreign":
        bad.write_text("name,value\na,1\n")
    elif damage == "bad value":
        table = pd.read_csv(table_csv).astype({"weight_bits": object})
        table.loc[3, "weight_bits"] = "four"
        table.to_csv(bad, index=False)
    elif damage == "no rows":
        bad.write_text(text.splitlines()[0] + "\n")
    else:
        bad.write_text("")
    code, err = _run_cli(_price_argv(fc_file, bad, tmp_path / "o.csv"), capsys)
    assert code == 2 and message in err and len(err.splitlines()) == 1, err


def test_output_goes_to_the_projects_results_not_the_working_directory(tmp_path, monkeypatch):
    from spikemem import cli, layout

    assert cli.default_price_out(Path("nets/model.nir")) == layout.RESULTS / "price" / "model.price.csv"
    monkeypatch.setattr(cli, "PROJECT_ROOT", tmp_path)  # an installed package, no checkout around it
    assert cli.default_price_out(tmp_path / "m" / "x.nir") == tmp_path / "m" / "x.price.csv"


def _pooling_cnn(rng, pool=nir.SumPool2d, declared_out=None) -> nir.NIRGraph:
    """Input (2, 8, 8) -> Conv2d 4x3x3 -> IF -> pool 2x2 -> Conv2d 3x3x3 -> IF -> Flatten -> Affine -> IF."""
    w1 = rng.normal(0, 0.5, (4, 2, 3, 3))
    w2 = rng.normal(0, 0.5, (3, 4, 3, 3))
    w3 = rng.normal(0, 0.5, (5, 3 * 4 * 4))

    def if_(shape):  # r = 1 / dt at dt = 1 ms: each step adds the input to the membrane
        return nir.IF(r=np.full(shape, 1e3), v_threshold=np.full(shape, 0.5))

    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 8, 8])}),
        "c1": nir.Conv2d(
            input_shape=np.array([8, 8]), weight=w1, stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(4)
        ),
        "n1": if_((4, 8, 8)),
        "pool": pool(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "c2": nir.Conv2d(
            input_shape=np.array([4, 4]), weight=w2, stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(3)
        ),
        "n2": if_((3, 4, 4)),
        "flat": nir.Flatten(input_type={"input": np.array([3, 4, 4])}, start_dim=0),
        "fc": nir.Affine(weight=w3, bias=np.zeros(5)),
        "n3": if_((5,)),
        "output": nir.Output(output_type={"output": np.array(declared_out or [5])}),
    }
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:], strict=False)), type_check=False)


@pytest.mark.parametrize("pool", [nir.SumPool2d, nir.AvgPool2d])
def test_pooling_changes_shapes_as_nir_defines_and_is_simulated(pool, tmp_path):
    path = _bad(tmp_path, _pooling_cnn(np.random.default_rng(3), pool))
    net = network_graph(read_graph(path))
    assert [(layer.name, layer.n_pre, layer.n_post) for layer in net.layers] == [
        ("c1", 128, 256),
        ("c2", 64, 48),
        ("fc", 48, 5),
    ]
    assert net.shapes["pool"] == (4, 4, 4) and net.shapes["flat"] == (48,)
    # The second convolution reads the pooled spikes: counted against an independent pooling.
    trains = (np.random.default_rng(4).random((30, 128)) < 0.4).astype(float)
    counts = simulate(net, {"input": trains}, 1e-3)
    c1, v, expected = net.layer("c1"), np.zeros(256), 0
    for x in trains:  # IF: a step emits what the membrane held, then resets it and integrates
        z = v > 0.5
        v = np.where(z, 0.0, v) + x @ c1.dense
        pooled = z.reshape(4, 4, 2, 4, 2).sum(axis=(2, 4))
        expected += np.count_nonzero(pooled)
    assert counts["c2"]["forward"] == expected > 0


def test_declared_shapes_that_disagree_with_the_geometry_are_named(tmp_path, table_csv, capsys):
    path = _bad(tmp_path, _pooling_cnn(np.random.default_rng(3), declared_out=[7]))
    code, err = _run_cli(_price_argv(path, table_csv, tmp_path / "o.csv"), capsys)
    assert code == 2 and "node 'n3' gives 5 values (shape (5,)), node 'output' (Output) takes 7" in err
    graph = _pooling_cnn(np.random.default_rng(3))
    graph.nodes["flat"].output_type = {"output": np.array([50])}  # a declared output its input cannot give
    with pytest.raises(PriceInputError, match=r"'flat' \(Flatten\) declares an output of shape \(50,\) \(50 values\)"):
        network_graph(graph)
