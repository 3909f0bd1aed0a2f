"""Pick the controller for a backend name, as the magics and the CLI both need."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from ..core import AlienError
from ..core._backends import AURORA, CLOUD_BACKENDS, CLOUD_SQL, FLEXIBLE_SERVER
from ..core._cloud import CloudSettings
from ._cloud import CloudPostgresController

__all__ = ["CLOUD_BACKENDS", "cloud_controller"]


def cloud_controller(
    backend: str,
    *,
    region: str | None = None,
    settings: CloudSettings | None = None,
    notify: Callable[[str], None] | None = None,
    on_secret: Callable[[SecretStr], None] | None = None,
) -> CloudPostgresController:
    """The controller for ``backend``; ``region`` is the AWS region, GCP region or Azure location.

    The rest (project, network, subscription, resource group, vault) comes
    from the environment, as each controller documents. ``on_secret`` hears
    of every password a controller generates (to mask it in output).
    """
    from .aws import AuroraController
    from .azure import FlexibleServerController
    from .gcp import CloudSqlController

    if backend == AURORA:
        return AuroraController(region=region, settings=settings, notify=notify, on_secret=on_secret)
    if backend == CLOUD_SQL:
        return CloudSqlController(region=region, settings=settings, notify=notify, on_secret=on_secret)
    if backend == FLEXIBLE_SERVER:
        return FlexibleServerController(
            location=region, settings=settings, notify=notify, on_secret=on_secret
        )
    raise AlienError(f"Unknown cloud backend {backend!r}.", hint=f"Use one of {', '.join(CLOUD_BACKENDS)}.")
