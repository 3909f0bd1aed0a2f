"""Keep known secrets out of what the kernel shows: tracebacks, error messages, rich output.

While the extension is loaded, every password alien_nb handled in this
kernel is masked (in every spelling `secret_forms` knows) in:

* tracebacks and the error name/value of failed cells (a custom exception
  handler, so even a driver error or ``%xmode Verbose`` frame values are clean);
* everything the display formatter renders (repr, HTML, Markdown, JSON);
* text written to the kernel's stdout and stderr.
"""

from __future__ import annotations

import sys
from typing import Any

from ..core import Redactor


class Scrubber:
    def __init__(self, shell: Any, redactor: Redactor) -> None:
        self.shell = shell
        self.redactor = redactor
        self._original_format: Any = None
        self._streams: list[tuple[Any, Any]] = []

    def install(self) -> None:
        self.shell.set_custom_exc((BaseException,), self._handle_exception)
        formatter = self.shell.display_formatter
        self._original_format = formatter.format
        formatter.format = self._format
        # IPython re-patches stream.write around every cell (to record output
        # in history) and restores it afterwards, so wrap again before each cell.
        self.shell.events.register("pre_run_cell", self._wrap_streams)
        self._wrap_streams()

    def _wrap_streams(self, *_info: Any) -> None:
        for stream in (sys.stdout, sys.stderr):
            original = getattr(stream, "write", None)
            if original is None or getattr(original, "_alien_nb_scrubbing", False):
                continue
            try:
                stream.write = self._scrubbing_write(original)  # type: ignore[method-assign]
            except (AttributeError, TypeError):
                continue  # a stream whose write cannot be replaced is left as it is
            self._streams.append((stream, original))

    def uninstall(self) -> None:
        self.shell.set_custom_exc((), None)
        try:
            self.shell.events.unregister("pre_run_cell", self._wrap_streams)
        except ValueError:
            pass
        if self._original_format is not None:
            self.shell.display_formatter.format = self._original_format
            self._original_format = None
        for stream, original in reversed(self._streams):
            if not getattr(getattr(stream, "write", None), "_alien_nb_scrubbing", False):
                continue  # already replaced by IPython; ours is gone
            try:
                stream.write = original
            except (AttributeError, TypeError):
                pass
        self._streams = []

    def _scrubbing_write(self, write: Any) -> Any:
        redact = self.redactor.redact

        def scrubbed_write(text: Any, *args: Any, **kwargs: Any) -> Any:
            return write(
                redact(text) if isinstance(text, str) and len(self.redactor) else text, *args, **kwargs
            )

        scrubbed_write._alien_nb_scrubbing = True  # type: ignore[attr-defined]
        return scrubbed_write

    # -- tracebacks ---------------------------------------------------------

    def _handle_exception(
        self, shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
    ) -> Any:
        render = getattr(value, "_render_traceback_", None)
        if render is not None:
            try:
                stb = render()
            except Exception:
                stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        else:
            stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        clean = [self.redactor.redact(line) for line in stb]
        self._scrub_exception(value)
        shell._showtraceback(etype, self.redactor.redact(str(value)), clean)
        return clean

    def _scrub_exception(self, value: BaseException) -> None:
        # ipykernel puts str(error) into the execute reply; mask it at the source.
        seen: set[int] = set()
        current: BaseException | None = value
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            try:
                current.args = tuple(
                    self.redactor.redact(a) if isinstance(a, str) else a for a in current.args
                )
            except (AttributeError, TypeError):
                pass
            current = current.__cause__ or current.__context__

    # -- rich output ----------------------------------------------------------

    def _format(
        self, obj: Any, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        data, metadata = self._original_format(obj, include=include, exclude=exclude)
        if len(self.redactor):
            data = {mime: self._clean(value) for mime, value in data.items()}
        return data, metadata

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redactor.redact(value)
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._clean(v) for v in value]
        return value
