"""CA roots for TLS to managed Postgres, as files libpq can read.

AWS RDS and Azure roots ship inside the package (``roots/``); Cloud SQL
roots are per instance and travel in the binding. libpq reads roots only
from a file, so PEM text from a binding is written once per process to a
private temporary file named by its hash (certificates are public; the file
only has to exist).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import tempfile
import threading
from importlib import resources
from pathlib import Path

from ..core._backends import AURORA, FLEXIBLE_SERVER

#: The shipped roots per binding service.
PROVIDER_ROOTS = {
    AURORA: "aws-rds-global-bundle.pem",
    FLEXIBLE_SERVER: "azure-postgres-roots.pem",
}

_lock = threading.Lock()
_directory: Path | None = None


@functools.cache
def provider_roots_pem(service: str) -> str | None:
    """The shipped PEM bundle for ``service``, or None if it has none."""
    name = PROVIDER_ROOTS.get(service)
    if name is None:
        return None
    return resources.files(__package__).joinpath("roots").joinpath(name).read_text(encoding="ascii")


def roots_file(pems: tuple[str, ...]) -> str:
    """A path to a file holding ``pems`` (written once per process and content)."""
    text = "\n".join(pem.strip() for pem in pems) + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    with _lock:
        path = _private_directory() / f"{digest}.pem"
        if not path.exists():
            staging = path.with_suffix(f".{os.getpid()}.tmp")
            staging.write_text(text, encoding="ascii")
            staging.replace(path)
    return str(path)


def _private_directory() -> Path:
    global _directory
    if _directory is None or not _directory.is_dir():
        _directory = Path(tempfile.mkdtemp(prefix="alien-nb-roots-"))
        atexit.register(shutil.rmtree, _directory, True)
    return _directory
