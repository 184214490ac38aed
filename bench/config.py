"""The configuration of one suite run, shared by the command line, the Python API, the pipeline and job processes."""

from __future__ import annotations

from dataclasses import dataclass

AMP = ("none", "bf16")  # --amp: full precision, or models under torch.autocast(bfloat16) (bench.precision)


@dataclass(frozen=True)
class RunConfig:
    """One run of a suite: what ``bench.run`` (the command line) and ``bench.api.run`` build and the pipeline reads.
    Frozen and picklable, so that a job process (``bench.executors``) receives it whole."""

    suite: str
    scale: str = "default"
    models: tuple[str, ...] | None = None  # None: the suite's model list
    seeds: tuple[int, ...] | None = None  # None: the scale's seeds
    device: str = "auto"
    data_root: str | None = None
    out: str = "results"
    progress: bool = True
    inception_weights: str | None = None  # None: $BENCH_INCEPTION_WEIGHTS, then the torch hub cache
    download: bool = False  # fetch the suite's public files into data_root first (torchvision's downloaders)
    fresh: bool = False  # recompute every stage, overwriting the cache
    amp: str = "none"  # "bf16": models train and generate under torch.autocast(bfloat16); metrics stay float32
    executor: str = "local"  # bench.executors: local, submitit-local, slurm
    slurm_partition: str | None = None
    slurm_gpus: int = 1
    slurm_time: int = 24 * 60  # minutes per (model, seed) job
    overrides: tuple[str, ...] = ()  # "model.field=value" config overrides (bench.overrides), after the presets
    checkpoint_minutes: float = 10.0  # a training saves a resumable checkpoint this often (bench.checkpoints)
    keep_checkpoints: bool = False  # keep each stage's last checkpoint after it completes
    verbosity: int = 0  # -1: warnings only (-q), 0: one line per stage, 1: debug (-v)
    include: tuple[str, ...] = ()  # files or packages imported first (their @register_model runs; bench.plugins)
    checkpoints: tuple[str, ...] = ()  # "model=path" trained weights scored instead of training (bench.exports)
    export: str | None = None  # folder every trained model is exported to (safetensors + JSON; bench.exports)
