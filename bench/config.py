"""The configuration of one suite run, shared by the command line, the Python API, the pipeline and job processes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.errors import BenchError

AMP = ("none", "bf16")  # --amp: full precision, or models under torch.autocast(bfloat16) (bench.precision)
SEED_LIMIT = 2**63  # a seed is an int64 torch generators take as is: 0 <= seed < 2^63


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

    def __post_init__(self) -> None:
        if self.seeds is not None:
            check_seeds(self.seeds)
        if not math.isfinite(self.checkpoint_minutes) or self.checkpoint_minutes < 0:
            raise BenchError(f"--checkpoint-every {self.checkpoint_minutes} is not a number of minutes >= 0",
                             "e.g. --checkpoint-every 10 (0: at the end of every epoch)")


def check_seeds(seeds: tuple[int, ...]) -> None:
    """Seeds are distinct integers in 0 <= seed < 2^63: a repeated seed would be counted twice as a replicate (a
    mean +- 0 over copies), and torch reads a negative or larger seed modulo 2^64, so two spellings would name one
    run."""
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < SEED_LIMIT]
    if bad:
        raise BenchError(f"seed {bad[0]!r} is not an integer in 0 <= seed < 2^63", "e.g. --seeds 0,1,2")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise BenchError(f"seed {repeated[0]} is given more than once: replicates need distinct seeds",
                         "give each seed once, e.g. --seeds 0,1,2")
