"""A database started and printed in one cell (one shell line), after ``%load_ext``.

The review's case runs start and print in separate cells; here the password is printed by the
same shell command that created the database, so only a check on every outgoing message (no
per-cell hook) can know it in time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.adversarial.scrub_kit import leaks, message_text, run
from tests.local.conftest import stop_everything

CLI = str(Path(sys.executable).with_name("alien-nb"))


def test_start_then_print_in_one_shell_line_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    cells = [
        "%load_ext alien_nb",
        f"!{CLI} start same && {CLI} url same --show-password && {CLI} run same -- env | grep ALIEN_SAME",
    ]
    try:
        client, path = run(cells, tmp_path / "same.ipynb")
        password = json.loads((home / "postgres" / "same" / "metadata.json").read_text())["password"]
        saved = path.read_text(encoding="utf-8")
        assert "postgres://" in saved and "ALIEN_SAME" in saved  # the commands ran and printed
        assert not leaks(saved, password), leaks(saved, password)
        wire = "\n".join(message_text(m) for m in client.iopub)
        assert not leaks(wire, password), leaks(wire, password)
    finally:
        stop_everything(home)
