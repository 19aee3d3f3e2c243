"""Golden models against dense algebra and direct convolution, storage formulas, traces."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from spikemem.encodings import (
    REGISTRY,
    ConvGeometry,
    EncodingError,
    MemoryParams,
    SramMacro,
    encode_conv,
    encode_fc,
)
from spikemem.encodings.bitfields import weight_range
from spikemem.golden import LOOKUPS, run_events

FC_ENCODINGS = [n for n, c in REGISTRY.items() if "fc" in c.layer_types]
CONV_ENCODINGS = list(REGISTRY)
MACRO = SramMacro("test_macro", 32, 256)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def params(word_bits: int = 32, threshold: int = 512) -> MemoryParams:
    return MemoryParams(word_bits, MACRO, threshold)


def random_matrix(rng, shape, weight_bits, density):
    _, top = weight_range(weight_bits)
    w = rng.integers(-top, top + 1, size=shape)
    w[rng.random(shape) >= density] = 0
    return w


@st.composite
def fc_cases(draw):
    n_pre = draw(st.integers(1, 10))
    n_post = draw(st.integers(1, 40))
    weight_bits = draw(st.integers(2, 12))
    density = draw(st.sampled_from([0.0, 0.05, 0.3, 0.7, 1.0]))
    word_bits = draw(st.sampled_from([32, 64]))
    seed = draw(st.integers(0, 2**32 - 1))
    return n_pre, n_post, weight_bits, density, word_bits, np.random.default_rng(seed)


@st.composite
def conv_cases(draw):
    kernel = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    padding = draw(st.integers(0, kernel - 1))
    h = draw(st.integers(kernel, 6))
    w = draw(st.integers(kernel, 6))
    geom = ConvGeometry(draw(st.integers(1, 2)), h, w, draw(st.integers(1, 3)), kernel, stride, padding)
    weight_bits = draw(st.integers(2, 12))
    density = draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    return geom, weight_bits, density, np.random.default_rng(seed)


# --------------------------------------------------------------- independent references


def direct_conv(x: np.ndarray, kernels: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """Cross-correlation of ``x[c, y, x]`` with ``kernels[o, c, ky, kx]`` by padded slices."""
    xp = np.pad(x, ((0, 0), (g.padding, g.padding), (g.padding, g.padding)))
    out = np.zeros((g.out_channels, g.out_height, g.out_width), dtype=np.int64)
    for ky in range(g.kernel):
        for kx in range(g.kernel):
            patch = xp[:, ky : ky + g.stride * g.out_height : g.stride, kx : kx + g.stride * g.out_width : g.stride]
            out += np.einsum("chw,oc->ohw", patch, kernels[:, :, ky, kx])
    return out


def direct_conv_transpose(e: np.ndarray, kernels: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """The transpose of :func:`direct_conv`: scatter every output error back through the kernel."""
    hp, wp = g.height + 2 * g.padding, g.width + 2 * g.padding
    xp = np.zeros((g.in_channels, hp + g.stride, wp + g.stride), dtype=np.int64)
    for ky in range(g.kernel):
        for kx in range(g.kernel):
            contrib = np.einsum("ohw,oc->chw", e, kernels[:, :, ky, kx])
            xp[:, ky : ky + g.stride * g.out_height : g.stride, kx : kx + g.stride * g.out_width : g.stride] += contrib
    return xp[:, g.padding : g.padding + g.height, g.padding : g.padding + g.width]


def check_trace(enc, trace, writes_allowed: bool):
    """Every access names a memory of the image, lies within its depth, and every write is the
    write-back of a word read earlier in the same operation."""
    read = set()
    for a in trace:
        mem = enc.image.memories[a.memory]
        assert 0 <= a.address < mem.depth
        if a.op == "R":
            read.add((a.memory, a.address))
        else:
            assert writes_allowed, "forward/backward must not write"
            assert (a.memory, a.address) in read, "a write without the read of its read-modify-write"


def check_storage(enc):
    formula = enc.storage_formula()
    assert enc.image.payload_bits == formula["payload_bits"]
    assert enc.image.metadata_bits == formula["metadata_bits"]
    for m in enc.image.memories.values():
        assert m.payload_bits + m.metadata_bits <= m.allocated_bits
        if m.implementation == "sram":
            assert m.macro_count >= -(-m.allocated_bits // MACRO.bits)
        else:
            assert m.allocated_bits <= 512


# --------------------------------------------------------------- fully connected


@pytest.mark.parametrize("name", FC_ENCODINGS)
@SETTINGS
@given(case=fc_cases())
def test_fc_operations_equal_dense_algebra(name, case):
    n_pre, n_post, wb, density, word_bits, rng = case
    w = random_matrix(rng, (n_pre, n_post), wb, density)
    enc = encode_fc(name, w, wb, params(word_bits))
    assert np.array_equal(enc.dense(), w)
    check_storage(enc)

    spikes = rng.integers(0, 2, n_pre)
    fwd = enc.forward(spikes)
    assert np.array_equal(fwd.values, spikes @ w)
    check_trace(enc, fwd.trace, writes_allowed=False)

    errors = rng.integers(-5, 6, n_post)
    bwd = enc.backward(errors)
    assert np.array_equal(bwd.values, w @ errors)
    check_trace(enc, bwd.trace, writes_allowed=False)

    # Saturating updates, applied one by one, on the synapses the encoding holds.
    lo, hi = weight_range(wb)
    mask = enc.connectivity()
    expected = w.copy()
    events = []
    for _ in range(30):
        i, j = int(rng.integers(n_pre)), int(rng.integers(n_post))
        d = int(rng.integers(-hi - 2, hi + 3))
        events.append((i, j, d))
        if mask[i, j]:
            expected[i, j] = min(hi, max(lo, expected[i, j] + d))
    upd = enc.update(events)
    assert np.array_equal(upd.values, expected)
    check_trace(enc, upd.trace, writes_allowed=True)
    assert sum(a.op == "W" for a in upd.trace) == sum(bool(mask[i, j]) for i, j, _ in events)


@pytest.mark.parametrize("name", FC_ENCODINGS)
def test_fc_update_outer_is_the_masked_outer_product(name):
    rng = np.random.default_rng(3)
    w = random_matrix(rng, (6, 9), 6, 0.5)
    enc = encode_fc(name, w, 6, params())
    x, e = rng.integers(0, 2, 6), rng.integers(-2, 3, 9)
    result = enc.update_outer(x, e).values
    lo, hi = weight_range(6)
    assert np.array_equal(result, np.clip(w + np.outer(x, e) * enc.connectivity(), lo, hi))


def test_sparse_encodings_keep_structure_and_crossbar_reads_whole_rows():
    w = np.array([[0, 3, 0, 0], [0, 0, 0, 0], [1, 0, 0, -2]])
    for name in ("pb_csr", "pb_csr_csc", "pb_bmp"):
        enc = encode_fc(name, w, 4, params())
        assert np.array_equal(enc.connectivity(), w != 0)
        # A stored weight driven to zero stays stored: the structure does not change.
        enc.update([(0, 1, -3)])
        assert enc.connectivity()[0, 1] and enc.dense()[0, 1] == 0
    enc = encode_fc("crossbar", np.zeros((3, 20), dtype=int), 2, params())
    fwd = enc.forward(np.array([1, 0, 0]))
    # 20 two-bit weights fill two 32-bit words, read once each thanks to the word buffer.
    assert [(a.memory, a.op, a.address) for a in fwd.trace] == [("weights", "R", 0), ("weights", "R", 1)]


def test_lookups_count_every_field_stepped_through():
    """Lookups (an energy-model feature) count fields examined, buffered or not, per event."""
    w = np.array([[0, 3, 0, 0, 5], [0, 0, 0, 0, 0], [1, 0, 0, -2, 0]])
    crossbar = encode_fc("crossbar", w, 4, params())
    outputs, counts = run_events(crossbar, "forward", [(0,), (2,)])
    # Every position of the row, though its five 4-bit weights are one word read.
    assert [c[LOOKUPS] for c in counts] == [5, 5] and [c["weights.R"] for c in counts] == [1, 1]
    _, counts = run_events(crossbar, "backward", [(3,)])
    assert counts[0][LOOKUPS] == 3  # one position per row
    csr = encode_fc("pb_csr", w, 4, params())
    _, counts = run_events(csr, "forward", [(0,), (1,)])
    # Two row pointers, then the row's entries: 2 + 2 and 2 + 0.
    assert [c[LOOKUPS] for c in counts] == [4, 2]
    _, counts = run_events(csr, "backward", [(3,)])
    # Pointers 0..3 (each read once), then a binary search per row: row 0 probes 4 (entry 1, past
    # 3) and 1 (entry 0, below), row 1 nothing, row 2 probes 3 (entry 1, found).
    assert counts[0][LOOKUPS] == 4 + 2 + 0 + 1


def test_binary_search_probes_are_logarithmic():
    """PB-CSR finds a column in a row of n entries with at most floor(log2 n) + 1 entry lookups."""
    rng = np.random.default_rng(5)
    w = random_matrix(rng, (5, 300), 4, 0.9)
    csr = encode_fc("pb_csr", w, 4, params())
    for post in (0, 1, 150, 298, 299):
        _, counts = run_events(csr, "backward", [(post,)])
        entry_lookups = counts[0][LOOKUPS] - (5 + 1)  # every pointer once
        longest = int((w != 0).sum(axis=1).max())
        assert 5 <= entry_lookups <= 5 * (int(np.log2(longest)) + 1)


def test_column_index_reads_only_the_column():
    """PB-CSR+CSC: two column pointers, the column's references, one entry per synapse."""
    w = np.array([[0, 3, 0, 0, 5], [0, 0, 0, 7, 0], [1, 0, 0, -2, 0]])
    csc = encode_fc("pb_csr_csc", w, 4, params())
    outputs, counts = run_events(csc, "backward", [(3,), (2,)])
    assert outputs == [[(1, 7), (2, -2)], []]
    assert counts[0][LOOKUPS] == 2 + 2 + 2 and counts[1][LOOKUPS] == 2
    assert counts[0]["entries.R"] == 2 and "pointers.R" not in counts[0]
    # The weight lives once, in the entries: an update is seen by the column walk.
    csc.update([(2, 3, 3)])
    assert run_events(csc, "backward", [(3,)])[0] == [[(1, 7), (2, 1)]]


