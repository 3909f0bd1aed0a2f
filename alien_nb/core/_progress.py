"""Progress bars that are drawn only where someone watches, and only ever close complete.

Whether a delayed bar appears at all depends on how long the work takes, and so on the machine:
drawn into a notebook that is executed unattended (nbclient, nbval, papermill, a docs build),
it makes the saved output differ from one machine to the next. tqdm also draws a bar closed
short of its total in red, and does so even when its ``delay`` has not passed, so a bar that
follows the server's progress by polling (and misses the last step) left a red bar behind on
slow machines. Hence: a bar exists only when `someone_watches` (a terminal, or a notebook
frontend that lets the user type: unattended executors run every cell with ``allow_stdin``
off), it appears only after its delay however it is moved, and work that succeeded closes it
at its total. Work that failed leaves it where it stopped, which is what a watcher wants to see.

It sits in core, below every layer that shows progress (vector, notebook, the demo), and imports
tqdm only when a bar is actually drawn. One `Progress` serves all three ways work is followed:

- counted by the worker: ``bar.update(rows)`` (a bulk load);
- in named steps: ``with bar.step("building the index"): ...`` (the demo);
- polled from elsewhere: ``bar.follow(positions)`` moves it from a daemon thread (an index build,
  followed through the server's progress view); with ``phased=True`` each new phase the poller
  names starts the bar again from zero, in the same unit, so a bar never mixes two counters.

Where a bar is drawn is the frontend's business: a terminal gets tqdm's text bar, and the notebook
layer may install a factory (`set_bar_factory`) whose bars also leave a truthful text behind in the
saved notebook (a widget's own text is the one it had when first shown: "0%").
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeAlias

# What a poller yields: (done, postfix) to move the bar, or None when there is nothing new.
Position: TypeAlias = tuple[float, str | None] | None

# Set by the notebook layer (which alone knows IPython): True / False when it can tell whether a
# person is at the frontend, None to fall back to the terminal test.
_policy: Callable[[], bool | None] | None = None


def set_watch_policy(policy: Callable[[], bool | None] | None) -> None:
    global _policy
    _policy = policy


# Set by the notebook layer: makes the tqdm-like bar (total=, desc=, delay=, **options), or None
# to fall back to a terminal bar; None restores the default.
_factory: Callable[..., Any] | None = None


def set_bar_factory(factory: Callable[..., Any] | None) -> None:
    global _factory
    _factory = factory


def _make_bar(**options: Any) -> Any:
    if _factory is not None:
        bar = _factory(**options)
        if bar is not None:
            return bar
    from tqdm.auto import tqdm

    return tqdm(leave=False, **options)


def someone_watches() -> bool:
    """Is this run being watched live (so that a progress bar helps rather than pollutes)?"""
    if _policy is not None:
        verdict = _policy()
        if verdict is not None:
            return verdict
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """A tqdm bar over ``total`` units; a silent no-op where nobody watches or when not ``enabled``."""

    def __init__(
        self, total: int, desc: str, *, enabled: bool = True, delay: float = 1.0, **options: Any
    ) -> None:
        self.total = max(int(total), 0)
        self._delay = delay
        self._started = time.monotonic()
        self._bar: Any = None
        self._failed = False  # a step raised: the bar closes where it stopped
        self._follower: threading.Thread | None = None
        self._stop_following = threading.Event()
        self._phase: str | None = None
        if enabled and self.total and someone_watches():
            self._bar = _make_bar(total=self.total, desc=desc, delay=delay, **options)

    @property
    def drawn(self) -> bool:
        return self._bar is not None

    def update(self, n: int) -> None:
        """Move forward by ``n`` (tqdm itself waits for the delay)."""
        if self._bar is not None and n > 0:
            self._bar.update(min(n, self.total - self._bar.n))

    def show(self, done: float, postfix: str | None = None) -> None:
        """Move to ``done`` out of the total, from a poller; drawn only once the delay has passed
        (tqdm's refresh() would draw at once)."""
        if self._bar is None:
            return
        self._bar.n = int(min(max(done, 0), self.total))
        if postfix is not None:
            self._bar.set_postfix_str(postfix, refresh=False)
        if time.monotonic() - self._started >= self._delay:
            self._bar.refresh()

    def _show_phase(self, done: float, phase: str | None) -> None:
        """`show`, but a phase other than the last one starts the bar again from zero; within a
        phase it never moves back (a poll may see an older counter than the one before)."""
        if self._bar is None:
            return
        if phase != self._phase:
            self._phase = phase
            self._bar.n = 0
            self._bar.last_print_n = 0
            self._bar.start_t = self._bar._time()  # the rate shown is the new phase's
        self.show(max(done, self._bar.n), phase)

    def stages(self, names: Sequence[str]) -> Callable[[str], None]:
        """A callback for work that reports named stages (``"init"``, ``"start"``, ...): each call
        moves the bar to that stage of ``names`` and labels it; the bar never moves back, and a
        name not in ``names`` only relabels it."""
        reached = 0

        def begin(name: str) -> None:
            nonlocal reached
            if name in names:
                reached = max(reached, list(names).index(name))
            self.show(reached, name)  # not tqdm's set_postfix_str alone: that draws before the delay

        return begin

    def describe(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(text, refresh=False)

    @contextlib.contextmanager
    def step(self, description: str) -> Iterator[None]:
        """One unit of work, shown by its description: counted when it succeeds. A step that
        raises marks the work failed, so `close` leaves the bar where it stopped."""
        self.describe(description)
        try:
            yield
        except BaseException:
            self._failed = True
            raise
        self.update(1)

    def follow(
        self, positions: Generator[Position, None, None], *, every: float = 0.5, phased: bool = False
    ) -> None:
        """Move the bar from a daemon thread: every ``every`` seconds, until `close`, take the next
        position ``(done, postfix)`` (None: nothing new). With ``phased`` the postfix names a phase
        of the work, and a new phase restarts the count (see `_show_phase`). `close` closes the
        generator, and so whatever it holds open. A poller that fails stops following; the work
        never sees it."""
        if self._bar is None:
            positions.close()  # nobody watches: nothing to poll for
            return

        def run() -> None:
            try:
                while not self._stop_following.wait(every):
                    position = next(positions)
                    if position is not None:
                        (self._show_phase if phased else self.show)(*position)
            except Exception:  # StopIteration included: a bar must not break the work it shows
                pass
            finally:
                with contextlib.suppress(Exception):
                    positions.close()

        self._follower = threading.Thread(target=run, name="alien_nb-progress", daemon=True)
        self._follower.start()

    def close(self, *, complete: bool = True) -> None:
        """Close the bar: at its total when the work succeeded, where it stopped when it failed."""
        follower, self._follower = self._follower, None
        if follower is not None:
            self._stop_following.set()
            follower.join(timeout=5)
        bar, self._bar = self._bar, None
        if bar is None:
            return
        if complete and not self._failed:
            bar.n = self.total
        bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(complete=kind is None)
