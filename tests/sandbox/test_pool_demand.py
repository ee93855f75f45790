"""The warm pool keeps kernel starts off the request path: sessions that find none warm wait in line,
in the order they asked, and hear their place; the warm pool grows with demand."""

from __future__ import annotations

import threading
import time

import pytest

from sandbox import KernelPool
from tests.fixtures.sandbox import make_config


@pytest.fixture
def run_dir(tmp_path):
    return tmp_path / "kernels"


def wait_for(predicate, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.kernel
def test_sessions_without_a_warm_kernel_wait_in_order_and_hear_their_place(run_dir):
    # nothing kept warm and one start at a time, slowly: every session must wait for the refill
    config = make_config(warm_kernels=0, max_warm_kernels=0, max_kernels=6, refill_parallel=1, refill_per_s=0.5)
    with KernelPool(config, run_dir) as pool:
        served: list[str] = []
        places: dict[str, list[int]] = {k: [] for k in "abc"}
        lock = threading.Lock()

        def take(key: str) -> None:
            session = pool.acquire(key, on_wait=lambda place, eta: places[key].append(place))
            with lock:
                served.append(key)
            assert session.run(f"print('{key}')").stdout == f"{key}\n"

        threads = []
        for n, key in enumerate("abc"):
            t = threading.Thread(target=take, args=(key,))
            t.start()
            threads.append(t)
            # the next one asks only once this one is in line
            assert wait_for(lambda: pool.health()["kernels"]["waiting"] + len(served) == n + 1)
        for t in threads:
            t.join(180)
        assert served == ["a", "b", "c"]                       # first come, first served
        assert places["c"][0] == 3 and places["c"][-1] == 0    # third in line, then told the wait is over
        assert places["c"] == sorted(places["c"][:-1], reverse=True) + [0]   # it only moved forward
        assert pool.health()["kernels"]["waiting"] == 0
        assert not pool._warm                                  # no demand-sized extras with max_warm 0


@pytest.mark.kernel
def test_warm_pool_grows_with_demand_and_is_refilled_in_the_background(run_dir):
    config = make_config(warm_kernels=0, max_warm_kernels=2, warm_horizon_s=60.0, max_kernels=6)
    with KernelPool(config, run_dir) as pool:
        time.sleep(1.5)
        assert pool.health()["kernels"]["warm"] == 0          # no demand yet: nothing kept warm
        pool.acquire("first")
        pool.acquire("second")
        kernels = pool.health()["kernels"]
        assert kernels["sessions_per_min"] == 2 and kernels["warm_target"] == 2
        assert wait_for(lambda: pool.health()["kernels"]["warm"] == 2)
        warm = {k.id for k in pool._warm}
        third = pool.acquire("third")                          # taken warm: no start on the request path
        assert third.kernel_id in warm
        assert wait_for(lambda: pool.health()["kernels"]["warm"] == 2)   # topped up again
