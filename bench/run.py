"""``mm-bench --suite polymnist`` (or ``python -m bench.run``): data -> classifiers -> models -> coherence and
quality -> tables. A thin layer over ``bench.api.run_suite``.

Every stage output is cached under ``<out>/cache/<stage>/<key>`` where the key hashes the stage config and
its upstream keys, so a rerun skips finished stages and a changed config recomputes only what it touches.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from bench.config import AMP, RunConfig
from bench.errors import BenchError
from bench.executors import EXECUTORS
from bench.metrics.names import UNCOND, given, metric_key
from bench.presets import SCALES

COHERENCE_K1, FD_CLF = metric_key("coherence", given(1)), metric_key("fd", UNCOND, "clf")  # shown by --list

EPILOG = """examples:
  python -m bench.run --suite polymnist                      # embedded default data: MLD, MoPoE, MVTCAE, MMVAE+
  python -m bench.run --suite polymnist --scale quick        # a one-minute smoke run
  python -m bench.run --suite polymnist --models all         # every model of the suite, at the default presets
  python -m bench.run --suite polymnist --models mld,mld_in,mld_uni   # MLD and its ablations
  python -m bench.run --suite polymnist --set mopoe.epochs=100 --set mld.lr=5e-4   # override presets
  python -m bench.run --suite polymnist --models mopoe --seeds 0,1,2 --device cuda
  python -m bench.run --suite polymnist --data-root ~/data   # MMNIST/*.pt, PNG folders or MNIST/raw
  python -m bench.run --suite mnist_svhn --scale quick       # the offline MNIST-SVHN stand-in
  python -m bench.run --suite mnist_svhn --data-root ~/data --download   # real MNIST + SVHN
  python -m bench.run --suite polymnist --scale paper --plan # predicted time and memory of every stage
  python -m bench.run --list                                 # registered suites and models, cached runs
  mm-bench --suite polymnist --include my_model.py --models mine     # a model from your own file
  mm-bench --suite polymnist --export exports                # also write every trained model (safetensors)
  mm-bench --suite polymnist --models mopoe --checkpoint mopoe=exports   # score exported weights, no training