def test_rank_directory_bounds_the_transposed_access():
    """PB-BMP reads at most four words per row for a column, however long the row."""
    rng = np.random.default_rng(11)
    w = random_matrix(rng, (6, 200), 2, 0.7)
    bmp = encode_fc("pb_bmp", w, 2, params())
    assert "ranks" in bmp.image.memories and bmp.ranks_per_row == 6
    for post in (0, 31, 32, 199):
        outputs, counts = run_events(bmp, "backward", [(post,)])
        reads = sum(v for k, v in counts[0].items() if k.endswith(".R"))
        set_rows = int((w[:, post] != 0).sum())
        assert reads <= 6 + 3 * set_rows
        assert counts[0].get("ranks.R", 0) <= (set_rows if post >= 32 else 0)
        assert outputs[0] == [(i, int(w[i, post])) for i in range(6) if w[i, post]]
    # One bitmap word per row: no directory.
    assert "ranks" not in encode_fc("pb_bmp", w[:, :32], 2, params()).image.memories


# --------------------------------------------------------------- convolution


@pytest.mark.parametrize("name", CONV_ENCODINGS)
@SETTINGS
@given(case=conv_cases())
def test_conv_operations_equal_direct_convolution(name, case):
    g, wb, density, rng = case
    assume(g.kernel**2 <= 32)
    k = random_matrix(rng, (g.out_channels, g.in_channels, g.kernel, g.kernel), wb, density)
    enc = encode_conv(name, k, g, wb, params())
    assert np.array_equal(enc.dense(), g.unroll(k))
    check_storage(enc)

    x = rng.integers(0, 2, (g.in_channels, g.height, g.width))
    fwd = enc.forward(x.ravel())
    assert np.array_equal(fwd.values, direct_conv(x, k, g).ravel())
    check_trace(enc, fwd.trace, writes_allowed=False)

    e = rng.integers(-4, 5, (g.out_channels, g.out_height, g.out_width))
    bwd = enc.backward(e.ravel())
    assert np.array_equal(bwd.values, direct_conv_transpose(e, k, g).ravel())
    check_trace(enc, bwd.trace, writes_allowed=False)


