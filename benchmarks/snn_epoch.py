"""Benchmark: one training epoch of the 700-400-250 network (250 steps, van Rossum loss, BPTT).

Compares, in the same run on the same machine:
  * spikemem's numpy implementation (unquantized, and with 2-bit WAGE quantization),
  * a PyTorch implementation of the same network, loss and optimizer (autograd BPTT with the same
    surrogate; snnTorch's Leaky/Synaptic neurons compute the same recursions), when torch is
    installed (`pip install torch==2.13.0`; kept out of the project's dependencies),
  * the time the epoch's matrix products need at this machine's measured float32 GEMM throughput.

Targets (SPEC.md section 6): at least 20x faster than the PyTorch/snnTorch version; within 2x of
the matrix-arithmetic time. Prints ratios; asserts nothing (timings on shared machines are noisy).
Usage: python benchmarks/snn_epoch.py [--epochs N] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import time


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


ARGS = parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

from spikemem.snn.data import input_spikes, target_raster  # noqa: E402
from spikemem.snn.train import Adamax, SpikingNetwork, TrainSettings  # noqa: E402

N_IN, N_HID, N_OUT, T = 700, 400, 250, 250


def time_per_call(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def numpy_epoch_time(x, y, weight_bits) -> float:
    settings = TrainSettings(weight_bits, seed=0, epochs=ARGS.epochs)
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


def torch_epoch_time(x, y) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(ARGS.threads)

    class FastSigmoidSpike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, u):
            ctx.save_for_backward(u)
            return (u > 0).to(u.dtype)

        @staticmethod
        def backward(ctx, grad):
            (u,) = ctx.saved_tensors
            return grad / (100 * u.abs() + 1) ** 2

    spike = FastSigmoidSpike.apply
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    g = torch.Generator().manual_seed(0)
    w1 = (torch.randn(N_IN, N_HID, generator=g) * 0.2 / N_IN**0.5).requires_grad_()
    w2 = (torch.randn(N_HID, N_OUT, generator=g) * 0.2 / N_HID**0.5).requires_grad_()
    opt = torch.optim.Adamax([w1, w2], lr=0.002)

    def layer(inp, w):
        current = inp @ w
        syn = torch.zeros(w.shape[1])
        mem = torch.zeros(w.shape[1])
        out = []
        for t in range(T):
            s = spike(mem - 0.9)
            out.append(s)
            mem = 0.875 * mem + syn - s.detach()
            syn = 0.75 * syn + current[t]
        return torch.stack(out)

    def van_rossum(a, b):
        d = a - b
        u = torch.zeros(d.shape[1])
        acc = []
        for t in range(T):
            u = 0.75 * u + d[t]
            acc.append(u)
        return torch.sqrt(torch.stack(acc).pow(2).sum() / 5.0)

    def epoch():
        opt.zero_grad()
        loss = van_rossum(layer(layer(xt, w1), w2), yt)
        loss.backward()
        opt.step()

    return time_per_call(epoch, ARGS.epochs)


def main() -> None:
    x, y = input_spikes(N_IN, T, 0), target_raster(N_OUT, T, 0)
    ours = numpy_epoch_time(x, y, None)
    ours_q = numpy_epoch_time(x, y, 2)
    flops = epoch_matrix_flops()
    spf = gemm_seconds_per_flop()
    matrix_time = flops * spf
    print(f"threads: {ARGS.threads}, epochs timed: {ARGS.epochs}")
    print(f"epoch matrix work: {flops / 1e6:.0f} MFLOP; measured float32 GEMM: {1e-9 / spf:.1f} GFLOP/s")
    print(f"time the matrix work needs at that throughput: {matrix_time * 1e3:.2f} ms")
    print(f"spikemem numpy epoch (float):          {ours * 1e3:.2f} ms  = {ours / matrix_time:.2f}x the matrix time")
    print(
        f"spikemem numpy epoch (2-bit WAGE):     {ours_q * 1e3:.2f} ms  = {ours_q / matrix_time:.2f}x the matrix time"
    )
    ref = torch_epoch_time(x, y)
    if ref is None:
        print("PyTorch not installed (pip install torch==2.13.0): no reference ratio")
    else:
        print(f"PyTorch autograd epoch (same network): {ref * 1e3:.2f} ms")
        print(f"speed-up over PyTorch: {ref / ours:.1f}x (float), {ref / ours_q:.1f}x (2-bit)  [target >= 20x]")


if __name__ == "__main__":
    main()
