"""Run notebooks in a real kernel (nbclient), record every iopub message, look for a password.

The look-up is independent of `alien_nb.core.Redactor`: it spells the password
itself (plain, percent-encoded, JSON, base64 whole and inside a larger blob,
hex both cases) and tries every run of 8 characters of the plain and
percent-encoded forms.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import nbformat
from nbclient import NotebookClient

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def spellings(password: str) -> dict[str, str]:
    raw = password.encode()
    forms = {
        "plain": password,
        "percent": quote(password, safe=""),
        "percent-plus": quote_plus(password),
        "json": json.dumps(password)[1:-1],
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "base64": base64.b64encode(raw).decode().rstrip("="),
        "base64-url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    for offset in (1, 2):  # inside a larger base64 blob: the characters made of password bits only
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        forms[f"base64+{offset}"] = encoded[-(-4 * offset // 3) : 4 * (offset + len(raw)) // 3]
    for name in ("plain", "percent"):
        text = forms[name]
        for i in range(len(text) - 7):
            forms[f"{name}[{i}:{i + 8}]"] = text[i : i + 8]
    return forms


def leaks(blob: str, password: str) -> list[str]:
    """The names of the spellings of ``password`` found in ``blob``."""
    return [name for name, form in spellings(password).items() if form in blob]


def message_text(msg: dict[str, Any]) -> str:
    buffers = [bytes(b).decode("latin-1") for b in msg.get("buffers") or []]
    body = json.dumps(
        {"content": msg.get("content"), "metadata": msg.get("metadata")}, ensure_ascii=False, default=repr
    )
    return "\n".join([msg.get("msg_type", "?"), body, *buffers])


class RecordingClient(NotebookClient):
    """A `NotebookClient` that keeps every message it receives (iopub and shell), also those of
    no cell or of another cell, in ``iopub``."""

    def __init__(self, nb: Any, *, after_cell: Callable[[RecordingClient, int], None] | None = None,
                 **kw: Any) -> None:  # fmt: skip
        super().__init__(nb, on_notebook_start=self._record, on_cell_executed=self._after_cell, **kw)
        self.iopub: list[dict[str, Any]] = []
        self._then = after_cell

    def _after_cell(self, cell: Any, cell_index: int, execute_reply: Any) -> None:
        if self._then is not None:
            self._then(self, cell_index)

    def _record(self, notebook: Any) -> None:
        assert self.kc is not None
        # The shell channel too: execute replies (error values, payloads), inspect replies.
        for channel in (self.kc.iopub_channel, self.kc.shell_channel):
            channel.get_msg = self._recording(channel.get_msg)

    def _recording(self, original: Any) -> Any:
        async def get_msg(*args: Any, **kwargs: Any) -> Any:
            msg = await original(*args, **kwargs)
            self.iopub.append(msg)
            return msg

        return get_msg


def run(
    cells: list[str], path: Path, *, after_cell: Callable[[RecordingClient, int], None] | None = None
) -> tuple[RecordingClient, Path]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells])
    nb.metadata["kernelspec"] = KERNELSPEC
    client = RecordingClient(nb, timeout=120, kernel_name="python3", allow_errors=True, store_widget_state=True,
                             resources={"metadata": {"path": str(path.parent)}}, after_cell=after_cell)  # fmt: skip
    client.execute()
    nbformat.write(nb, path)
    return client, path


def assert_nowhere(client: RecordingClient, path: Path, passwords: dict[str, str]) -> None:
    """No spelling of any password in the saved file or in any iopub message."""
    saved = path.read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-state+json" in saved, "the widget state was not saved"
    # A frontend shows (and JupyterLab saves) consecutive stream outputs as one text.
    merged = []
    for cell in json.loads(saved)["cells"]:
        for name in ("stdout", "stderr"):
            merged.append("".join("".join(o["text"]) for o in cell.get("outputs", [])
                                  if o.get("output_type") == "stream" and o.get("name") == name))  # fmt: skip
    problems = []
    for label, password in passwords.items():
        found = leaks(saved, password)
        if found:
            problems.append(f"{label} in the saved notebook as {found}")
        found = [f for text in merged for f in leaks(text, password)]
        if found:
            problems.append(f"{label} in a cell's stream text, merged as a frontend shows it, as {found}")
        for msg in client.iopub:
            found = leaks(message_text(msg), password)
            if found:
                problems.append(f"{label} in an iopub {msg.get('msg_type')} as {found}")
    assert not problems, "\n".join(problems)
