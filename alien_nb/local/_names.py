"""Database names: which are allowed, and which databases exist under a home.

"Which databases exist" is answered here alone, for the listing, the monitor, the
command line and the notebook alike: a database is its folder.
"""

from __future__ import annotations

from pathlib import Path

from ..core import InvalidResource, Postgres

#: Names Postgres already has: template0 takes no connections, and a database
#: of alien_nb's own in template1 would be copied into every later database.
RESERVED_NAMES = ("template0", "template1")


def check_name(id: object, version: object) -> None:
    """Raise `InvalidResource` for a name (or major version) a local database cannot have."""
    name_hint = "Name it with letters, digits, '-' or '_', as a string (for example 'vec-db')."
    if not isinstance(id, str):
        raise InvalidResource(f"the database name must be a string, not {type(id).__name__}", hint=name_hint)
    if id in RESERVED_NAMES:
        raise InvalidResource(
            f"the database name {id!r} is reserved by PostgreSQL",
            hint="Pick another name, for example vec-db.",
        )
    try:
        Postgres.parse({"id": id})
    except InvalidResource as exc:
        raise InvalidResource(exc.reason.replace("`id`", "the database name"), hint=name_hint) from None
    if version is None:
        return
    version_hint = 'Give the major version as a string, for example version="18", or leave it out.'
    if not isinstance(version, str):
        raise InvalidResource(
            f"the version must be a string like '18', not {type(version).__name__}", hint=version_hint
        )
    try:
        Postgres.parse({"id": id, "version": version})
    except InvalidResource as exc:
        raise InvalidResource(exc.reason.replace("`version`", "the version"), hint=version_hint) from None


def valid_name(name: str) -> bool:
    """A folder under ``postgres/`` alien_nb could have made (others are not listed)."""
    try:
        check_name(name, None)
    except InvalidResource:
        return False
    return True


def database_names(home: Path) -> list[str]:
    """The local databases under ``home``, by name: every folder under ``postgres/`` with a name
    alien_nb allows. A folder counts even when a killed start left it without metadata or data:
    `list` then reports it failed and ``delete`` removes it, so nothing is ever hidden. A home
    without a postgres folder holds none; one that cannot be read raises `OSError`."""
    root = home / "postgres"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if valid_name(p.name) and p.is_dir())
