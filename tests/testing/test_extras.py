"""alien_nb.testing on a plain install: it imports, and what needs the `emulators` extra says so."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A plain `pip install alien-nb`: none of the emulators' or the cloud extras' packages.
BLOCKER = """
import importlib.abc, sys

class Missing(importlib.abc.MetaPathFinder):
    BLOCKED = {"cryptography", "moto", "boto3", "botocore", "google", "azure"}

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Missing())
"""


def _plain_install(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_package_imports_and_what_needs_nothing_works() -> None:
    out = _plain_install(
        """
        import json, urllib.request
        import alien_nb.testing as testing
        for name in testing.__all__:
            getattr(testing, name)
        with testing.FakeGcp() as gcp:  # plain HTTP: no extra needed
            gcp.set_secret("pg", "value")
            with urllib.request.urlopen(f"{gcp.url}/v1/projects/{gcp.project}/secrets/pg/versions/latest:access") as r:
                print(r.status)
        print(sorted(m for m in sys.modules if m.partition(".")[0] in Missing.BLOCKED))
        """
    )
    assert out.split() == ["200", "[]"]


@pytest.mark.parametrize(
    ("code", "package"),
    [
        ("testing.TestCertificateAuthority()", "cryptography"),
        ("testing.FakeAzure()", "cryptography"),
        ("testing.MotoServer().start()", "moto[server]"),
    ],
)
def test_an_emulator_needing_the_extra_says_how_to_install_it(code: str, package: str) -> None:
    out = _plain_install(
        f"""
        import alien_nb.testing as testing
        from alien_nb import MissingExtra
        try:
            {code}
        except MissingExtra as exc:
            print(exc.extra, exc.module, exc.hint, sep="|")
        """
    )
    assert out.strip() == f"emulators|{package}|pip install 'alien-nb[emulators]'"


def test_the_client_helpers_name_their_cloud_extra() -> None:
    out = _plain_install(
        """
        import alien_nb.testing as testing
        from alien_nb import MissingExtra
        with testing.FakeGcp() as gcp:
            try:
                gcp.secret_manager_client()
            except MissingExtra as exc:
                print(exc.hint)
        try:
            testing.StubCredential().get_token("https://vault.azure.net/.default")
        except MissingExtra as exc:
            print(exc.hint)
        """
    )
    assert out.splitlines() == ["pip install 'alien-nb[gcp]'", "pip install 'alien-nb[azure]'"]


def test_the_extras_are_declared() -> None:
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {spec.split(">")[0].split("[")[0] for spec in extras["emulators"]}
    assert names == {"moto", "cryptography"}
    assert any("emulators" in spec for spec in extras["test"])