"""


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The ``RunConfig`` of parsed command-line arguments, or a clear error for a malformed list."""

    def split(text: str | None) -> list[str] | None:
        return None if text is None else [t.strip() for t in text.split(",") if t.strip()]

    for flag, text in (("--seeds", args.seeds), ("--models", args.models)):
        if text is not None and not split(text):
            raise BenchError(f"{flag} {text!r} names nothing", f"give a comma-separated list, or leave {flag} out for the defaults")
    seeds = split(args.seeds)
    try:
        seed_values = None if seeds is None else tuple(int(s) for s in seeds)
    except ValueError:
        raise BenchError(f"--seeds {args.seeds!r} is not a comma-separated list of integers", "e.g. --seeds 0,1,2") from None
    models = split(args.models)
    return RunConfig(
        suite=args.suite,
        scale=args.scale,
        models=None if models is None else tuple(models),
        seeds=seed_values,
        device=args.device,
        data_root=args.data_root,
        out=args.out,
        progress=not args.no_progress,
        inception_weights=args.inception_weights,
        download=args.download,
        fresh=args.fresh,
        amp=args.amp,
        executor=args.executor,
        slurm_partition=args.slurm_partition,
        slurm_gpus=args.slurm_gpus,
        slurm_time=args.slurm_time,
        overrides=tuple(args.set),
        checkpoint_minutes=args.checkpoint_every,
        keep_checkpoints=args.keep_checkpoints,
        verbosity=-1 if args.quiet else 1 if args.verbose else 0,
        include=tuple(args.include),
        checkpoints=tuple(args.checkpoint),
        export=args.export,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mm-bench",
        description="Train every model of a suite, score coherence with per-modality classifiers, write tables.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_argument_group("what to run")
    what.add_argument("--suite", help="benchmark suite, e.g. polymnist (see --list)")
    what.add_argument(
        "--scale",
        default="default",
        choices=SCALES,
        help="quick: a smoke test in about a minute (its models do not learn; the tables say so); default: the "
        "embedded data on 2 CPU cores in about 25 minutes, every model learns; paper: the published sizes (needs a "
        "GPU). Default: %(default)s",
    )
    what.add_argument(
        "--models",
        help="comma-separated model names, or 'all' for every model of the suite (default: the scale's list; quick: "
        "mld,mopoe; default: mld,mopoe,mvtcae,mmvae_plus; paper: all)",
    )
    what.add_argument("--seeds", help="comma-separated training seeds, e.g. 0,1,2 (default: the scale's seeds)")
    what.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="MODEL.FIELD=VALUE",
        help="override a model's config after its scale preset, e.g. --set mopoe.beta=1.0 or "
        "--set mld.autoencoder.latent_dim=64 (repeatable; the cache keys include the config)",
    )
    what.add_argument(
        "--list", action="store_true", help="print the registered suites and models and the runs cached in --out, then exit"
    )
    what.add_argument(
        "--include", action="append", default=[], metavar="PATH",
        help="import a .py file or package folder first, so that the models it registers (bench.register_model) "
        "can be named in --models (repeatable); installed packages register through the entry-point group "
        "mm_latent_bench.models",
    )
    what.add_argument(
        "--checkpoint", action="append", default=[], metavar="NAME=PATH",
        help="score model NAME with weights exported by --export (a .safetensors file, or the export folder holding "
        "every seed) instead of training it; refused if its config, data or code version differ (repeatable)",
    )
    what.add_argument(
        "--export", metavar="DIR",
        help="write every trained model to DIR as NAME-seedS.safetensors + NAME-seedS.json (config, data key, versions)",
    )
    what.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    what.add_argument("--fresh", action="store_true", help="recompute every stage, ignoring (and overwriting) the cache")
    what.add_argument(
        "--no-estimate", action="store_true",
        help="start without first estimating the run's duration (the default above the quick scale, about a minute)",
    )
    what.add_argument(
        "--plan", action="store_true",
        help="predict each stage's wall time and peak memory from a few measured steps on --device (about a minute), "
        "print the table and write <out>/<suite>/plan-<scale>.json, without running anything else",
    )
    where = parser.add_argument_group("where")
    where.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s = cuda if available)")
    where.add_argument(
        "--data-root",
        help="folder with real data. polymnist: MMNIST/{train,test}/m*.pt, {train,test}/m*/IDX.LABEL.png or MNIST/raw; "
        "mnist_svhn: MNIST/raw and SVHN/{train,test}_32x32.mat (default: the embedded offline data; for mnist_svhn a "
        "stand-in, not SVHN)",
    )
    where.add_argument(
        "--download",
        action="store_true",
        help="download the suite's public files (MNIST; SVHN for mnist_svhn) into --data-root first, with "
        "torchvision's downloaders (needs internet)",
    )
    where.add_argument("--out", default="results", help="output folder for tables, records and cache (default: %(default)s)")
    where.add_argument(
        "--inception-weights",
        metavar="PATH",
        help="pytorch-fid's FID Inception weights (pt_inception-2015-12-05-6726825d.pth) for FID (default: "
        "$BENCH_INCEPTION_WEIGHTS, then the torch hub cache; if none is found FID is reported unavailable, and the "
        "classifier-feature FD, precision/recall and density/coverage are reported as always)",
    )
    where.add_argument(
        "--amp",
        default="none",
        choices=AMP,
        help="mixed precision for model training and generation (metrics stay float32); default: %(default)s",
    )
    where.add_argument("--no-progress", action="store_true", help="hide progress bars")
    where.add_argument("-q", "--quiet", action="store_true", help="log only warnings and errors on the terminal")
    where.add_argument("-v", "--verbose", action="store_true", help="log debug detail (checkpoints, ...)")
    where.add_argument(
        "--checkpoint-every",
        type=float,
        default=10.0,
        metavar="MIN",
        help="save a resumable checkpoint of a training every MIN minutes (at the end of an epoch); a rerun of a "
        "killed run resumes from it (default: %(default)s)",
    )
    where.add_argument("--keep-checkpoints", action="store_true", help="keep each training's last checkpoint after it completes")
    jobs = parser.add_argument_group("executors")
    jobs.add_argument(
        "--executor",
        default="local",
        choices=EXECUTORS.names(),
        help="where each (model, seed) trains and is evaluated: in this process (default), in its own local "
        "process, or as a Slurm job via submitit; tables are written when all are done",
    )
    jobs.add_argument("--slurm-partition", help="Slurm partition (default: the cluster's default)")
    jobs.add_argument("--slurm-gpus", type=int, default=1, help="GPUs per job (default: %(default)s)")
    jobs.add_argument("--slurm-time", type=int, default=24 * 60, help="time limit per job in minutes (default: %(default)s)")
    return parser


def _version() -> str:
    from bench.results import package_version

    return package_version()


