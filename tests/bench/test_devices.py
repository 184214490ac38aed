import pytest
import torch
from torch import nn

from bench.devices import device_of, resolve_device, usable_cpus
from bench.errors import BenchError


def test_device_of_skips_parameterless_modules_and_plain_objects():
    assert device_of([object(), nn.ReLU(), nn.Linear(2, 2)]) == torch.device("cpu")
    assert device_of([nn.ReLU()]) == torch.device("cpu")


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda"}
    with pytest.raises(BenchError, match="unknown device"):
        resolve_device("tpu-ish")


def test_auto_without_working_cuda_logs_the_cpu_choice(monkeypatch, caplog):
    from bench.logs import LOG

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(LOG, "propagate", True)  # let caplog see the bench logger
    with caplog.at_level("INFO", logger="bench"):
        assert resolve_device("auto") == torch.device("cpu")
    (record,) = [r for r in caplog.records if r.name == "bench"]
    assert record.levelname == "WARNING" and "device: cpu (--device auto:" in record.getMessage()
    with pytest.raises(BenchError, match="requested but"):
        resolve_device("cuda")


def test_a_cuda_that_fails_its_first_kernel_is_not_used(monkeypatch):
    from bench import devices

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: no kernel image is available for execution on the device")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch, "ones", broken)
    assert "no kernel image" in devices.cuda_problem()
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "?")
    assert resolve_device("auto") == torch.device("cpu")


def test_chunked_calls_a_network_on_cpu_row_blocks_and_gives_its_values():
    from bench.devices import CPU_ROWS, chunked

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(5))
    x, tau = torch.randn(2 * CPU_ROWS + 7, 3, 8, 8), torch.randn(2 * CPU_ROWS + 7, 1)
    calls = []

    def fn(a, b):
        calls.append(a.shape[0])
        return net(a) + b

    with torch.no_grad():
        torch.testing.assert_close(chunked(fn, x, tau), net(x) + tau, rtol=1e-6, atol=1e-6)
    assert calls == [CPU_ROWS, CPU_ROWS, 7]
    assert chunked(lambda a: a * 2, x[:5]).shape == (5, 3, 8, 8)


@pytest.mark.parametrize("files, expected", [
    ({}, None),  # no cgroup files: the affinity mask alone
    ({"cpu.max": "max 100000\n"}, None),  # v2 without a quota
    ({"cpu.max": "200000 100000\n"}, 2),  # v2: two CPUs
    ({"cpu.max": "50000 100000\n"}, 1),  # half a CPU still runs one thread
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),  # v1
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1 without a quota
])
def test_usable_cpus_is_the_affinity_mask_capped_by_a_cgroup_quota(tmp_path, monkeypatch, files, expected):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)), raising=False)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert usable_cpus(tmp_path) == (64 if expected is None else expected)
