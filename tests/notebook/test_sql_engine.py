"""One statement, one execution: the SQL engine against a real server.

Each statement a cell or ``.sql()`` sends runs exactly once, on the handle's own
connection and transaction, whatever the size of its result; the binary
(streamed, numpy-decoded) and text (psycopg-loaded) paths give identical frames.
"""

from __future__ import annotations

import _thread
import contextlib
import datetime as dt
import decimal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alien_nb import Database, SqlError, StatementResult
from alien_nb.core._sql import parse_sql
from alien_nb.notebook._fetch import run_statement
from alien_nb.notebook._results import Options
from alien_nb.notebook._state import NotebookState
from tests.frames import dataframe
from tests.local.conftest import stop_everything

SIZES = [10, 5000, 5001, 1_000_000]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    home = tmp_path_factory.mktemp("engine") / "home"
    state = NotebookState(home=str(home), printer=lambda *_a, **_k: None)
    database = state.start("engine")
    database.sql(
        "CREATE TABLE calls (n bigint); CREATE SEQUENCE seq; CREATE SEQUENCE bumps;"
        "CREATE FUNCTION log_it(g int) RETURNS int VOLATILE LANGUAGE sql AS "
        "'INSERT INTO calls VALUES (g) RETURNING n::int';"
        "CREATE FUNCTION bump(g int) RETURNS bigint VOLATILE LANGUAGE sql AS $$SELECT nextval('bumps')$$"
    )
    yield database
    state.close()
    stop_everything(home)


def scalar(db: Database, sql: str) -> Any:
    frame = db.sql(sql)
    assert isinstance(frame, pd.DataFrame)
    return frame.iloc[0, 0]


@pytest.mark.parametrize("rows", SIZES)
def test_a_volatile_function_runs_once_per_row(db: Database, rows: int) -> None:
    db.sql("ALTER SEQUENCE bumps RESTART")
    frame = db.sql(f"SELECT g, bump(g) AS b FROM generate_series(1, {rows}) g")
    assert isinstance(frame, pd.DataFrame) and len(frame) == rows
    assert scalar(db, "SELECT last_value FROM bumps") == rows  # no second run, no probe
    assert sorted(frame["b"]) == list(range(1, rows + 1))


@pytest.mark.parametrize("rows", SIZES[:3])
def test_a_writing_function_commits_once_per_row(db: Database, rows: int) -> None:
    db.sql("TRUNCATE calls")
    frame = dataframe(db.sql(f"SELECT log_it(g) FROM generate_series(1, {rows}) g"))
    assert len(frame) == rows
    assert scalar(db, "SELECT count(*) FROM calls") == rows


@pytest.mark.parametrize("rows", SIZES)
def test_a_sequence_advances_once_per_row(db: Database, rows: int) -> None:
    before = scalar(db, "SELECT nextval('seq')")
    frame = dataframe(db.sql(f"SELECT nextval('seq') AS v FROM generate_series(1, {rows})"))
    assert frame["v"].min() == before + 1 and frame["v"].max() == before + rows
    assert scalar(db, "SELECT currval('seq')") == before + rows  # the same session ran it


@pytest.mark.parametrize("rows", SIZES)
def test_the_users_open_transaction_and_temp_tables_are_seen(db: Database, rows: int) -> None:
    db.sql("BEGIN")
    try:
        db.sql(f"CREATE TEMP TABLE t{rows} AS SELECT g FROM generate_series(1, {rows}) g")
        db.sql(
            f"CREATE TABLE w{rows} (g int); INSERT INTO w{rows} SELECT g FROM generate_series(1, {rows}) g"
        )
        seen = dataframe(db.sql(f"SELECT t.g FROM t{rows} t JOIN w{rows} w USING (g)"))
        assert len(seen) == rows  # uncommitted rows and a temp table: the same transaction
    finally:
        db.sql("ROLLBACK")
    assert scalar(db, f"SELECT to_regclass('w{rows}') IS NULL")


def test_a_failure_inside_the_users_transaction_is_the_statements_own(db: Database) -> None:
    db.sql("BEGIN")
    try:
        db.sql("CREATE TEMP TABLE kept (a int); INSERT INTO kept VALUES (1)")
        with pytest.raises(SqlError, match="division by zero"):
            db.sql("SELECT 1 / (g - 3000) FROM generate_series(1, 6000) g")
        with pytest.raises(SqlError, match="aborted"):
            db.sql("SELECT 1")  # as psql would say: the user's transaction is aborted, not retried
    finally:
        db.sql("ROLLBACK")
    assert scalar(db, "SELECT 1") == 1


