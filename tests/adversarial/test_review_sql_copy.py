"""Review of issue 11, section 6: a pasted psql ``COPY ... TO STDOUT`` wedges the handle.

The cell fails (psycopg: "COPY cannot be used with this method"), but the handle's connection
is left inside the COPY: every later cell on that database fails with "another command is
already in progress" until the kernel restarts. The liveness probe calls that connection alive.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adversarial.scrub_kit import run
from tests.local.conftest import stop_everything


@pytest.mark.parametrize("copy", ["COPY (SELECT 1) TO STDOUT", "COPY (SELECT 1) TO STDOUT; SELECT 2"])
@pytest.mark.xfail(
    reason="issue 12 (SQL: COPY in a cell) owns this: COPY TO STDOUT still wedges the handle", strict=True
)
def test_a_failed_copy_leaves_the_handle_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, copy: str
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    cells = [
        "%load_ext alien_nb",
        "db = %alien_postgres start wedge",
        f"%%alien_postgres wedge\n{copy}",
        "%%alien_postgres wedge --out after\nSELECT 42 AS answer",
        "print('ANSWER', int(after['answer'][0]))",
    ]
    try:
        _client, path = run(cells, tmp_path / "copy.ipynb")
        saved = json.loads(path.read_text(encoding="utf-8"))
        copy_cell, next_cell, printed = saved["cells"][2:5]
        assert any(o["output_type"] == "error" for o in copy_cell["outputs"])  # refused, as it should be
        errors = [o.get("evalue", "") for o in next_cell["outputs"] if o["output_type"] == "error"]
        assert not errors, f"the next cell failed: {errors}"
        assert "ANSWER 42" in json.dumps(printed["outputs"])
    finally:
        stop_everything(home)
