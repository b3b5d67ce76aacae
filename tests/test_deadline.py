"""Deadlines: the transport's request timeout, one timer for every running request.

Each test waits on something that never happens (an Event never set) and
checks what the limit did about it: these are real, short limits, the
behaviour under test, not sleeps that guess at timing.
"""

from __future__ import annotations

import asyncio

import pytest

from omeda_async._deadline import Deadlines

SHORT = 0.02


async def forever() -> None:
    await asyncio.Event().wait()


async def test_a_block_past_its_deadline_raises_timeout_error() -> None:
    deadlines = Deadlines(SHORT)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError), deadlines.limit():
        await forever()
    # Never before the deadline (the loop may wake a clock tick early).
    assert loop.time() - started >= SHORT - 2 * loop._clock_resolution  # type: ignore[attr-defined]
    assert deadlines._running == {}
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0  # the limit's cancel is spent


async def test_a_block_that_ends_in_time_is_untouched_and_forgotten() -> None:
    deadlines = Deadlines(60.0)
    with deadlines.limit():
        await asyncio.sleep(0)
    assert deadlines._running == {}
    # The task goes on: nothing will cancel it later.
    await asyncio.sleep(0)


async def test_only_the_requests_past_their_deadline_are_cancelled() -> None:
    """Many limits, one timer: quick blocks end normally, slow ones time out, each on
    its own deadline (started later, it times out later)."""
    deadlines = Deadlines(SHORT)
    loop = asyncio.get_running_loop()
    finished: dict[str, float] = {}

    async def request(name: str, done: asyncio.Event) -> str:
        started = loop.time()
        try:
            with deadlines.limit():
                await done.wait()
        except TimeoutError:
            finished[name] = loop.time() - started
            return "timed out"
        return "answered"

    quick = [asyncio.Event() for _ in range(5)]
    slow = asyncio.Event()
    tasks = [asyncio.create_task(request(f"quick{i}", e)) for i, e in enumerate(quick)]
    tasks.append(asyncio.create_task(request("slow-first", slow)))
    await asyncio.sleep(0)
    late = asyncio.create_task(request("slow-later", slow))
    for event in quick:
        event.set()
    results = await asyncio.gather(*tasks, late)
    assert results == ["answered"] * 5 + ["timed out", "timed out"]
    resolution = 2 * loop._clock_resolution  # type: ignore[attr-defined]
    assert min(finished.values()) >= SHORT - resolution
    assert deadlines._running == {}
    assert deadlines._timer is None  # nothing running: no timer left behind


async def stuck_in_a_limit(deadlines: Deadlines) -> asyncio.Task[None]:
    """A task inside ``deadlines.limit()``, waiting for what never comes."""
    entered = asyncio.Event()

    async def request() -> None:
        with deadlines.limit():
            entered.set()
            await forever()

    task = asyncio.create_task(request())
    await entered.wait()
    return task


async def test_the_callers_cancel_is_a_cancel_not_a_timeout() -> None:
    deadlines = Deadlines(60.0)
    task = await stuck_in_a_limit(deadlines)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert deadlines._running == {}


async def test_a_cancel_that_meets_the_deadline_still_wins() -> None:
    """The caller cancels in the same turn the deadline passes: CancelledError, as
    ``asyncio.timeout()`` does, so a cancelled job never mistakes it for a timeout."""
    deadlines = Deadlines(SHORT)
    task = await stuck_in_a_limit(deadlines)
    (limit,) = deadlines._running
    limit.expire()  # the timer's doing
    task.cancel()  # and the caller's, before the task runs again
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_error_in_the_block_passes_through() -> None:
    deadlines = Deadlines(60.0)
    with pytest.raises(ValueError, match="boom"), deadlines.limit():
        raise ValueError("boom")
    assert deadlines._running == {}


async def test_a_limit_is_entered_once_and_only_in_a_task() -> None:
    deadlines = Deadlines(60.0)
    limit = deadlines.limit()
    with limit, pytest.raises(RuntimeError, match="entered once"), limit:
        pass


def test_outside_a_task_is_refused() -> None:
    with pytest.raises(RuntimeError), Deadlines(1.0).limit():
        pass


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan")])
def test_the_length_is_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        Deadlines(seconds)


def test_a_new_event_loop_starts_afresh() -> None:
    """A client used under one asyncio.run and then another: the second loop's
    requests are timed by the second loop."""
    deadlines = Deadlines(SHORT)

    async def stuck() -> None:
        with deadlines.limit():
            await forever()

    for _ in range(2):
        with pytest.raises(TimeoutError):
            asyncio.run(stuck())
    assert deadlines._running == {}


def test_repr_counts_what_is_running() -> None:
    assert repr(Deadlines(30.0)) == "Deadlines(seconds=30.0, running=0)"
