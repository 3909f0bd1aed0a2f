"""Any command line a careless user can type: `alien-nb` answers, never crashes.

Hypothesis builds argument lists for every subcommand that neither starts a server nor execs
(`start` only with `--plan` for a cloud backend), from names and values that are empty, spaced,
unicode, path-like, option-like, huge or plain. Each must end in exit status 0, 1 or 2 with no
traceback; a failure is one ``alien-nb: error:`` line plus a hint, or argparse's usage line.
Exit status 70 (an unexpected exception) is a bug, and so is a password on screen: the home holds
a database whose real password is offered as a name and a value too.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alien_nb import cli
from tests.local.conftest import stop_everything
from tests.test_cli_input import alien_nb, leaks


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    home = tmp_path_factory.mktemp("cli-fuzz") / "home"
    done = alien_nb("start", "fuzz-db", home=home)
    assert done.returncode == 0, done.stderr
    alien_nb("stop", "fuzz-db", home=home)
    password = json.loads((home / "postgres" / "fuzz-db" / "metadata.json").read_text())["password"]
    yield home, password
    stop_everything(home)


_words = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "x",
            "fuzz-db",
            "fuzz-dB",
            "fuzz_db",
            "../x",
            "a/b",
            "-x",
            "--",
            "--yes",
            "x" * 64,
            "ünï",
            "😀",
            "9" * 5000,
            "-1",
            "0",
            "1e3",
            "lots",
            "8Gi",
            "-5Gi",
            "NaN",
        ]
    ),
    st.text(max_size=20),
)


@st.composite
def command_lines(draw: st.DrawFn, password: str) -> list[str]:
    word = st.one_of(_words, st.just(password))
    command = draw(st.sampled_from(["status", "list", "stop", "url", "logs", "delete", "plan", "junk"]))
    args: list[str] = []
    if command == "plan":
        args = ["start", draw(word), "--plan", "--backend",
                draw(st.sampled_from(["aurora", "cloud-sql", "flexible-server"]))]  # fmt: skip
        for flag in draw(st.lists(st.sampled_from(["--cpu", "--memory", "--storage", "--version", "--region"]),
                                  max_size=3, unique=True)):  # fmt: skip
            args += [flag, draw(word)]
        if draw(st.booleans()):
            args.append("--ha")
    elif command == "junk":
        args = draw(st.lists(word, max_size=4))
    else:
        args = [command]
        if command != "list" or draw(st.booleans()):
            args.append(draw(word))
        extra = {"status": ["--json"], "stop": ["--json"], "delete": ["--json"], "logs": ["--lines"],
                 "url": [], "list": ["--json"]}[command]  # fmt: skip
        for flag in draw(st.lists(st.sampled_from(extra), max_size=1)) if extra else []:
            args.append(flag)
            if flag == "--lines":
                args.append(draw(word))
    if "--yes" in args and "fuzz-db" in args:  # the one database stays
        args.remove("--yes")
    return args


def run_here(home: Path, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(["--home", str(home), *argv])
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 2
    return rc, out.getvalue(), err.getvalue()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])  # fmt: skip
@given(data=st.data())
def test_any_command_line_gets_an_answer_not_a_crash(
    fuzz_home: tuple[Path, str], data: st.DataObject
) -> None:
    home, password = fuzz_home
    argv = data.draw(command_lines(password))
    rc, out, err = run_here(home, argv)
    assert rc in (0, 1, 2), (argv, rc, err)
    assert "Traceback" not in err, (argv, err)
    if rc == 1:
        assert err.startswith("alien-nb: error: ") and "\nhint: " in err, (argv, err)
    if rc == 2:
        assert err.startswith(("alien-nb: error: ", "usage: ")), (argv, err)
    assert not leaks(out + err, password), (argv, out + err)
    assert (home / "postgres" / "fuzz-db" / "metadata.json").is_file()


def test_the_password_typed_as_a_name_is_masked(fuzz_home: tuple[Path, str]) -> None:
    home, password = fuzz_home
    for argv in (["status", password], ["logs", password], ["stop", password], ["url", password]):
        rc, out, err = run_here(home, argv)
        assert rc == 1 and "No local database named" in err
        assert not leaks(out + err, password), err