def test_limit_fetches_at_most_n_rows_and_the_statement_still_runs_whole(db: Database) -> None:
    db.sql("TRUNCATE calls")
    frame = dataframe(db.run("SELECT log_it(g) FROM generate_series(1, 7000) g", {}, limit=5))
    assert len(frame) == 5
    assert scalar(db, "SELECT count(*) FROM calls") == 7000


# -- the same frame from either path -------------------------------------------------------------

TYPED = """
SELECT x AS id, x::int2 AS small, x::int4 AS medium, (x::int8 * 3000000000) AS big, x::oid AS o,
       x / 3.0::float8 AS f8, (x / 7.0)::float4 AS f4, (x % 2 = 0) AS even,
       'row ' || x AS label, ('ünï ' || x)::varchar(20) AS vc, 'x'::char(3) AS ch, 'n'::name AS nm,
       DATE '2024-02-28' + x AS day, TIMESTAMP '2024-03-30 23:30' + x * INTERVAL '1 hour' AS ts,
       TIMESTAMPTZ '2024-03-30 23:30+00' + x * INTERVAL '1 hour' AS tstz,
       (x * 1.25)::numeric(12, 2) AS amount, md5(x::text)::uuid AS u, int4send(x) AS raw,
       json_build_object('g', x) AS j, jsonb_build_array(x, 'a') AS jb, ARRAY[x, x + 1] AS arr,
       ARRAY['a', NULL] AS tarr
FROM generate_series(1, {n}) g, LATERAL (SELECT CASE WHEN {nulls} AND g % 3 = 0 THEN NULL ELSE g END AS x) v
"""


