"""Review of issue 11, sections 1/6: the hand-rolled SCRAM probe against a hostile server.

``status`` and ``start`` log in with ``probe_login`` (over TCP when the socket path does not fit
or is missing). A server on the port that answers SCRAM's first message without a salt makes it
raise a raw KeyError (every other malformed answer is a ProbeResult).
"""

from __future__ import annotations

import socket
import struct
import threading

from pydantic import SecretStr

from alien_nb.local._probe import probe_login


def _hostile_server(server_first: str) -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        client, _ = listener.accept()
        with client:
            (length,) = struct.unpack("!i", client.recv(4))
            client.recv(length - 4)  # the startup packet
            body = struct.pack("!i", 10) + b"SCRAM-SHA-256\0\0"
            client.sendall(b"R" + struct.pack("!i", len(body) + 4) + body)
            client.recv(1)
            (length,) = struct.unpack("!i", client.recv(4))
            nonce = client.recv(length - 4).split(b"r=")[1].decode()
            body = struct.pack("!i", 11) + server_first.format(nonce=nonce).encode()
            client.sendall(b"R" + struct.pack("!i", len(body) + 4) + body)
            client.recv(1024)

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_a_server_first_message_without_salt_is_a_probe_result() -> None:
    listener, port = _hostile_server("r={nonce}x,i=4096")
    with listener:
        result = probe_login(
            socket_file=None, port=port, user="u", password=SecretStr("p" * 24), database="d"
        )
    assert not result.ok
