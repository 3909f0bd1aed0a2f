"""Arguments of the wrong type to the local manager and `alien-nb run`.

``start("x", version=18)`` (an int) means version "18"; other non-strings get a hint about the
version, not about naming. A bytes (or any non-str) name is an InvalidResource, never a raw
TypeError, in every public method. `alien-nb run NAME -- /tmp` says /tmp is a directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alien_nb.core import InvalidResource
from alien_nb.local import LocalPostgresManager
from tests.local.conftest import Notices
from tests.local.test_cli import cli


@pytest.fixture
def manager(home: Path, notices: Notices) -> LocalPostgresManager:
    return LocalPostgresManager(home, notify=notices, monitor=False)


def test_an_int_version_means_that_major_version(manager: LocalPostgresManager) -> None:
    binding = manager.start("intver", version=18)
    assert manager.status("intver").version == "18" and binding.database == "intver"
    manager.start("intver", version=18)  # the same version again, as an int: no "cannot change"
    manager.stop("intver")


@pytest.mark.parametrize("version", [18.0, True, b"18", ["18"], "eighteen", "18.1"])
def test_a_bad_version_gets_a_hint_about_the_version(
    manager: LocalPostgresManager, home: Path, version: Any
) -> None:
    with pytest.raises(InvalidResource) as caught:
        manager.start("badver", version=version)
    assert "version" in caught.value.reason
    assert caught.value.hint and 'version="18"' in caught.value.hint
    assert "Name it" not in caught.value.hint
    assert not (home / "postgres" / "badver").exists()


@pytest.mark.parametrize("name", [b"x", 7, None, ["x"], Path("x")])
@pytest.mark.parametrize("method", ["start", "stop", "delete", "status", "binding", "worker_env", "log_path"])
def test_a_name_that_is_not_a_string_is_invalid_resource(
    manager: LocalPostgresManager, home: Path, name: Any, method: str
) -> None:
    with pytest.raises(InvalidResource) as caught:
        getattr(manager, method)(name)
    assert "must be a string" in caught.value.reason and caught.value.hint
    assert not (home / "postgres").exists() or not any((home / "postgres").iterdir())


def test_run_with_a_directory_as_the_command_says_so(home: Path, tmp_path: Path) -> None:
    done = cli(home, "run", "rundir", "--create", "--", str(tmp_path), check=False)
    assert done.returncode == 1
    assert "is a directory" in done.stderr and "Command not found" not in done.stderr
    assert "Traceback" not in done.stderr
    assert not (home / "postgres" / "rundir").exists(), "a database was created for a command that cannot run"


def test_run_with_a_file_that_is_not_executable_says_so(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text("print('hi')\n")
    done = cli(home, "run", "runfile", "--create", "--", str(script), check=False)
    assert done.returncode == 1 and "is not executable" in done.stderr and "chmod +x" in done.stderr
