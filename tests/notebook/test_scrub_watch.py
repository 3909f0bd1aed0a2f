"""`LocalWatch`: databases that appear under the home after ``%load_ext`` are learnt at the next poll.

The kernel path (``!alien-nb start`` in a cell) is tests/adversarial/test_review_scrub_late.py.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from pathlib import Path

import pytest

from alien_nb.core import known_redactor
from alien_nb.notebook._known import LocalWatch


def _password() -> str:
    return secrets.token_urlsafe(18)


def _write(home: Path, name: str, password: str) -> None:
    # As the manager writes it: a complete temporary file renamed into place.
    folder = home / "postgres" / name
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".metadata.json.x.tmp"
    tmp.write_text(json.dumps({"password": password}))
    os.replace(tmp, folder / "metadata.json")


def test_new_and_rewritten_databases_are_learnt_at_the_next_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIEN_NB_HOME", str(tmp_path / "home"))
    watch = LocalWatch()
    watch.poll()  # no home yet: nothing, no error
    first, second, rotated = _password(), _password(), _password()
    _write(tmp_path / "home", "first", first)
    watch.poll()
    assert known_redactor().contains_secret(first)
    (tmp_path / "home" / "postgres" / "second").mkdir()  # a folder before its metadata
    watch.poll()
    _write(tmp_path / "home", "second", second)
    watch.poll()
    assert known_redactor().contains_secret(second)
    _write(tmp_path / "home", "first", rotated)
    watch.poll()
    assert known_redactor().contains_secret(rotated)


def test_a_home_changed_with_env_is_watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIEN_NB_HOME", str(tmp_path / "a"))
    watch = LocalWatch()
    watch.poll()
    password = _password()
    _write(tmp_path / "b", "late", password)
    monkeypatch.setenv("ALIEN_NB_HOME", str(tmp_path / "b"))
    watch.poll()
    assert known_redactor().contains_secret(password)


def test_a_fifo_or_a_symlink_as_metadata_neither_hangs_nor_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    (home / "postgres" / "fifo").mkdir(parents=True)
    os.mkfifo(home / "postgres" / "fifo" / "metadata.json")
    elsewhere = _password()
    (tmp_path / "planted.json").write_text(json.dumps({"password": elsewhere}))
    (home / "postgres" / "link").mkdir()
    (home / "postgres" / "link" / "metadata.json").symlink_to(tmp_path / "planted.json")
    (home / "postgres" / "file-not-folder").write_text("x")
    done = threading.Event()

    def poll() -> None:
        LocalWatch().poll()
        done.set()

    threading.Thread(target=poll, daemon=True).start()
    assert done.wait(30), "the poll blocked on a FIFO"
    assert not known_redactor().contains_secret(elsewhere)
