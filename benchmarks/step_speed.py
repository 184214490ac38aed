"""Training speed against the machine: the FLOPs of one optimiser step of MLD's score network and of a VAE (MoPoE)
at the default presets, their achieved FLOP/s against the machine's matrix-product peak, and where a step's time goes.

    python -m benchmarks.step_speed [--suite polymnist] [--steps 200] [--fit-epochs 6] [--label before]
                                    [--out results/benchmarks/step_speed.json]

Each ``--label`` is one entry of the output (a rerun with the same label replaces it), so that measurements before and
after a change sit side by side.

- Peak: the best of a few fp32 ``torch.mm`` of 2048 x 2048 matrices (2 n^3 FLOPs each) on this machine's threads.
- FLOPs of a step: ``torch.utils.flop_counter.FlopCounterMode`` over the forward and backward pass (matrix products
  and convolutions; elementwise work such as normalisation, activations and the optimiser is not counted).
- Time of a step, split into its parts, each timed over ``--steps`` steps as the training loop runs them (the same
  calls in the same order): MLD: drawing the training inputs (times, masks, noise), the loss's forward pass, the
  backward pass, the gradient-norm clip, the EMA update and the Adam step; MoPoE: forward (the loss), backward and
  Adam. ``whole_fit_step_s``: seconds per step of the model's own ``fit`` for ``--fit-epochs`` epochs on the same
  data, as its training loop times them (set-up excluded), the check that the parts account for the real step.
- ``adam_variants``: the Adam step of the same parameters by each of PyTorch's CPU implementations (per tensor, the
  CPU default the models use; ``foreach``; ``fused``), and how far each one's weights move from the per-tensor
  update's in ``ADAM_STEPS`` (20) steps (``fused`` rounds differently: a different training, so it is not the default).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from bench.config import RunConfig
from bench.interface import build_model
from bench.prepare import prepare
from bench.store import provenance, save_json
from mld.masking import denoising_loss


def peak_flops(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of the fastest of ``repeats`` fp32 n x n matrix products."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = min(_seconds(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * n**3 / best


def _seconds(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def counted_flops(fn) -> int:
    """FLOPs of ``fn()`` (forward and backward) by ``FlopCounterMode``."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def timed_parts(parts: list[tuple[str, callable]], steps: int, warmup: int = 10) -> dict[str, float]:
    """Mean seconds per call of each part, the parts run in order once per step, ``steps`` times after a warm-up."""
    totals = {name: 0.0 for name, _ in parts}
    for i in range(warmup + steps):
        for name, fn in parts:
            spent = _seconds(fn)
            if i >= warmup:
                totals[name] += spent
    return {name: total / steps for name, total in totals.items()}


def mld_step(prep, steps: int, fit_epochs: int) -> dict:
    """MLD's score-network step at the default preset on the suite's encoded training set."""
    model = build_model("mld", prep.spec, "default", [])
    cfg = model.cfg
    latents = torch.randn(len(prep.train), model.layout.total)  # raw latents: the step's cost does not depend on them
    model.set_stats(latents[: cfg.batch_size])
    optimizer = torch.optim.Adam(model.score.parameters(), lr=cfg.lr)
    generator = torch.Generator().manual_seed(0)
    state: dict = {}

    def draw():
        idx = torch.randint(len(latents), (cfg.batch_size,), generator=generator)
        state["z0"] = model.standardize(latents[idx])
        state["inputs"] = model.training_inputs(cfg.batch_size, generator, torch.device("cpu"))
        state["noise"] = torch.randn(state["z0"].shape, generator=generator)

    def forward():
        state["loss"] = denoising_loss(model.score, model.sde, state["z0"], state["noise"], state["inputs"])

    def backward():
        optimizer.zero_grad(set_to_none=True)
        state["loss"].backward()

    parts = [("inputs", draw), ("forward", forward), ("backward", backward),
             ("grad_clip", lambda: nn.utils.clip_grad_norm_(model.score.parameters(), cfg.grad_clip)),
             ("ema", lambda: model.ema.update(model.score)), ("adam", optimizer.step)]
    model.score.train()
    draw()
    flops = counted_flops(lambda: (forward(), backward()))
    seconds = timed_parts(parts, steps)
    fit = build_model("mld", prep.spec, "default", [], epochs=fit_epochs)
    record = fit.fit_score(latents, seed=0)
    row = summary("mld score network", cfg.batch_size, flops, seconds, record.seconds / record.steps,
                  sum(p.numel() for p in model.score.parameters()))
    return {**row, "adam_variants": adam_variants(list(model.score.parameters()), steps=ADAM_STEPS, lr=cfg.lr)}


