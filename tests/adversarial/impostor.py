"""A fake Postgres on a loopback port that asks for a password and records what it gets.

It stands in for an unprivileged local process that binds a database's old
port after the server died (issue 11, section 1)::

    with Impostor(port, method="cleartext") as imp:   # port 0 or None: the kernel picks one
        ...                      # whatever should not talk to it
    imp.assert_never_saw(password)  # plain, percent, base64, hex, MD5; no PasswordMessage either

``method`` is what it asks for after the startup packet: ``"cleartext"``
(AuthenticationCleartextPassword, R 3), ``"md5"`` (R 5 with a salt),
``"scram"`` (SCRAM-SHA-256 up to the client's proof, which it cannot
answer: it does not know the verifier) or ``"trust"`` (AuthenticationOk at
once, then ReadyForQuery). It refuses TLS
(answers ``N`` to SSLRequest and GSSENCRequest), as a plain server would.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import struct
import threading
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from typing_extensions import Self

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_CANCEL_REQUEST = 80877102
_METHODS = {"cleartext", "md5", "scram", "trust"}


def secret_forms(secret: str, user: str = "postgres") -> list[bytes]:
    """Every spelling of ``secret`` an eavesdropper could use (and the MD5 hash Postgres would accept)."""
    raw = secret.encode()
    md5 = hashlib.md5(raw + user.encode()).hexdigest().encode()
    return [
        raw,
        quote(secret, safe="").encode(),
        base64.b64encode(raw),
        base64.b64encode(raw).rstrip(b"="),
        raw.hex().encode(),
        raw.hex().upper().encode(),
        md5,
    ]


class Impostor:
    """Listen on 127.0.0.1:``port`` (0 picks one) and record every byte each client sends."""

    def __init__(self, port: int | None = 0, *, method: str = "cleartext") -> None:
        if method not in _METHODS:
            raise ValueError(f"method must be one of {sorted(_METHODS)}")
        self.method = method
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # As a squatter would: a port left in TIME_WAIT by the dead server's connections is
        # bindable this way, one with a listener still is not.
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port or 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._received = bytearray()
        self.connections = 0
        self.startup_packets = 0
        self.password_messages: list[bytes] = []  # bodies of cleartext / MD5 PasswordMessages
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def received(self) -> bytes:
        """Everything every client sent, in arrival order."""
        with self._lock:
            return bytes(self._received)

    def assert_never_saw(self, secret: str, user: str = "postgres") -> None:
        data = self.received
        leaked = [form for form in secret_forms(secret, user) if form in data]
        assert not leaked, f"the impostor on port {self.port} received the password ({len(leaked)} forms)"
        assert self.password_messages == [], "the impostor received a PasswordMessage"

    def start(self) -> Self:
        thread = threading.Thread(target=self._accept_loop, name="impostor", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _recv(self, client: socket.socket, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            try:
                chunk = client.recv(size - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            with self._lock:
                self._received += chunk
            data += chunk
        return data

    def _message(self, client: socket.socket) -> tuple[bytes, bytes] | None:
        header = self._recv(client, 5)
        if header is None:
            return None
        body = self._recv(client, struct.unpack("!i", header[1:])[0] - 4)
        return None if body is None else (header[:1], body)

    def _serve(self, client: socket.socket) -> None:
        with client:
            client.settimeout(5)
            while True:  # startup: SSLRequest / GSSENCRequest come first, each declined
                header = self._recv(client, 8)
                if header is None:
                    return
                length, code = struct.unpack("!ii", header)
                if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                    client.sendall(b"N")
                    continue
                if code == _CANCEL_REQUEST or self._recv(client, length - 8) is None:
                    return
                self.startup_packets += 1
                break
            with contextlib.suppress(OSError):
                self._authenticate(client)
                answer = self._message(client)  # PasswordMessage / SASLInitialResponse, or Terminate
                if answer is not None and answer[0] == b"p" and self.method in ("cleartext", "md5"):
                    with self._lock:
                        self.password_messages.append(answer[1])
                if answer is not None and answer[0] == b"p" and self.method == "scram":
                    nonce = answer[1].split(b"r=", 1)[1].split(b",", 1)[0]
                    salt = base64.b64encode(b"impostor-salt")
                    # A low iteration count, as an offline guesser would choose.
                    challenge = b"r=" + nonce + b"imp,s=" + salt + b",i=1"
                    client.sendall(b"R" + struct.pack("!ii", 8 + len(challenge), 11) + challenge)
                    answer = self._message(client)  # SASLResponse: the proof
                if answer is not None and answer[0] == b"p":
                    client.sendall(_error("28P01", "password authentication failed (impostor)"))
                while self._recv(client, 1) is not None:  # record whatever else it sends
                    pass

    def _authenticate(self, client: socket.socket) -> None:
        if self.method == "cleartext":
            client.sendall(b"R" + struct.pack("!ii", 8, 3))
        elif self.method == "md5":
            client.sendall(b"R" + struct.pack("!ii", 12, 5) + b"salt")
        elif self.method == "scram":
            mechanisms = b"SCRAM-SHA-256\0\0"
            client.sendall(b"R" + struct.pack("!ii", 8 + len(mechanisms), 10) + mechanisms)
        else:
            client.sendall(b"R" + struct.pack("!ii", 8, 0) + b"Z" + struct.pack("!i", 5) + b"I")


def _error(code: str, message: str) -> bytes:
    body = b"SFATAL\0C" + code.encode() + b"\0M" + message.encode() + b"\0\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body
