"""Learning curves: loss and coherence of each model against optimiser steps and seconds, used to choose the
default presets (README, "Choosing the default scale").

    python -m benchmarks.learning_curves --suite polymnist [--models mld,mopoe] [--set mopoe.epochs=60 ...]
                                         [--every 250] [--n-eval 250] [--seed 0] [--out results/learning_curves]

Each model is built at ``--scale`` (default: default) with its preset plus the ``--set model.field=value``
overrides (nested fields with dots: ``mld.autoencoder.latent_dim=64``), then trained once with a
``bench.health.TrainingMonitor`` hook that, at the first epoch end after every ``--every`` optimiser steps (and at
the last epoch), scores the model on ``--n-eval`` test tuples:

- ``k1``: conditional coherence given one modality, the mean over sources s and targets t != s of the accuracy of
  clf_t on the target generated from x_s (the suite's k = 1 column);
- ``self``: self-reconstruction coherence, the mean over s of the accuracy of clf_s on modality s generated from
  x_s alone (the given modality reconstructed);
- for MLD's autoencoder stages, ``self`` of that modality's autoencoder reconstruction.

Training seconds exclude the evaluations. Chance is 1 / (number of classes). Writes ``<out>/<suite>.json`` (config,
points per model) and ``<out>/<suite>.png`` (loss, k1 and self against steps; k1 against seconds).

    python -m benchmarks.learning_curves --from-run results/converged/polymnist [--seed 0] [--label converged]

reads the same curves from a finished ``bench.run`` instead of training: every run scores its models during training
(``bench.probes``: k1, self, joint coherence and FD-clf on held-out test tuples at fractions of the plan), and the
records under ``<run>/runs/<scale>/`` hold those points. ``--from-run`` may be given more than once (runs of one
suite and scale, e.g. one model retrained longer in a run of its own): a model's curve comes from the last run that
holds it. Each result then also states whether the curve has plateaued: ``rise`` is k1 at the last point minus k1
at the first point at or past 75% of the training, at most 0.02 and at most 5% of k1 above chance for a plateau
(``bench.training_status``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

import bench.suites  # noqa: F401  (registers the suites, whose class count gives chance)
from bench.config import RunConfig
from bench.data.dataset import quantize, random_subset
from bench.health import TrainingMonitor
from bench.interface import build_model
from bench.overrides import parse_overrides
from bench.plots import save_figure
from bench.prepare import prepare
from bench.presets import suite_models
from bench.registry import SUITES
from bench.results import last_per_model
from bench.store import provenance, save_json
from bench.training_status import training_status


@torch.no_grad()
def single_source_coherence(model, x: dict, y: torch.Tensor, clfs: dict, generator: torch.Generator) -> tuple[float, float]:
    """(k1, self) on the tuples ``x``, ``y`` (module docstring): one ``generate`` call on M x B rows, row block s
    observing modality s only."""
    modalities = tuple(model.modalities)
    n, b = len(modalities), y.shape[0]
    observed = torch.eye(n, dtype=torch.bool, device=y.device).repeat_interleave(b, dim=0)
    out = model.generate({m: v.repeat(n, *([1] * (v.ndim - 1))) for m, v in x.items()}, observed, generator=generator)
    hits = torch.stack([
        (clfs[m](quantize(out[m])).argmax(1) == y.repeat(n)).view(n, b).float().mean(1) for m in modalities
    ])  # hits[t, s]: target t given source s
    eye = torch.eye(n, dtype=torch.bool, device=hits.device)
    return float(hits[~eye].mean()), float(hits[eye].mean())


@torch.no_grad()
def autoencoder_self(ae, x: torch.Tensor, y: torch.Tensor, clf) -> float:
    """Accuracy of the modality's classifier on the autoencoder's reconstruction of ``x``."""
    return float((clf(quantize(ae(x).clamp(0, 1))).argmax(1) == y).float().mean())


def curve(prep, name: str, overrides, *, seed: int, every: int, n_eval: int, progress: bool) -> dict:
    """Train ``name`` once, from scratch (no cached stage, so that MLD's autoencoders are trained and timed too), and
    return its config and evaluated points (module docstring)."""
    device = prep.device
    model = build_model(name, prep.spec, prep.cfg.scale, overrides)
    # a seeded random pick: the test split is ordered by digit
    x, y = next(random_subset(prep.test, n_eval, seed=seed).batches(n_eval, device=device))
    points: list[dict] = []
    clock = {"start": time.perf_counter(), "eval": 0.0, "last": {}}

    def hook(stage: str, epoch: int, steps: int, loss: float, seconds: float | None) -> None:
        last = clock["last"].get(stage)
        final = epoch + 1 == (stage_epochs(model, stage))
        if last is not None and steps - last < every and not final:
            return
        clock["last"][stage] = steps
        began = time.perf_counter()
        point = {"stage": stage, "epoch": epoch + 1, "steps": steps, "loss": loss,
                 "seconds": began - clock["start"] - clock["eval"]}
        was_training = model.training
        model.eval()
        generator = torch.Generator(device=device).manual_seed(seed)
        if stage.startswith("autoencoder "):
            m = stage.removeprefix("autoencoder ")
            point["self"] = autoencoder_self(model.autoencoders[m], x[m], y, prep.clfs[m])
        else:
            point["k1"], point["self"] = single_source_coherence(model, x, y, prep.clfs, generator)
        model.train(was_training)
        points.append(point)
        clock["eval"] += time.perf_counter() - began
        shown = ", ".join(f"{k} {point[k]:.3f}" for k in ("k1", "self") if k in point)
        print(f"{name} {stage} step {steps} ({point['seconds']:.0f} s): loss {loss:.2f}, {shown}", flush=True)

    monitor = TrainingMonitor(name, hook=hook)
    record = model.fit(prep.train, seed=seed, device=device, progress=progress, monitor=monitor)
    return {"model": name, "config": _jsonable(dataclasses.asdict(model.cfg)), "points": points,
            "train_seconds": record.seconds, "steps": record.steps}


def stage_epochs(model, stage: str) -> int:
    """How many epochs ``stage`` of ``model`` runs (to evaluate at its last epoch)."""
    cfg = model.cfg
    if stage.startswith("autoencoder "):
        return cfg.autoencoder.epochs
    return cfg.epochs


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def plot(results: list[dict], path: Path, *, title: str, chance: float) -> Path:
    """Loss, k1 and self against steps, and k1 against training seconds, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    palette = sns.color_palette("colorblind", len(results))
    markers = "osD^vP*Xhd"
    for (result, color), marker in zip(zip(results, palette), markers):
        main = [p for p in result["points"] if not p["stage"].startswith("autoencoder ")]
        label = result.get("label", result["model"])
        if not main:
            continue
        steps = [p["steps"] for p in main]
        axes[0].plot(steps, [p["loss"] for p in main], marker=marker, color=color, label=label)
        axes[1].plot(steps, [p["k1"] for p in main], marker=marker, color=color, label=label)
        axes[2].plot(steps, [p["self"] for p in main], marker=marker, color=color, label=label)
        axes[3].plot([p["seconds"] for p in main], [p["k1"] for p in main], marker=marker, color=color, label=label)
    axes[0].set(xlabel="optimiser steps (MLD: score network)", ylabel="training loss (epoch mean)", yscale="symlog")
    axes[1].set(xlabel="optimiser steps", ylabel="coherence k = 1")
    axes[2].set(xlabel="optimiser steps", ylabel="self-reconstruction coherence")
    axes[3].set(xlabel="training seconds (MLD: incl. autoencoders)", ylabel="coherence k = 1")
    for ax in axes[1:]:
        ax.set_ylim(0, 1)
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    axes[1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def from_run(root: Path, seed: int) -> tuple[dict, list[dict]]:
    """(the run's results file, one learning curve per model) from a finished run's records of ``seed``, in the
    format ``curve`` returns, each with its ``training`` status (``bench.training_status``)."""
    document = json.loads((root / "results.json").read_text())
    chance = SUITES.get(document["suite"]).label_space.chance
    results = []
    for run in document["runs"]:
        if run["seed"] != seed or run.get("status", "ok") != "ok":
            continue
        record = json.loads((root / run["record"]).read_text())
        train = record["model_record"]["train"]
        stage = next(reversed(record["curves"]))
        points = [{"stage": stage, "epoch": p["epoch"], "steps": p["steps"], "loss": p["loss"],
                   "seconds": p["total_seconds"], "stage_seconds": p["seconds"],
                   **{k: p[k] for k in ("k1", "self", "joint", "fd_clf") if k in p}} for p in record["probes"]]
        results.append({"model": run["model"], "config": record["model_record"]["config"], "points": points,
                        "train_seconds": train["seconds"], "steps": train["steps"],
                        "training": training_status(record["probes"], chance)})
    return document, results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="polymnist")
    parser.add_argument("--scale", default="default")
    parser.add_argument("--models", help="comma-separated (default: the scale's model list)")
    parser.add_argument("--set", action="append", default=[], metavar="MODEL.FIELD=VALUE", help="config override")
    parser.add_argument("--every", type=int, default=250, help="optimiser steps between evaluations")
    parser.add_argument("--n-eval", type=int, default=250, help="test tuples per evaluation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--label", help="suffix of the output files (e.g. a study name)")
    parser.add_argument("--out", default="results/learning_curves")
    parser.add_argument("--cache", default="results", help="where the suite's data and classifiers are cached")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--from-run", type=Path, action="append",
                        help="a finished run's suite folder: read its curves, train nothing (repeatable: a model's "
                             "curve comes from the last run that holds it)")
    args = parser.parse_args(argv)
    if args.from_run is not None:
        write_from_run(args)
        return
    prep = prepare(RunConfig(suite=args.suite, scale=args.scale, device=args.device, out=args.cache, progress=args.progress))
    overrides = parse_overrides(args.set)
    names = args.models.split(",") if args.models else list(suite_models(args.suite, args.scale))
    results = [
        curve(prep, name, overrides.get(name, []), seed=args.seed, every=args.every, n_eval=args.n_eval,
              progress=args.progress)
        for name in names
    ]
    stem = args.suite if not args.label else f"{args.suite}-{args.label}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    save_json({"suite": args.suite, "scale": args.scale, "seed": args.seed, "n_eval": args.n_eval, "every": args.every,
               "overrides": args.set, "results": results, "provenance": provenance(prep.device)}, out / f"{stem}.json")
    plot(results, out / f"{stem}.png", title=f"{prep.suite.title} learning curves ({args.scale} presets, seed {args.seed}, "
         f"{args.n_eval} test tuples)", chance=0.1)
    print(f"wrote {out / (stem + '.json')} and {out / (stem + '.png')}")


