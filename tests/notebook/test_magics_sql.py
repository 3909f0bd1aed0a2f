"""The SQL magics' own forms: the one-line ``sql``, ``--in-file`` / ``--out-file``, and the hints shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError

from alien_nb import SqlError
from alien_nb.core._sql import SqlTextInvalid
from alien_nb.notebook._sqlerrors import CopyNeedsData


@pytest.fixture
def shell(ip: Any) -> Any:
    ip.run_line_magic("alien_postgres", "start mag-sql")
    return ip


def test_one_line_sql_with_and_without_a_name(shell: Any) -> None:
    shell.user_ns["n"] = 41
    named = shell.run_line_magic("alien_postgres", "sql mag-sql SELECT :n + 1 AS answer")
    assert named["answer"].tolist() == [42]
    default = shell.run_line_magic("alien_postgres", "sql SELECT 'a:b' AS s, '{1,2}'::int[] AS arr")
    assert default["s"].tolist() == ["a:b"] and default["arr"].iloc[0] == [1, 2]  # no IPython {} expansion


def test_one_line_sql_takes_flags_before_the_sql(shell: Any) -> None:
    shell.run_line_magic(
        "alien_postgres", "sql mag-sql --out kept --limit 2 SELECT generate_series(1, 5) AS g"
    )
    assert shell.user_ns["kept"]["g"].tolist() == [1, 2]


def test_one_line_sql_without_sql_says_how(shell: Any) -> None:
    with pytest.raises(UsageError, match="write the SQL after it"):
        shell.run_line_magic("alien_postgres", "sql mag-sql")


def test_copy_files_in_and_out_of_a_cell(shell: Any, tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("1,one\n2,two\n")
    shell.run_cell_magic(
        "alien_postgres", "mag-sql", "DROP TABLE IF EXISTS inbox; CREATE TABLE inbox (a int, b text)"
    )
    shell.run_cell_magic("alien_postgres", f"mag-sql --in-file {data}", "COPY inbox FROM STDIN (FORMAT csv)")
    out = tmp_path / "out.csv"
    status = shell.run_cell_magic("alien_postgres", f"mag-sql --out-file {out}",
                                  "COPY (SELECT * FROM inbox ORDER BY a) TO STDOUT (FORMAT csv)")  # fmt: skip
    assert out.read_text() == "1,one\n2,two\n" and status.rowcount == 2
    rows = shell.run_cell_magic("alien_postgres", "mag-sql", "COPY inbox TO STDOUT (FORMAT csv, HEADER)")
    assert isinstance(rows, pd.DataFrame) and rows.to_dict("list") == {"a": ["1", "2"], "b": ["one", "two"]}


def test_a_missing_in_file_is_refused_before_anything_runs(shell: Any, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        shell.run_cell_magic(
            "alien_postgres", f"mag-sql --in-file {tmp_path / 'nope.csv'}", "COPY x FROM STDIN"
        )
    with pytest.raises(CopyNeedsData, match="--in-file"):
        shell.run_cell_magic("alien_postgres", "mag-sql", "COPY x FROM STDIN")
    assert shell.run_cell_magic("alien_postgres", "mag-sql", "SELECT 1 AS one")["one"].tolist() == [1]


@pytest.mark.parametrize(
    "sql, namespace, expected",
    [
        ("SELECT * FROM generate_series(1, 3) g WHERE g IN :ids", {"ids": [1, 2]}, "= ANY(:ids)"),
        ("SELECT :x IS NULL", {"x": None}, ":x::text"),
        ("SELECT * FROM inboz", {}, "Did you mean 'inbox'?"),
        ("SELECT 1,\n  2 +, 3", {}, "line 2 of the cell:   2 +, 3"),
    ],
)
def test_errors_people_hit_say_how_to_fix_them(
    shell: Any, sql: str, namespace: dict[str, Any], expected: str
) -> None:
    shell.run_cell_magic("alien_postgres", "mag-sql", "CREATE TABLE IF NOT EXISTS inbox (a int, b text)")
    shell.user_ns.update(namespace)
    with pytest.raises(SqlError) as info:
        shell.run_cell_magic("alien_postgres", "mag-sql", sql)
    assert expected in str(info.value)
    assert "$1" not in (info.value.hint or "")  # the fix names the user's :name, not the wire's $n


@pytest.mark.parametrize("written, fix", [("%(lang)s", ":lang"), ("$1", ":n")])
def test_other_placeholder_styles_show_the_name_form(shell: Any, written: str, fix: str) -> None:
    with pytest.raises(SqlTextInvalid) as info:
        shell.run_cell_magic("alien_postgres", "mag-sql", f"SELECT {written}")
    assert f"Write {fix}" in str(info.value) or f"write {fix}" in str(info.value)


def test_a_syntax_error_caret_points_at_the_cell_not_the_sent_text(shell: Any) -> None:
    shell.user_ns.update(a=1, b=2)
    with pytest.raises(SqlError) as info:
        shell.run_cell_magic("alien_postgres", "mag-sql", "SELECT :a,\n       :b FROMM t")
    where = str(info.value).split("line 2 of the cell: ")[1]
    code, caret = where.split("\n")[:2]
    assert code == "       :b FROMM t" and caret.index("^") - len("line 2 of the cell: ") == code.index("t")


def test_other_lines_still_expand_notebook_variables(shell: Any, tmp_path: Path) -> None:
    shell.user_ns["which"] = "mag-sql"
    assert "mag-sql" in shell.run_line_magic("alien_postgres", "url $which")
    assert "mag-sql" in shell.run_line_magic("alien_postgres", "url {which}")