def vae_step(prep, name: str, steps: int, fit_epochs: int) -> dict:
    """A VAE's optimiser step at the default preset on batches of the suite's training set."""
    model = build_model(name, prep.spec, "default", [])
    cfg = model.cfg
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.adam_betas, amsgrad=cfg.amsgrad)
    generator = torch.Generator().manual_seed(0)
    train = prep.train.resident(torch.device("cpu"))
    batches = iter(())
    state: dict = {}

    def forward():
        nonlocal batches
        x = next(batches, None)
        if x is None:
            batches = (x for x, _ in train.batches(cfg.batch_size, shuffle=True, generator=generator))
            x = next(batches)
        state["loss"], _ = model.loss(x, generator=generator)

    def backward():
        optimizer.zero_grad(set_to_none=True)
        state["loss"].backward()

    parts = [("forward", forward), ("backward", backward), ("adam", optimizer.step)]
    flops = counted_flops(lambda: (forward(), backward()))
    seconds = timed_parts(parts, steps)
    fit = build_model(name, prep.spec, "default", [], epochs=fit_epochs)
    record = fit.fit(prep.train, seed=0)
    row = summary(name, cfg.batch_size, flops, seconds, record.seconds / record.steps,
                  sum(p.numel() for p in model.parameters()))
    variants = adam_variants(list(model.parameters()), steps=ADAM_STEPS, lr=cfg.lr, betas=cfg.adam_betas,
                             amsgrad=cfg.amsgrad)
    return {**row, "adam_variants": variants}


ADAM_STEPS = 20  # steps of each Adam variant, timed and compared
ADAM_VARIANTS = {"per tensor": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def adam_variants(parameters: list[torch.nn.Parameter], steps: int, rounds: int = 10, **options) -> dict:
    """``torch.optim.Adam``'s three CPU implementations on the same parameters and gradients: the mean seconds of
    a step of each (rounds alternating between them), and the largest difference of each one's weights from the
    per-tensor update's (PyTorch's CPU default, which the models use) after ``steps`` steps from the same start."""
    generator = torch.Generator().manual_seed(0)
    grads = [1e-3 * torch.randn(p.shape, generator=generator) for p in parameters]
    start = [p.detach().clone() for p in parameters]
    weights, optimizers = {}, {}
    for name, variant in ADAM_VARIANTS.items():
        copies = [torch.nn.Parameter(w.clone()) for w in start]
        for c, g in zip(copies, grads):
            c.grad = g
        optimizers[name] = torch.optim.Adam(copies, **options, **variant)
        for _ in range(steps):
            optimizers[name].step()
        weights[name] = copies
    seconds = {name: 0.0 for name in ADAM_VARIANTS}
    for _ in range(rounds):
        for name, optimizer in optimizers.items():
            seconds[name] += _seconds(lambda opt=optimizer: [opt.step() for _ in range(steps)]) / (steps * rounds)
    reference = weights["per tensor"]
    difference = {name: max((a - b).abs().max().item() for a, b in zip(w, reference)) for name, w in weights.items()}
    return {"step_s": seconds, "max_abs_weight_difference": difference, "steps": steps}


def summary(what: str, batch: int, flops: int, seconds: dict[str, float], whole: float, parameters: int) -> dict:
    step = sum(seconds.values())
    products = seconds.get("forward", 0.0) + seconds.get("backward", 0.0)
    return {"what": what, "batch": batch, "parameters": parameters, "flops_per_step": flops,
            "parts_s": seconds, "step_s": step, "whole_fit_step_s": whole,
            "achieved_flops": flops / step, "achieved_flops_forward_backward": flops / products,
            "share_outside_forward_backward": 1 - products / step}


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), with whether it has AVX-512; the platform's machine elsewhere."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    return f"{name}, {'with' if ' avx512f' in info else 'without'} AVX-512"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="polymnist")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--fit-epochs", type=int, default=6, help="epochs of the whole-fit check")
    parser.add_argument("--cache", default="results")
    parser.add_argument("--label", default="", help="a tag of this measurement (e.g. before / after a change)")
    parser.add_argument("--out", default="results/benchmarks/step_speed.json")
    args = parser.parse_args(argv)
    prep = prepare(RunConfig(suite=args.suite, scale="default", device="cpu", out=args.cache))
    peak = peak_flops()
    rows = [mld_step(prep, args.steps, args.fit_epochs), vae_step(prep, "mopoe", args.steps, args.fit_epochs)]
    for row in rows:
        row["share_of_peak"] = row["achieved_flops"] / peak
        parts = ", ".join(f"{k} {1e3 * v:.2f}" for k, v in row["parts_s"].items())
        adam = ", ".join(f"{k} {1e3 * v:.2f} ms (max |dw| {row['adam_variants']['max_abs_weight_difference'][k]:.1e})"
                         for k, v in row["adam_variants"]["step_s"].items())
        print(f"{row['what']}: Adam step {adam}")
        print(f"{row['what']}: {row['flops_per_step'] / 1e9:.3f} GFLOP per step of batch {row['batch']}, "
              f"{1e3 * row['step_s']:.2f} ms (fit: {1e3 * row['whole_fit_step_s']:.2f} ms) = "
              f"{row['achieved_flops'] / 1e9:.1f} GFLOP/s, {100 * row['share_of_peak']:.0f}% of peak; ms: {parts}")
    print(f"peak (fp32 2048^3 matmul, {torch.get_num_threads()} threads): {peak / 1e9:.1f} GFLOP/s")
    out = Path(args.out)
    runs = json.loads(out.read_text())["runs"] if out.exists() else []
    run = {"suite": args.suite, "label": args.label, "cpu": cpu_name(), "threads": torch.get_num_threads(),
           "peak_flops": peak, "steps": args.steps, "fit_epochs": args.fit_epochs, "rows": rows,
           "provenance": provenance(torch.device("cpu"))}
    runs = [r for r in runs if r["label"] != args.label] + [run]  # one entry per label: before / after side by side
    save_json({"benchmark": "step_speed", "runs": runs}, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
