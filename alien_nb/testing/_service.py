"""What every emulator is: something started and stopped, by hand or by a ``with`` block."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self


class Service(abc.ABC):
    """``start()`` returns the running service; ``stop()`` is safe to call twice.
    ``with Service() as running:`` does both."""

    @abc.abstractmethod
    def start(self) -> Self: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