def print_registries(include: Sequence[str]) -> None:
    """The registered suites and quality metrics, and each model with the suites it has presets on and the scales it
    is tagged for."""
    from bench.plugins import load_plugins
    from bench.presets import models_with_presets
    from bench.registry import MODELS, SUITES

    from bench.metrics.registry import feature_metrics

    load_plugins(include)
    print("suites:", ", ".join(SUITES.names()))
    print("quality metrics:", ", ".join(f"{m.name} ({', '.join(m.measures)})" for m in feature_metrics()))
    print("models:")
    for name in MODELS.names():
        tags = MODELS.tags(name)
        suites = [suite for suite in SUITES.names() if name in models_with_presets(suite)]
        where = f"suites {', '.join(suites) or '-'}; scales {', '.join(tags.get('scales', ())) or '-'}"
        print(f"  {name} ({MODELS.get(name).__module__}; {where})")


def print_cached_runs(out: str) -> None:
    """One line per (suite, scale, model, seed) record under ``out``: when it ran, its cache keys, two metrics."""
    import json
    from pathlib import Path

    from tabulate import tabulate

    rows = []
    for path in sorted(Path(out).glob("*/runs/*/*.json")):
        try:
            record = json.loads(path.read_text())
            metrics = record.get("metrics", {})
            rows.append([
                record["suite"], record["scale"], record["model"], record["seed"],
                record.get("metrics_provenance", record.get("provenance", {})).get("time", "?"),
                record.get("model_record", {}).get("key", "?"),
                f"{metrics[COHERENCE_K1]:.3f}" if COHERENCE_K1 in metrics else "-",
                f"{metrics[FD_CLF]:.1f}" if FD_CLF in metrics else "-",
            ])
        except (OSError, ValueError, KeyError, TypeError):
            rows.append(["?", "?", path.stem, "?", "unreadable record", str(path), "-", "-"])
    if not rows:
        print(f"cached runs: none under {out}")
        return
    print(f"cached runs under {out}:")
    headers = ["suite", "scale", "model", "seed", "evaluated (UTC)", "model key", "coh k=1", "FD-clf"]
    print(tabulate(rows, headers=headers, disable_numparse=True))


def print_plan(cfg: RunConfig) -> int:
    """``--plan``: print the predicted cost of every stage (``bench.plan``) and save it beside the results."""
    from bench.logs import LOG
    from bench.plan import make_plan
    from bench.store import save_json

    plan = make_plan(cfg, progress=LOG.info)
    path = Path(cfg.out) / cfg.suite / f"plan-{cfg.scale}.json"
    save_json({"suite": cfg.suite, "scale": cfg.scale, **plan.to_dict()}, path)
    print(plan.format())
    LOG.info("plan written to %s", path)
    return 0


def log_estimate(cfg: RunConfig) -> None:
    """Log how long the run should take on this machine (``bench.plan``, about a minute of probes), unless every
    stage is cached."""
    from bench.logs import LOG
    from bench.plan import duration, make_plan

    LOG.info("estimating the run's duration on this machine (--no-estimate skips this)")
    plan = make_plan(cfg)
    if plan.total - plan.stages[0].seconds < 1:
        return
    slowest = sorted((s for s in plan.stages if s.seconds >= 1), key=lambda s: -s.seconds)[:3]
    LOG.info("estimate: this run should take about %s on %s (%s; --plan shows every stage)", duration(plan.total),
             plan.device, ", ".join(f"{s.stage} {duration(s.seconds)}" for s in slowest))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        try:
            print_registries(args.include)
        except BenchError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print_cached_runs(args.out)
        return 0
    if not args.suite:
        parser.print_usage(sys.stderr)
        print("error: --suite is required (see --list)", file=sys.stderr)
        return 2

    from bench.api import run_suite
    from bench.logs import LOG, configure
    from bench.store import writable_folder

    log_file = None
    try:
        cfg = config_from_args(args)
        log_file = configure(writable_folder(cfg.out), verbosity=cfg.verbosity)
        LOG.info("mm-bench %s (log: %s)", " ".join(argv if argv is not None else sys.argv[1:]), log_file)
        if args.plan:
            return print_plan(cfg)
        if cfg.scale != "quick" and not args.no_estimate:
            log_estimate(cfg)
        results = run_suite(cfg)
    except BenchError as err:
        if log_file is None:  # the log is not open yet: a bad flag or --out
            print(f"error: {err}", file=sys.stderr)
        else:
            LOG.error("error: %s", err)
        return 2
    except KeyboardInterrupt:
        LOG.error("interrupted: finished stages and training checkpoints are kept; rerun the same command to resume")
        return 130
    print(results.report)
    if results.failures:
        LOG.error(
            "error: %d training(s) failed and their rows read 'diverged' (no numbers): %s",
            len(results.failures), "; ".join(results.failures),
        )
        return 1
    LOG.info("done: %s", cfg.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
