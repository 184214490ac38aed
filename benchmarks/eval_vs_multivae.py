"""Coherence evaluation time of ours against MultiVae's ``CoherenceEvaluator`` on the same model weights.

    python -m benchmarks.eval_vs_multivae [--tuples 500,1000] [--rounds 2] [--batch 256] [--out results]
                                          [--json results/benchmarks/eval_vs_multivae.json]

The default-scale MoPoE of the PolyMNIST suite and the suite's classifiers (both from ``<out>/cache``, trained there
first when missing) score N tuples of the embedded test set (a seeded random subset: at N = 500, those of the
default run); MultiVae (1.0.3, the ``multivae`` extra)
evaluates the twin that shares MoPoE's networks (``baselines.multivae_compat``), with the same classifiers behind the
same quantisation, its batch size ``--batch`` and as many joint samples as tuples (as ours). Per N, ``--rounds``
rounds alternate which evaluator runs first; forward hooks count the rows each one pushes through the encoders,
decoders and classifiers. Also checked: our native ``generate_subsets`` path against ``generate`` on every expanded
row (the path before it) with the same noise, image by image (predicted labels compared). Prints a table and writes
``--json``. Both draw different noise, so their coherences agree only statistically (and MultiVae averages the
per-class accuracies, we the per-tuple ones).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from torch import Tensor, nn

from bench.config import RunConfig
from bench.data.dataset import quantize, random_subset, to_float
from bench.suites.polymnist.data import build_embedded
from bench.interface import generate_subsets
from bench.metrics.coherence import evaluate_coherence, scored_pairs
from bench.metrics.subsets import all_subsets


class Quantized(nn.Module):
    """A classifier behind ``quantize``: what our coherence feeds its classifiers, for MultiVae's evaluator."""

    def __init__(self, clf: nn.Module) -> None:
        super().__init__()
        self.clf = clf

    def forward(self, x: Tensor) -> Tensor:
        return self.clf(quantize(x))


class RowCounter:
    """Counts the rows (leading dimension of the first input) through each group of modules with forward hooks."""

    def __init__(self, groups: dict[str, list[nn.Module]]) -> None:
        self.rows = {group: 0 for group in groups}
        self.handles = [module.register_forward_hook(self._hook(group))
                        for group, modules in groups.items() for module in modules]

    def _hook(self, group: str):
        def hook(module, inputs, output):
            self.rows[group] += int(inputs[0].shape[0])
        return hook

    def reset(self) -> None:
        self.rows = {group: 0 for group in self.rows}

    def per_tuple(self, n: int) -> dict[str, float]:
        return {group: rows / n for group, rows in self.rows.items()}


def trained_mopoe_and_classifiers(out: str):
    """The default-scale MoPoE (seed 0) and the classifiers of the PolyMNIST suite, from the run cache."""
    from bench.model_stage import train_model
    from bench.prepare import prepare

    cfg = RunConfig(suite="polymnist", scale="default", out=out, progress=False, device="cpu")
    prep = prepare(cfg)
    model, _ = train_model("mopoe", prep.spec, cfg, 0, prep.train, prep.data_key, prep.store, prep.device)
    return model, prep.clfs


