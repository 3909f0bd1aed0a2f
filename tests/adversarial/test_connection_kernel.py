"""The issue's reproduction in a real kernel (nbclient): kill -9, an impostor on the old port, the
kernel's own monitor restarting the server elsewhere, and the next SQL cell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from alien_nb.core import Redactor
from alien_nb.local import LocalPostgresManager
from tests.local.conftest import stop_everything

from ._connection_crash import (
    NAME,
    assert_nothing_of,
    kill9,
    monitor_held_off,
    password_of,
    server_port,
    wait_for,
)
from .impostor import Impostor


@pytest.fixture
def kernel_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "h"
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))  # the kernel inherits it
    yield home
    stop_everything(home)


@pytest.mark.parametrize("method", ["cleartext", "md5"])
def test_kernel_handle_after_crash_with_an_impostor_on_the_old_port(
    kernel_home: Path, tmp_path: Path, method: str
) -> None:
    cells = ["%load_ext alien_nb", f"db = %alien_postgres start {NAME}", f"%%alien_postgres {NAME}\nSELECT 1 AS one",
             f"%%alien_postgres {NAME}\nSELECT 2 AS two", "db.sql('SELECT 3 AS three')"]  # fmt: skip
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True)
    manager = LocalPostgresManager(kernel_home, notify=lambda _m: None, monitor=False)
    with client.setup_kernel():
        for index in range(3):
            client.execute_cell(nb.cells[index], index)
        password = password_of(kernel_home)
        with monitor_held_off(manager, NAME):  # the kernel's monitor waits until the impostor is in place
            old = kill9(manager, NAME)
            impostor = Impostor(old, method=method).start()
        try:
            wait_for(lambda: server_port(manager, NAME) not in (None, old), "the kernel monitor's restart")
            for index in range(3, len(cells)):
                client.execute_cell(nb.cells[index], index)
        finally:
            impostor.stop()
    path = tmp_path / "crash.ipynb"
    nbformat.write(nb, path)
    outputs = [o for cell in nb.cells[3:] for o in cell.outputs]
    assert not [o for o in outputs if o["output_type"] == "error"], outputs
    shown = json.dumps([o.get("data", o.get("text")) for o in outputs])
    assert "two" in shown and "three" in shown and "now listens on" in shown
    assert impostor.connections == 0
    assert_nothing_of(password, impostor.received)
    assert not Redactor([password]).contains_secret(path.read_bytes())
