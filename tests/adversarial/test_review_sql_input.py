"""Review of issue 11, section 6: ``Database.sql`` given odd arguments, in a real kernel.

``params`` that is a list or a string, and a query that is None, bytes or a number, end in a raw
TypeError from inside alien_nb (``list indices must be integers``, ``expected string or
bytes-like object``) instead of an AlienError that names the argument.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adversarial.scrub_kit import run
from tests.local.conftest import stop_everything

CALLS = [
    'db.sql("SELECT :x AS v", ["x"])',
    'db.sql("SELECT :x AS v", "x")',
    "db.sql(None)",
    'db.sql(b"SELECT 1")',
    "db.sql(5)",
]
PROBE = "try:\n    {call}\nexcept Exception as e:\n    print('KIND', {call!r}, isinstance(e, alien_nb.AlienError), type(e).__name__)"


def test_odd_sql_arguments_get_an_alien_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    cells = ["%load_ext alien_nb\nimport alien_nb", "db = %alien_postgres start oddsql"]
    cells += [PROBE.format(call=call) for call in CALLS]
    try:
        _client, path = run(cells, tmp_path / "odd.ipynb")
    finally:
        stop_everything(home)
    lines = [
        line
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"][2:]
        for out in cell["outputs"]
        for line in "".join(out.get("text", "")).splitlines()
        if line.startswith("KIND")
    ]
    assert len(lines) == len(CALLS), lines  # every call failed
    raw = [line for line in lines if " False " in line]
    assert not raw, "\n".join(raw)
