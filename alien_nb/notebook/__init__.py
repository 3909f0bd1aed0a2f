"""The IPython layer: magics, widgets and display. The only layer that imports IPython."""

from ._extension import load, unload

__all__ = ["load", "unload"]
