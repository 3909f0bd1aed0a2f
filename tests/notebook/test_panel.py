"""The widget panel, driven as ipywidgets' own tests do: clicks, and a record of every comm message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from comm.base_comm import BaseComm

from tests.local.conftest import secret_spellings
from tests.notebook.conftest import password_of

SENT: list[str] = []


class RecordingComm(BaseComm):
    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any
    ) -> None:
        SENT.append(json.dumps({"type": msg_type, "data": data, "metadata": metadata}, default=str))


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import comm

    SENT.clear()
    monkeypatch.setattr(comm, "create_comm", lambda **kw: RecordingComm(**kw))
    return SENT


def all_state(widget: Any) -> str:
    """The synced state of a widget and everything inside it."""
    states = [json.dumps(widget.get_state(), default=str)]
    states += [all_state(child) for child in getattr(widget, "children", ())]
    return "\n".join(states)


def test_panel_start_attach_stop(ip: Any, nb_home: Path, recorded: list[str]) -> None:
    from alien_nb.notebook._panel import Panel

    magics = ip.find_line_magic("alien_postgres").__self__
    panel = Panel(magics.state, ip.user_ns)
    assert (
        "db-custom" in panel.tiers.value and "Standard_" in panel.tiers.value and "ACU" in panel.tiers.value
    )
    panel.memory.value = "9999Ti"
    assert "largest" in panel.tiers.value

    panel.name.value = "panel-db"
    assert "no local database by that name yet" in panel.status.value
    panel.start_button.click()
    assert "is running on 127.0.0.1:" in panel.status.value, panel.status.value
    assert "hidden" in panel.details.value
    password = password_of(nb_home, "panel-db")
    port = magics.state.databases["panel-db"]._connection_info.port

    panel.backend.value = "external"
    panel.host.value, panel.port.value, panel.user.value = "127.0.0.1", port, "postgres"
    panel.password.set_state({"value": password})  # as a frontend message would set it
    assert panel.password.value == ""
    assert "password received" in panel.status.value
    # The external binding defaults to verify-full TLS, which a local server does not offer: a clear error.
    panel.attach_button.click()
    assert "SSL" in panel.status.value or "ssl" in panel.status.value
    assert not any(s.decode() in panel.status.value for s in secret_spellings(password))

    panel.backend.value = "local"
    panel.name.value = "other"
    panel.name.value = "panel-db"
    assert "running (healthy)" in panel.status.value
    panel.stop_button.click()
    assert "is stopped" in panel.status.value
    everything = "\n".join(recorded) + all_state(panel.widget)
    assert recorded, "the panel sent no comm messages"
    leaks = [
        line[:300]
        for line in everything.splitlines()
        if any(s.decode() in line for s in secret_spellings(password))
    ]
    assert not leaks


def test_panel_reports_bad_input(ip: Any, recorded: list[str]) -> None:
    from alien_nb.notebook._panel import Panel

    panel = Panel(ip.find_line_magic("alien_postgres").__self__.state, ip.user_ns)
    panel.cpu.value = "lots"
    assert "cpu/memory" in panel.tiers.value
    panel.cpu.value = "2"
    panel.memory.value = "9" * 5000 + "Gi"  # an OverflowError in the tier table, before
    assert "cpu/memory" in panel.tiers.value and "too long to be a size" in panel.tiers.value
    panel.memory.value = "8Gi"
    panel.name.value = "bad/name"
    assert "database name must be" in panel.status.value and "Start creates it" not in panel.status.value
    panel.start_button.click()
    assert "database name" in panel.status.value
    panel.backend.value = "external"
    panel.attach_button.click()
    assert "Type the password first" in panel.status.value
    panel.password.set_state({"value": "not-the-real-one"})
    panel.attach_button.click()  # no host typed in
    assert "`host` must not be empty" in panel.status.value and "ValidationError" not in panel.status.value


def test_panel_shows_a_cloud_plan_without_calling_the_cloud(ip: Any, recorded: list[str]) -> None:
    from alien_nb.notebook._panel import Panel

    panel = Panel(ip.find_line_magic("alien_postgres").__self__.state, ip.user_ns)
    panel.name.value = "plan-me"
    panel.backend.value = "aurora"
    assert panel.start_button.disabled and panel.plan_button.layout.display == ""
    panel.cpu.value, panel.memory.value = "", "16Gi"
    # Nothing is reachable: an endpoint on a closed port would fail any call the plan made.
    from alien_nb import CloudSettings
    from alien_nb.resolver import set_default_settings

    set_default_settings(CloudSettings(aws_endpoint_url="http://127.0.0.1:9"))
    try:
        panel.plan_button.click()
    finally:
        set_default_settings(None)
    assert "0-8 ACU" in panel.details.value and "nothing was created" in panel.status.value
    assert "--backend aurora" in panel.status.value
    panel.backend.value = "flexible-server"
    panel.memory.value = "1Ti"
    panel.plan_button.click()
    assert "largest" in panel.status.value  # no tier fits: a clear error in the status line


def test_a_failed_panel_attach_keeps_the_working_handle(ip: Any, nb_home: Path, recorded: list[str]) -> None:
    from alien_nb.notebook._panel import Panel

    magics = ip.find_line_magic("alien_postgres").__self__
    kept = ip.run_line_magic("alien_postgres", "start panel-kept")
    password = password_of(nb_home, "panel-kept")
    panel = Panel(magics.state, ip.user_ns)
    panel.name.value = "panel-kept"
    panel.backend.value = "external"
    panel.host.value, panel.port.value, panel.user.value = "127.0.0.1", 1, "postgres"
    panel.password.set_state({"value": password})
    panel.attach_button.click()  # nothing listens on port 1
    assert "color:#b00" in panel.status.value
    assert magics.state.databases["panel-kept"] is kept and ip.user_ns["panel_kept"] is kept
    assert kept.sql("SELECT 1 AS one")["one"][0] == 1

    panel.backend.value = "env"  # ALIEN_PANEL_KEPT_BINDING is not set
    panel.attach_button.click()
    assert "ALIEN_PANEL_KEPT_BINDING" in panel.status.value
    assert magics.state.databases["panel-kept"] is kept

    panel.backend.value = "local"
    panel.name.value = "ghost-db"
    panel.stop_button.click()
    assert "No local database named &#x27;ghost-db&#x27;" in panel.status.value
    assert kept.sql("SELECT 1 AS one")["one"][0] == 1
    everything = "\n".join(recorded) + all_state(panel.widget)
    assert not any(s.decode() in everything for s in secret_spellings(password))
    ip.run_line_magic("alien_postgres", "stop panel-kept")


def test_panel_start_and_attach_bind_the_handle_as_the_magic_does(
    ip: Any, nb_home: Path, recorded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from alien_nb.core import WorkerEnv
    from alien_nb.notebook._panel import Panel

    magics = ip.find_line_magic("alien_postgres").__self__
    panel = Panel(magics.state, ip.user_ns)
    panel.name.value = "clicky-db"
    panel.start_button.click()
    assert "is running on 127.0.0.1:" in panel.status.value, panel.status.value
    assert "handle: <code>clicky_db</code>" in panel.status.value
    assert ip.user_ns["clicky_db"] is magics.state.databases["clicky-db"]
    assert ip.run_cell("clicky_db.sql('SELECT 1 AS one')").result["one"][0] == 1  # no NameError

    # Attach by binding, under another name: bound to that name's variable.
    binding = magics.state.controller.runtime_binding("clicky-db")
    for key, value in WorkerEnv.for_binding("clicky-copy", binding).items():
        monkeypatch.setenv(key, value)
    panel.backend.value = "env"
    panel.name.value = "clicky-copy"
    panel.attach_button.click()
    assert "attached; handle: <code>clicky_copy</code>" in panel.status.value, panel.status.value
    assert ip.user_ns["clicky_copy"] is magics.state.databases["clicky-copy"]
    assert ip.run_cell("clicky_copy.sql('SELECT 2 AS two')").result["two"][0] == 2

    # A name that is a builtin gets the magics' variable too, and the builtin stays.
    panel.backend.value = "local"
    panel.name.value = "list"
    panel.start_button.click()
    assert "handle: <code>db_list</code>" in panel.status.value, panel.status.value
    assert ip.user_ns["db_list"] is magics.state.databases["list"] and "list" not in ip.user_ns

    password = password_of(nb_home, "clicky-db")
    everything = "\n".join(recorded) + all_state(panel.widget)
    assert not any(s.decode() in everything for s in secret_spellings(password))
    for name in ("clicky-db", "list"):
        ip.run_line_magic("alien_postgres", f"stop {name}")