@pytest.mark.parametrize("name", ["func_rowcol", "func_bmp", "func_pure"])
@SETTINGS
@given(case=conv_cases())
def test_functional_updates_act_on_shared_kernel_elements(name, case):
    g, wb, density, rng = case
    k = random_matrix(rng, (g.out_channels, g.in_channels, g.kernel, g.kernel), wb, density)
    enc = encode_conv(name, k, g, wb, params())
    lo, hi = weight_range(wb)
    expected = k.copy()
    stored = k != 0 if name == "func_bmp" else np.ones_like(k, dtype=bool)
    events = []
    for _ in range(20):
        i, j = int(rng.integers(g.n_pre)), int(rng.integers(g.n_post))
        d = int(rng.integers(-hi, hi + 1))
        events.append((i, j, d))
        tap = g.tap_of(i, j)
        if tap is not None and stored[tap]:
            expected[tap] = min(hi, max(lo, expected[tap] + d))
    upd = enc.update(events)
    assert np.array_equal(enc.kernels(), expected)
    assert np.array_equal(upd.values, g.unroll(expected))
    check_trace(enc, upd.trace, writes_allowed=True)


def test_func_rowcol_never_reads_more_than_func_pure():
    g = ConvGeometry(1, 6, 6, 4, 3, 1, 1)
    rng = np.random.default_rng(0)
    k = random_matrix(rng, (4, 1, 3, 3), 8, 1.0)
    pure, rowcol = (encode_conv(n, k, g, 8, params()) for n in ("func_pure", "func_rowcol"))
    for pre in range(g.n_pre):
        x = np.zeros(g.n_pre, dtype=int)
        x[pre] = 1
        assert len(rowcol.forward(x).trace) <= len(pure.forward(x).trace)
    corner = np.zeros(g.n_pre, dtype=int)
    corner[0] = 1
    assert len(rowcol.forward(corner).trace) < len(pure.forward(corner).trace)