def both_paths(db: Database, sql: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    (statement,) = parse_sql(sql)
    with db._lock:
        conn = db.connection
        binary = run_statement(conn, statement, {}, Options())
        text = run_statement(conn, statement, {}, Options(text_only=True))
    assert isinstance(binary, pd.DataFrame) and isinstance(text, pd.DataFrame)
    return binary, text


@pytest.mark.parametrize("n", [10, 5001])
@pytest.mark.parametrize("nulls", [False, True])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Asia/Kolkata"])
def test_binary_and_text_paths_give_the_same_frame(db: Database, n: int, nulls: bool, zone: str) -> None:
    db.sql(f"SET TimeZone = '{zone}'")
    try:
        binary, text = both_paths(db, TYPED.format(n=n, nulls=str(nulls).lower()))
    finally:
        db.sql("RESET TimeZone")
    pd.testing.assert_frame_equal(binary, text, check_exact=True)
    assert str(binary["tstz"].dtype) == f"datetime64[us, {zone}]"
    expected = {"id": "Int64" if nulls else "int64", "big": "Int64" if nulls else "int64", "f8": "float64",
                "even": "boolean" if nulls else "bool", "label": "str", "ts": "datetime64[us]", "day": "object"}  # fmt: skip
    assert {k: str(binary[k].dtype) for k in expected} == expected
    row = binary.iloc[0]
    assert row["f4"] == float(np.float32(1 / 7))  # the stored float4, exactly
    assert row["big"] == 3_000_000_000 and isinstance(row["amount"], decimal.Decimal)
    assert isinstance(row["u"], uuid.UUID) and row["day"] == dt.date(2024, 2, 29) and row["j"] == {"g": 1}


def test_a_size_does_not_change_the_frame(db: Database) -> None:
    small = dataframe(db.sql(TYPED.format(n=5000, nulls="true")))
    large = dataframe(db.sql(TYPED.format(n=5001, nulls="true")))
    pd.testing.assert_frame_equal(small, large.iloc[:5000], check_exact=True)


def test_empty_results_keep_their_column_types(db: Database) -> None:
    frame = dataframe(db.sql("SELECT 1::int AS a, 'x'::text AS b, now() AS t WHERE false"))
    assert list(frame.columns) == ["a", "b", "t"] and len(frame) == 0
    assert str(frame["a"].dtype) == "int64" and str(frame["b"].dtype) == "str"


def test_duplicate_and_unnamed_columns_are_kept(db: Database) -> None:
    frame = dataframe(db.sql("SELECT 1 AS a, 2 AS a, 3"))
    assert list(frame.columns) == ["a", "a", "?column?"]


def test_values_python_cannot_hold_say_how_to_see_them(db: Database) -> None:
    for value in ("'infinity'::timestamptz", "'-infinity'::date", "'10000-01-01'::timestamp"):
        with pytest.raises(SqlError, match=r"cast it to text"):
            db.sql(f"SELECT {value} AS v")
        assert scalar(db, "SELECT 1") == 1


def test_unknown_types_come_back_as_psycopg_gives_them(db: Database) -> None:
    db.sql("DROP TYPE IF EXISTS mood; CREATE TYPE mood AS ENUM ('sad', 'ok')")
    frame = dataframe(db.sql("SELECT g AS id, (CASE WHEN g % 2 = 0 THEN 'ok' ELSE 'sad' END)::mood AS m, "
                             "'1 day'::interval AS i FROM generate_series(1, 6000) g"))  # fmt: skip
    assert frame["m"].iloc[0] == "sad" and frame["i"].iloc[0] == dt.timedelta(days=1)
    assert str(frame["id"].dtype) == "int64"


# -- parameters people write -------------------------------------------------------------------

PARAMS = [
    (dt.date(2024, 2, 29), "date"),
    (dt.datetime(2024, 2, 29, 12, 30), "timestamp without time zone"),
    (dt.datetime(2024, 2, 29, 12, 30, tzinfo=dt.timezone.utc), "timestamp with time zone"),
    (decimal.Decimal("1.50"), "numeric"),
    (uuid.UUID("12345678-1234-5678-1234-567812345678"), "uuid"),
    (True, "boolean"),
    (b"\x00\xff", "bytea"),
    ([1, 2, 3], "smallint[]"),
    (["a", "b"], "text[]"),
    (np.int64(7), "bigint"),
    (np.float32(1.5), "real"),
    (np.bool_(True), "boolean"),
]


@pytest.mark.parametrize("value, pg_type", PARAMS, ids=[t for _v, t in PARAMS])
def test_python_values_bind_as_their_postgres_types(db: Database, value: Any, pg_type: str) -> None:
    frame = dataframe(db.sql("SELECT pg_typeof(:v)::text AS t, :v AS v", {"v": value}))
    assert frame["t"].iloc[0] == pg_type
    got = frame["v"].iloc[0]
    assert list(got) == list(value) if isinstance(value, list) else got == value


def test_a_numpy_array_binds_as_a_vector(db: Database) -> None:
    frame = dataframe(
        db.sql("SELECT pg_typeof(:v)::text AS t, :v <-> '[0,0,0]' AS d", {"v": np.array([3.0, 4.0, 0.0])})
    )
    assert frame["t"].iloc[0] == "vector" and frame["d"].iloc[0] == 5.0


def test_a_statement_without_rows_reports_what_it_did(db: Database) -> None:
    result = db.sql("CREATE TEMP TABLE IF NOT EXISTS s (a int); INSERT INTO s SELECT generate_series(1, 3)")
    assert isinstance(result, StatementResult) and result.status == "INSERT 0 3" and result.rowcount == 3


def test_insert_returning_rows_come_back(db: Database) -> None:
    db.sql("CREATE TEMP TABLE IF NOT EXISTS r (a int)")
    frame = dataframe(db.sql("INSERT INTO r SELECT generate_series(1, 6000) RETURNING a"))
    assert len(frame) == 6000 and scalar(db, "SELECT count(*) FROM r") == 6000


# -- COPY ------------------------------------------------------------------------------------------


def test_copy_to_stdout_returns_the_rows(db: Database) -> None:
    text = dataframe(db.sql("COPY (SELECT g, 'a\tb' AS s, NULL AS n FROM generate_series(1, 3) g) TO STDOUT"))
    assert text.values.tolist()[0][:2] == ["1", "a\tb"] and pd.isna(text.iloc[0, 2])
    csv = dataframe(db.sql("COPY (SELECT g AS id, '' AS empty, NULL AS n FROM generate_series(1, 2) g) "
                           "TO STDOUT WITH (FORMAT csv, HEADER)"))  # fmt: skip
    assert (
        list(csv.columns) == ["id", "empty", "n"] and csv["empty"].iloc[0] == "" and pd.isna(csv["n"].iloc[0])
    )


def test_copy_to_a_file_writes_it_whole(db: Database, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    result = db.sql("COPY (SELECT g FROM generate_series(1, 3) g) TO STDOUT (FORMAT csv)", copy_to=target)
    assert isinstance(result, StatementResult) and result.rowcount == 3
    assert target.read_text() == "1\n2\n3\n" and (target.stat().st_mode & 0o777) == 0o600
    target.write_text("precious")
    with pytest.raises(SqlError):
        db.sql("COPY (SELECT 1 / (g - 2) FROM generate_series(1, 3) g) TO STDOUT", copy_to=target)
    assert target.read_text() == "precious"  # a failed COPY leaves the file as it was
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".alien-nb-copy")]


