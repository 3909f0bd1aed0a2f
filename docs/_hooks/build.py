"""MkDocs hook: pages made at build time, never written into the repository.

* ``notebooks/NN-*.ipynb``: the tutorials, rendered by mkdocs-jupyter with their stored
  outputs. mkdocs only collects ``docs/``, so they are added as files whose source folder is
  the repository root (same relative path, read in place; nothing is copied).
* ``reference/magics.md``: the ``%alien_postgres`` help, from the same ``MagicArgumentParser``
  objects that ``%alien_postgres?`` prints.
* ``reference/cli.md``: ``alien-nb --help`` and each subcommand's help, from
  ``alien_nb.cli.build_parser()``.
* ``reference/api/*.md``: one mkdocstrings page per public package, its members taken
  from the package's ``__all__`` (a name re-exported by ``alien_nb`` is documented there
  once and linked from the subpackage page).

The generated pages live in memory (``File.generated``), so a build leaves no files behind.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"

#: Help text is wrapped at this width, whatever the terminal running the build.
HELP_COLUMNS = "80"

#: The API reference: page name -> package (its docstring opens the page).
API_PAGES: dict[str, str] = {
    "alien_nb": "alien_nb",
    "core": "alien_nb.core",
    "resolver": "alien_nb.resolver",
    "controllers": "alien_nb.controllers",
    "vector": "alien_nb.vector",
    "testing": "alien_nb.testing",
}


@contextmanager
def _help_width() -> Iterator[None]:
    """argparse wraps help at ``$COLUMNS``; pin it so the pages do not depend on the terminal."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def _text_block(text: str) -> str:
    return f"```text\n{text.rstrip()}\n```\n"


def magic_help(text: str, usage: str) -> str:
    """``format_help()`` of a `MagicArgumentParser`, as plain text starting with ``usage``.

    IPython's help formatter opens the usage with a reST ``::`` marker and its own ``%``
    before the parser's ``prog``; the page shows the usage as it is typed.
    """
    text = re.sub(r"\A\s*::\s*\n", "", text).strip("\n")
    usage_part, sep, rest = text.partition("\n\n")
    words = re.findall(r"\[[^\[\]]*\]|\S+", re.sub(r"\A\s*%+alien_postgres\b", usage, usage_part))
    # Re-wrap like argparse: arguments aligned after the command words.
    head = [w for w in words[:2] if not w.startswith(("[", "-"))]
    lines = ["usage: " + " ".join(head)]
    indent = " " * (len(lines[0]) + 1)
    for word in words[len(head) :]:
        if len(lines[-1]) + 1 + len(word) > int(HELP_COLUMNS) - 2 and lines[-1].strip() != "":
            lines.append(indent + word)
        else:
            lines[-1] += " " + word
    return "\n".join(lines) + sep + rest


def magics_page() -> str:
    from alien_nb.core import Redactor
    from alien_nb.notebook._magics import AlienPostgresMagics
    from alien_nb.notebook._parsers import cell_parser

    # No shell needed: the parsers are built in __init__, exactly as `%load_ext alien_nb` does.
    magics = AlienPostgresMagics(None, Redactor())
    with _help_width():
        sections = [
            (name, magic_help(parser.format_help(), "%alien_postgres"))
            for name, (_func, parser) in magics.commands.items()
        ]
        cell_help = magic_help(cell_parser().format_help(), "%%alien_postgres")
    lines = [
        "# Magics reference",
        "",
        "Generated at build time from the `MagicArgumentParser` of each subcommand: the same text",
        "`%alien_postgres?` shows in a notebook. Load the extension first with `%load_ext alien_nb`.",
        "",
        "| subcommand | what it does |",
        "|---|---|",
    ]
    for name, (_func, parser) in magics.commands.items():
        lines.append(f"| [`{name}`](#{name}) | {parser.description} |")
    lines += ["| [`%%alien_postgres`](#sql-cells) | run a cell as SQL |", ""]
    lines += ["## Line magic: `%alien_postgres`", ""]
    for name, help_text in sections:
        lines += [f"### `{name}` {{ #{name} }}", "", _text_block(help_text)]
    lines += [
        "## Cell magic: `%%alien_postgres` { #sql-cells }",
        "",
        "The cell body is SQL. `:name` placeholders bind the Python variable `name` as a server-side",
        "parameter (never pasted into the SQL text); several statements run in one transaction unless",
        "`--autocommit` is given. See [SQL in notebooks](../guides/sql.md).",
        "",
        _text_block(cell_help),
        "## Settings",
        "",
        "Set with `%config AlienPostgresMagics.<name> = value`.",
        "",
        "| setting | default | meaning |",
        "|---|---|---|",
    ]
    for trait_name, trait in sorted(AlienPostgresMagics.class_traits(config=True).items()):
        lines.append(f"| `{trait_name}` | `{trait.default_value!r}` | {trait.help} |")
    return "\n".join(lines) + "\n"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_page() -> str:
    from alien_nb.cli import build_parser

    with _help_width():
        parser = build_parser()
        top = parser.format_help()
        subs = {name: sub.format_help() for name, sub in _subparsers(parser).items()}
    lines = [
        "# CLI reference",
        "",
        "Generated at build time from `alien_nb.cli.build_parser()`: the same text as",
        "`alien-nb --help` and `alien-nb COMMAND --help`.",
        "",
        "## `alien-nb`",
        "",
        _text_block(top),
    ]
    for name, help_text in subs.items():
        lines += [f"## `alien-nb {name}` {{ #{name} }}", "", _text_block(help_text)]
    return "\n".join(lines) + "\n"


def _exported(package: str) -> list[str]:
    return list(importlib.import_module(package).__all__)


def api_page(page: str) -> str:
    package = API_PAGES[page]
    names = _exported(package)
    shown_elsewhere: list[str] = []
    if package != "alien_nb":
        top = set(_exported("alien_nb"))
        shown_elsewhere = [n for n in names if n in top]
        names = [n for n in names if n not in top]
    members = "\n".join(f"        - {name}" for name in names)
    lines = [f"# `{package}`", ""]
    if shown_elsewhere:
        links = ", ".join(f"[`{n}`][alien_nb.{n}]" for n in shown_elsewhere)
        lines += [
            f"Also exported here, and documented with the [`alien_nb`](alien_nb.md) names: {links}.",
            "",
        ]
    lines += [
        f"::: {package}",
        "    options:",
        "      show_root_heading: false",
        "      show_root_toc_entry: false",
        "      members:",
        members,
        "",
    ]
    return "\n".join(lines)


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


# Before mkdocs-jupyter's on_files (priority 0), so it wraps the notebooks like any other file.
@event_priority(100)
def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path in notebooks():
        # Not File.generated(abs_src_path=...): mkdocs-jupyter's wrapper recomputes the
        # source path from src_dir + src_uri, so the notebook must be a real file there.
        files.append(
            File(
                path.relative_to(ROOT).as_posix(),
                src_dir=str(ROOT),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    files.append(File.generated(config, "reference/magics.md", content=magics_page()))
    files.append(File.generated(config, "reference/cli.md", content=cli_page()))
    for page in API_PAGES:
        files.append(File.generated(config, f"reference/api/{page}.md", content=api_page(page)))
    return files


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    # The generated pages import `alien_nb` from the checkout being documented.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return config
