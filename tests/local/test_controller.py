from __future__ import annotations

import pytest

from alien_nb.controllers import LocalPostgresController, PostgresController
from alien_nb.core import InvalidResourceUpdate, Postgres
from alien_nb.local import LocalPostgresManager


def test_local_controller_lifecycle(manager: LocalPostgresManager) -> None:
    controller = LocalPostgresController(manager)
    assert isinstance(controller, PostgresController)
    resource = Postgres(id="ctl-db", memory="8Gi")
    runtime = controller.create(resource)
    assert controller.ready("ctl-db")
    assert runtime.inline_password is not None
    synced = controller.binding("ctl-db")
    assert "password" not in synced
    assert synced == {
        "service": "local-postgres",
        "host": "127.0.0.1",
        "port": runtime.port,
        "database": "ctl-db",
        "username": "postgres",
    }
    assert controller.runtime_binding("ctl-db") == runtime
    heartbeat = controller.status("ctl-db")
    assert (heartbeat.health, heartbeat.lifecycle) == ("healthy", "running")
    assert heartbeat.to_dict()["version"] == "18"  # resource default "17" is not forced on a local server

    controller.update(resource, Postgres(id="ctl-db", memory="16Gi", cpu="4", storage="40Gi"))
    with pytest.raises(InvalidResourceUpdate, match="version"):
        controller.update(resource, Postgres(id="ctl-db", version="18"))
    with pytest.raises(InvalidResourceUpdate, match="storage cannot shrink"):
        controller.update(resource, Postgres(id="ctl-db", storage="10Gi"))

    controller.stop("ctl-db")
    assert not controller.ready("ctl-db")
    assert controller.create(resource).port == runtime.port
    controller.delete("ctl-db")
    assert manager.list() == []


def test_explicit_version_is_honoured(manager: LocalPostgresManager) -> None:
    controller = LocalPostgresController(manager)
    controller.create(Postgres(id="v18-db", version="18"))
    assert controller.status("v18-db").version == "18"
