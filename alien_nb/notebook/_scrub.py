"""Keep known secrets out of everything the kernel sends: outputs, widget state, replies.

While the extension is loaded, every password alien_nb handled in this
process (`known_redactor`) is masked, in every spelling `secret_forms` knows
and in runs of 8+ characters, in:

* every message the kernel sends (ipykernel): the kernel's one `Session.send`
  is wrapped, so each string in the content and metadata, and each binary
  buffer, is scrubbed on its way out: streams (from any thread, at any time,
  fd-level writes captured by ipykernel included), ``display`` (``raw=True``
  too), ``publish_display_data``, display updates, comm (widget) messages,
  execute replies;
* tracebacks of failed cells (a custom exception handler, so the exception's
  args are clean for ``sys.last_value`` too, and ``%xmode Verbose`` frame values);
* without a kernel (terminal IPython): the display formatter and the
  ``sys.stdout`` / ``sys.stderr`` writes, which is what reaches the screen there.

Before each of these, `LocalWatch.poll` learns the password of any local
database created under ``$ALIEN_NB_HOME`` since (``!alien-nb start`` in a
cell, a terminal beside the notebook), so its output is masked too.

Where it ends: a transformed password (reversed, spaced out, upper-cased,
drawn in an image's pixels, compressed) is not recognised; a password written
a character per flush shows its first 7 characters before the run is
recognised; ipykernel echoes fd-level writes (``os.write(1, ...)``,
``sys.__stdout__``, child processes) unmasked to the kernel's own terminal
(the Jupyter server's log), while their iopub copy is masked; what was sent
before the extension was loaded, or after it is unloaded, is not touched; a
database under another home (``alien-nb --home DIR start``) is not watched.
A widget whose masked value comes back from the frontend holds the mask.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from ..core._redact import Redactor, mask_spans
from ._known import LocalWatch

# How much of each stream's recent text is kept to find a password written in
# pieces (one character per flush): longer than any password form.
_TAIL = 512


class Scrubber:
    def __init__(self, shell: Any, redactor: Redactor, watch: LocalWatch | None = None) -> None:
        self.shell = shell
        self.redactor = redactor
        # A database another process creates later (`!alien-nb start` in a cell)
        # is learnt before the next message leaves: see `LocalWatch.poll`.
        self._learn = watch.poll if watch is not None else lambda: None
        self._original_format: Any = None
        self._streams: list[tuple[Any, Any]] = []
        self._session: Any = None
        self._original_send: Any = None
        self._tails: dict[str, str] = {}
        self._tails_lock = threading.Lock()

    def install(self) -> None:
        self.shell.set_custom_exc((BaseException,), self._handle_exception)
        if self._wrap_session():
            return  # every output leaves through the session: one mechanism for all
        formatter = self.shell.display_formatter
        self._original_format = formatter.format
        formatter.format = self._format
        # IPython re-patches stream.write around every cell (to record output
        # in history) and restores it afterwards, so wrap again before each cell.
        self.shell.events.register("pre_run_cell", self._wrap_streams)
        self._wrap_streams()

    def uninstall(self) -> None:
        self.shell.set_custom_exc((), None)
        if self._session is not None:
            if getattr(self._session.send, "_alien_nb_scrubbing", False):
                self._session.send = self._original_send
            self._session = self._original_send = None
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

    # -- the kernel's outgoing messages ---------------------------------------------

    def _wrap_session(self) -> bool:
        session = getattr(getattr(self.shell, "kernel", None), "session", None)
        send = getattr(session, "send", None)
        if session is None or send is None:
            return False
        if getattr(send, "_alien_nb_scrubbing", False):
            self._session = session
            return True
        redactor = self.redactor

        def scrubbed_send(
            stream: Any,
            msg_or_type: Any,
            content: Any = None,
            parent: Any = None,
            ident: Any = None,
            buffers: Any = None,
            track: bool = False,
            header: Any = None,
            metadata: Any = None,
        ) -> Any:
            self._learn()
            if len(redactor):
                if isinstance(msg_or_type, dict):  # a message built by the caller (streams, displays)
                    built = dict(msg_or_type)
                    head = built.get("header")
                    kind = built.get("msg_type") or (head.get("msg_type") if isinstance(head, dict) else None)
                    if "content" in built:
                        built["content"] = self._content(kind, built["content"])
                    for key in ("metadata", "buffers"):
                        if key in built:
                            built[key] = redactor.clean(built[key])
                    msg_or_type = built
                else:
                    content = self._content(msg_or_type, content)
                metadata = redactor.clean(metadata)
                if buffers:
                    buffers = [redactor.clean(buf) for buf in buffers]
            return send(stream, msg_or_type, content, parent, ident, buffers, track, header, metadata)

        scrubbed_send._alien_nb_scrubbing = True  # type: ignore[attr-defined]
        session.send = scrubbed_send
        self._session, self._original_send = session, send
        return True

    def _content(self, kind: Any, content: Any) -> Any:
        if kind == "stream" and isinstance(content, dict):
            return self._stream_content(content)
        return self.redactor.clean(content)

    def _stream_content(self, content: dict[str, Any]) -> dict[str, Any]:
        """Mask what, with the text sent before on the same stream, forms a secret.

        A frontend shows consecutive stream messages as one text (and saves it
        so), so a password flushed a few characters at a time is a password.
        What was sent before cannot be recalled: at most `PARTIAL_RUN` - 1
        characters of it go out before the run is recognised.
        """
        text, name = content.get("text"), str(content.get("name"))
        if not isinstance(text, str) or not text:
            return self.redactor.clean(content)
        others = self.redactor.clean({k: v for k, v in content.items() if k != "text"})
        with self._tails_lock:
            tail = self._tails.get(name, "")
            self._tails[name] = (tail + text)[-_TAIL:]
        offset = len(tail)
        spans = [(max(start - offset, 0), end - offset) for start, end in self.redactor.spans(tail + text)
                 if end > offset]  # fmt: skip
        # One scan of tail + text finds the secrets inside the text too.
        return {**others, "text": mask_spans(text, spans)}

    # -- terminal IPython: no session ---------------------------------------------

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

    def _scrubbing_write(self, write: Any) -> Any:
        redact = self.redactor.redact

        def scrubbed_write(text: Any, *args: Any, **kwargs: Any) -> Any:
            self._learn()
            return write(
                redact(text) if isinstance(text, str) and len(self.redactor) else text, *args, **kwargs
            )

        scrubbed_write._alien_nb_scrubbing = True  # type: ignore[attr-defined]
        return scrubbed_write

    def _format(
        self, obj: Any, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        data, metadata = self._original_format(obj, include=include, exclude=exclude)
        self._learn()
        if len(self.redactor):
            data = self.redactor.clean(data)
        return data, metadata

    # -- tracebacks ---------------------------------------------------------

    def _handle_exception(
        self, shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
    ) -> Any:
        self._learn()
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
        # ipykernel puts str(error) into the execute reply, and the error stays in
        # sys.last_value / `_`: mask it at the source, notes included.
        seen: set[int] = set()
        pending: list[BaseException] = [value]
        while pending:
            current = pending.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            try:
                current.args = tuple(self.redactor.clean(a) for a in current.args)
                notes = getattr(current, "__notes__", None)
                if isinstance(notes, list):
                    current.__notes__ = self.redactor.clean(notes)  # type: ignore[attr-defined]
            except (AttributeError, TypeError):
                pass
            linked = [current.__cause__, current.__context__, *getattr(current, "exceptions", ())]
            pending += [e for e in linked if isinstance(e, BaseException)]
