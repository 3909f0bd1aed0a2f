"""What the three cloud controllers share: plans, statuses, guarded calls, passwords."""

from __future__ import annotations

import html
import re
import secrets
import string
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import SecretStr

from ..core import CloudCallFailed, InvalidResource, Postgres, Redactor, Tier, format_size, parse_size
from ..core._cloud import CloudSettings
from ..core._logguard import guard_logs
from ._base import PostgresController
from ._http import ApiError

T = TypeVar("T")

#: Cloud backends name both the database and its user ``alien`` (the contract, section 1).
DATABASE = USERNAME = "alien"
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def new_password(length: int = 32) -> SecretStr:
    """A master password every provider accepts: letters and digits, each class present.

    No symbols, so it needs no quoting anywhere; Azure's complexity rule (three
    of four character classes) is met by upper, lower and digit.
    """
    while True:
        text = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))
        if (
            any(c.isupper() for c in text)
            and any(c.islower() for c in text)
            and any(c.isdigit() for c in text)
        ):
            return SecretStr(text)


@dataclass(frozen=True)
class Plan:
    """What a controller would create for a resource, computed without calling the cloud."""

    backend: str
    id: str
    region: str
    tier: Tier
    version: str
    storage: str
    high_availability: bool
    details: dict[str, str] = field(default_factory=dict)

    @property
    def cost_class(self) -> str:
        return self.tier.cost_class

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("backend", self.backend),
            ("name", self.id),
            ("region", self.region),
            ("tier", self.tier.describe()),
            ("version", f"PostgreSQL {self.version}"),
            ("storage", self.storage),
            ("high availability", "yes" if self.high_availability else "no"),
            *self.details.items(),
            (
                "cost class",
                f"{self.cost_class} (about ${self.tier.hourly_usd:.3g}/h at full size, list price)",
            ),
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend, "id": self.id, "region": self.region, "tier": self.tier.name,
            "vcpus": self.tier.vcpus, "memoryBytes": self.tier.memory_bytes, "version": self.version,
            "storage": self.storage, "highAvailability": self.high_availability, "costClass": self.cost_class,
            "hourlyUsd": self.tier.hourly_usd, **self.details,
        }  # fmt: skip

    def __str__(self) -> str:
        width = max(len(k) for k, _ in self.rows())
        lines = [f"Plan (nothing created yet): {self.backend} {self.id!r}"]
        lines += [f"  {k:<{width}}  {v}" for k, v in self.rows()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self.rows()
        )
        return f"<table><caption>Plan: nothing created yet</caption>{body}</table>"


@dataclass(frozen=True)
class CloudStatus:
    """A cloud resource's heartbeat in the contract's shape, plus the provider's own state."""

    health: str
    lifecycle: str
    message: str
    provider_state: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"health": self.health, "lifecycle": self.lifecycle, "message": self.message}


def status_from(provider_state: str | None, table: dict[str, str], what: str) -> CloudStatus:
    if provider_state is None:
        return CloudStatus("unknown", "deleted", f"{what} does not exist", "")
    lifecycle = table.get(provider_state, "unknown")
    health = {"running": "healthy", "failed": "unhealthy", "stopped": "unknown"}.get(lifecycle, "degraded")
    if lifecycle == "unknown":
        health = "unknown"
    return CloudStatus(health, lifecycle, f"{what} is {provider_state}", provider_state)


_IDENTIFIER = re.compile(r"[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]")


def check_identifier(backend: str, value: str, max_length: int) -> str:
    """Cloud resource names: lower-case letters, digits and single hyphens, starting with a letter."""
    if len(value) > max_length or not _IDENTIFIER.fullmatch(value):
        raise InvalidResource(
            f"{value!r} cannot name a {backend} database",
            hint=f"Use 2-{max_length} lower-case letters, digits and single hyphens, "
            "starting with a letter and ending with a letter or digit (e.g. 'vec-db').",
        )
    return value


#: PostgreSQL majors the managed services offer (the contract, section 1).
CLOUD_MAJORS = ("15", "16", "17")


def check_resource(backend: str, product: str, resource: Postgres, max_id_length: int) -> None:
    """Refuse, before any call, a name or version the provider would refuse."""
    check_identifier(backend, resource.id, max_id_length)
    if resource.version not in CLOUD_MAJORS:
        raise InvalidResource(
            f"{product} PostgreSQL version {resource.version!r} is not offered here",
            hint=f"Use one of {', '.join(CLOUD_MAJORS)}.",
        )


