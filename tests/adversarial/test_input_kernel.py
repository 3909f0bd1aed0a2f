"""Careless and wrong magic lines in a real kernel (nbclient): one-line errors, no frames, no password.

A notebook author mistypes subcommands and flags, names handles after keywords and builtins, and
re-attaches a working handle with a broken binding. Every such cell must fail with IPython's
one-line usage message or alien_nb's own two-line error, never a traceback into alien_nb's code,
and the working handle must still answer afterwards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.local.conftest import secret_spellings
from tests.notebook.conftest import password_of
from tests.notebook.test_kernel import run_notebook

SETUP = [
    "%load_ext alien_nb",
    "%alien_postgres start wrong-input",
    "import json, os\n"
    "good = json.load(open(os.path.join(os.environ['ALIEN_NB_HOME'], 'postgres', 'wrong-input', 'metadata.json')))\n"
    "os.environ['ALIEN_WRONG_INPUT_BINDING'] = json.dumps({'service': 'local-postgres', 'host': '127.0.0.1',"
    " 'port': good['port'], 'database': 'wrong-input', 'username': 'postgres', 'password': good['password']})\n"
    "del good",
    "%alien_postgres attach wrong-input --as kept",
]

# (cell, what the one-line error must say)
WRONG = [
    ("%alien_postgres bogus", "unknown subcommand 'bogus'"),
    ("%alien_postgres strat x", "did you mean 'start'?"),
    ("%alien_postgres", "say what to do"),
    ("%alien_postgres start", "the following arguments are required: name"),
    ("%alien_postgres start x --bogus", "unrecognized arguments: --bogus"),
    ("%alien_postgres start x --backend moon", "invalid choice"),
    ("%alien_postgres start x --as class", "is a Python keyword"),
    ("%alien_postgres start x --as 1bad", "is not a Python identifier"),
    ("%alien_postgres start x --as print", "is a Python builtin"),
    ("%alien_postgres start x --memory 8Gi", "apply to cloud backends"),
    ("%alien_postgres delete wrong-input", "add --yes to confirm"),
    ("%alien_postgres stop", "required: name"),
    ("%alien_postgres start 'unclosed", "cannot read the arguments"),
    ("%%alien_postgres wrong-input --out 1bad\nSELECT 1", "is not a Python identifier"),
    ("%%alien_postgres --limit abc\nSELECT 1", "invalid int value"),
    # alien_nb's own errors: the class name, the message, "What to do:"
    ("%alien_postgres start 'bad name'", "the database name must be"),
    ("%alien_postgres start x" + "x" * 70, "the database name must be"),
    ("%alien_postgres start ../escape", "the database name must be"),
    ("%alien_postgres start x --version abc", "must be a major version"),
    ("%alien_postgres start x --version 99", "No PostgreSQL 99"),
    ("%alien_postgres stop ghost", "No local database named 'ghost'"),
    ("%alien_postgres delete ghost --yes", "No local database named 'ghost'"),
    ("%alien_postgres attach not-configured", "ALIEN_NOT_CONFIGURED_BINDING is not set"),
    ("%alien_postgres attach wrong-input --binding-file /nonexistent/b.json", "Cannot read binding file"),
    ("%alien_postgres attach wrong-input --binding-file /dev/null", "not valid JSON"),
    (
        "import os\nos.environ['ALIEN_WRONG_INPUT_BINDING'] = '{\"port\": ' + '9' * 5000 + '}'\n"
        "%alien_postgres attach wrong-input --as kept",
        "more than 20 digits",
    ),
    (
        "import os\nos.environ['ALIEN_WRONG_INPUT_BINDING'] = '[' * 10000\n%alien_postgres attach wrong-input --as kept",
        "nested far too deep",
    ),
]

AFTER = [
    "kept.sql('SELECT 1 AS one')['one'][0]",
    "'class' in dir(), 'x' in dir()",
    "%alien_postgres stop wrong-input",
]

FRAME = re.compile(r"(File \S+\.py|Traceback \(most recent call last\)|\.py:\d+|-{20,})")


@pytest.fixture
def kernel_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.local.conftest import stop_everything

    home = tmp_path / "home"
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    yield home
    stop_everything(home)


def _shown(output: dict[str, Any]) -> str:
    if output["output_type"] == "error":
        return "\n".join(output["traceback"])
    if output["output_type"] == "stream":
        return str(output["text"])
    return json.dumps(output.get("data", {}))


def test_wrong_magic_lines_fail_in_one_line_and_keep_the_handle(kernel_home: Path, tmp_path: Path) -> None:
    sources = SETUP + [source for source, _ in WRONG] + AFTER
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = run_notebook(nb, tmp_path / "wrong-input.ipynb")
    saved = nbformat.read(path, as_version=4)
    cells = saved.cells
    for setup in cells[: len(SETUP)]:
        assert not [o for o in setup.outputs if o["output_type"] == "error"], setup.outputs

    for code, (source, expected) in zip(cells[len(SETUP) : len(SETUP) + len(WRONG)], WRONG, strict=True):
        errors = [o for o in code.outputs if o["output_type"] == "error"]
        assert len(errors) == 1, (source, code.outputs)
        text = _shown(errors[0])
        assert expected in text, (source, text)
        assert not FRAME.search(text), f"{source!r} showed a traceback:\n{text}"
        assert len(errors[0]["traceback"]) <= 3, (source, errors[0]["traceback"])
        first = errors[0]["traceback"][0]
        assert first.startswith(f"{errors[0]['ename']}: "), first
        if errors[0]["ename"] == "UsageError":
            assert "%alien_postgres" in text  # the usage line or the list of subcommands
        else:
            assert any(line.startswith("What to do: ") for line in errors[0]["traceback"]), text

    one, names, _stopped = cells[-len(AFTER) :]
    assert "1" in _shown(one.outputs[0]), "the working handle stopped answering"
    assert "(False, False)" in _shown(names.outputs[0]), "a refused start still bound a variable"
    assert not (kernel_home / "postgres" / "x").exists(), "a refused start created the database"

    password = password_of(kernel_home, "wrong-input")
    raw = path.read_bytes()
    assert not any(form in raw for form in secret_spellings(password)), "the password is in the notebook"
