import gc
import time

import torch

from bench.measure import StageCost, resident_bytes


def test_cpu_peak_memory_sees_a_short_lived_allocation():
    """A 256 MB tensor that lives 0.2 s inside the stage and is freed before it ends still shows in the peak."""
    gc.collect()  # garbage of earlier tests freed inside the stage would hide the allocation in the RSS
    gc.disable()
    try:
        before = resident_bytes()
        with StageCost("cpu", interval=0.01) as cost:
            x = torch.ones(64, 1024, 1024)  # 256 MB, written so its pages are resident
            time.sleep(0.2)
            del x
    finally:
        gc.enable()
    assert cost.memory == "rss sampled"
    assert cost.peak_mb * 2**20 >= before + 200 * 2**20
    assert cost.peak_mb - cost.start_mb >= 200 and abs(cost.start_mb * 2**20 - before) < 50 * 2**20
    assert cost.seconds >= 0.2
    assert set(cost.to_dict()) == {"seconds", "peak_memory_mb", "start_memory_mb", "memory"}


def test_no_unix_only_import_at_module_level(monkeypatch):
    """Windows has no ``resource`` module: importing bench.measure must not need it, and the fallback is NaN."""
    import ast
    import math
    import sys

    import bench.measure as measure

    top = [n for n in ast.parse(open(measure.__file__).read()).body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert "resource" not in {a.name for n in top for a in n.names}
    monkeypatch.setitem(sys.modules, "resource", None)  # import resource -> ImportError
    assert math.isnan(measure.lifetime_peak_mb())
