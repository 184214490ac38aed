"""Training-step time of our baselines against MultiVae's implementation of the same objective.

    python -m benchmarks.baselines_vs_multivae [--batch 256] [--steps 5] [--device auto] [--json PATH]
                                               [--models mopoe,mvae,mvtcae,mmvae,mmvae_plus,nexus]

Both run in this process on the same batch of embedded PolyMNIST (5 modalities, the paper's conv networks with
D = 512), sharing one set of networks (``baselines.multivae_compat``). A step is loss, backward and an Adam step.
Prints milliseconds per step (best of ``--repeats`` timings of ``--steps`` steps, alternating which implementation
runs first) and the ratio MultiVae / ours (above 1: ours is faster). Needs the ``multivae`` extra.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import baselines  # noqa: F401  (registers the models)
from baselines.multivae_compat import multivae_twin
from bench.devices import resolve_device
from bench.interface import build_model
from bench.suites.polymnist import PolyMNISTSuite
from bench.suites.polymnist.data import build_embedded


def timed(step, steps: int, device: torch.device) -> float:
    """Seconds per step over ``steps`` consecutive steps."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / steps


def best_interleaved(step_a, step_b, steps: int, repeats: int, device: torch.device) -> tuple[float, float]:
    """Milliseconds per step of a and b: best of ``repeats`` timings, alternating which goes first (ABBA...), so
    neither profits from running second (warm allocator and caches)."""
    step_a()
    step_b()  # warm-up
    best_a = best_b = float("inf")
    for i in range(repeats):
        order = [(0, step_a), (1, step_b)] if i % 2 == 0 else [(1, step_b), (0, step_a)]
        for which, step in order:
            seconds = timed(step, steps, device)
            if which == 0:
                best_a = min(best_a, seconds)
            else:
                best_b = min(best_b, seconds)
    return best_a * 1000, best_b * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="mopoe,mvae,mvtcae,mmvae,mmvae_plus,nexus")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", default=None, help="write the timings here (appending to the models already there)")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    from multivae.data.datasets.base import MultimodalBaseDataset

    train, _, _ = build_embedded(n_modalities=5, seed=0)
    spec = PolyMNISTSuite().data_spec(train)
    x, y = next(train.batches(args.batch, device=device))
    data = MultimodalBaseDataset(data=x, labels=y)
    print(f"batch {args.batch}, D = 512, {args.steps} steps x best of {args.repeats}, device {device}")
    print(f"{'model':8s} {'ours ms':>9s} {'MultiVae ms':>12s} {'ratio':>6s}")
    timings: dict[str, dict] = {}
    for name in args.models.split(","):
        ours = build_model(name, spec, "paper").to(device).train()
        theirs = multivae_twin(ours).train()
        opt_ours = torch.optim.Adam(ours.parameters(), lr=1e-4)
        opt_theirs = torch.optim.Adam(theirs.parameters(), lr=1e-4)

        def step_ours():
            loss, _ = ours.loss(x)
            opt_ours.zero_grad(set_to_none=True)
            loss.backward()
            opt_ours.step()

        def step_theirs():
            loss = theirs(data).loss
            opt_theirs.zero_grad(set_to_none=True)
            loss.backward()
            opt_theirs.step()

        a, b = best_interleaved(step_ours, step_theirs, args.steps, args.repeats, device)
        print(f"{name:8s} {a:9.0f} {b:12.0f} {b / a:6.2f}")
        timings[name] = {"ours_ms": a, "multivae_ms": b, "ratio": b / a, "steps": args.steps, "repeats": args.repeats}
    if args.json:
        path = Path(args.json)
        previous = json.loads(path.read_text())["models"] if path.exists() else {}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"benchmark": "baselines_vs_multivae", "batch": args.batch, "device": str(device),
                                    "threads": torch.get_num_threads(), "models": {**previous, **timings}}, indent=2) + "\n")


if __name__ == "__main__":
    main()
