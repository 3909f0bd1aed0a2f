"""A fake Postgres server on a loopback port that asks for the password the weak ways.

It speaks just enough of the v3 protocol: refuses SSL and GSS encryption
(``N``), reads the startup message, then asks for a cleartext password
(``auth="cleartext"``), an MD5 hash (``auth="md5"``), or nothing at all
(``auth="trust"``, answers AuthenticationOk then an error). It records every
byte each client sent, so a test can assert that no password, in any form,
ever reached it::

    with Impostor(port) as fake:            # port=None: the kernel picks one
        ...                                 # make alien_nb connect somewhere
    assert fake.password_messages == []     # no PasswordMessage at all
    fake.assert_never_saw("s3cret")         # plain, hex, base64, md5 forms

Used against the local manager (tests/adversarial/test_local_*.py); the
notebook handle's tests can use it the same way.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
import threading
from dataclasses import dataclass, field
from urllib.parse import quote

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_CANCEL_REQUEST = 80877102
_PROTOCOL_3 = 196608


@dataclass
class Session:
    """What one client did: its startup parameters and every byte it sent."""

    startup: dict[str, str] = field(default_factory=dict)
    received: bytearray = field(default_factory=bytearray)
    password_message: bytes | None = None  # the body of a 'p' message, if the client sent one


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
    """A listening fake server on ``127.0.0.1:port`` (see the module docstring)."""

    def __init__(self, port: int | None = None, *, auth: str = "cleartext", host: str = "127.0.0.1") -> None:
        if auth not in ("cleartext", "md5", "trust"):
            raise ValueError(f"auth must be cleartext, md5 or trust, not {auth!r}")
        self.auth = auth
        self.sessions: list[Session] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a stopped server's TIME_WAIT
        self._listener.bind((host, port or 0))
        self._listener.listen(16)
        self.host, self.port = host, int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=f"impostor-{self.port}", daemon=True)
        self._thread.start()

    def __enter__(self) -> Impostor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(timeout=5)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self.sessions)

    @property
    def password_messages(self) -> list[bytes]:
        with self._lock:
            return [s.password_message for s in self.sessions if s.password_message is not None]

    def received(self) -> bytes:
        with self._lock:
            return b"".join(bytes(s.received) for s in self.sessions)

    def assert_never_saw(self, secret: str, user: str = "postgres") -> None:
        data = self.received()
        leaked = [form for form in secret_forms(secret, user) if form in data]
        assert not leaked, f"the impostor on port {self.port} received the password ({len(leaked)} forms)"
        assert self.password_messages == [], "the impostor received a PasswordMessage"

    # -- the fake server ------------------------------------------------------

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _addr = self._listener.accept()
            except OSError:
                return
            session = Session()
            with self._lock:
                self.sessions.append(session)
            threading.Thread(target=self._handle, args=(conn, session), daemon=True).start()

    def _handle(self, conn: socket.socket, session: Session) -> None:
        conn.settimeout(10)
        try:
            with conn:
                self._talk(conn, session)
        except (OSError, EOFError, struct.error):
            pass  # the client hung up, as a careful client does

    def _read(self, conn: socket.socket, n: int, session: Session) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
            with self._lock:
                session.received += chunk
        return bytes(data)

    def _talk(self, conn: socket.socket, session: Session) -> None:
        while True:  # SSLRequest / GSSENCRequest come first, each answered "N"
            (length,) = struct.unpack("!i", self._read(conn, 4, session))
            body = self._read(conn, length - 4, session)
            (code,) = struct.unpack("!i", body[:4])
            if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                conn.sendall(b"N")
                continue
            if code == _CANCEL_REQUEST or code != _PROTOCOL_3:
                return
            parts = body[4:].split(b"\0")
            session.startup = {
                parts[i].decode(errors="replace"): parts[i + 1].decode(errors="replace")
                for i in range(0, len(parts) - 1, 2)
                if parts[i]
            }
            break
        if self.auth == "cleartext":
            conn.sendall(b"R" + struct.pack("!ii", 8, 3))
        elif self.auth == "md5":
            conn.sendall(b"R" + struct.pack("!ii", 12, 5) + b"salt")
        else:
            conn.sendall(b"R" + struct.pack("!ii", 8, 0))
            conn.sendall(_error("28000", "impostor says no"))
            return
        kind = self._read(conn, 1, session)
        (length,) = struct.unpack("!i", self._read(conn, 4, session))
        body = self._read(conn, length - 4, session)
        if kind == b"p":
            with self._lock:
                session.password_message = body
        conn.sendall(_error("28P01", "password authentication failed"))


def _error(code: str, message: str) -> bytes:
    fields = b"SFATAL\0C" + code.encode() + b"\0M" + message.encode() + b"\0\0"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields
