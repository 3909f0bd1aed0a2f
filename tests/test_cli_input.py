"""`alien-nb` with wrong input: one ``alien-nb: error:`` line and a hint, never a traceback or a password.

One real database (`known-db`, real embedded Postgres) lives under a module-wide home, so every
case runs beside a real password that must not appear in any output.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alien_nb import cli as cli_module
from tests.local.conftest import secret_spellings, stop_everything


def alien_nb(
    *args: str, home: Path | str | None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("alien-nb", path=os.path.dirname(sys.executable)) or "alien-nb"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "ALIEN_"))}
    argv = [exe, *(["--home", str(home)] if home is not None else []), *args]
    return subprocess.run(argv, capture_output=True, text=True, env={**base, **(env or {})},
                          stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip


def alien_nb_here(*args: str, home: Path | str) -> subprocess.CompletedProcess[str]:
    """The same command through `main()` in this process: much quicker for the long tables of cases.

    Never for `run`, which execs its command.
    """
    assert "run" not in args
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli_module.main(["--home", str(home), *args])
        except SystemExit as exc:  # argparse's usage errors
            rc = int(exc.code or 0)
    return subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("cli-input") / "home"
    done = alien_nb("start", "known-db", home=path)
    assert done.returncode == 0, done.stderr
    yield path
    stop_everything(path)


@pytest.fixture(scope="module")
def password(home: Path) -> str:
    return str(json.loads((home / "postgres" / "known-db" / "metadata.json").read_text())["password"])


def assert_clean_error(
    done: subprocess.CompletedProcess[str], password: str, *, rc: int | None = None
) -> None:
    """A refusal as the CLI promises it: non-zero, one error line + a hint, no traceback, no password."""
    assert done.returncode != 0, done.stdout
    if rc is not None:
        assert done.returncode == rc, done.stderr
    assert "Traceback" not in done.stderr and 'File "' not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and (lines[0].startswith("alien-nb: error: ") or "error:" in lines[-1]), done.stderr
    if done.returncode != 2 or lines[0].startswith("alien-nb: error: "):  # argparse has no hint line
        assert any(line.startswith("hint: ") for line in lines), done.stderr
    assert not leaks(done.stdout + done.stderr, password), "the password was printed"


def leaks(text: str, password: str) -> list[bytes]:
    """Each spelling of ``password`` found in ``text``: plain, URL, base64, hex and any 10-character run."""
    forms = [
        *secret_spellings(password),
        password.encode().hex().encode(),
        password.encode().hex().upper().encode(),
    ]
    forms += [password[i : i + 10].encode() for i in range(len(password) - 9)]
    shown = text.encode()
    return [form for form in forms if form in shown]


# -- an unusable home, on every subcommand ---------------------------------------------------


def _bad_homes(base: Path) -> dict[str, Path]:
    base.mkdir(parents=True, exist_ok=True)
    (base / "a-file").write_text("not a folder")
    for a, b in (("loop-a", "loop-b"), ("loop-b", "loop-a")):
        if not (base / a).is_symlink():
            (base / a).symlink_to(base / b)
    postgres_file = base / "postgres-is-a-file"
    postgres_file.mkdir(exist_ok=True)
    (postgres_file / "postgres").write_text("")
    return {
        "dev-null": Path("/dev/null"),
        "a-file": base / "a-file",
        "under-a-file": base / "a-file" / "home",
        "symlink-loop": base / "loop-a",
        "under-a-symlink-loop": base / "loop-a" / "home",
        "postgres-is-a-file": postgres_file,
    }


SUBCOMMANDS = [
    ["status"],
    ["status", "known-db"],
    ["list"],
    ["start", "x"],
    ["stop", "x"],
    ["delete", "x", "--yes"],
    ["url", "x"],
    ["logs", "x"],
    ["run", "x", "--", "true"],
    ["run", "x", "--create", "--", "true"],
    ["demo"],
]


@pytest.mark.parametrize("kind", ["dev-null", "a-file", "under-a-file", "symlink-loop",
                                  "under-a-symlink-loop", "postgres-is-a-file"])  # fmt: skip
def test_an_unusable_home_is_refused_by_every_subcommand(kind: str, tmp_path: Path, password: str) -> None:
    bad = _bad_homes(tmp_path)[kind]
    for args in SUBCOMMANDS:
        done = alien_nb(*args, home=bad) if args[0] == "run" else alien_nb_here(*args, home=bad)
        assert_clean_error(done, password, rc=2)
        assert "cannot be used" in done.stderr, (args, done.stderr)
        assert "no local databases" not in done.stdout
    # The same home through the environment variable.
    done = alien_nb("status", home=None, env={"ALIEN_NB_HOME": str(bad)})
    assert_clean_error(done, password, rc=2)


def test_a_home_that_cannot_be_created_is_refused_before_anything_starts(
    tmp_path: Path, password: str
) -> None:
    # /sys refuses new entries even to root (as a read-only or unwritable home would).
    for args in (["start", "x"], ["run", "x", "--create", "--", "true"]):
        done = alien_nb(*args, home="/sys/alien-nb-home-test")
        assert_clean_error(done, password, rc=2)
        assert "cannot be written" in done.stderr or "cannot be created" in done.stderr
    assert not Path("/sys/alien-nb-home-test").exists()
    done = alien_nb("status", home="")
    assert_clean_error(done, password, rc=2)
    assert "empty" in done.stderr


# -- `run` never creates a database by accident ----------------------------------------------


def test_run_refuses_an_unknown_name_and_suggests_the_close_one(home: Path, password: str) -> None:
    done = alien_nb("run", "known-bd", "--", sys.executable, "-c", "print('ran')", home=home)
    assert_clean_error(done, password, rc=1)
    assert "No local database named 'known-bd'" in done.stderr
    assert "Did you mean 'known-db'?" in done.stderr and "--create" in done.stderr
    assert "ran" not in done.stdout
    assert not (home / "postgres" / "known-bd").exists(), "run created the mistyped database"

    created = alien_nb(
        "run", "run-created", "--create", "--", sys.executable, "-c", "print('ran')", home=home
    )
    try:
        assert created.returncode == 0, created.stderr
        assert created.stdout == "ran\n"
    finally:
        alien_nb("delete", "run-created", "--yes", home=home)


def test_run_checks_the_command_before_the_database(home: Path, password: str) -> None:
    done = alien_nb("run", "ghost", "--", "no-such-program-xyz", home=home)
    assert_clean_error(done, password, rc=1)
    assert "Command not found" in done.stderr
    assert not (home / "postgres" / "ghost").exists()


# -- logs --lines ------------------------------------------------------------------------------


def test_logs_lines_zero_prints_nothing_and_negative_is_refused(home: Path, password: str) -> None:
    assert alien_nb("logs", "known-db", "--lines", "0", home=home).stdout == ""
    one = alien_nb("logs", "known-db", "--lines", "1", home=home).stdout
    assert len(one.splitlines()) == 1
    for digits in (400, 5000):  # past Python's int-digit limit too: "all of them"
        huge = alien_nb("logs", "known-db", "--lines", "9" * digits, home=home)
        assert huge.returncode == 0 and "ready to accept connections" in huge.stdout
    for bad in ("-1", "lots", "1.5", ""):
        done = alien_nb("logs", "known-db", "--lines", bad, home=home)
        assert_clean_error(done, password, rc=2)
        assert "--lines" in done.stderr


# -- every subcommand with wrong input -----------------------------------------------------------

BAD_NAMES = ["", " ", "has space", "ünïcode", "../escape", "a/b", "-dash-first", "x" * 64, "a\tb", "😀"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n)[:20])
def test_malformed_names_are_refused_by_every_subcommand(home: Path, password: str, name: str) -> None:
    for args in (["start", name], ["stop", name], ["status", name], ["delete", name, "--yes"],
                 ["url", name], ["logs", name], ["run", name, "--", "true"]):  # fmt: skip
        done = alien_nb(*args, home=home) if args[0] == "run" else alien_nb_here(*args, home=home)
        assert_clean_error(done, password)
        if not name.startswith("-"):  # argparse reads "-dash-first" as an option: its own usage error
            assert "database name" in done.stderr, (args, done.stderr)
    assert sorted(p.name for p in (home / "postgres").iterdir() if not p.name.startswith(".")) == ["known-db"]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["stop", "ghost"], "No local database named 'ghost'"),
        (["delete", "ghost", "--yes"], "No local database named 'ghost'"),
        (["status", "known-dbb"], "Did you mean 'known-db'?"),
        (["url", "ghost"], "Existing: known-db"),
        (["logs", "ghost"], "No local database named 'ghost'"),
        (["delete", "known-db"], "--yes"),
        (["start", "v-db", "--version", "abc"], "version"),
        (["start", "v-db", "--version", "99"], "PostgreSQL 99"),
        (["start", "v-db", "--memory", "lots"], "cloud backends only"),
        (["start", "v-db", "--backend", "aurora", "--memory", "lots", "--plan"], "memory"),
        (["start", "v-db", "--backend", "aurora", "--storage", "-5Gi", "--plan"], "storage"),
        (["start", "v-db", "--backend", "nowhere"], "invalid choice"),
        (["start", "v-db", "--storage", "lots"], "`storage` not a size"),
        (["start", "v-db", "--storage", "0"], "`storage` must be more than zero"),
        (["status", "--backend", "aurora"], "Name the aurora database"),
        (["bogus-command"], "invalid choice"),
        (["start"], "required"),
        (["run", "known-db"], "No command given"),
        (["start", "known-db", "--no-such-flag"], "unrecognized arguments"),
    ],
)
def test_wrong_input_gets_one_clear_error(home: Path, password: str, args: list[str], expected: str) -> None:
    done = alien_nb(*args, home=home) if args[0] == "run" else alien_nb_here(*args, home=home)
    assert_clean_error(done, password)
    assert expected in done.stderr, done.stderr
    assert not (home / "postgres" / "v-db").exists()
    assert alien_nb("status", "known-db", "--json", home=home).returncode == 0  # still there


# -- the top level: AlienError, unexpected errors, --debug ---------------------------------------


def test_an_unexpected_error_is_one_line_pointing_at_debug(
    home: Path, password: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(_args: object) -> int:
        raise RuntimeError(f"connection to postgres://postgres:{password}@127.0.0.1 failed")

    monkeypatch.setattr(cli_module, "cmd_list", explode)
    assert cli_module.main(["--home", str(home), "list"]) == cli_module.EXIT_BUG
    err = capsys.readouterr().err
    assert err.startswith("alien-nb: error: unexpected RuntimeError: connection to postgres://postgres:")
    assert "Traceback" not in err and "--debug" in err
    assert password not in err

    for argv in (["--debug", "list"], ["list", "--debug"]):
        assert cli_module.main(["--home", str(home), *argv]) == cli_module.EXIT_BUG
        err = capsys.readouterr().err
        assert "Traceback (most recent call last)" in err and "explode" in err
        assert not leaks(err, password)


def test_broken_files_in_the_home_never_give_a_traceback(tmp_path: Path, password: str) -> None:
    # A database folder whose metadata.json is a directory (the manager's own error, or the CLI's net).
    broken = tmp_path / "home"
    (broken / "postgres" / "odd" / "metadata.json").mkdir(parents=True)
    for args in (["status"], ["status", "odd"], ["url", "odd"], ["stop", "odd"], ["logs", "odd"]):
        done = alien_nb(*args, home=broken)
        assert "Traceback" not in done.stderr, done.stderr
        if done.returncode != 0:
            assert done.stderr.startswith("alien-nb: error: "), done.stderr


def test_a_folder_a_killed_start_left_is_listed_and_can_be_deleted(tmp_path: Path) -> None:
    # Only state.json: `start` refuses it and says to delete it first, so `delete` must find it,
    # and `list` must show it rather than hide it.
    home = tmp_path / "home"
    leftover = home / "postgres" / "half-db"
    leftover.mkdir(parents=True)
    (leftover / "state.json").write_text('{"desired": "running"}')
    listed = alien_nb_here("list", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    [status] = json.loads(listed.stdout)
    assert status["name"] == "half-db" and status["lifecycle"] == "failed"
    done = alien_nb_here("delete", "half-db", "--yes", home=home)
    assert done.returncode == 0, done.stderr
    assert not leftover.exists()
    gone = alien_nb_here("delete", "half-db", "--yes", home=home)
    assert gone.returncode != 0 and "No local database named 'half-db'" in gone.stderr


def test_a_reader_that_leaves_early_is_not_an_error(home: Path) -> None:
    exe = shutil.which("alien-nb", path=os.path.dirname(sys.executable)) or "alien-nb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "ALIEN_"))}
    # `alien-nb logs NAME | head -1`: the pipe closes while the log is still being written
    # (more than a pipe buffer of it, so the write really fails).
    with (home / "postgres" / "known-db" / "server.log").open("a") as log:
        log.write("padding line for the broken-pipe test\n" * 20_000)
    with subprocess.Popen([exe, "--home", str(home), "logs", "known-db", "--lines", "99999"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(1)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
