"""The magics through a real IPython shell, against a real local server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError

from alien_nb import Database, ParameterMissing, SqlError, StatementResult
from alien_nb.core import BindingConfigInvalid, BindingNotConfigured
from tests.frames import dataframe
from tests.local.conftest import secret_spellings
from tests.notebook.conftest import password_of


def cell(ip: Any, line: str, body: str) -> Any:
    return ip.run_cell_magic("alien_postgres", line, body)


def test_help_documents_every_subcommand(ip: Any) -> None:
    doc = ip.find_line_magic("alien_postgres").__doc__
    for word in ("start", "attach", "--binding-env", "--binding-file", "status", "stop", "delete", "url", "panel",
                 "audit", "%%alien_postgres", "--out", "--limit", "--autocommit", "display_limit"):  # fmt: skip
        assert word in doc, word


def test_start_binds_a_handle_and_queries(ip: Any, nb_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ip.run_line_magic("alien_postgres", "start mag-db")
    assert isinstance(db, Database) and ip.user_ns["mag_db"] is db
    out = capsys.readouterr().out
    assert "mag-db: running on 127.0.0.1:" in out and "handle: mag_db" in out
    password = password_of(nb_home, "mag-db")
    for text in (repr(db), db._repr_html_(), db.url, json.dumps(db.binding), repr(db.worker_env()), out):
        assert not any(s.decode() in text for s in secret_spellings(password))
    assert "password=<redacted>" in repr(db)

    status = cell(
        ip, "mag-db", "DROP TABLE IF EXISTS docs; CREATE TABLE docs (id int PRIMARY KEY, title text)"
    )
    assert isinstance(status, StatementResult) and status.status == "CREATE TABLE"
    inserted = cell(ip, "", "INSERT INTO docs SELECT g, 'doc ' || g FROM generate_series(1, 20) g")
    assert inserted.status == "INSERT 0 20" and inserted.rowcount == 20

    ip.user_ns["max_id"] = 3
    df = cell(ip, "--out small", "SELECT id, title FROM docs WHERE id <= :max_id ORDER BY id")
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["id", "title"]
    assert df["id"].tolist() == [1, 2, 3] and ip.user_ns["small"] is df

    # Parameters are bound by the server, never pasted into the SQL text.
    ip.user_ns["evil"] = "x'; DROP TABLE docs; --"
    assert len(cell(ip, "", "SELECT * FROM docs WHERE title = :evil")) == 0
    assert len(dataframe(db.sql("SELECT * FROM docs"))) == 20

    assert len(cell(ip, "--limit 5", "SELECT * FROM docs")) == 5
    empty = cell(ip, "", "SELECT id FROM docs WHERE false")
    assert list(empty.columns) == ["id"] and len(empty) == 0
    assert dataframe(db.sql("SELECT count(*) AS n FROM docs WHERE id > :k", {"k": 10}))["n"][0] == 10


def test_statements_share_one_transaction(ip: Any) -> None:
    ip.run_line_magic("alien_postgres", "start mag-db")
    cell(ip, "", "DROP TABLE IF EXISTS tx; CREATE TABLE tx (v int)")
    with pytest.raises(SqlError, match="division by zero"):
        cell(ip, "", "INSERT INTO tx VALUES (1); SELECT 1 / 0")
    assert cell(ip, "", "SELECT count(*) AS n FROM tx")["n"][0] == 0  # the insert was rolled back
    with pytest.raises(SqlError, match="--autocommit"):
        cell(ip, "", "SELECT 1; VACUUM tx")
    assert "VACUUM" in repr(cell(ip, "--autocommit", "VACUUM tx"))


def test_missing_parameter_and_bad_usage(ip: Any) -> None:
    ip.run_line_magic("alien_postgres", "start mag-db")
    with pytest.raises(ParameterMissing, match=":nowhere"):
        cell(ip, "", "SELECT :nowhere")
    with pytest.raises(UsageError, match="unknown subcommand"):
        ip.run_line_magic("alien_postgres", "launch x")
    with pytest.raises(UsageError):
        ip.run_line_magic("alien_postgres", "start")
    with pytest.raises(UsageError, match="--yes"):
        ip.run_line_magic("alien_postgres", "delete mag-db")


def test_display_limit(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("alien_postgres", "start mag-db")
    ip.run_line_magic("config", "AlienPostgresMagics.display_limit = 5")
    try:
        assert cell(ip, "", "SELECT generate_series(1, 50) AS n") is None
        assert "showing 5 of 50 rows" in capsys.readouterr().out
        assert len(ip.user_ns["_alien_result"]) == 50
    finally:
        ip.run_line_magic("config", "AlienPostgresMagics.display_limit = 1000")


def test_attach_from_env_and_file(
    ip: Any, nb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ip.run_line_magic("alien_postgres", "start mag-db")
    binding = ip.user_ns["mag_db"]._runtime_binding.runtime_json().get_secret_value()
    monkeypatch.setenv("ALIEN_OTHER_BINDING", binding)
    other = ip.run_line_magic("alien_postgres", "attach other")
    assert other.sql("SELECT current_database() AS d")["d"][0] == "mag-db"
    path = tmp_path / "binding.json"
    path.write_text(binding)
    third = ip.run_line_magic("alien_postgres", f"attach third --binding-file {path} --as t")
    assert ip.user_ns["t"] is third
    with pytest.raises(BindingNotConfigured, match="ALIEN_NOPE_BINDING"):
        ip.run_line_magic("alien_postgres", "attach nope")
    path.write_text(json.dumps({**json.loads(binding), "port": 0}))
    with pytest.raises(BindingConfigInvalid, match="port"):
        ip.run_line_magic("alien_postgres", f"attach bad --binding-file {path}")


def test_connect_and_engine(ip: Any) -> None:
    db = ip.run_line_magic("alien_postgres", "start mag-db")
    import numpy as np

    with db.connect(autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS vecs; CREATE TABLE vecs (v vector(3))")
        conn.execute("INSERT INTO vecs VALUES (%s)", (np.array([1.0, 2.0, 3.0]),))
        (value,) = conn.execute("SELECT v FROM vecs").fetchone()
        assert np.allclose(np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value), [1, 2, 3])
    engine = db.engine
    assert engine.url.password is None  # connections come from db.connect(); the URL holds no secret
    assert pd.read_sql("SELECT 42 AS x", engine)["x"][0] == 42


def test_errors_and_displays_are_scrubbed(ip: Any, nb_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("alien_postgres", "start mag-db")
    password = password_of(nb_home, "mag-db")
    ip.user_ns["leak"] = password
    capsys.readouterr()
    ip.run_cell("raise ValueError('oops ' + leak)")
    ip.run_cell("%xmode Verbose")
    try:
        ip.run_cell("def f(secret):\n    raise RuntimeError('x')\nf(leak)")
    finally:
        ip.run_cell("%xmode Context")
    ip.run_cell("import urllib.parse\nraise KeyError(urllib.parse.quote(leak))")
    printed = capsys.readouterr()
    assert "ValueError" in printed.out and "RuntimeError" in printed.out
    assert not any(s.decode() in printed.out + printed.err for s in secret_spellings(password))
    data, _ = ip.display_formatter.format(f"postgres://postgres:{password}@127.0.0.1/x")
    assert password not in json.dumps(data)
    # A SQL error that would echo the password is scrubbed too.
    with pytest.raises(SqlError) as info:
        cell(ip, "", "SELECT :leak::int")
    assert password not in str(info.value)


def test_audit_finds_leaks(ip: Any, nb_home: Path, tmp_path: Path) -> None:
    import base64

    ip.run_line_magic("alien_postgres", "start mag-db")
    password = password_of(nb_home, "mag-db")
    nb = {
        "cells": [
            {"cell_type": "code", "source": ["x = 1\n", "url = 'postgresql://u:hunter2@h/db'"], "metadata": {},
             "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"pw {password}\n"]}]},
            {"cell_type": "code", "source": "ok", "metadata": {"note": base64.b64encode(password.encode()).decode()},
             "outputs": []},
            {"cell_type": "code", "source": "postgres://postgres:****@127.0.0.1:5/x", "metadata": {}, "outputs": []},
        ],
        "metadata": {"widgets": {"state": {"m": {"value": password}}}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    path = tmp_path / "leaky.ipynb"
    path.write_text(json.dumps(nb))
    report = ip.run_line_magic("alien_postgres", f"audit {path}")
    locations = {(f.location, f.kind) for f in report.findings}
    assert ("cells[0].outputs[0].text", "secret") in locations
    assert ("cells[0].source", "url with password") in locations
    assert ("cells[1].metadata.note", "secret (base64 payload)") in locations or (
        "cells[1].metadata.note",
        "secret",
    ) in locations
    assert ("metadata.widgets.state.m.value", "secret") in locations
    assert not any(loc.startswith("cells[2]") for loc, _ in locations)
    assert password not in repr(report)
    templates = "url = f'postgres://u:{pw}@h/db'\nurl2 = 'postgresql://u:${PGPASSWORD}@h/db'"
    clean = {"cell_type": "code", "source": templates, "metadata": {}, "outputs": []}
    path.write_text(json.dumps({"cells": [clean], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert ip.run_line_magic("alien_postgres", f"audit {path}").clean


def test_stop_and_status(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("alien_postgres", "start stop-db")
    status = ip.run_line_magic("alien_postgres", "status stop-db")
    assert status.lifecycle == "running"
    listing = ip.run_line_magic("alien_postgres", "list")
    assert "stop-db" in listing.index
    ip.run_line_magic("alien_postgres", "stop stop-db")
    assert ip.run_line_magic("alien_postgres", "status stop-db").lifecycle == "stopped"
    ip.run_line_magic("alien_postgres", "delete stop-db --yes")
    assert "stop-db: deleted" in capsys.readouterr().out


def test_large_results_stream_in_binary(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("alien_postgres", "start mag-db")
    cell(ip, "", "DROP TABLE IF EXISTS big; CREATE TABLE big AS SELECT g AS id, 'row ' || g AS label, "
                 "now() AS ts, g * 0.5 AS amount FROM generate_series(1, 20000) g")  # fmt: skip
    capsys.readouterr()
    ip.user_ns["k"] = 10
    shown = cell(
        ip, "--out big_df", "SELECT id, label, ts FROM big WHERE id > :k AND label LIKE 'row %' ORDER BY id"
    )
    assert shown is None  # past display_limit: the head is displayed, the whole frame kept
    df = ip.user_ns["big_df"]
    assert len(df) == 19990 and df["id"].iloc[0] == 11 and df["label"].iloc[-1] == "row 20000"
    out = capsys.readouterr().out
    assert (
        "19,990 rows × 3 columns" in out
        and "(binary, streamed)" in out
        and "showing 1000 of 19990 rows" in out
    )
    zone = cell(ip, "", "SHOW TimeZone").iloc[0, 0]
    assert str(df["ts"].dt.tz) == zone  # the session's time zone, as psycopg gives it
    # numeric comes back as Decimal, exactly as psycopg loads it
    cell(ip, "--out df2", "SELECT id, amount FROM big")
    df2 = ip.user_ns["df2"]
    from decimal import Decimal

    assert len(df2) == 20000 and isinstance(df2["amount"].iloc[0], Decimal)
    assert len(cell(ip, "--limit 7", "SELECT id FROM big")) == 7
    status = cell(ip, "", "DROP TABLE IF EXISTS big_copy; SELECT * INTO big_copy FROM big")
    assert status.status == "SELECT 20000"


def test_large_results_report_their_size(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("alien_postgres", "start mag-db")
    capsys.readouterr()
    cell(ip, "--out df", "SELECT g AS n, md5(g::text) AS h FROM generate_series(1, 12000) g")
    assert len(ip.user_ns["df"]) == 12000
    out = capsys.readouterr().out
    assert "12,000 rows × 2 columns" in out and "(binary, streamed)" in out


def test_large_results_see_the_handles_session(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A large result comes from the handle's own session: its search_path, its parameters' types."""
    db = ip.run_line_magic("alien_postgres", "start mag-db")
    cell(ip, "", "DROP SCHEMA IF EXISTS s2 CASCADE; CREATE SCHEMA s2; DROP TABLE IF EXISTS ev; "
                 "CREATE TABLE ev AS SELECT generate_series(1, 6000) AS id; "
                 "CREATE TABLE s2.ev AS SELECT generate_series(1, 7000) AS id")  # fmt: skip
    capsys.readouterr()
    try:
        cell(ip, "", "SET search_path TO s2, public")
        cell(ip, "--out ev", "SELECT id FROM ev")
        assert len(ip.user_ns["ev"]) == 7000
        assert "(binary, streamed)" in capsys.readouterr().out
    finally:
        cell(ip, "", "RESET search_path")
    cell(ip, "--out ev", "SELECT id FROM ev")
    assert len(ip.user_ns["ev"]) == 6000 and ip.user_ns["ev"]["id"].dtype == "int64"
    assert "(binary, streamed)" in capsys.readouterr().out
    # a text parameter is typed by the server from its use, as on any other path
    ip.user_ns["since"] = "2000-01-01"
    cell(ip, "--out ev", "SELECT id, now() AS ts FROM ev WHERE now() > :since")
    assert len(ip.user_ns["ev"]) == 6000
    assert db.sql("SELECT count(*) AS n FROM ev")["n"][0] == 6000


