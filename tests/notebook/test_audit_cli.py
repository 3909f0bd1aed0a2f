"""``alien-nb audit`` and ``%alien_postgres audit`` in fresh processes: they know every local
database's password (a real one, started here), cloud ones on request, and say where, never what."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from alien_nb.local import LocalPostgresManager
from alien_nb.testing import MotoServer
from tests.adversarial.scrub_kit import run
from tests.local.conftest import stop_everything

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def leaky_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    home = tmp_path_factory.mktemp("audit") / "home"
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    try:
        binding = manager.start("leaky")
        manager.stop("leaky")  # the audit reads metadata; no server needs to run
        # A database folder whose metadata cannot be read must not stop the audit.
        (home / "postgres" / "broken" / "metadata.json").mkdir(parents=True)
        yield home, binding.password.get_secret_value()
    finally:
        stop_everything(home)


def leaked_notebooks(folder: Path, password: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("notes"),
        nbformat.v4.new_code_cell("pw[:12]", outputs=[
            nbformat.v4.new_output("execute_result", {"text/plain": repr(password[:12])}, execution_count=1)]),
        nbformat.v4.new_code_cell("pw.encode().hex()", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text=password.encode().hex())]),
    ])  # fmt: skip
    (folder / "sub").mkdir(exist_ok=True)
    nbformat.write(nb, folder / "sub" / "leak.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), folder / "clean.ipynb")
    return folder


def audit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ALIEN_", "AWS_"))}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "alien_nb.cli", *args], capture_output=True, text=True,
                          timeout=120, env=environ, check=False)  # fmt: skip


def assert_no_piece(text: str, password: str) -> None:
    assert not any(password[i : i + 5] in text for i in range(len(password) - 4)), "a piece of the password"


def test_a_fresh_process_knows_local_passwords(leaky_home: tuple[Path, str], tmp_path: Path) -> None:
    home, password = leaky_home
    folder = leaked_notebooks(tmp_path / "repo", password)
    done = audit("--home", str(home), "audit", str(folder))
    assert done.returncode == 1, done.stderr
    leak = folder / "sub" / "leak.ipynb"
    assert done.stdout.splitlines() == [
        f"{leak}: cells[1].outputs[0].data.text/plain: secret",
        f"{leak}: cells[2].outputs[0].text: secret",
    ]
    assert "broken: metadata.json not readable" in done.stderr and "2 finding(s) in 1" in done.stderr
    assert_no_piece(done.stdout + done.stderr, password)
    # Without the home, the same process knows nothing and cannot find it: the home is what teaches it.
    assert audit("--home", str(tmp_path / "empty"), "audit", str(folder)).returncode == 0


def test_json_and_exit_statuses(leaky_home: tuple[Path, str], tmp_path: Path) -> None:
    home, password = leaky_home
    folder = leaked_notebooks(tmp_path / "repo", password)
    (folder / "bad.ipynb").write_text("{ not a notebook")
    done = audit("--home", str(home), "audit", "--json", str(folder))
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["clean"] is False
    assert data["unreadable"] == [{"path": str(folder / "bad.ipynb"), "reason": "not JSON"}]
    by_path = {n["path"]: n for n in data["notebooks"]}
    assert by_path[str(folder / "clean.ipynb")]["clean"] is True
    assert len(by_path[str(folder / "sub" / "leak.ipynb")]["findings"]) == 2
    assert_no_piece(done.stdout + done.stderr, password)
    only_bad = audit("--home", str(home), "audit", str(folder / "bad.ipynb"), str(folder / "missing.ipynb"))
    assert only_bad.returncode == 3 and "missing.ipynb: cannot audit: no such file" in only_bad.stderr
    assert audit("--home", str(home), "audit", str(folder / "clean.ipynb")).returncode == 0


def test_the_magic_uses_the_same_engine_in_a_fresh_kernel(
    leaky_home: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, password = leaky_home
    folder = leaked_notebooks(tmp_path / "repo", password)
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    cells = ["%load_ext alien_nb", f"report = %alien_postgres audit {folder / 'sub' / 'leak.ipynb'}\nreport",
             "print(report.clean, len(report.findings))"]  # fmt: skip
    _client, path = run(cells, tmp_path / "magic.ipynb")
    text = path.read_text()
    assert "False 2" in text and "cells[2].outputs[0].text: secret" in text
    assert_no_piece(text, password)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


def test_cloud_passwords_on_request(moto: MotoServer, tmp_path: Path) -> None:
    password = "Cl0ud-Secret-" + os.urandom(6).hex()
    arn = moto.client("secretsmanager").create_secret(Name="audit-prod", SecretString=password)["ARN"]
    binding: dict[str, Any] = {"service": "aurora", "clusterEndpoint": "prod.cluster-abc.us-east-1.rds.amazonaws.com",
                               "port": 5432, "database": "app", "username": "app", "passwordSecretArn": arn}  # fmt: skip
    env = {**moto.environ(), "ALIEN_PROD_BINDING": json.dumps(binding), "ALIEN_NB_HOME": str(tmp_path / "h")}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=f"connecting with {password}\n")])])  # fmt: skip
    nbformat.write(nb, tmp_path / "cloud.ipynb")
    assert audit("audit", str(tmp_path), env=env).returncode == 0  # the secret store is not asked by default
    done = audit("audit", "--cloud", str(tmp_path), env=env)
    assert done.returncode == 1, done.stderr
    assert done.stdout.strip() == f"{tmp_path / 'cloud.ipynb'}: cells[0].outputs[0].text: secret"
    assert_no_piece(done.stdout + done.stderr, password.split("-")[-1])
    broken = {**env, "ALIEN_BAD_BINDING": '{"service": "aurora"}'}
    done = audit("audit", "--cloud", str(tmp_path), env=broken)
    assert done.returncode == 1 and "ALIEN_BAD_BINDING: BindingConfigInvalid" in done.stderr


def test_pre_commit_hook() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "alien-nb-audit"]
    assert hook["language"] == "python" and hook["types"] == ["jupyter"]
    assert hook["entry"] == "alien-nb audit"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'alien-nb = "alien_nb.cli:main"' in pyproject  # the entry's console script


def test_planted_fifo_or_symlink_metadata_neither_hangs_nor_redirects(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "postgres" / "fifo").mkdir(parents=True)
    os.mkfifo(home / "postgres" / "fifo" / "metadata.json")  # no writer: a plain open() would block forever
    (home / "postgres" / "link").mkdir()
    target = tmp_path / "elsewhere.json"
    target.write_text('{"password": "NotTheRealOneButRead123"}')
    (home / "postgres" / "link" / "metadata.json").symlink_to(target)
    folder = leaked_notebooks(tmp_path / "repo", "NotTheRealOneButRead123")
    done = audit("--home", str(home), "audit", str(folder), "--json")
    assert done.returncode == 0, done.stderr  # the symlinked file was not followed, so nothing is "known"
    notes = json.loads(done.stdout)["notes"]
    assert any(n.startswith("fifo: ") for n in notes) and any(n.startswith("link: ") for n in notes)