def storage_gib(resource: Postgres) -> int:
    """Storage in whole GiB, rounded up (providers size disks in GiB)."""
    return max(1, -(-parse_size(resource.storage) // 1024**3))


class CloudPostgresController(PostgresController):
    """Base of the AWS, GCP and Azure controllers."""

    #: Provider states that count as running (and ready).
    poll_interval: float = 15.0

    def __init__(
        self,
        *,
        settings: CloudSettings | None = None,
        notify: Callable[[str], None] | None = None,
        on_secret: Callable[[SecretStr], None] | None = None,
    ):
        self.settings = settings or CloudSettings()
        self.notify = notify or (lambda _message: None)
        #: Told of every password the controller generates (the notebook's output scrubber listens).
        self.on_secret = on_secret or (lambda _secret: None)
        self._in_flight = threading.local()

    @contextmanager
    def holding(self, *secrets: SecretStr) -> Iterator[None]:
        """Mask ``secrets`` in every call's errors and logs until the block ends (a whole create)."""
        for secret in secrets:
            self.on_secret(secret)
        stack: list[SecretStr] = getattr(self._in_flight, "secrets", [])
        self._in_flight.secrets = stack + list(secrets)
        try:
            yield
        finally:
            self._in_flight.secrets = stack

    @abstractmethod
    def plan(self, resource: Postgres) -> Plan:
        """What `create` would make: tier, capacity, storage, region and cost class. No cloud call."""

    def call(self, action: str, fn: Callable[[], T], *, secrets: tuple[SecretStr, ...] = ()) -> T:
        """Run one provider call; on failure raise `CloudCallFailed` with every secret masked.

        ``fn`` builds the request itself (a lambda), so the request body lives
        only in frames of the SDK's exception, which is not chained.
        """
        redactor = self.redactor(*secrets)
        interrupted: type[BaseException] | None = None
        try:
            with guard_logs(redactor):
                return fn()
        except Exception as exc:
            reason = redactor.redact(self.describe_error(exc))
            hint = self.error_hint(exc)
        except BaseException as exc:  # Ctrl-C mid-request: the SDK frames below hold the request body
            interrupted = type(exc)
        if interrupted is not None:
            raise interrupted() from None
        raise CloudCallFailed(self.backend, action, reason, hint=hint)

    def redactor(self, *secrets: SecretStr) -> Redactor:
        """Masks ``secrets`` and every password held by the create in progress."""
        return Redactor([*secrets, *getattr(self._in_flight, "secrets", [])])

    def failed(self, action: str, reason: str, *, hint: str | None = None) -> CloudCallFailed:
        """A `CloudCallFailed` whose reason (provider text) is masked like a call's."""
        return CloudCallFailed(self.backend, action, self.redactor().redact(reason), hint=hint)

    def describe_error(self, exc: Exception) -> str:
        """The provider's own words for a failed call (masked by `call` afterwards)."""
        if isinstance(exc, ApiError):
            return str(exc)
        return self.describe_sdk_error(exc)

    def describe_sdk_error(self, exc: Exception) -> str:
        """An SDK exception in a line; each controller knows its SDK's error shapes."""
        return f"{type(exc).__name__}: {exc}"

    def ready(self, id: str) -> bool:
        return self.status(id).lifecycle == "running"

    def error_hint(self, exc: Exception) -> str | None:
        return None

    def call_or_none(
        self, action: str, fn: Callable[[], T], *, none_if: Callable[[Exception], bool]
    ) -> T | None:
        """`call`, answering None instead of failing when ``none_if(error)`` (a 404 on a lookup, say)."""

        def lookup() -> T | None:
            try:
                return fn()
            except Exception as exc:
                if none_if(exc):
                    return None
                raise

        return self.call(action, lookup)

    def poll(
        self,
        action: str,
        pending: Callable[[], str | None],
        *,
        timeout: float = 3600.0,
        pause: Callable[[], float] | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """Ask ``pending`` until it answers None (done), sleeping `poll_interval` (or ``pause()``) between.

        ``pending`` raises when the work failed, and otherwise says what is
        still under way; after ``timeout`` seconds that becomes the reason of
        a `CloudCallFailed`, and ``on_wait`` hears it at every wait.
        """
        deadline = time.monotonic() + timeout
        while (state := pending()) is not None:
            if time.monotonic() > deadline:
                raise CloudCallFailed(self.backend, action, f"{state} still, after {timeout:g} s")
            if on_wait is not None:
                on_wait(state)
            time.sleep(self.poll_interval if pause is None else pause())

    def wait_ready(
        self, id: str, *, timeout: float = 3600.0, on_wait: Callable[[str], None] | None = None
    ) -> None:
        """Poll `status` until the database runs; raise `CloudCallFailed` on failure or timeout."""
        action = f"waiting for {id!r}"

        def pending() -> str | None:
            status = self.status(id)
            if status.lifecycle == "running":
                return None
            if status.lifecycle in ("failed", "deleted"):
                raise CloudCallFailed(self.backend, action, status.message)
            return status.message

        self.poll(action, pending, timeout=timeout, on_wait=on_wait)


def describe_storage(resource: Postgres) -> str:
    return format_size(storage_gib(resource) * 1024**3)
