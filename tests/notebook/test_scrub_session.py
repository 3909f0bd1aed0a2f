"""The one outgoing hook, on a real `jupyter_client.session.Session` (no sockets: ``stream=None``
builds the message and returns it, as ipykernel's would be sent)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from IPython.testing import globalipapp
from jupyter_client.session import Session

from alien_nb.core import MASK, remember_secret

PW = "Hn5Jm2Kq8Lw4Zx7Cv1Bn6Mg"


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    monkeypatch.setenv("ALIEN_NB_HOME", str(tmp_path))
    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    real = Session()
    monkeypatch.setattr(shell, "kernel", SimpleNamespace(session=real), raising=False)
    remember_secret(PW)
    shell.run_line_magic("load_ext", "alien_nb")
    yield real
    shell.run_line_magic("unload_ext", "alien_nb")


class Wire:
    """Stands in for the iopub socket: keeps the frames `Session.send` puts on it."""

    def __init__(self) -> None:
        self.frames: list[Any] = []

    def send_multipart(self, frames: list[Any], copy: bool = True) -> None:
        self.frames = [bytes(f) for f in frames]


def test_every_message_shape_is_scrubbed(session: Session) -> None:
    state = {"value": f"postgres://u:{PW}@h/db", "_model_name": "TextModel"}
    wire = Wire()
    # Wire is a stand-in socket: Session.send only calls its send_multipart.
    sent = session.send(wire, "comm_msg", {"data": {"state": state}}, buffers=[PW.encode()],  # type: ignore[arg-type]
                        metadata={"note": PW[:9]})  # fmt: skip
    assert sent is not None
    assert sent["content"]["data"]["state"]["value"] == f"postgres://u:{MASK}@h/db"
    assert state["value"].endswith(f"{PW}@h/db")  # the widget's own state is not touched
    assert sent["metadata"] == {"note": MASK}
    assert wire.frames[-1] == b"*" * len(PW)  # the buffer: same length, so binary layouts survive
    assert not any(PW[:8].encode() in frame for frame in wire.frames)
    built = session.msg("display_data", {"data": {"text/plain": PW, "image/png": "x"}, "metadata": {}})
    sent = session.send(None, built)
    assert sent is not None and sent["content"]["data"] == {"text/plain": MASK, "image/png": "x"}
    clean = {"data": {"text/plain": "nothing to hide"}}
    assert session.send(None, "display_data", clean)["content"] == clean  # type: ignore[index]


def test_streams_in_pieces(session: Session) -> None:
    shown = ""
    for piece in (PW[:5], PW[5:11], PW[11:], "\n"):
        sent = session.send(None, session.msg("stream", {"name": "stdout", "text": piece}))
        assert sent is not None
        shown += sent["content"]["text"]
    assert shown.startswith(PW[:5]) and PW[5:11] not in shown and PW[11:] not in shown


def test_unload_restores_the_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("ALIEN_NB_HOME", str(tmp_path))
    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    real = Session()
    monkeypatch.setattr(shell, "kernel", SimpleNamespace(session=real), raising=False)
    remember_secret(PW)
    shell.run_line_magic("load_ext", "alien_nb")
    assert getattr(real.send, "_alien_nb_scrubbing", False)
    shell.run_line_magic("unload_ext", "alien_nb")
    assert not getattr(real.send, "_alien_nb_scrubbing", False)
    sent = real.send(None, "stream", {"name": "stdout", "text": PW})
    assert sent is not None and sent["content"]["text"] == PW  # unloaded: no longer masked, as documented
