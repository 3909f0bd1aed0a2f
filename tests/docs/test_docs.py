"""The documentation site builds offline, in strict mode (any warning or broken link fails)."""

from __future__ import annotations

import html as htmllib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = [
    "01-quickstart",
    "02-embeddings",
    "03-cloud-attach",
    "04-panel",
    "05-secrets",
]

pytestmark = pytest.mark.skipif(
    any(
        importlib.util.find_spec(module) is None
        for module in ("mkdocs", "material", "mkdocs_jupyter", "mkdocstrings", "mkdocstrings_handlers.python")
    ),
    reason="the docs toolchain is not installed: pip install mkdocs mkdocs-material mkdocs-jupyter "
    "'mkdocstrings[python]'",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",  # mkdocs-material's banner about MkDocs 2.0
        "PYTHONWARNINGS": "default",  # pytest's filterwarnings=error does not reach the subprocess
    }
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert "WARNING" not in done.stderr, done.stderr
    return site_dir


def text(site: Path, page: str) -> str:
    path = site / page / "index.html"
    assert path.is_file(), f"{page} was not built"
    return path.read_text(encoding="utf-8")


def plain(html: str) -> str:
    """The page's text, without tags (code is split into highlighted spans)."""
    return htmllib.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorials_are_rendered_with_their_outputs(site: Path, name: str) -> None:
    html = text(site, f"notebooks/{name}")
    assert "jp-Notebook" in html or "jupyter-wrapper" in html, "not rendered by mkdocs-jupyter"
    assert "jp-OutputArea" in html, "no stored outputs were rendered"


def test_home_page_has_the_quick_start(site: Path) -> None:
    home = plain(text(site, ""))
    assert 'pip install -e ".[test]"\nalien-nb demo' in home
    assert "pytest" in home


def test_magics_reference_is_generated_from_the_parsers(site: Path) -> None:
    html = plain(text(site, "reference/magics"))
    for needle in (
        "--backend",
        "--plan",
        "--binding-env",
        "%%alien_postgres",
        "--autocommit",
        "display_limit",
    ):
        assert needle in html, needle
    assert "%%alien_postgres start" not in html, "line-magic usage shown with the cell prefix"


def test_cli_reference_lists_every_subcommand(site: Path) -> None:
    from alien_nb.cli import build_parser

    html = plain(text(site, "reference/cli"))
    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    assert subcommands is not None
    for name in subcommands:
        assert f"alien-nb {name}" in html, name
    assert "--show-password" in html


def test_api_reference(site: Path) -> None:
    top = text(site, "reference/api/alien_nb")
    assert 'id="alien_nb.get_postgres_connection"' in top
    assert 'id="alien_nb.CloudSettings"' in top
    assert 'id="alien_nb.vector.sweep"' in text(site, "reference/api/vector")
    assert 'id="alien_nb.testing.MotoServer"' in text(site, "reference/api/testing")
    assert 'id="alien_nb.controllers.Plan"' in text(site, "reference/api/controllers")
    assert 'id="alien_nb.resolver.set_default_settings"' in text(site, "reference/api/resolver")
    assert 'id="alien_nb.core.Redactor"' in text(site, "reference/api/core")


def test_guides_are_built(site: Path) -> None:
    for page in ("local", "sql", "embeddings", "cloud", "secrets", "troubleshooting"):
        text(site, f"guides/{page}")
    assert "RDS-managed" in plain(text(site, "guides/cloud"))
    assert "upstream" in plain(text(site, "contract"))
