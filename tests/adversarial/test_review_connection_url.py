"""Section 1 through the public API: the URLs alien_nb hands to other programs.

The contract's connection string (`alien_nb.connection_string`, a worker's binding) is the wire
format shared with Alien workloads and carries no authentication requirement, so a libpq client
given only it answers an impostor's cleartext request: a documented limit (README, Secrets).
What alien_nb hands out for pasting into other clients (`alien-nb url --show-password`,
`ConnectionDetails.libpq_uri()`) and what it connects with itself adds
``require_auth=scram-sha-256``, and reaches nothing but the database's own server.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import alien_nb
from alien_nb.core import LocalPostgresBinding
from alien_nb.local import LocalPostgresManager
from alien_nb.resolver._connection import resolve_inline
from tests.adversarial.impostor import Impostor
from tests.local.conftest import stop_everything


@pytest.fixture
def stopped(tmp_path: Path) -> Iterator[tuple[Path, LocalPostgresBinding]]:
    home = tmp_path / "home"
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    try:
        binding = manager.start("handed")
        manager.stop("handed")  # the port is free: anyone on the machine may take it
        yield home, binding
    finally:
        stop_everything(home)


@pytest.mark.parametrize("method", ["cleartext", "md5", "trust"])
def test_the_urls_alien_nb_hands_out_never_reach_an_impostor(
    stopped: tuple[Path, LocalPostgresBinding], method: str
) -> None:
    home, binding = stopped
    printed = subprocess.run(
        [sys.executable, "-m", "alien_nb.cli", "--home", str(home), "url", "handed", "--show-password"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    uris = [printed, resolve_inline(binding).libpq_uri().get_secret_value()]
    assert all(uri.endswith("&require_auth=scram-sha-256") for uri in uris)
    with Impostor(binding.port, method=method) as fake:
        for uri in uris:
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(uri, connect_timeout=5)
        with pytest.raises(alien_nb.ConnectionFailed):
            alien_nb.resolver.Resolver().resolve(binding).connect()
    assert fake.connections >= 3  # they did knock, and went no further
    assert binding.inline_password is not None
    fake.assert_never_saw(binding.inline_password.get_secret_value(), user=binding.username)


def test_control_the_bare_contract_url_is_the_documented_limit(
    stopped: tuple[Path, LocalPostgresBinding],
) -> None:
    _home, binding = stopped
    url = alien_nb.connection_string(binding).get_secret_value()
    assert "require_auth" not in url  # the contract's exact wire form
    with Impostor(binding.port, method="cleartext") as fake, pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)
    assert fake.password_messages  # so the README says: give other clients libpq_uri(), not this