# -- wrong input: refused with the rule, nothing started, nothing replaced -----------------------


@pytest.mark.parametrize(
    "line, rule, suggestion",
    [
        ("start mag-bad --as class", "a Python keyword", "--as class_db"),
        ("start mag-bad --as 1bad", "not a Python identifier", "--as db_1bad"),
        ("start mag-bad --as print", "a Python builtin", "--as print_db"),
        ("start mag-bad --as In", "a name IPython itself uses", "--as In_db"),
        ("start mag-bad --as a-b", "not a Python identifier", "--as a_b"),
        ("attach mag-bad --as for", "a Python keyword", "--as for_db"),
    ],
)
def test_a_handle_variable_must_be_a_usable_identifier(
    ip: Any, nb_home: Path, line: str, rule: str, suggestion: str
) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("alien_postgres", line)
    assert type(info.value) is UsageError  # the exact class: IPython shows it without a traceback
    assert rule in str(info.value) and suggestion in str(info.value)
    assert not (nb_home / "postgres" / "mag-bad").exists(), "the database was started before the refusal"
    for bad in ("class", "1bad", "print", "In", "for"):
        assert not isinstance(ip.user_ns.get(bad), Database)


@pytest.mark.parametrize("out, rule", [("1bad", "not a Python identifier"), ("lambda", "keyword"),
                                       ("len", "builtin"), ("a b", "not a Python identifier")])  # fmt: skip