def test_copy_from_stdin_reads_what_it_is_given(db: Database, tmp_path: Path) -> None:
    import io

    db.sql("CREATE TEMP TABLE IF NOT EXISTS inbox (a int, b text); TRUNCATE inbox")
    source = tmp_path / "in.csv"
    source.write_text("1,one\n2,two\n")
    db.sql("COPY inbox FROM STDIN (FORMAT csv)", copy_from=source)
    db.sql("COPY inbox FROM STDIN (FORMAT csv)", copy_from=b"3,three\n")
    db.sql("COPY inbox FROM STDIN (FORMAT csv)", copy_from=io.StringIO("4,four\n"))
    assert scalar(db, "SELECT count(*) FROM inbox") == 4
    with pytest.raises(SqlError, match="invalid input syntax"):
        db.sql("COPY inbox FROM STDIN (FORMAT csv)", copy_from=b"x,bad\n")
    assert scalar(db, "SELECT count(*) FROM inbox") == 4  # the failed COPY took nothing, and the handle works


def test_copy_without_its_data_is_refused_before_anything_is_sent(db: Database) -> None:
    from alien_nb.notebook._sqlerrors import CopyNeedsData

    with pytest.raises(CopyNeedsData, match="--in-file"):
        db.sql("COPY calls FROM STDIN")
    with pytest.raises(CopyNeedsData, match="--out-file"):
        db.sql("COPY calls TO STDOUT (FORMAT binary)")
    assert scalar(db, "SELECT 1") == 1


def test_a_copy_source_that_fails_midway_aborts_the_copy_only(db: Database) -> None:
    class Broken:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, _n: int) -> bytes:
            self.calls += 1
            if self.calls > 1:
                raise OSError("disk gone")
            return b"1,x\n"

    from alien_nb.core import AlienError

    db.sql("CREATE TEMP TABLE IF NOT EXISTS half (a int, b text); TRUNCATE half")
    with pytest.raises(AlienError, match="disk gone"):
        db.sql("COPY half FROM STDIN (FORMAT csv)", copy_from=Broken())
    assert scalar(db, "SELECT count(*) FROM half") == 0


# -- interrupted, concurrent --------------------------------------------------------------------


@contextlib.contextmanager
def interrupted_after(seconds: float) -> Iterator[None]:
    """Ctrl-C (KeyboardInterrupt in the main thread) after ``seconds``; the block must raise it."""
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        timer.cancel()


def test_an_interrupt_mid_stream_cancels_and_leaves_the_handle_ready(db: Database) -> None:
    slow = "SELECT g, CASE WHEN g = 3000 THEN pg_sleep(30) IS NULL END FROM generate_series(1, 6000) g"
    with interrupted_after(1.0):
        db.sql(slow)
    assert scalar(db, "SELECT 7") == 7  # cancelled on the server, drained: the next statement runs
    with db.connect() as watcher:  # and nothing of it still runs there
        assert watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
        ).fetchone() == (0,)


def test_an_interrupt_inside_the_users_transaction_leaves_it_aborted_not_hung(db: Database) -> None:
    db.sql("BEGIN")
    try:
        with interrupted_after(1.0):
            db.sql("SELECT pg_sleep(30)")
        with pytest.raises(SqlError, match="aborted"):
            db.sql("SELECT 1")
    finally:
        db.sql("ROLLBACK")
    assert scalar(db, "SELECT 8") == 8


def test_eight_threads_at_once_each_get_their_own_rows(db: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def query(i: int) -> list[int]:
        frame = dataframe(
            db.sql("SELECT :i::int * 100000 + g AS v FROM generate_series(1, 6000) g", {"i": i})
        )
        values: list[int] = frame["v"].tolist()
        return values

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(query, range(8)))
    for i, values in enumerate(results):
        assert values == [i * 100000 + g for g in range(1, 6001)]


# -- what the review found -----------------------------------------------------------------------


def test_a_cell_that_manages_its_transaction_is_not_wrapped(db: Database) -> None:
    db.sql("CREATE TABLE IF NOT EXISTS ledger (v int); TRUNCATE ledger")
    db.sql("BEGIN; INSERT INTO ledger VALUES (1)")
    db.sql("ROLLBACK")  # the cell's BEGIN was the user's: nothing committed it behind their back
    assert scalar(db, "SELECT count(*) FROM ledger") == 0
    db.sql("BEGIN")
    db.sql("INSERT INTO ledger VALUES (2); COMMIT")
    assert scalar(db, "SELECT count(*) FROM ledger") == 1


