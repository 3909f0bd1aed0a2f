"""One SDK-client factory per provider, built from `CloudSettings`.

The controllers and the secret readers both take their clients from here,
so an endpoint, credential, CA bundle or retry setting is applied in one
place. Each SDK is imported when its first client is built (a missing
extra raises `MissingExtra`); mapping an error imports nothing.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from ...core import MissingExtra
from ...core._cloud import CloudSettings


@dataclass(frozen=True)
class Timeouts:
    """Seconds a client waits to connect and for an answer, per attempt."""

    connect: float
    read: float

    @classmethod
    def for_management(cls, settings: CloudSettings) -> Timeouts:
        """Create, describe and delete calls: the provider may take a while to answer one."""
        return cls(connect=settings.timeout, read=max(settings.timeout, 30.0))

    @classmethod
    def for_secret_reads(cls, settings: CloudSettings) -> Timeouts:
        """A password read: all its attempts together stay within ``settings.timeout``."""
        attempt = max(1.0, settings.timeout / (settings.retries + 1))
        return cls(connect=attempt, read=attempt)


class Clients:
    """Clients made on first use and kept (SDK clients are thread-safe), one per key."""

    def __init__(self) -> None:
        self._made: dict[Hashable, Any] = {}
        # Re-entrant: building one client may need another (a Key Vault client needs the credential).
        self._lock = threading.RLock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._made:
                self._made[key] = make()
            return self._made[key]


def require(module: str, extra: str, package: str) -> Any:
    """Import ``module`` of an optional extra; a missing one raises `MissingExtra` (with the pip hint)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(extra, package) from None


def loaded(module: str) -> Any:
    """``module`` if it is already imported, else None. An exception's class is defined in a loaded
    module, so mapping an error never imports an SDK (tens of ms) or retries a missing one: if
    the module is not loaded, nothing raised can be one of its errors."""
    return sys.modules.get(module)