def test_a_cell_result_variable_must_be_a_usable_identifier(ip: Any, out: str, rule: str) -> None:
    ip.run_line_magic("alien_postgres", "start mag-db")
    ip.user_ns["ran"] = 0
    with pytest.raises(UsageError, match=rule):
        cell(ip, f"mag-db --out '{out}'", "SELECT 1 AS one")
    assert out not in ip.user_ns


def test_builtin_named_databases_get_a_prefixed_default_handle() -> None:
    from alien_nb.notebook._variables import identifier_for

    assert [identifier_for(n) for n in ("list", "id", "class", "9lives", "vec-db", "match")] == [
        "db_list", "db_id", "db_class", "db_9lives", "vec_db", "match"]  # fmt: skip


@pytest.mark.parametrize(
    "line, expected, usage",
    [
        ("launch x", "unknown subcommand 'launch'", None),
        ("strat x", "did you mean 'start'?", None),
        ("start", "the following arguments are required: name", "%alien_postgres start"),
        ("start x --bogus", "unrecognized arguments: --bogus", "%alien_postgres start"),
        ("start x --backend moon", "invalid choice", "%alien_postgres start"),
        ("stop", "required: name", "%alien_postgres stop"),
        ("delete mag-db", "--yes", "%alien_postgres delete"),
        ("attach x --binding-env A --binding-file b", "not allowed with", "%alien_postgres attach"),
        ("start x --memory 8Gi", "apply to cloud backends", "%alien_postgres start"),
        ("start x --storage lots", "--storage", "%alien_postgres start"),
        ("start x --storage 0", "more than zero", "%alien_postgres start"),
        ("attach x --binding-env ''", "not an environment variable name", "%alien_postgres attach"),
        ("attach x --binding-env A=B", "not an environment variable name", "%alien_postgres attach"),
        ("attach x --binding-file ''", "needs a path", "%alien_postgres attach"),
        ("start 'unclosed", "cannot read the arguments", None),
        ("", "say what to do", None),
    ],
)
def test_usage_errors_are_one_line_with_the_usage(
    ip: Any, line: str, expected: str, usage: str | None
) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("alien_postgres", line)
    err = info.value
    assert type(err) is UsageError and err.__cause__ is None
    assert err.__context__ is None or err.__suppress_context__
    lines = err._render_traceback_()  # type: ignore[attr-defined]
    assert lines[0].startswith("UsageError: ") and expected in lines[0]
    if usage is not None:
        assert any(entry.startswith(f"usage: {usage}") for entry in lines), lines
    assert not any("File " in entry or "Traceback" in entry for entry in lines)


