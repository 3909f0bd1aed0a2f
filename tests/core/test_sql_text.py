from __future__ import annotations

import re

import pytest

from alien_nb.core._sql import ESCAPED_COLON, Placeholder, SqlTextInvalid, parse_condition, parse_sql


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
        # Doubled with no placeholder too: the form is composed into SQL psycopg runs with params.
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


# -- splitting: statements, their text and where they start ------------------


@pytest.mark.parametrize(
    "sql, parts",
    [
        ("SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", "SELECT 2"]),
        ("SELECT E'\\';'; SELECT 2", ["SELECT E'\\';'", "SELECT 2"]),
        ("SELECT $t$;$t$; SELECT 2", ["SELECT $t$;$t$", "SELECT 2"]),
        ("SELECT 1 -- ;\n; SELECT 2", ["SELECT 1 -- ;", "SELECT 2"]),
        ("SELECT 1 /* ; /* ; */ ; */; SELECT 2", ["SELECT 1 /* ; /* ; */ ; */", "SELECT 2"]),
        ("SELECT (1;2); SELECT 3", ["SELECT (1;2)", "SELECT 3"]),
        ("SELECT a[1;2]; SELECT 3", ["SELECT a[1;2]", "SELECT 3"]),
        ("/* c */ ; SELECT 1", ["SELECT 1"]),
        ("SELECT 1\n;\n\nSELECT 2\n", ["SELECT 1", "SELECT 2"]),
        ("", []),
    ],
)
def test_split_ignores_semicolons_that_are_not_top_level(sql: str, parts: list[str]) -> None:
    assert [s.text for s in parse_sql(sql)] == parts


def test_statement_start_is_its_offset_in_the_cell() -> None:
    cell = "  SELECT 1;\n\n  -- note\n  SELECT :a ;  \tVALUES (2)  "
    statements = parse_sql(cell)
    assert [s.text for s in statements] == ["SELECT 1", "-- note\n  SELECT :a", "VALUES (2)"]
    for statement in statements:
        assert cell[statement.start : statement.start + len(statement.text)] == statement.text
    (placeholder,) = [p for p in statements[1].parts if isinstance(p, Placeholder)]
    assert cell[placeholder.start : placeholder.start + 2] == ":a"


# -- what a statement is -----------------------------------------------------


@pytest.mark.parametrize(
    "sql, keyword, rows",
    [
        ("SELECT 1", "select", True),
        ("select 1", "select", True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "with", True),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "with", True),
        ("VALUES (1), (2)", "values", True),
        ("TABLE t", "table", True),
        ("SHOW work_mem", "show", True),
        ("EXPLAIN SELECT 1", "explain", True),
        ("INSERT INTO t VALUES (1)", "insert", False),
        ("INSERT INTO t VALUES (1) RETURNING id", "insert", True),
        ("UPDATE t SET a = 1", "update", False),
        ("UPDATE t SET a = 1 RETURNING a", "update", True),
        ("DELETE FROM t", "delete", False),
        ("DELETE FROM t RETURNING *", "delete", True),
        ("INSERT INTO t SELECT 'returning'", "insert", False),
        ("CREATE TABLE t (a int)", "create", False),
        ("SET search_path = public", "set", False),
        ("DROP TABLE t", "drop", False),
        ("COPY t FROM STDIN", "copy", False),
        ("COPY t TO STDOUT", "copy", False),
        ("  /* lead */ -- also\n SELECT 1", "select", True),
    ],
)
def test_keyword_and_may_return_rows(sql: str, keyword: str, rows: bool) -> None:
    (statement,) = parse_sql(sql)
    assert statement.keyword == keyword
    assert statement.may_return_rows is rows


def test_words_are_top_level_lower_cased_and_skip_quotes_comments_and_parens() -> None:
    (statement,) = parse_sql(
        "SELECT A, \"Quoted\", 'lit' /* cmt */ FROM T -- tail\n WHERE b IN (SELECT c) AND x::Int = :p"
    )
    assert statement.words == ("select", "a", "from", "t", "where", "b", "in", "and", "x", "int")


@pytest.mark.parametrize(
    "sql, direction",
    [
        ("COPY t TO STDOUT", "out"),
        ("copy t (a, b) to stdout with (format csv)", "out"),
        ("COPY (SELECT 1) TO STDOUT WITH (FORMAT csv)", "out"),
        ("COPY t FROM STDIN", "in"),
        ("COPY t (a) FROM STDIN WITH (FORMAT binary)", "in"),
        ("COPY t TO '/file'", None),
        ("COPY t FROM '/file'", None),
        ("COPY (SELECT 'to stdout') TO '/file'", None),
        ("SELECT 1", None),
    ],
)
def test_copy_direction(sql: str, direction: str | None) -> None:
    (statement,) = parse_sql(sql)
    assert statement.copy_direction == direction


# -- rendering ---------------------------------------------------------------


def test_render_numbers_each_name_once_in_order_of_first_use() -> None:
    (statement,) = parse_sql("SELECT :b, :a, :b, ':c', :a, :c")
    rendered = statement.render()
    assert rendered.sql == "SELECT $1, $2, $1, ':c', $2, $3"
    assert rendered.names == ("b", "a", "c") == statement.names
    assert statement.for_psycopg() == "SELECT %(b)s, %(a)s, %(b)s, ':c', %(a)s, %(c)s"