def test_an_interrupted_copy_inside_a_transaction_is_not_silently_replaced(db: Database) -> None:
    db.sql("CREATE TABLE IF NOT EXISTS ledger (v int); TRUNCATE ledger")
    db.sql("BEGIN")
    db.sql("INSERT INTO ledger VALUES (5)")
    try:
        with interrupted_after(0.5):
            db.sql("COPY (SELECT g, pg_sleep(0.001) FROM generate_series(1, 100000) g) TO STDOUT")
        try:
            db.sql("INSERT INTO ledger VALUES (6)")  # aborted (or lost, said so): never run in autocommit
        except SqlError as exc:
            assert "aborted" in str(exc) or "rolled back" in str(exc)
    finally:
        try:
            db.sql("ROLLBACK")
        except SqlError:
            pass
    assert scalar(db, "SELECT count(*) FROM ledger") == 0


def test_unreadable_values_are_an_error_that_says_what_to_do(db: Database) -> None:
    db.sql("SET DateStyle = 'SQL, DMY'")
    try:
        with pytest.raises(SqlError, match="DateStyle"):
            db.sql("SELECT now() AS t, interval '1 day' AS i")  # the text path: psycopg reads ISO only
    finally:
        db.sql("RESET DateStyle")
    assert scalar(db, "SELECT 1") == 1


def test_timestamps_out_of_range_in_the_sessions_zone_are_refused_on_every_path(db: Database) -> None:
    db.sql("SET TimeZone = 'America/New_York'")
    try:
        for n in (3, 100):
            with pytest.raises(SqlError, match="cast it to text"):
                db.sql(f"SELECT '0001-01-01 00:00+00'::timestamptz AS a FROM generate_series(1, {n})")
    finally:
        db.sql("RESET TimeZone")


def test_the_driver_error_is_not_kept_on_the_raised_one(db: Database) -> None:
    password = "hunter2-xyz"
    db._redactor.add(password)
    with pytest.raises(SqlError) as info:
        db.sql(f"SELECT '{password}'::int")
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert password not in str(info.value) + repr(info.value) + str(info.value.hint)


def test_unencodable_sql_says_where_not_what(db: Database) -> None:
    from alien_nb.core import AlienError

    db.sql("SET client_encoding = 'LATIN1'")
    try:
        with pytest.raises(AlienError, match="line 1, column 9") as info:
            db.sql("SELECT '€ secret'")
        assert "secret" not in str(info.value) and info.value.__context__ is None
    finally:
        db.sql("RESET client_encoding")


def test_copy_arguments_are_checked_before_anything_is_sent(db: Database, tmp_path: Path) -> None:
    from alien_nb.core import AlienError
    from alien_nb.notebook._sqlerrors import CopyNeedsData

    db.sql("CREATE TEMP TABLE IF NOT EXISTS inbox2 (a int)")
    with pytest.raises(CopyNeedsData, match="no such file"):
        db.sql("COPY inbox2 FROM STDIN", copy_from=str(tmp_path / "missing.csv"))
    with pytest.raises(CopyNeedsData, match="looks like the data"):
        db.sql("COPY inbox2 FROM STDIN", copy_from="1\n2\n")

    class Failing:
        def read(self, _n: int) -> bytes:
            raise OSError("disk gone")

    with pytest.raises(AlienError, match="kept none of it"):
        db.sql("COPY inbox2 FROM STDIN", copy_from=Failing())
    with open(tmp_path / "text.csv", "w") as text_file:  # a text-mode file is written as text
        db.sql("COPY (SELECT 1) TO STDOUT", copy_to=text_file)
    assert (tmp_path / "text.csv").read_text() == "1\n"
    assert (
        len(dataframe(db.run("COPY (SELECT g FROM generate_series(1, 100) g) TO STDOUT", {}, limit=5))) == 5
    )


def test_notices_are_shown(db: Database) -> None:
    lines: list[str] = []
    db.report = lines.append
    try:
        db.sql("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$")
    finally:
        db.report = lambda _line: None
    assert "NOTICE: hello from plpgsql" in lines


def test_an_interrupt_while_the_statement_is_described_keeps_the_transaction(db: Database) -> None:
    db.sql("CREATE TABLE IF NOT EXISTS locked (v int)")
    with db.connect() as other:
        other.execute("BEGIN")
        other.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")  # the describe waits for it
        db.sql("BEGIN")
        try:
            with interrupted_after(0.5):
                db.sql("SELECT * FROM locked")
            with pytest.raises(SqlError, match="aborted"):  # the same connection, its transaction aborted
                db.sql("SELECT 1")
        finally:
            db.sql("ROLLBACK")
            other.execute("ROLLBACK")
    assert scalar(db, "SELECT 2") == 2
