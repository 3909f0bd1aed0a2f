"""Keep passwords out of log records emitted while a cloud call is in flight.

botocore, urllib3, azure-core and google-auth log request and response bodies
at DEBUG; a notebook with ``logging.basicConfig(level=logging.DEBUG)`` would
print a master password (in a create request) or a secret's value (in a
secret read). While `guard_logs` is active in a thread, every log record made
in that thread is rendered once and masked with the guard's redactor, and
DEBUG/INFO records from the cloud client libraries are withheld outright when
the secret is not yet known (a secret read).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._redact import Redactor

#: Loggers of the cloud client libraries and their HTTP stacks.
CLIENT_LOGGERS = ("boto3", "botocore", "urllib3", "requests", "azure", "google", "grpc", "msal", "s3transfer")
WITHHELD = "(alien_nb withheld a cloud client's log message sent while a secret was in flight)"

_local = threading.local()
_install_lock = threading.Lock()
_installed = False


class _Guard:
    def __init__(self, redactor: Redactor, withhold_client_chatter: bool) -> None:
        self.redactor = redactor
        self.withhold = withhold_client_chatter


def _from_client(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in CLIENT_LOGGERS)


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            guards: list[_Guard] = getattr(_local, "guards", [])
            if guards:
                _scrub(record, guards)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class _GuardedFields(dict[str, Any]):
    """A record's ``__dict__`` that masks (or drops) the ``extra`` fields added after the factory.

    `Logger.makeRecord` calls the record factory first and copies ``extra``
    into ``record.__dict__`` afterwards; structured loggers (google-cloud's)
    put whole requests and responses there.
    """

    def __init__(self, fields: dict[str, Any], guards: list[_Guard], withhold: bool) -> None:
        super().__init__(fields)
        self._guards, self._withhold = list(guards), withhold

    def __setitem__(self, key: str, value: Any) -> None:
        if key in _STANDARD:
            super().__setitem__(key, value)
        elif not self._withhold:
            text = masked = str(value)
            for guard in self._guards:
                masked = guard.redactor.redact(masked)
            super().__setitem__(key, value if masked == text else masked)


def _scrub(record: logging.LogRecord, guards: list[_Guard]) -> None:
    withhold = (
        record.levelno < logging.WARNING and _from_client(record.name) and any(g.withhold for g in guards)
    )
    record.__dict__ = _GuardedFields(record.__dict__, guards, withhold)
    if withhold:
        record.msg, record.args = WITHHELD, ()
    else:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: keep only its template
            text = str(record.msg)
        for guard in guards:
            text = guard.redactor.redact(text)
        record.msg, record.args = text, ()
    if record.exc_info is not None:
        # A formatted traceback is made later from the exception itself; render and mask it now.
        text = logging.Formatter().formatException(record.exc_info)
        for guard in guards:
            text = guard.redactor.redact(text)
        record.exc_text = text
        record.exc_info = None


@contextmanager
def guard_logs(redactor: Redactor | None = None, *, withhold_client_chatter: bool = False) -> Iterator[None]:
    """Mask ``redactor``'s secrets in every log record made in this thread meanwhile.

    With ``withhold_client_chatter`` (a secret read, value not yet known)
    DEBUG and INFO records of the cloud client libraries are replaced by a
    placeholder line.
    """
    _install()
    guards: list[_Guard] = getattr(_local, "guards", None) or []
    _local.guards = guards
    guard = _Guard(redactor or Redactor(), withhold_client_chatter)
    guards.append(guard)
    try:
        yield
    finally:
        guards.remove(guard)
