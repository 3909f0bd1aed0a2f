"""boto3 clients (one per service and region) and the botocore errors alien_nb tells apart."""

from __future__ import annotations

import threading
from typing import Any

from ...core import MissingExtra
from ...core._cloud import CloudSettings
from . import Timeouts


class AwsClients:
    """boto3 clients for ``settings``, each made on first use and kept (they are thread-safe)."""

    def __init__(self, settings: CloudSettings, timeouts: Timeouts) -> None:
        self.settings = settings
        self.timeouts = timeouts
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        """The ``service`` client (``"rds"``, ``"secretsmanager"``) for ``region``."""
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                try:
                    import boto3
                    from botocore.config import Config
                except ImportError:
                    raise MissingExtra("aws", "boto3") from None
                config = Config(
                    connect_timeout=self.timeouts.connect,
                    read_timeout=self.timeouts.read,
                    retries={"total_max_attempts": self.settings.retries + 1, "mode": "standard"},
                )
                self._clients[key] = boto3.session.Session().client(
                    service, region_name=region, endpoint_url=self.settings.aws_endpoint_url, config=config
                )
            return self._clients[key]


def is_missing_credentials(exc: BaseException) -> bool:
    """True when boto3 found no credentials anywhere in its chain."""
    try:
        from botocore.exceptions import NoCredentialsError
    except ImportError:  # without botocore, nothing raised can be a botocore error
        return False
    return isinstance(exc, NoCredentialsError)


def service_error_text(exc: BaseException) -> str | None:
    """``Code: Message`` for an error the AWS service answered, else None."""
    try:
        from botocore.exceptions import ClientError
    except ImportError:
        return None
    if not isinstance(exc, ClientError):
        return None
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
