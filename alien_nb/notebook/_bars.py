"""Progress bars in a notebook that say, once the work is over, what happened, also when reopened.

A tqdm widget is shown with the text it had when it first appeared ("0%"): that text is what a
saved notebook keeps, and what a reopened one shows where the widget's state was not saved (the
default in JupyterLab). Each bar here is shown through a display handle, and its output is
replaced when the bar closes by the same widget with the final text: full and green
("100% 40,000/40,000 rows") when the work succeeded, red where it stopped when it failed. The bar
is left in place, so the cell says what it did.
"""

from __future__ import annotations

from typing import Any

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def notebook_bar_factory(shell: Any) -> Any:
    """The factory `alien_nb.core._progress.set_bar_factory` takes: a `SavedBar` inside a kernel
    with a frontend, None elsewhere (terminal IPython draws text bars)."""

    def make(**options: Any) -> Any:
        if getattr(shell, "kernel", None) is None:
            return None
        try:
            return _saved_bar_class()(**options)
        except ImportError:  # no ipywidgets: tqdm's text bar instead
            return None

    return make


_CLASS: Any = None


def _saved_bar_class() -> Any:
    global _CLASS
    if _CLASS is None:
        _CLASS = _define()
    return _CLASS


def _define() -> Any:
    from IPython.display import display
    from tqdm.notebook import tqdm as notebook_tqdm

    class SavedBar(notebook_tqdm):
        def __init__(self, **options: Any) -> None:
            self._handle: Any = None
            super().__init__(leave=True, display=False, **options)

        def display(
            self,
            msg: str | None = None,
            pos: int | None = None,
            close: bool = False,
            bar_style: str | None = None,
            check_delay: bool = True,
        ) -> None:
            if check_delay and not getattr(self, "displayed", True):
                # tqdm would display() the widget itself; a handle lets close() replace it.
                self._handle = display(self.container, display_id=True)
                self.displayed = True
            super().display(msg, pos, close, bar_style, check_delay)

        def close(self) -> None:
            if self.disable:
                return
            super().close()
            if self._handle is not None and self.container is not None:
                view = {"version_major": 2, "version_minor": 0, "model_id": self.container.model_id}
                self._handle.update({_WIDGET_VIEW: view, "text/plain": str(self)}, raw=True)
                self._handle = None

    return SavedBar