def test_conv_geometry_indices_round_trip():
    g = ConvGeometry(2, 5, 7, 3, 3, 2, 1)
    for pre in range(g.n_pre):
        assert g.pre_index(*g.pre_coords(pre)) == pre
    for post in range(g.n_post):
        assert g.post_index(*g.post_coords(post)) == post
    conn = g.connectivity()
    for pre in range(g.n_pre):
        for post in range(g.n_post):
            assert (g.tap_of(pre, post) is not None) == conn[pre, post]


# --------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: encode_fc("crossbar", np.zeros((2, 2), int), 1, params()), "weight_bits"),
        (lambda: encode_fc("pb_bmp", np.zeros((2, 2), int), 13, params()), "weight_bits"),
        (lambda: encode_fc("pb_csr", np.full((2, 2), 2), 2, params()), "within -1..1"),
        (lambda: encode_fc("crossbar", np.zeros((2, 2)), 4, params()), "integers"),
        (lambda: encode_fc("pb_csr", np.ones((2, 600), int), 8, params(word_bits=16)), "PB-CSR entry"),
        (lambda: encode_fc("func_pure", np.zeros((2, 2), int), 4, params()), "convolution layers only"),
        (lambda: encode_fc("hopfield", np.zeros((2, 2), int), 4, params()), "unknown encoding"),
        (lambda: ConvGeometry(1, 4, 4, 1, 3, 1, 3), "padding"),
        (lambda: ConvGeometry(1, 2, 2, 1, 5, 1, 0), "does not fit"),
        (
            lambda: encode_conv("func_bmp", np.zeros((1, 1, 3, 3), int), ConvGeometry(1, 4, 4, 2, 3), 4, params()),
            "shape",
        ),
        (lambda: MemoryParams(4, MACRO), "word_bits"),
    ],
)
def test_bad_input_raises_named_error(call, message):
    with pytest.raises(EncodingError, match=message):
        call()


def test_macro_banking():
    w = np.ones((64, 64), dtype=int)
    enc = encode_fc("crossbar", w, 8, MemoryParams(32, SramMacro("m", 8, 1024), 0))
    mem = enc.image.memories["weights"]
    # 64 x 16 words of 32 bits = 1024 deep: four 8-bit macros side by side, one deep.
    assert (mem.depth, mem.macro_count, mem.implementation) == (1024, 4, "sram")


def test_encoding_properties_are_declared_per_class():
    """Labels and the reference roles are ClassVars, set by each registered class itself (a
    subclass must not inherit its parent's label or role by accident)."""
    from spikemem.encodings import CONV_REFERENCE, DENSE_REFERENCE, PAPER_LABELS

    for name, cls in REGISTRY.items():
        assert "label" in vars(cls) and PAPER_LABELS[name] == cls.label
    assert (DENSE_REFERENCE, CONV_REFERENCE) == ("crossbar", "pb_csr")
    assert not REGISTRY["pb_csr_csc"].conv_reference


def test_kernel_bitmap_must_fit_a_word():
    assert REGISTRY["func_bmp"].kernel_word_misfit(5, 32) is None
    assert REGISTRY["func_bmp"].kernel_word_misfit(7, 32) == "a 7x7 kernel bitmap"
    assert all(cls.kernel_word_misfit(7, 32) is None for name, cls in REGISTRY.items() if name != "func_bmp")


# --------------------------------------------------------------- row-stream backward

ROW_STREAM = [n for n in FC_ENCODINGS if "backward_row" in REGISTRY[n].operations]


def test_every_fc_encoding_streams_rows():
    assert set(ROW_STREAM) == set(FC_ENCODINGS)


