"""Review of issue 11, section 1: the URL alien_nb hands out carries no SCRAM requirement.

README's contract example connects with ``alien_nb.connection_string(binding).get_secret_value()``,
``alien-nb url NAME --show-password`` prints the same URL, and a worker started by
``alien-nb run`` builds it from its binding. The URL says ``sslmode=disable`` and nothing about
authentication, so libpq (psycopg, SQLAlchemy, pandas) answers an impostor's cleartext request
on the database's port with the password: the issue's own attack, through the public API.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

import alien_nb
from alien_nb.local import LocalPostgresManager
from tests.adversarial.impostor import Impostor
from tests.local.conftest import stop_everything


def test_the_handed_out_url_never_sends_the_password_to_an_impostor(tmp_path: Path) -> None:
    home = tmp_path / "home"
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    try:
        binding = manager.start("handed")
        manager.stop("handed")  # the port is free: anyone on the machine may take it
        url = alien_nb.connection_string(binding).get_secret_value()
        with Impostor(binding.port, method="cleartext") as fake, pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=5)
        fake.assert_never_saw(binding.inline_password.get_secret_value(), user=binding.username)
    finally:
        stop_everything(home)
