"""boto3 clients (one per service and region) and the botocore errors alien_nb tells apart."""

from __future__ import annotations

from typing import Any

from ...core._cloud import CloudSettings
from . import Clients, Timeouts, loaded, require


class AwsClients:
    """boto3 clients for ``settings``, each made on first use and kept."""

    def __init__(self, settings: CloudSettings, timeouts: Timeouts) -> None:
        self.settings = settings
        self.timeouts = timeouts
        self._clients = Clients()

    def client(self, service: str, region: str) -> Any:
        """The ``service`` client (``"rds"``, ``"secretsmanager"``) for ``region``."""
        return self._clients.get((service, region), lambda: self._make(service, region))

    def _make(self, service: str, region: str) -> Any:
        boto3 = require("boto3", "aws", "boto3")
        config = require("botocore.config", "aws", "boto3").Config(
            connect_timeout=self.timeouts.connect,
            read_timeout=self.timeouts.read,
            retries={"total_max_attempts": self.settings.retries + 1, "mode": "standard"},
        )
        return boto3.session.Session().client(
            service, region_name=region, endpoint_url=self.settings.aws_endpoint_url, config=config
        )


def is_missing_credentials(exc: BaseException) -> bool:
    """True when boto3 found no credentials anywhere in its chain."""
    errors = loaded("botocore.exceptions")
    return errors is not None and isinstance(exc, errors.NoCredentialsError)


def service_error_text(exc: BaseException) -> str | None:
    """``Code: Message`` for an error the AWS service answered, else None."""
    errors = loaded("botocore.exceptions")
    if errors is None or not isinstance(exc, errors.ClientError):
        return None
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
