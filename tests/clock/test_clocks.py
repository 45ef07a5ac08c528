"""The three clocks: stepped time wakes sleepers in order, accelerated time runs `factor` times
faster, `clock_from_env` reads S4G_CLOCK*."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from clock import AcceleratedClock, RealClock, SteppedClock, clock_from_env

START = datetime(2026, 6, 21, tzinfo=UTC)


def test_stepped_clock_wakes_sleepers_in_time_order_each_at_its_own_time() -> None:
    async def scenario() -> list[tuple[str, datetime]]:
        clock = SteppedClock(START)
        woke: list[tuple[str, datetime]] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append((name, clock.now()))

        tasks = [asyncio.create_task(sleeper(name, s)) for name, s in (("c", 30), ("a", 10), ("b", 20))]
        await clock.advance(25)
        assert [name for name, _ in woke] == ["a", "b"]
        await clock.advance(25)
        await asyncio.gather(*tasks)
        assert clock.now() == START + timedelta(seconds=50)
        return woke

    woke = asyncio.run(scenario())
    assert woke == [("a", START + timedelta(seconds=10)), ("b", START + timedelta(seconds=20)),
                    ("c", START + timedelta(seconds=30))]


def test_stepped_clock_runs_a_periodic_loop_once_per_period() -> None:
    async def scenario() -> list[datetime]:
        clock = SteppedClock(START)
        ticks: list[datetime] = []

        async def loop() -> None:
            while True:
                ticks.append(clock.now())
                await clock.sleep(10)

        task = asyncio.create_task(loop())
        await clock.advance(3600)
        task.cancel()
        return ticks

    ticks = asyncio.run(scenario())
    assert ticks == [START + timedelta(seconds=10 * n) for n in range(361)]


def test_stepped_clock_does_not_go_back_and_returns_at_once_for_the_past() -> None:
    async def scenario() -> None:
        clock = SteppedClock(START)
        await clock.sleep_until(START - timedelta(hours=1))
        await clock.sleep(0)
        with pytest.raises(ValueError):
            await clock.advance_to(START - timedelta(seconds=1))

    asyncio.run(scenario())


def test_a_cancelled_sleeper_is_forgotten() -> None:
    async def scenario() -> datetime | None:
        clock = SteppedClock(START)
        task = asyncio.create_task(clock.sleep(10))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.sleep(0)
        return clock.next_wakeup

    assert asyncio.run(scenario()) is None


def test_clocks_refuse_naive_times() -> None:
    with pytest.raises(ValueError):
        SteppedClock(datetime(2026, 1, 1))


def test_accelerated_clock_runs_factor_times_faster() -> None:
    fake = [100.0]
    clock = AcceleratedClock(START, 60, monotonic=lambda: fake[0])
    fake[0] += 2.5
    assert clock.now() == START + timedelta(seconds=150)


def test_accelerated_sleep_takes_real_seconds_divided_by_the_factor() -> None:
    clock = AcceleratedClock(START, 600)

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        began = loop.time()
        await clock.sleep(60)  # 0.1 s of real time
        return loop.time() - began

    elapsed = asyncio.run(scenario())
    assert 0.09 <= elapsed < 1.0
    assert clock.now() >= START + timedelta(seconds=60)


def test_accelerated_clock_refuses_a_factor_that_is_not_positive() -> None:
    with pytest.raises(ValueError):
        AcceleratedClock(START, 0)


def test_real_clock_is_aware_utc() -> None:
    now = RealClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5


def test_clock_from_env_builds_each_kind() -> None:
    assert isinstance(clock_from_env({}), RealClock)
    accelerated = clock_from_env({"S4G_CLOCK": "accelerated", "S4G_CLOCK_START": "2026-06-21T00:00:00+00:00",
                                  "S4G_CLOCK_FACTOR": "120"})
    assert isinstance(accelerated, AcceleratedClock) and accelerated.factor == 120
    assert accelerated.now() - START < timedelta(seconds=120)
    stepped = clock_from_env({"S4G_CLOCK": "stepped", "S4G_CLOCK_START": "2026-06-21T00:00:00Z"})
    assert isinstance(stepped, SteppedClock) and stepped.now() == START


def test_clock_from_env_refuses_unknown_kinds_and_naive_starts() -> None:
    with pytest.raises(ValueError, match="S4G_CLOCK"):
        clock_from_env({"S4G_CLOCK": "sundial"})
    with pytest.raises(ValueError, match="timezone"):
        clock_from_env({"S4G_CLOCK": "stepped", "S4G_CLOCK_START": "2026-06-21T00:00:00"})
