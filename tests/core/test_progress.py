"""core/_progress.Progress: the one bar helper, in steps and followed by a poller."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator

import pytest

from alien_nb.core._progress import Position, Progress


def test_steps_count_and_a_failed_step_leaves_the_bar_where_it_stopped(watched: None) -> None:
    bar = Progress(3, "steps", delay=3600)
    inner = bar._bar
    with bar.step("one"):
        pass
    with pytest.raises(RuntimeError), bar.step("two"):
        raise RuntimeError("the work failed")
    bar.close()  # complete=True, but a step failed
    assert inner is not None and inner.n == 1 and inner.desc == "two"

    done = Progress(2, "steps", delay=3600)
    inner = done._bar
    with done.step("one"), done.step("two"):
        pass
    done.close()
    assert inner is not None and inner.n == 2


def test_a_followed_bar_moves_from_its_poller_and_closes_it(watched: None) -> None:
    closed = threading.Event()
    polls: list[float] = []

    def positions() -> Generator[Position, None, None]:
        try:
            while True:
                polls.append(time.monotonic())
                yield None if len(polls) == 1 else (len(polls), f"poll {len(polls)}")
        finally:
            closed.set()

    bar = Progress(100, "followed", delay=3600)
    inner = bar._bar
    bar.follow(positions(), every=0.01)
    deadline = time.monotonic() + 10
    while len(polls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert inner is not None and inner.n >= 2
    bar.close(complete=False)
    assert closed.is_set()  # whatever the poller held open is released
    assert inner.n < 100


def test_a_failing_poller_only_stops_following(watched: None) -> None:
    def positions() -> Generator[Position, None, None]:
        yield (5, None)
        raise ConnectionError("the watcher lost its server")

    with Progress(10, "followed", delay=3600) as bar:
        inner = bar._bar
        bar.follow(positions(), every=0.01)
        time.sleep(0.2)  # the error happens in the thread; pytest would report it if it escaped
    assert inner is not None and inner.n == 10


def test_nobody_watching_polls_nothing() -> None:
    started = threading.Event()

    def positions() -> Generator[Position, None, None]:
        started.set()
        yield None

    gen = positions()
    with Progress(10, "unwatched") as bar:
        bar.follow(gen, every=0.01)
        time.sleep(0.05)
    assert not bar.drawn and not started.is_set()
    with pytest.raises(StopIteration):
        next(gen)  # closed without ever running


def test_named_stages_move_the_bar_forward_only(watched: None) -> None:
    bar = Progress(3, "starting db", delay=3600)
    inner = bar._bar
    begin = bar.stages(("init", "start", "bootstrap"))
    begin("start")
    assert inner is not None and inner.n == 1 and "start" in inner.postfix
    begin("init")  # a stage reported late never moves the bar back
    assert inner.n == 1 and "init" in inner.postfix
    begin("waiting for the port")  # not a stage: a new label only
    assert inner.n == 1 and "waiting for the port" in inner.postfix
    begin("bootstrap")
    assert inner.n == 2
    with pytest.raises(RuntimeError), bar:
        raise RuntimeError("the start failed")
    assert inner.n == 2  # left where it stopped


def test_stages_of_an_unwatched_bar_do_nothing(unwatched: None) -> None:
    bar = Progress(3, "starting db")
    bar.stages(("init",))("init")
    assert not bar.drawn
    bar.close()
