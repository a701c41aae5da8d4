"""Measured fp32 GEMM peak (and memory bandwidth) of this machine: the roofline for latency.

    python benchmarks/gemm_peak.py [--threads 2] [--size 2048] [--repeats 10]

Peak = best of ``repeats`` large square fp32 matrix products (``2*n^3`` FLOPs each) with torch
(MKL) and numpy; bandwidth = best of large array copies (read + write bytes). Best-of, not
median: the question is what the hardware can do, and the machine is shared.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def measure_gemm_flops(
    size: int = 2048, repeats: int = 10, dtype: torch.dtype = torch.float32, backend: str = "torch"
) -> float:
    """Best FLOP/s of ``size x size`` matrix products (torch or numpy)."""
    best = float("inf")
    if backend == "numpy":
        rng = np.random.default_rng(0)
        a = rng.standard_normal((size, size), dtype=np.float32)
        b = rng.standard_normal((size, size), dtype=np.float32)
        a @ b  # warm-up: thread pool start, page faults
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    else:
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(size, size, generator=generator).to(dtype)
        y = torch.randn(size, size, generator=generator).to(dtype)
        out = torch.empty(size, size, dtype=dtype)
        torch.matmul(x, y, out=out)
        for _ in range(repeats):
            start = time.perf_counter()
            torch.matmul(x, y, out=out)
            best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best


def measure_bandwidth(megabytes: int = 512, repeats: int = 5) -> float:
    """Best copy bandwidth in bytes/s (bytes read + bytes written) on a buffer beyond the caches."""
    count = megabytes * 2**20 // 4
    src = torch.ones(count)
    dst = torch.empty(count)
    dst.copy_(src)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        dst.copy_(src)
        best = min(best, time.perf_counter() - start)
    return 2.0 * count * 4 / best


def main(argv: list[str] | None = None) -> int:
    """Print the peak table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    parser.add_argument("--size", type=int, default=2048, help="matrix size n (default 2048)")
    parser.add_argument("--repeats", type=int, default=10, help="products per measurement (best of)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads} n={args.size} best of {args.repeats}; CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}")
    print(f"{'measurement':<34}{'GFLOP/s':>12}")
    rows = [
        ("torch matmul fp32 (MKL)", measure_gemm_flops(args.size, args.repeats)),
        ("numpy matmul fp32", measure_gemm_flops(args.size, args.repeats, backend="numpy")),
        ("torch matmul bf16", measure_gemm_flops(args.size, args.repeats, dtype=torch.bfloat16)),
    ]
    for label, flops in rows:
        print(f"{label:<34}{flops / 1e9:>12.1f}")
    print(f"{'copy bandwidth (read+write)':<34}{measure_bandwidth() / 1e9:>12.1f}  GB/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
