"""The README's three-cell example runs as written (twice: the cells are re-runnable)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"


def example_cells() -> list[str]:
    blocks = re.findall(r"```(?:python|sql)\n(.*?)```", README.read_text(), re.DOTALL)
    return blocks[:3]


def test_readme_example_runs_as_written(ip: Any) -> None:
    cells = example_cells()
    assert cells[0].startswith("%load_ext alien_nb") and cells[1].startswith("%%alien_postgres")
    for _ in range(2):
        # %load_ext is done by the fixture; the second round attaches to the running database.
        results = [ip.run_cell(cells[0].split("\n", 1)[1]), *(ip.run_cell(cell) for cell in cells[1:])]
        for result in results:
            assert result.success, result.error_in_exec or result.error_before_exec
        answer, hits = results[1].result, results[2].result
        assert answer["answer"][0] == 1 and answer["pgvector"][0]
        assert hits["id"].iloc[0] == 7 and len(hits) == 5  # the query is row 7 itself
    count = ip.user_ns["vec_db"].sql("SELECT count(*) AS n FROM docs")["n"][0]
    assert count == 1000  # replace=True: a second run did not append a copy


def test_magic_lines_may_end_with_a_comment(ip: Any) -> None:
    db = ip.run_line_magic("alien_postgres", "start vec-db   # about a second; later runs attach")
    assert db.name == "vec-db"
