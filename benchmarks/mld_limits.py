"""What limits MLD at small scale: one MLD training scored at several budgets, then the trained model examined part
by part (docs/mld_limits.md).

    python -m benchmarks.mld_limits --suite polymnist --label default [--model mld] [--set mld.d=0.6 ...]
                                    [--eval-at 300,420,600] [--examine-at 300] [--n-eval 500] [--n-slow 200]

The model is built at ``--scale`` (default: default) with its preset and the ``--set`` overrides, trained once (its autoencoders
from the run cache ``--cache`` when present), and at the end of each score-network epoch in ``--eval-at`` (and the
last) scored on ``--n-eval`` random test tuples with the suite's own coherence (``bench.metrics.coherence``): by
subset size k = 1..M-1, self-reconstruction and joint coherence (``--n-eval`` joint samples). At each epoch in
``--examine-at`` (default: the last) the model is also examined:

- ``raw``: the same scores sampling with the raw score network instead of its EMA (MLD code samples with the EMA);
- ``reference_sampler``: k = 1..M-1 on ``--n-slow`` tuples with the reference RePaint schedule (250, 10, 10)
  against the preset's schedule on the same tuples (``preset_sampler``);
- ``train``: the scores on ``--n-eval`` training tuples (against test: does the small training set get memorised?);
- ``latent_probe``: the digit accuracy of each modality's latent and of the concatenated latent, by a logistic
  regression and a 5-nearest-neighbour vote fitted on the training latents and read on the test latents (are the
  digits in the latents?), beside the classifier accuracy on the autoencoder's reconstruction (``reconstruction``);
- ``joint_without``: joint coherence of the same joint samples over every modality but one (each left out in turn),
  and ``reconstruction_product``, the product of the reconstruction accuracies (the joint coherence a sampler that
  only picks a digit and decodes it perfectly would reach through these decoders, if the decoders' errors are
  independent);
- ``target_vs_reconstruction``: per target t, coh(k = 1 -> t) / coh({t} -> t), the share of the decoders' legibility
  that the sampled latents keep.

Writes ``<out>/<suite>-<label>.json``. ``--summarize`` instead gathers every such file under ``--out`` into
``<out>/summary.json`` (one row per experiment and budget, and the examinations), which docs/mld_limits.md is
generated from (``tools.readme_results``).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import time
from pathlib import Path

import torch

from bench.config import RunConfig
from bench.data.dataset import quantize, random_subset
from bench.health import TrainingMonitor
from bench.interface import build_model
from bench.metrics.coherence import evaluate_coherence
from bench.model_stage import model_stage_cache
from bench.overrides import parse_overrides
from bench.prepare import prepare
from bench.store import provenance, save_json
from mld import samplers

REFERENCE_SCHEDULE = (250, 10, 10)  # MLD code: N = 250 steps, jump length 10, 10 resamplings


def scores(model, data, clfs, *, n_joint: int, seed: int) -> dict:
    """Coherence by subset size, self and joint on ``data`` (and the joint samples' per-modality predictions)."""
    result = evaluate_coherence(model, data, clfs, n_joint=n_joint, generator=torch.Generator().manual_seed(seed))
    by_target = {m: result.conditional[(result.subsets.sum(1) == 1) & ~result.subsets[:, t], t].mean().item()
                 for t, m in enumerate(model.modalities)}
    self_by_target = {m: result.conditional[int((result.subsets == torch.eye(len(model.modalities),
                                                 dtype=torch.bool)[t]).all(1).nonzero()), t].item()
                      for t, m in enumerate(model.modalities)}
    return {**{f"k{k}": v for k, v in result.by_size().items()}, "self": result.self_reconstruction(),
            "joint": result.joint, "k1_by_target": by_target, "self_by_target": self_by_target,
            "conditional": result.to_dict()["conditional"]}


@torch.no_grad()
def joint_without(model, clfs, n: int, seed: int) -> dict:
    """Joint coherence of ``n`` joint samples over all modalities and over every modality but one."""
    out = model.sample(n, generator=torch.Generator().manual_seed(seed))
    preds = torch.stack([clfs[m](quantize(out[m])).argmax(1) for m in model.modalities])  # (M, n)
    result = {"all": float((preds == preds[0]).all(0).float().mean())}
    for t, m in enumerate(model.modalities):
        rest = torch.cat([preds[:t], preds[t + 1:]])
        result[m] = float((rest == rest[0]).all(0).float().mean())
    return result


@torch.no_grad()
def latent_probe(model, train, test, clfs) -> dict:
    """Digit accuracy of each modality's latent (and the concatenated one): logistic regression and 5-NN fitted on
    the training latents, read on the test latents; and the classifier's accuracy on the reconstructions."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def latents(ds):
        z = torch.cat([model.encode_raw(x) for x, _ in ds.batches(512)])
        return z.split(list(model.layout.sizes), dim=1), ds.labels

    (z_train, y_train), (z_test, y_test) = latents(train), latents(test)
    parts = {**dict(zip(model.modalities, z_train)), "joint": torch.cat(z_train, 1)}
    tests = {**dict(zip(model.modalities, z_test)), "joint": torch.cat(z_test, 1)}
    result = {}
    for name, z in parts.items():
        linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(z.numpy(), y_train.numpy())
        knn = make_pipeline(StandardScaler(), KNeighborsClassifier(5)).fit(z.numpy(), y_train.numpy())
        result[name] = {"linear": float(linear.score(tests[name].numpy(), y_test.numpy())),
                        "knn5": float(knn.score(tests[name].numpy(), y_test.numpy()))}
    recon = {}
    for m in model.modalities:
        hits = [(clfs[m](quantize(model.autoencoders[m](x[m]).clamp(0, 1))).argmax(1) == y) for x, y in test.batches(512)]
        recon[m] = float(torch.cat(hits).float().mean())
    return {"probe": result, "reconstruction": recon}


def with_schedule(model, steps: int, jump_length: int, jump_n_sample: int):
    """``model`` (weights shared) sampling on the RePaint schedule (steps, jump_length, jump_n_sample)."""
    other = copy.copy(model)
    other.cfg = dataclasses.replace(model.cfg, sampler="repaint", steps=steps, jump_length=jump_length,
                                    jump_n_sample=jump_n_sample)
    other.schedule = samplers.jump_schedule(steps, jump_length, jump_n_sample)
    return other


def with_raw_network(model):
    """``model`` sampling with the raw score network's weights instead of the EMA's (a copy; ``model`` untouched)."""
    other = copy.deepcopy(model)
    other.ema.net.load_state_dict(other.score.state_dict())
    return other


def examine(model, prep, test, train_eval, *, n_slow: int, seed: int) -> dict:
    """Every examination of the module docstring on the trained ``model``."""
    began = time.perf_counter()
    clfs, n = prep.clfs, len(test)
    slow = random_subset(test, n_slow, seed=seed + 1)
    ref = with_schedule(model, *REFERENCE_SCHEDULE)
    found = {
        "raw": scores(with_raw_network(model), test, clfs, n_joint=n, seed=seed),
        "train": scores(model, train_eval, clfs, n_joint=n, seed=seed),
        "preset_sampler": scores(model, slow, clfs, n_joint=n_slow, seed=seed),
        "reference_sampler": scores(ref, slow, clfs, n_joint=n_slow, seed=seed),
        "reference_sampler_calls": ref.network_calls_per_sample,
        "joint_without": joint_without(model, clfs, n, seed),
        **latent_probe(model, prep.train, prep.test, clfs),
    }
    recon = found["reconstruction"]
    found["reconstruction_product"] = float(torch.tensor(list(recon.values())).prod())
    found["seconds"] = time.perf_counter() - began
    return found


SCORES = ("k1", "k2", "k3", "k4", "self", "joint")


def summarize(out: Path) -> Path:
    """``<out>/summary.json`` from every experiment file under ``out``: rows (experiment, suite, epoch, steps,
    training seconds and the scores) and, per examined point, the examinations' headline numbers."""
    rows, examined = [], []
    for path in sorted(out.glob("*-*.json")):
        run = json.loads(path.read_text())
        if "points" not in run:
            continue
        for point in run["points"]:
            rows.append({"experiment": run["label"], "suite": run["suite"], "model": run["model"],
                         "overrides": run["overrides"], "epoch": point["epoch"], "steps": point["steps"],
                         "train_seconds": point["train_seconds"], **{k: point[k] for k in SCORES if k in point}})
            found = point.get("examined")
            if found:
                examined.append({"experiment": run["label"], "suite": run["suite"], "epoch": point["epoch"],
                                 "ema": {k: point[k] for k in SCORES if k in point},
                                 "raw": {k: found["raw"][k] for k in SCORES if k in found["raw"]},
                                 "train": {k: found["train"][k] for k in SCORES if k in found["train"]},
                                 "preset_sampler": {k: found["preset_sampler"][k] for k in SCORES if k in found["preset_sampler"]},
                                 "reference_sampler": {k: found["reference_sampler"][k] for k in SCORES
                                                       if k in found["reference_sampler"]},
                                 "probe": found["probe"], "reconstruction": found["reconstruction"],
                                 "reconstruction_product": found["reconstruction_product"],
                                 "joint_without": found["joint_without"],
                                 "target_vs_reconstruction": {
                                     m: point["k1_by_target"][m] / max(point["self_by_target"][m], 1e-9)
                                     for m in point["k1_by_target"]}})
    path = out / "summary.json"
    save_json({"benchmark": "mld_limits", "rows": rows, "examined": examined}, path)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="polymnist")
    parser.add_argument("--model", default="mld")
    parser.add_argument("--scale", default="default")
    parser.add_argument("--label", help="the output's name: <suite>-<label>.json")
    parser.add_argument("--summarize", action="store_true", help="gather the experiments under --out, train nothing")
    parser.add_argument("--set", action="append", default=[], metavar="MODEL.FIELD=VALUE", help="config override")
    parser.add_argument("--eval-at", default="", help="score-network epochs to score at, comma-separated (and the last)")
    parser.add_argument("--examine-at", default="", help="epochs to examine at (default: the last)")
    parser.add_argument("--n-eval", type=int, default=500)
    parser.add_argument("--n-slow", type=int, default=200, help="test tuples for the reference sampler")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default="results", help="the run cache (data, classifiers, autoencoders)")
    parser.add_argument("--out", default="results/mld_limits")
    args = parser.parse_args(argv)
    if args.summarize:
        print(f"wrote {summarize(Path(args.out))}")
        return
    if not args.label:
        parser.error("--label is required to run an experiment")
    prep = prepare(RunConfig(suite=args.suite, scale=args.scale, out=args.cache))
    model = build_model(args.model, prep.spec, args.scale, parse_overrides(args.set).get(args.model, []))
    last = model.cfg.epochs
    eval_at = {int(e) for e in args.eval_at.split(",") if e} | {last}
    examine_at = {int(e) for e in args.examine_at.split(",") if e} or {last}
    test = random_subset(prep.test, args.n_eval, seed=args.seed)
    train_eval = random_subset(prep.train, args.n_eval, seed=args.seed)
    points, clock = [], {"eval": 0.0, "start": time.perf_counter()}

    def hook(stage: str, epoch: int, steps: int, loss: float, seconds: float | None) -> None:
        if stage != "score" or epoch + 1 not in eval_at | examine_at:
            return
        began = time.perf_counter()
        point = {"epoch": epoch + 1, "steps": steps, "loss": loss,
                 "train_seconds": began - clock["start"] - clock["eval"]}
        modes = {name: module.training for name, module in model.named_modules()}
        model.eval()
        point.update(scores(model, test, prep.clfs, n_joint=args.n_eval, seed=args.seed))
        if epoch + 1 in examine_at:
            point["examined"] = examine(model, prep, test, train_eval, n_slow=args.n_slow, seed=args.seed)
        for name, module in model.named_modules():
            module.training = modes[name]
        points.append(point)
        clock["eval"] += time.perf_counter() - began
        print(f"{args.model} epoch {epoch + 1} ({steps} steps, {point['train_seconds']:.0f} s): "
              + ", ".join(f"{k} {point[k]:.3f}" for k in ("k1", "k2", "k3", "k4", "self", "joint") if k in point),
              flush=True)

    stage_cache = model_stage_cache(prep.store, prep.data_key, prep.cfg, prep.device, prep.spec)
    record = model.fit(prep.train, seed=args.seed, device=prep.device, cache=stage_cache,
                       monitor=TrainingMonitor(args.model, hook=hook))
    out = Path(args.out)
    save_json({"benchmark": "mld_limits_experiment", "suite": args.suite, "scale": args.scale, "model": args.model, "label": args.label, "overrides": args.set,
               "seed": args.seed, "n_eval": args.n_eval, "n_slow": args.n_slow, "config": dataclasses.asdict(model.cfg),
               "train_seconds": record.seconds, "points": points, "provenance": provenance(prep.device)},
              out / f"{args.suite}-{args.label}.json")
    print(f"wrote {out / f'{args.suite}-{args.label}.json'}")


if __name__ == "__main__":
    main()