@SETTINGS
@given(fc_cases(), st.sampled_from(ROW_STREAM), st.floats(0.0, 1.0))
def test_row_stream_backward_equals_dense(case, name, error_density):
    n_pre, n_post, wb, density, word_bits, rng = case
    w = random_matrix(rng, (n_pre, n_post), wb, density)
    enc = encode_fc(name, w, wb, params(word_bits))
    errors = rng.integers(-3, 4, n_post) * (rng.random(n_post) < error_density)
    assert np.array_equal(enc.backward_rows(errors).values, w @ errors)
    # one synapse per non-zero weight of a masked column, rows ascending, columns ascending in a row
    (out,), _ = run_events(enc, "backward_row", [tuple(np.flatnonzero(errors))])
    expected = [(i, j, int(w[i, j])) for i in range(n_pre) for j in np.flatnonzero(errors) if w[i, j]]
    assert out == expected


def test_row_stream_reads_crossbar_words_with_a_masked_column_only():
    w = np.arange(1, 4 * 40 + 1).reshape(4, 40) % 3 - 1  # 2 bits, 16 per word: 3 words per row
    enc = encode_fc("crossbar", w, 2, params(threshold=0))
    _, (counts,) = run_events(enc, "backward_row", [(1, 3, 33)])  # words 0 and 2 of each row
    assert counts["weights.R"] == 4 * 2
    assert counts[LOOKUPS] == 4 * 3


def test_row_stream_pb_bmp_reads_no_pointer_and_weight_words_only_where_needed():
    rng = np.random.default_rng(5)
    w = random_matrix(rng, (6, 40), 4, 0.5)
    enc = encode_fc("pb_bmp", w, 4, params(threshold=0))
    posts = (0, 1, 2)
    _, (counts,) = run_events(enc, "backward_row", [posts])
    assert counts["pointers.R"] == 0 and counts.get("ranks.R", 0) == 0
    assert counts["bitmap.R"] == 6 * 2
    mask = w != 0
    offsets = np.cumsum(mask.ravel()) - 1  # each stored synapse's place in the packed weights
    needed = {int(offsets[i * 40 + j]) // enc.w_per_word for i in range(6) for j in posts if mask[i, j]}
    assert counts["weights.R"] == len(needed)


@pytest.mark.parametrize("name", ["pb_csr", "pb_csr_csc"])
def test_row_stream_pb_csr_reads_every_pointer_and_entry_word_once(name):
    rng = np.random.default_rng(6)
    w = random_matrix(rng, (9, 30), 3, 0.4)
    enc = encode_fc(name, w, 3, params(threshold=0))
    _, (counts,) = run_events(enc, "backward_row", [(4,)])
    assert counts["pointers.R"] == enc.image.memories["pointers"].depth
    assert counts["entries.R"] == -(-int(np.count_nonzero(w)) // enc.ent_per_word)
    assert counts.get("col_pointers.R", 0) == counts.get("col_entries.R", 0) == 0


# --------------------------------------------------------------- row-pass update


@SETTINGS
@given(fc_cases(), st.sampled_from(ROW_STREAM))
def test_row_pass_update_equals_per_synapse_updates(case, name):
    n_pre, n_post, wb, density, word_bits, rng = case
    w = random_matrix(rng, (n_pre, n_post), wb, density)
    one = encode_fc(name, w, wb, params(word_bits))
    other = encode_fc(name, w, wb, params(word_bits))
    pre = int(rng.integers(0, n_pre))
    posts = rng.choice(n_post, int(rng.integers(1, n_post + 1)), replace=False)
    deltas = {int(j): int(rng.integers(-3, 4)) or 1 for j in posts}
    (updated,), (counts,) = run_events(one, "update_row", [(pre, *deltas.items())])
    one_by_one = other.update([(pre, j, d) for j, d in deltas.items()])
    assert np.array_equal(one.dense(), one_by_one.values)
    assert updated == sum(bool(other.connectivity()[pre, j]) for j in deltas)
    # Each changed word is written back once: never more writes than synapses updated.
    assert sum(v for k, v in counts.items() if k.endswith(".W")) <= updated


def test_row_pass_update_writes_a_crossbar_word_once_for_all_its_changes():
    w = np.zeros((3, 32), dtype=np.int64)
    enc = encode_fc("crossbar", w, 4, params(threshold=0))  # 8 weights to a word
    _, (counts,) = run_events(enc, "update_row", [(1, (0, 1), (3, 2), (7, -1), (8, 1))])
    assert counts["weights.R"] == 2 and counts["weights.W"] == 2
    assert list(enc.dense()[1, [0, 3, 7, 8]]) == [1, 2, -1, 1]