def write_from_run(args) -> None:
    """``--from-run``: the learning curves of a finished run (module docstring)."""
    groups, document = [], None
    for root in args.from_run:
        run_document, results = from_run(root, args.seed)
        if not results:
            raise SystemExit(f"{root}: no finished run of seed {args.seed}")
        if document is not None and (run_document["suite"], run_document["scale"]) != (document["suite"], document["scale"]):
            raise SystemExit(f"{root} is a {run_document['suite']} run at scale {run_document['scale']}, not "
                             f"{document['suite']} at {document['scale']} as {args.from_run[0]}")
        document = document or run_document
        groups.append([{**result, "from_run": str(root), "commit": run_document["provenance"]["commit"]}
                       for result in results])
    results = last_per_model(groups)
    suite = document["suite"]
    stem = suite if not args.label else f"{suite}-{args.label}"
    out = Path(args.out)
    save_json({"suite": suite, "scale": document["scale"], "seed": args.seed, "n_eval": None, "every": None,
               "overrides": document["config"]["overrides"], "from_run": [str(r) for r in args.from_run], "results": results,
               "provenance": document["provenance"]}, out / f"{stem}.json")
    plot(results, out / f"{stem}.png", title=f"{suite} learning curves ({document['scale']} scale, seed {args.seed}, "
         f"scored during the run)", chance=0.1)
    for result in results:
        status = result["training"]
        print(f"{result['model']}: {len(result['points'])} points, k1 {result['points'][-1]['k1']:.3f}, "
              f"{status['status']}" + (f" ({status['rise']:+.3f} over the last quarter)" if "rise" in status else ""))
    print(f"wrote {out / (stem + '.json')} and {out / (stem + '.png')}")


if __name__ == "__main__":
    main()
