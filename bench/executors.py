"""Where the (model, seed) jobs of a run execute. An executor receives the run's config and its ``Work`` (the jobs,
and how to run one here or in a process of its own) and returns the jobs' records in ``work.jobs`` order; results
land in the same stage store, so the tables are the same whichever ran them.

- ``local`` (default): one after the other in this process.
- ``submitit-local``: each job in its own process on this machine through submitit's ``LocalExecutor`` (what the
  tests use to check the cluster path without a cluster). The jobs run at once, so each gets an equal share of the
  CPUs this process may use (``bench.devices.usable_cpus``) as its torch thread count.
- ``slurm``: each job as a Slurm job through submitit (``--slurm-partition``, ``--slurm-gpus``,
  ``--slurm-time``); this process waits for all of them, then writes the tables.

The shared stages (data, classifiers, real features) are computed in this process before any job is submitted, so
jobs only read them from the cache. A Slurm job that hits its time limit is requeued and resumes
(``ResumableJob``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.config import RunConfig
from bench.errors import BenchError
from bench.logs import LOG
from bench.registry import Registry


@dataclass(frozen=True)
class Work:
    """The (model, seed) jobs of a run; ``here(name, seed)`` runs one in this process (the shared stages loaded),
    ``apart(cfg, name, seed)`` in a fresh process (a module-level function, so that it pickles by reference); both
    return the job's record. Job logs go to ``folder``."""

    jobs: list[tuple[str, int]]
    here: Callable[[str, int], dict]
    apart: Callable[[RunConfig, str, int], dict]
    folder: Path


Executor = Callable[[RunConfig, Work], list[dict]]
EXECUTORS: Registry[Executor] = Registry("executor")


@EXECUTORS.register("local")
def run_local(cfg: RunConfig, work: Work) -> list[dict]:
    return [work.here(name, seed) for name, seed in work.jobs]


@EXECUTORS.register("submitit-local")
def run_submitit_local(cfg: RunConfig, work: Work) -> list[dict]:
    from bench.devices import usable_cpus

    submitit = _import_submitit()
    executor = submitit.LocalExecutor(folder=work.folder / "%j")
    executor.update_parameters(timeout_min=cfg.slurm_time)
    threads = max(1, usable_cpus() // max(len(work.jobs), 1))
    LOG.info("submitit-local: %d jobs at once, %d torch thread(s) each", len(work.jobs), threads)
    return _submit_and_wait(executor, cfg, work, threads)


@EXECUTORS.register("slurm")
def run_slurm(cfg: RunConfig, work: Work) -> list[dict]:
    submitit = _import_submitit()
    executor = submitit.AutoExecutor(folder=work.folder / "%j", cluster="slurm")
    parameters = {"timeout_min": cfg.slurm_time, "gpus_per_node": cfg.slurm_gpus, "cpus_per_task": 8, "nodes": 1}
    if cfg.slurm_partition:
        parameters["slurm_partition"] = cfg.slurm_partition
    executor.update_parameters(name=f"bench-{cfg.suite}", **parameters)
    return _submit_and_wait(executor, cfg, work)


def _submit_and_wait(executor, cfg: RunConfig, work: Work, threads: int | None = None) -> list[dict]:
    """Submit ``work.apart(cfg, ...)`` for every job (with ``threads`` torch threads each, or torch's default), wait for all,
    and return their records; a failed job is one error naming the job and its log folder (the other jobs' finished
    stages stay in the cache)."""
    job = ResumableJob(work.apart, cfg)
    with executor.batch():
        submitted = [(name, seed, executor.submit(job, name, seed, threads)) for name, seed in work.jobs]
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
    """``run(cfg, name, seed)`` as a submitit job. As a ``submitit.helpers.Checkpointable``, a job that reaches its
    Slurm time limit or is pre-empted is requeued with the same arguments (submitit's default ``checkpoint``), and
    the requeued job resumes: finished stages come from the cache, an unfinished training from its last checkpoint
    (``bench.checkpoints``)."""

    def __init__(self, run: Callable[[RunConfig, str, int], dict], cfg: RunConfig) -> None:
        self.run, self.cfg = run, cfg

    def __call__(self, name: str, seed: int, threads: int | None = None) -> dict:
        import torch

        if threads:
            torch.set_num_threads(threads)
        return self.run(self.cfg, name, seed)


def _import_submitit():
    try:
        import submitit
    except ImportError:
        raise BenchError("the submitit executors need the submitit package", "pip install 'mm-latent-bench[slurm]'") from None
    return submitit
