"""Stage locks: one holder at a time, waiting then reuse, and the stale-lock rule."""

import json
import os
import platform
import subprocess
import sys
import threading
import time

from bench.locks import StageLock


def test_a_second_holder_waits_for_the_first(tmp_path):
    path = tmp_path / "stage.lock"
    order = []

    def second():
        with StageLock(path, poll=0.05) as lock:
            order.append(("second", lock.waited))

    with StageLock(path):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        order.append(("first done", None))
    thread.join(5)
    assert order == [("first done", None), ("second", True)]
    assert not path.exists()


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = tmp_path / "stage.lock"
    path.write_text(json.dumps({"host": platform.node(), "pid": int(dead.stdout), "since": time.time()}))
    start = time.perf_counter()
    with StageLock(path, poll=0.05) as lock:
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert time.perf_counter() - start < 2 and not lock.waited


def test_a_lock_not_refreshed_for_stale_after_is_taken_over(tmp_path):
    path = tmp_path / "stage.lock"
    path.write_text(json.dumps({"host": "another-host", "pid": 1, "since": 0}))
    old = time.time() - 3600
    os.utime(path, (old, old))
    with StageLock(path, stale_after=600, poll=0.05):
        assert json.loads(path.read_text())["host"] == platform.node()
    fresh = StageLock(path, stale_after=600)
    path.write_text(json.dumps({"host": "another-host", "pid": 1, "since": time.time()}))
    assert not fresh.stale()  # refreshed just now by its (remote) owner
