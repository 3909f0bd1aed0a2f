"""``%load_ext alien_nb``: register the magics and the secret scrubber."""

from __future__ import annotations

from typing import Any

from ..core._progress import set_bar_factory, set_watch_policy
from ..core._redact import known_redactor
from ._bars import notebook_bar_factory
from ._known import LocalWatch, remember_env_passwords
from ._magics import AlienPostgresMagics, register
from ._scrub import Scrubber

_LOADED: dict[int, tuple[AlienPostgresMagics, Scrubber]] = {}


def load(shell: Any) -> AlienPostgresMagics:
    if id(shell) in _LOADED:
        return _LOADED[id(shell)][0]
    # The process-wide registry: passwords handled before the extension was
    # loaded (the public API, a binding in the environment) are masked too.
    redactor = known_redactor()
    # A few small JSON reads: a password read straight from a database's
    # metadata.json in this kernel is masked even before that database is used;
    # the watch then learns the databases made later, before any output leaves.
    watch = LocalWatch()
    watch.poll()
    remember_env_passwords()  # a binding a worker or `alien-nb run` put in this kernel's environment
    magics = register(shell, redactor)
    scrubber = Scrubber(shell, redactor, watch)
    scrubber.install()
    set_watch_policy(lambda: _frontend_watches(shell))
    set_bar_factory(notebook_bar_factory(shell))
    _LOADED[id(shell)] = (magics, scrubber)
    return magics


def unload(shell: Any) -> None:
    entry = _LOADED.pop(id(shell), None)
    if entry is None:
        return
    magics, scrubber = entry
    set_watch_policy(None)
    set_bar_factory(None)
    scrubber.uninstall()
    magics.close()
    if magics in shell.configurables:
        shell.configurables.remove(magics)


def _frontend_watches(shell: Any) -> bool | None:
    """Is a person at this kernel's frontend? Unattended executors (nbclient, nbval, papermill)
    send every cell with allow_stdin off, as no one could answer input(); Jupyter's own
    frontends allow it. Outside a kernel (terminal IPython) the terminal test decides."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return None
    return bool(getattr(kernel, "_allow_stdin", True))
