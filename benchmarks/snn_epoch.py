"""Benchmark: one training epoch of the 700-400-250 network (250 steps, van Rossum loss, BPTT), per
training protocol (docs/network.md).

Compares, in the same run on the same machine, per network and epoch, on one core (the workflow
runs one single-thread training job per core; so does this comparison for every implementation):
  * spikemem's batched trainers (numba time loops, shared input; ``--batch`` networks at once, the
    5 widths of one seed as a training job has them) for the paper and the adaptive protocol,
  * the adaptive protocol's single-network numpy reference (spikemem.snn.train.train),
  * a PyTorch implementation of each protocol, one network per process as the authors ran theirs
    (autograd BPTT through the same surrogate; the paper protocol's quantizers as autograd
    functions), when torch is installed (`pip install torch==2.13.0`; not a project dependency),
  * the time the epoch's weight-matrix products need at this machine's measured float32 GEMM rate.

Targets (issue 13, SPEC.md section 6): adaptive epoch >= 20x faster than PyTorch and within 2x of
the matrix time; one configuration of the paper protocol (5 widths x 5 trials x 10,000 epochs) in
at most 45 minutes on two cores. Prints ratios; asserts nothing (timings on shared machines are
noisy). Usage: python benchmarks/snn_epoch.py [--epochs N] [--threads N] [--batch N]
"""

from __future__ import annotations

import argparse
import os
import time


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=20, help="epochs timed per measurement")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=5, help="networks trained together")
    return p.parse_args()


ARGS = parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

from spikemem.snn.adaptive_batch import AdaptiveBatch  # noqa: E402
from spikemem.snn.data import input_spikes, target_raster  # noqa: E402
from spikemem.snn.paper_protocol import PaperBatch, PaperSettings, layer_scale  # noqa: E402
from spikemem.snn.train import Adamax, SpikingNetwork, TrainSettings  # noqa: E402

N_IN, N_HID, N_OUT, T = 700, 400, 250, 250
WIDTHS = (2, 3, 4, 5, 6)


