"""Sampling throughput of MLD: network calls per second, and all subsets in one batch vs a loop over subsets.

    python -m benchmarks.mld_sampling [--scale default] [--tuples 64] [--device cpu] [--repeats 3]

Conditional generation for every non-empty subset S of M modalities over ``--tuples`` test tuples is run
(a) as ONE ``generate`` call on tuples x (2^M - 1) rows with a per-row observed mask (what the coherence metric
does), and (b) as 2^M - 1 calls, one per subset. Network weights do not change the cost, so the model is built
untrained at the scale's sizes. Prints seconds, rows, and score-network evaluations per second (row-NFE/s).
"""

from __future__ import annotations

import argparse
import time

import torch

import mld  # noqa: F401  (registers the models)
from bench.devices import resolve_device
from bench.interface import build_model
from bench.suites.polymnist import PolyMNISTSuite
from bench.suites.polymnist.data import build_embedded
from bench.metrics.subsets import all_subsets


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mld", help="mld, mld_in or mld_uni")
    parser.add_argument("--scale", default="default")
    parser.add_argument("--tuples", type=int, default=64, help="test tuples per generation (the suite's eval batch)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)

    _, test, _ = build_embedded(n_modalities=5, seed=0)
    spec = PolyMNISTSuite().data_spec(test)
    model = build_model(args.model, spec, args.scale).to(device).eval()
    x, _ = next(test.batches(args.tuples, device=device))
    subsets = all_subsets(len(spec.modalities)).to(device)
    partial = subsets[:-1]  # the full set is a reconstruction, no sampling
    nfe = model.network_calls_per_sample
    rows = len(partial) * args.tuples
    g = torch.Generator(device=device)

    def batched():
        observed = partial.repeat_interleave(args.tuples, dim=0)
        tiled = {m: v.repeat(len(partial), 1, 1, 1) for m, v in x.items()}
        model.generate(tiled, observed, generator=g.manual_seed(0))

    def looped():
        for s in partial:
            model.generate(x, s.expand(args.tuples, -1), generator=g.manual_seed(0))

    t_batched = best_of(args.repeats, batched)
    t_looped = best_of(args.repeats, looped)
    print(f"{args.model} at scale {args.scale} on {device}: {nfe} network calls per sample, "
          f"{len(partial)} subsets x {args.tuples} tuples = {rows} rows")
    for label, seconds in (("one batched call", t_batched), ("loop over subsets", t_looped)):
        print(f"  {label:18s} {seconds:7.2f} s   {rows * nfe / seconds:10,.0f} row-NFE/s")
    print(f"  speed-up of batching: {t_looped / t_batched:.2f}x")


if __name__ == "__main__":
    main()