def label_differences(model, clfs, test, batch: int, seed: int) -> dict[str, float]:
    """Predicted labels of every scored (subset, target) image from the native ``generate_subsets`` against
    ``generate`` on the expanded rows, both from a generator seeded with ``seed``: how many differ, of how many, and
    the largest pixel difference."""
    class Fallback:
        modalities, generate = model.modalities, model.generate

    subsets = all_subsets(len(model.modalities))
    wanted = scored_pairs(len(model.modalities))
    native_gen, fallback_gen = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    differing = total = 0
    largest = 0.0
    for x, _ in test.batches(batch):
        a = generate_subsets(model, x, subsets, wanted, generator=native_gen)
        b = generate_subsets(Fallback(), x, subsets, wanted, generator=fallback_gen)
        for m in a:
            labels_a, labels_b = (clfs[m](quantize(v)).argmax(dim=1) for v in (a[m], b[m]))
            differing += int((labels_a != labels_b).sum())
            total += len(labels_a)
            largest = max(largest, float((a[m] - b[m]).abs().max()))
    return {"differing_labels": differing, "images": total, "max_pixel_difference": largest}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tuples", default="500,1000", help="test-set sizes to time (comma-separated)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--out", default="results", help="the run folder whose cache holds the model and classifiers")
    parser.add_argument("--json", default=None, help="write the measurements here")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    from baselines.multivae_compat import multivae_twin
    from multivae.data.datasets.base import MultimodalBaseDataset
    from multivae.metrics import CoherenceEvaluator, CoherenceEvaluatorConfig

    model, clfs = trained_mopoe_and_classifiers(args.out)
    twin = multivae_twin(model).eval()
    _, full_test, _ = build_embedded(n_modalities=5, seed=0)
    counter = RowCounter({"encoder": list(model.encoders), "decoder": list(model.decoders),
                          "classifier": list(clfs.values())})
    results = []
    print(f"MoPoE (default scale, D = {model.cfg.latent_dim}) on {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, batch {args.batch}, {args.rounds} alternating rounds")
    for n in (int(v) for v in args.tuples.split(",")):
        test = random_subset(full_test, n, seed=1)  # the default run's 500 tuples are random_subset(test, 500, seed=1)
        data = MultimodalBaseDataset(data={m: to_float(v) for m, v in test.images.items()}, labels=test.labels)

        def ours() -> dict:
            result = evaluate_coherence(model, test, clfs, batch_size=args.batch, generator=torch.Generator().manual_seed(0))
            return {f"k{k}": v for k, v in result.by_size().items()} | {"joint": result.joint}

        def theirs() -> dict:
            config = CoherenceEvaluatorConfig(batch_size=args.batch, num_classes=10, nb_samples_for_joint=n)
            evaluator = CoherenceEvaluator(twin, {m: Quantized(c) for m, c in clfs.items()}, data, eval_config=config)
            evaluator.logger.disabled = True
            metrics = evaluator.eval()
            return {f"k{k}": float(metrics[f"mean_coherence_{k}"]) for k in range(1, 5)} | {
                "joint": float(metrics["joint_coherence_prior"])}

        seconds: dict[str, list[float]] = {"ours": [], "multivae": []}
        rows, scores = {}, {}
        for r in range(args.rounds):
            order = [("ours", ours), ("multivae", theirs)]
            for which, evaluate in order if r % 2 == 0 else order[::-1]:
                counter.reset()
                start = time.perf_counter()
                scores[which] = evaluate()
                seconds[which].append(time.perf_counter() - start)
                rows[which] = counter.per_tuple(n)
        ratios = [b / a for a, b in zip(seconds["ours"], seconds["multivae"])]
        same = label_differences(model, clfs, test, args.batch, seed=1)
        results.append({"tuples": n, "seconds": seconds, "ratios": ratios, "rows_per_tuple": rows,
                         "coherence": scores, "native_vs_generate": same})
        print(f"\n{n} tuples: seconds ours {', '.join(f'{s:.1f}' for s in seconds['ours'])}, MultiVae "
              f"{', '.join(f'{s:.1f}' for s in seconds['multivae'])}; MultiVae / ours per round "
              f"{', '.join(f'{v:.2f}' for v in ratios)}")
        print(f"{'rows per tuple':16s} {'encoder':>8s} {'decoder':>8s} {'classifier':>10s}   coherence k1 .. k4, joint")
        for which in ("ours", "multivae"):
            r, c = rows[which], scores[which]
            print(f"{which:16s} {r['encoder']:8.0f} {r['decoder']:8.0f} {r['classifier']:10.0f}   "
                  + " ".join(f"{c[k]:.3f}" for k in ("k1", "k2", "k3", "k4", "joint")))
        print(f"native generate_subsets vs generate on every row, same noise: {same['differing_labels']} of "
              f"{same['images']} predicted labels differ (largest pixel difference {same['max_pixel_difference']:.1e})")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"benchmark": "eval_vs_multivae", "batch": args.batch, "rounds": args.rounds,
                                    "threads": torch.get_num_threads(), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
