"""One SDK-client factory per provider, built from `CloudSettings`.

The controllers and the secret readers both take their clients from here,
so an endpoint, credential, CA bundle or retry setting is applied in one
place. Each SDK is imported when its first client is built (a missing
extra raises `MissingExtra`), and its exception types only when an error
is being mapped.
"""

from __future__ import annotations

from dataclasses import dataclass

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
