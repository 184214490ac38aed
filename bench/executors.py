"""Where the (model, seed) jobs of a run execute. Every executor returns the jobs' records in ``prep.jobs`` order;
results land in the same stage store, so the tables are the same whichever ran them.

- ``local`` (default): one after the other in this process.
- ``submitit-local``: each job in its own process on this machine through submitit's ``LocalExecutor`` (what the
  tests use to check the cluster path without a cluster).
- ``slurm``: each job as a Slurm job through submitit (``--slurm-partition``, ``--slurm-gpus``,
  ``--slurm-time``); this process waits for all of them, then writes the tables.

The shared stages (data, classifiers, real features) are computed by ``prepare`` in this process before any job
is submitted, so jobs only read them from the cache. A Slurm job that hits its time limit is requeued and resumes
(``ResumableJob``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from bench.errors import BenchError
from bench.registry import Registry

EXECUTORS: Registry[Callable] = Registry("executor")


@EXECUTORS.register("local")
def run_local(cfg, prep) -> list[dict]:
    from bench.pipeline import run_one

    return [run_one(prep, name, seed) for name, seed in prep.jobs]


@EXECUTORS.register("submitit-local")
def run_submitit_local(cfg, prep) -> list[dict]:
    submitit = _import_submitit()
    executor = submitit.LocalExecutor(folder=_job_folder(prep))
    executor.update_parameters(timeout_min=cfg.slurm_time)
    return _submit_and_wait(executor, cfg, prep)


@EXECUTORS.register("slurm")
def run_slurm(cfg, prep) -> list[dict]:
    submitit = _import_submitit()
    executor = submitit.AutoExecutor(folder=_job_folder(prep), cluster="slurm")
    parameters = {"timeout_min": cfg.slurm_time, "gpus_per_node": cfg.slurm_gpus, "cpus_per_task": 8, "nodes": 1}
    if cfg.slurm_partition:
        parameters["slurm_partition"] = cfg.slurm_partition
    executor.update_parameters(name=f"bench-{prep.suite.name}", **parameters)
    return _submit_and_wait(executor, cfg, prep)


def _submit_and_wait(executor, cfg, prep) -> list[dict]:
    """Submit ``pipeline.job(cfg, name, seed)`` for every job, wait for all, and return their records; a failed job
    is one error naming the job and its log folder (the other jobs' finished stages stay in the cache)."""
    job = ResumableJob()
    with executor.batch():
        submitted = [(name, seed, executor.submit(job, cfg, name, seed)) for name, seed in prep.jobs]
    records, failed = [], []
    for name, seed, handle in submitted:
        try:
            records.append(handle.result())
        except Exception as exc:  # submitit re-raises the job's exception or a failure of the job itself
            failed.append(f"{name}/seed{seed} (job {handle.job_id}, logs in {handle.paths.folder}): {exc}")
    if failed:
        raise BenchError(
            "jobs failed: " + "; ".join(failed),
            "read the job logs, fix the cause and rerun the same command: finished jobs are not recomputed",
        )
    return records


try:  # submitit is an optional extra; without it only the local executor runs
    from submitit.helpers import Checkpointable
except ImportError:
    Checkpointable = object


class ResumableJob(Checkpointable):
    """``pipeline.job`` as a submitit job. As a ``submitit.helpers.Checkpointable``, a job that reaches its Slurm
    time limit or is pre-empted is requeued with the same arguments (submitit's default ``checkpoint``), and the
    requeued job resumes: finished stages come from the cache, an unfinished training from its last checkpoint
    (``bench.checkpoints``)."""

    def __call__(self, cfg, name: str, seed: int) -> dict:
        from bench.pipeline import job

        return job(cfg, name, seed)


def _job_folder(prep) -> Path:
    return prep.out / "jobs" / "%j"


def _import_submitit():
    try:
        import submitit
    except ImportError:
        raise BenchError("the submitit executors need the submitit package", "pip install 'mm-latent-bench[slurm]'") from None
    return submitit
