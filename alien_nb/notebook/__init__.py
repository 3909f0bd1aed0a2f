"""The IPython layer: magics, widgets and display. The only layer that imports IPython.

``load``/``unload`` (what ``%load_ext alien_nb`` calls) import IPython when first used, so
``alien_nb.Database`` and the SQL errors can be imported (to type-annotate, to catch) without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from ._extension import load, unload

__all__ = ["load", "unload"]

__getattr__, __dir__ = _lazy_exports(__name__, {"load": "._extension", "unload": "._extension"})