def test_cell_usage_errors(ip: Any) -> None:
    ip.run_line_magic("alien_postgres", "start mag-db")
    for line, expected in (("--limit abc", "invalid int value"), ("--limit -1", "0 or more"),
                           ("mag-db --bogus", "unrecognized arguments")):  # fmt: skip
        with pytest.raises(UsageError, match=expected) as info:
            cell(ip, line, "SELECT 1")
        assert "usage: %%alien_postgres" in "\n".join(info.value._render_traceback_())  # type: ignore[attr-defined]


def test_a_failed_attach_keeps_the_working_handle(
    ip: Any, nb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ip.run_line_magic("alien_postgres", "start mag-db")
    binding = json.loads(ip.user_ns["mag_db"]._runtime_binding.runtime_json().get_secret_value())
    monkeypatch.setenv("ALIEN_KEPT_BINDING", json.dumps(binding))
    kept = ip.run_line_magic("alien_postgres", "attach kept")
    magics = ip.find_line_magic("alien_postgres").__self__
    password = password_of(nb_home, "mag-db")

    from alien_nb.core import ConnectionFailed

    attempts = {  # each replaces `kept` with something that cannot work
        "wrong port": {**binding, "port": 1},
        "wrong password": {**binding, "password": "not-" + password},
    }
    for what, bad in attempts.items():
        monkeypatch.setenv("ALIEN_KEPT_BINDING", json.dumps(bad))
        with pytest.raises(ConnectionFailed) as info:
            ip.run_line_magic("alien_postgres", "attach kept")
        assert password not in str(info.value), what
        assert ip.user_ns["kept"] is kept and magics.state.databases["kept"] is kept, what
        assert kept.sql("SELECT 1 AS one")["one"][0] == 1, what
    for garbage in (
        "",
        "{",
        "[" * 5000,
        "x" * 2_000_000,
        '{"service": "local-postgres", "port": 1' + "0" * 5000 + "}",
    ):
        monkeypatch.setenv("ALIEN_KEPT_BINDING", garbage)
        with pytest.raises(BindingConfigInvalid, match="ALIEN_KEPT_BINDING"):
            ip.run_line_magic("alien_postgres", "attach kept")
        assert kept.sql("SELECT 1 AS one")["one"][0] == 1
    assert magics.state.current == "kept"


@pytest.mark.parametrize("kind", ["missing", "directory", "not-json", "dev-zero", "huge"])
def test_unusable_binding_files_get_a_clear_error(ip: Any, tmp_path: Path, kind: str) -> None:
    path = {"missing": tmp_path / "nope.json", "directory": tmp_path, "dev-zero": Path("/dev/zero"),
            "not-json": tmp_path / "b.json", "huge": tmp_path / "huge.json"}[kind]  # fmt: skip
    if kind == "not-json":
        path.write_text("host=127.0.0.1 password=Hunter2-Not-Json")
    if kind == "huge":
        path.write_bytes(b" " * (3 << 20))
    from alien_nb.core import AlienError

    with pytest.raises(AlienError) as info:
        ip.run_line_magic("alien_postgres", f"attach fileb --binding-file {path}")
    text = "\n".join(info.value._render_traceback_())
    assert str(path) in text and "What to do:" in text
    assert "Hunter2" not in text


def test_stop_or_delete_of_unknown_names_keeps_every_handle(ip: Any) -> None:
    from alien_nb.core import AlienError

    db = ip.run_line_magic("alien_postgres", "start mag-db")
    magics = ip.find_line_magic("alien_postgres").__self__
    for line in ("stop ghost", "delete ghost --yes", "stop 'bad name'", "delete ../x --yes", "status ghost"):
        with pytest.raises(AlienError) as info:
            ip.run_line_magic("alien_postgres", line)
        assert info.value.hint, line
    assert magics.state.databases["mag-db"] is db and db.sql("SELECT 1 AS one")["one"][0] == 1


@pytest.mark.parametrize("home", ["/dev/null", "/dev/null/sub", "/sys/alien-nb-magic-home"])
def test_an_unusable_home_is_one_clear_error_in_the_notebook(ip: Any, home: str) -> None:
    from alien_nb.local import HomeInvalid
    from alien_nb.notebook._panel import Panel
    from alien_nb.notebook._state import NotebookState

    magics = ip.find_line_magic("alien_postgres").__self__
    saved, magics._state = magics._state, NotebookState(redactor=magics.redactor, home=home)
    try:
        lines = ["start mag-home", "list", "status", "status mag-home"]
        if home.startswith("/sys"):
            lines = ["start mag-home"]  # nothing there to list: reading it is fine
        for line in lines:
            with pytest.raises(HomeInvalid) as info:
                ip.run_line_magic("alien_postgres", line)
            shown = info.value._render_traceback_()
            assert len(shown) == 2 and "cannot be used" in shown[0] and shown[1].startswith("What to do:")
        panel = Panel(magics.state, ip.user_ns)
        panel.name.value = "mag-home"
        panel.start_button.click()
        assert "cannot be used" in panel.status.value
    finally:
        magics._state.close()
        magics._state = saved
    assert not Path("/sys/alien-nb-magic-home").exists()
