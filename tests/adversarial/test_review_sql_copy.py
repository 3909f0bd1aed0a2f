"""Review of issue 11, section 6: a pasted psql ``COPY`` must never wedge the handle.

It used to: the cell failed ("COPY cannot be used with this method") and left the connection
inside the COPY, so every later cell failed until the kernel restarted. Now ``COPY ... TO
STDOUT`` returns its rows, a failing COPY fails alone, and ``COPY ... FROM STDIN`` without its
data is refused before anything is sent; the next cell works in every case.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adversarial.scrub_kit import run
from tests.local.conftest import stop_everything


@pytest.mark.parametrize(
    "copy, fails",
    [
        ("COPY (SELECT 1) TO STDOUT", False),
        ("COPY (SELECT 1) TO STDOUT; SELECT 2", False),
        ("COPY (SELECT 1 / 0) TO STDOUT", True),
        ("COPY nosuch TO STDOUT", True),
        ("CREATE TEMP TABLE t (a int); COPY t FROM STDIN", True),
        ("COPY (SELECT 1) TO STDOUT (FORMAT binary)", True),
    ],
)
def test_a_copy_never_leaves_the_handle_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, copy: str, fails: bool
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
        assert any(o["output_type"] == "error" for o in copy_cell["outputs"]) == fails
        errors = [o.get("evalue", "") for o in next_cell["outputs"] if o["output_type"] == "error"]
        assert not errors, f"the next cell failed: {errors}"
        assert "ANSWER 42" in json.dumps(printed["outputs"])
    finally:
        stop_everything(home)