def time_per_call(fn, repeats: int) -> float:
    fn()  # warm-up (and numba's compilation or cache load)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def batch_settings(make):
    return [make(WIDTHS[k % len(WIDTHS)], k // len(WIDTHS)) for k in range(ARGS.batch)]


def paper_batch_time(x, y) -> float:
    batch = PaperBatch((N_IN, N_HID, N_OUT), batch_settings(lambda wb, s: PaperSettings(wb, s, ARGS.epochs)))
    return time_per_call(lambda: batch.epoch(x, y), ARGS.epochs) / ARGS.batch


def adaptive_batch_time(x, y) -> float:
    batch = AdaptiveBatch((N_IN, N_HID, N_OUT), batch_settings(lambda wb, s: TrainSettings(wb, s, ARGS.epochs)))
    return time_per_call(lambda: batch.epoch(x, y), ARGS.epochs) / ARGS.batch


def adaptive_reference_time(x, y) -> float:
    settings = TrainSettings(2, seed=0, epochs=ARGS.epochs)
    net = SpikingNetwork((N_IN, N_HID, N_OUT), settings)
    opt = Adamax(net.weights, settings.learning_rate)

    def epoch():
        _, grads, _ = net.loss_and_gradients(x, y)
        opt.step(grads)

    return time_per_call(epoch, ARGS.epochs)


def gemm_seconds_per_flop() -> float:
    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    b = np.random.default_rng(1).random((1024, 1024), dtype=np.float32)
    return time_per_call(lambda: a @ b, 20) / (2 * 1024**3)


def epoch_matrix_flops() -> int:
    forward = N_IN * N_HID + N_HID * N_OUT
    backward = N_OUT * N_HID  # output error back to the hidden layer
    gradients = N_IN * N_HID + N_HID * N_OUT
    return 2 * T * (forward + backward + gradients)


def torch_epochs(x, y):
    """Per-epoch times of PyTorch implementations of both protocols (None without torch)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(ARGS.threads)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    class Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, u):
            ctx.save_for_backward(u)
            return (u > 0).to(u.dtype)

        @staticmethod
        def backward(ctx, grad):
            (u,) = ctx.saved_tensors
            return grad / (100 * u.abs() + 1) ** 2

    def shift(v):
        return 2.0 ** torch.round(torch.log2(v)) if v > 0 else torch.tensor(1.0)

    def errors(e, bits):  # the paper protocol's error quantizer: renormalized, clipped, rounded
        scale, levels = shift(e.abs().max()), 2.0 ** (bits - 1)
        return torch.round(torch.clamp(e / scale, -1 + 1 / levels, 1 - 1 / levels) * levels) / levels

    class State(torch.autograd.Function):  # clip + round on ab bits; error quantized, clip-masked
        @staticmethod
        def forward(ctx, v, bits):
            levels = 2.0 ** (bits - 1)
            clipped = torch.clamp(v, -1 + 1 / levels, 1 - 1 / levels)
            ctx.save_for_backward(clipped == v)
            ctx.bits = bits
            return torch.round(clipped * levels) / levels

        @staticmethod
        def backward(ctx, grad):
            (mask,) = ctx.saved_tensors
            return errors(grad, ctx.bits) * mask, None

    class PaperLinear(torch.autograd.Function):
        @staticmethod
        def forward(ctx, inp, w, scale, wb):
            wq = torch.round(w * 2.0 ** (wb - 1)) / 2.0 ** (wb - 1) / scale
            ctx.save_for_backward(inp, wq)
            return inp @ wq

        @staticmethod
        def backward(ctx, grad):
            inp, wq = ctx.saved_tensors
            e = errors(grad, 12)
            g = inp.T @ e
            norm = g / shift(g.abs().max())
            low = torch.floor(norm.abs())
            steps = low + (torch.rand(norm.shape) < norm.abs() - low)
            return e @ wq.T, torch.sign(norm) * steps / 2.0**7, None, None

    def paper_layer(inp, w, wb):
        h = PaperLinear.apply(inp, w, layer_scale(wb, w.shape[0]), wb)
        syn, mem, out = torch.zeros(w.shape[1]), torch.zeros(w.shape[1]), []
        for t in range(T):
            above = State.apply(mem - 0.9, 12)
            out.append(Spike.apply(above))
            rst = (above > 0).to(above.dtype)
            new_syn = State.apply(0.75 * syn + h[t], 12)
            mem = State.apply(0.875 * mem + syn - rst, 12)
            syn = new_syn
        return torch.stack(out)

    def float_layer(inp, w):
        current = inp @ w
        syn, mem, out = torch.zeros(w.shape[1]), torch.zeros(w.shape[1]), []
        for t in range(T):
            s = Spike.apply(mem - 0.9)
            out.append(s)
            mem = 0.875 * mem + syn - s.detach()
            syn = 0.75 * syn + current[t]
        return torch.stack(out)

    def van_rossum(a, b, decay):
        u, acc = torch.zeros(a.shape[1]), []
        for t in range(T):
            u = decay * u + (a - b)[t]
            acc.append(u)
        return torch.sqrt(torch.stack(acc).pow(2).sum() / 5.0)

    g = torch.Generator().manual_seed(0)
    w1 = (torch.rand(N_IN, N_HID, generator=g) * 1.5 - 0.75).requires_grad_()
    w2 = (torch.rand(N_HID, N_OUT, generator=g) * 1.5 - 0.75).requires_grad_()
    sgd = torch.optim.SGD([w1, w2], lr=1.0)

    def paper_epoch():
        with torch.no_grad():
            w1.clamp_(-0.5, 0.5)
            w2.clamp_(-0.5, 0.5)
        sgd.zero_grad()
        van_rossum(paper_layer(paper_layer(xt, w1, 2), w2, 2), yt, 0.875).backward()
        sgd.step()

    v1 = (torch.randn(N_IN, N_HID, generator=g) * 0.2 / N_IN**0.5).requires_grad_()
    v2 = (torch.randn(N_HID, N_OUT, generator=g) * 0.2 / N_HID**0.5).requires_grad_()
    adamax = torch.optim.Adamax([v1, v2], lr=0.002)

    def adaptive_epoch():
        adamax.zero_grad()
        van_rossum(float_layer(float_layer(xt, v1), v2), yt, 0.75).backward()
        adamax.step()

    repeats = max(2, ARGS.epochs // 4)
    return time_per_call(paper_epoch, repeats), time_per_call(adaptive_epoch, repeats)


def main() -> None:
    x, y = input_spikes(N_IN, T, 0), target_raster(N_OUT, T, 0)
    flops = epoch_matrix_flops()
    matrix_time = flops * gemm_seconds_per_flop()
    paper = paper_batch_time(x, y)
    adaptive = adaptive_batch_time(x, y)
    reference = adaptive_reference_time(x, y)
    torch_times = torch_epochs(x, y)
    print(f"threads: {ARGS.threads}; batch: {ARGS.batch} networks; epochs timed: {ARGS.epochs}")
    print(f"epoch matrix work: {flops / 1e6:.0f} MFLOP per network, {matrix_time * 1e3:.2f} ms at the GEMM rate")
    rows = [
        ("paper protocol, batched", paper, torch_times[0] if torch_times else None),
        ("adaptive protocol, batched", adaptive, torch_times[1] if torch_times else None),
        ("adaptive protocol, single-network numpy reference", reference, torch_times[1] if torch_times else None),
    ]
    for name, seconds, torch_seconds in rows:
        line = f"{name:52s} {seconds * 1e3:7.2f} ms per network-epoch = {seconds / matrix_time:5.2f}x the matrix time"
        if torch_seconds is not None:
            line += f"; {torch_seconds / seconds:6.1f}x faster than PyTorch ({torch_seconds * 1e3:.0f} ms)"
        print(line)
    if torch_times is None:
        print("PyTorch not installed (pip install torch==2.13.0): no PyTorch ratios")
    cores = 2
    config_minutes = 25 * 10_000 * paper / cores / 60
    print(
        f"one paper-protocol configuration (5 widths x 5 trials x 10,000 epochs) as {cores} single-thread jobs "
        f"side by side: {config_minutes:.0f} min = {config_minutes / 45:.2f}x the 45-minute target"
    )
    print("targets: adaptive >= 20x PyTorch, <= 2x the matrix time; paper configuration <= 1.0x of 45 min")


if __name__ == "__main__":
    main()