def test_render_without_placeholders_is_the_text() -> None:
    (statement,) = parse_sql("  SELECT 'x %' -- :no\n  ")
    assert statement.render().sql == statement.text
    assert statement.render().names == ()
    assert statement.for_psycopg() == "SELECT 'x %%' -- :no"


@pytest.mark.parametrize(
    "cell",
    [
        "SELECT :a + :bee, \\:lit, ':q' FROM t WHERE c = :a",
        "  \n SELECT 1;\n  UPDATE t SET v = :value_long_name WHERE id = :id RETURNING \\:x, :id",
        ":only",
        "SELECT :a::int, a[1:n], a[(:lo):(:hi)] /* :no */ -- :no\n, $$ :no $$, :z",
        "SELECT \\:a\\:b, :c",
    ],
)
def test_source_offset_maps_rendered_positions_back_to_the_cell(cell: str) -> None:
    for statement in parse_sql(cell):
        rendered = statement.render()
        inside: set[int] = set()  # rendered offsets inside a "$n"
        for match in re.finditer(r"\$[0-9]+", rendered.sql):
            inside.update(range(match.start(), match.end()))
        for position, char in enumerate(rendered.sql):
            if position not in inside:
                assert cell[rendered.source_offset(position)] == char, (cell, position)
        # A placeholder's first character maps to its colon.
        holders = [p for p in statement.parts if isinstance(p, Placeholder)]
        starts = [m.start() for m in re.finditer(r"\$[0-9]+", rendered.sql)]
        assert [rendered.source_offset(s) for s in starts] == [p.start for p in holders]


def test_escaped_colon_is_a_literal_colon_in_every_form() -> None:
    (statement,) = parse_sql("SELECT 'a' \\:x, \\:y::text")
    assert statement.parts == ("SELECT 'a' ", ESCAPED_COLON, "x, ", ESCAPED_COLON, "y::text")
    assert statement.names == ()
    assert statement.render().sql == "SELECT 'a' :x, :y::text"
    assert statement.for_psycopg() == "SELECT 'a' :x, :y::text"
    # A backslash that escapes no name stays as written.
    (other,) = parse_sql("SELECT 1 \\: 2, '\\:x'")
    assert other.render().sql == "SELECT 1 \\: 2, '\\:x'"


# -- placeholder styles alien_nb does not bind ----------------------------------


@pytest.mark.parametrize(
    "sql, hint",
    [
        ("SELECT %(x)s", ":x"),
        ("SELECT 1; SELECT * FROM t WHERE a = %(name)s", ":name"),
        ("SELECT $1", ":n"),
        ("SELECT a FROM t WHERE b = $12", ":n"),
    ],
)
def test_other_placeholder_styles_are_refused(sql: str, hint: str) -> None:
    with pytest.raises(SqlTextInvalid) as caught:
        parse_sql(sql)
    assert hint in str(caught.value.hint)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE FUNCTION f(int) RETURNS int AS $$ SELECT $1 + 1 $$ LANGUAGE sql",
        "CREATE FUNCTION f(int) RETURNS int AS $body$ SELECT $1 $body$ LANGUAGE sql",
        "SELECT '$1', '%(x)s', \"$1\", E'%(x)s' -- $1 %(x)s\n /* $2 */",
        "SELECT a$1 FROM t",
        "SELECT 'a%' LIKE 'b%%', 10 % 3",
    ],
)
def test_dollar_numbers_and_percent_where_they_are_not_placeholders(sql: str) -> None:
    (statement,) = parse_sql(sql)
    assert statement.names == ()
    assert statement.render().sql == sql
    assert statement.for_psycopg() == sql.replace("%", "%%")


def test_percent_in_like_with_a_placeholder() -> None:
    (statement,) = parse_sql("SELECT * FROM t WHERE a LIKE 'x%' || :suffix AND b % 2 = 0")
    assert statement.render().sql == "SELECT * FROM t WHERE a LIKE 'x%' || $1 AND b % 2 = 0"
    assert statement.for_psycopg() == "SELECT * FROM t WHERE a LIKE 'x%%' || %(suffix)s AND b %% 2 = 0"


# -- where= conditions ---------------------------------------------------------


def test_parse_condition_is_one_expression() -> None:
    condition = parse_condition("lang = :lang AND note <> ';'")
    assert condition.names == ("lang",)
    assert condition.for_psycopg() == "lang = %(lang)s AND note <> ';'"


@pytest.mark.parametrize("condition, several", [("a = 1; b = 2", True), ("", False), ("  -- none\n", False)])
def test_parse_condition_refuses_several_or_none(condition: str, several: bool) -> None:
    with pytest.raises(SqlTextInvalid) as caught:
        parse_condition(condition, "filter")
    assert caught.value.message.startswith("filter= must be one SQL condition")
    assert ("several statements" in caught.value.message) is several


def test_parse_condition_refuses_other_styles() -> None:
    with pytest.raises(SqlTextInvalid):
        parse_condition("a = %(a)s")
