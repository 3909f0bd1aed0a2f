from __future__ import annotations

import pytest

from alien_nb.core._sql import parse_sql


@pytest.mark.parametrize(
    "sql, text, names",
    [
        ("SELECT * FROM t WHERE id = :id", "SELECT * FROM t WHERE id = %(id)s", ["id"]),
        ("SELECT :a, :b, :a", "SELECT %(a)s, %(b)s, %(a)s", ["a", "b"]),
        ("SELECT x::int FROM t WHERE y = :y", "SELECT x::int FROM t WHERE y = %(y)s", ["y"]),
        ("SELECT ':no' || :yes", "SELECT ':no' || %(yes)s", ["yes"]),
        ('SELECT ":no" FROM t WHERE a = :a', 'SELECT ":no" FROM t WHERE a = %(a)s', ["a"]),
        ("SELECT $$ :no $$, $tag$ :no; $tag$, :yes", "SELECT $$ :no $$, $tag$ :no; $tag$, %(yes)s", ["yes"]),
        ("SELECT 1 -- :no\n, :yes", "SELECT 1 -- :no\n, %(yes)s", ["yes"]),
        ("SELECT /* :no /* nested :no */ */ :yes", "SELECT /* :no /* nested :no */ */ %(yes)s", ["yes"]),
        ("SELECT 'it''s :no', :yes", "SELECT 'it''s :no', %(yes)s", ["yes"]),
        ("SELECT E'\\' :no', :yes", "SELECT E'\\' :no', %(yes)s", ["yes"]),
        ("SELECT 'a%' LIKE :p", "SELECT 'a%%' LIKE %(p)s", ["p"]),
        ("SELECT 'a%'", "SELECT 'a%%'", []),
        ("SELECT arr[1:2]", "SELECT arr[1:2]", []),
        (
            "SELECT tokens[1:n], tokens[:n] FROM t WHERE k = :k",
            "SELECT tokens[1:n], tokens[:n] FROM t WHERE k = %(k)s",
            ["k"],
        ),
        ("SELECT \\:literal, :x", "SELECT :literal, %(x)s", ["x"]),
        ("SELECT a[1 :n], a[(:lo):(:hi)]", "SELECT a[1 :n], a[(%(lo)s):(%(hi)s)]", ["lo", "hi"]),
        ("SELECT '\\:kept', \\:y", "SELECT '\\:kept', :y", []),
    ],
)
def test_placeholders(sql: str, text: str, names: list[str]) -> None:
    (statement,) = parse_sql(sql)
    assert statement.for_psycopg() == text
    assert list(statement.names) == names


@pytest.mark.parametrize(
    "sql, parts",
    [
        ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
        ("SELECT ';'; SELECT 2", ["SELECT ';'", "SELECT 2"]),
        (
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT f()",
            ["CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "SELECT f()"],
        ),
        ("-- only a comment;\n", []),
        ("SELECT 1; -- trailing comment", ["SELECT 1"]),
        ("  ;; \n", []),
        ('SELECT "a;b" FROM t', ['SELECT "a;b" FROM t']),
    ],
)
def test_split(sql: str, parts: list[str]) -> None:
    assert [s.text for s in parse_sql(sql)] == parts
