"""Review of issue 11, section 3: a database made after ``%load_ext`` by another alien_nb process.

The kernel learns local passwords from metadata.json once, at ``%load_ext``. A database that
``!alien-nb start`` (a shell escape in the same notebook, or a terminal beside it) creates
later is unknown to the scrubber, so anything alien_nb's own CLI or a worker started with
``alien-nb run`` prints from the notebook's cell reaches the saved notebook unmasked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.adversarial.scrub_kit import leaks, run
from tests.local.conftest import stop_everything

CLI = str(Path(sys.executable).with_name("alien-nb"))


def test_a_database_created_after_load_ext_is_masked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    cells = [
        "%load_ext alien_nb",
        f"!{CLI} start late",
        f"!{CLI} url late --show-password",
        f"!{CLI} run late -- env | grep ALIEN_LATE_BINDING",
    ]
    try:
        _client, path = run(cells, tmp_path / "late.ipynb")
        password = json.loads((home / "postgres" / "late" / "metadata.json").read_text())["password"]
        saved = path.read_text(encoding="utf-8")
        assert "postgres://" in saved  # the cells ran
        assert not leaks(saved, password), leaks(saved, password)
    finally:
        stop_everything(home)
