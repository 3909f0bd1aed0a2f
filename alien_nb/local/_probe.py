"""A quick SCRAM login to a local server, speaking just enough of the v3 protocol.

`status` and `start` use it to learn whether the server accepts the
credentials in metadata.json: libpq reports a failed login without its
SQLSTATE, and this needs no driver import, so `status` stays fast. Only
SCRAM-SHA-256 is accepted: a server asking for anything else (an impostor
on the port) gets no password, and no proof either unless its own
signature checks out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from ._scram import _saslprep

_SASL, _SASL_CONTINUE, _SASL_FINAL, _OK = 10, 11, 12, 0

#: The server takes the count from the verifier alien_nb gave initdb (4096, `_scram.ITERATIONS`);
#: more than 24 times that (about 50 ms of pbkdf2) is a hostile server making `status` spin.
MAX_ITERATIONS = 100_000
#: Messages between AuthenticationOk and ReadyForQuery: a real server sends about 20.
_MAX_MESSAGES = 1000


@dataclass(frozen=True)
class ProbeResult:
    """``ok``; else ``sqlstate`` (the server's error code) or ``problem`` (no usable answer)."""

    ok: bool
    sqlstate: str | None = None
    problem: str | None = None

    @property
    def rejected(self) -> bool:
        """The server refused the user or password (SQLSTATE 28P01 or 28000)."""
        return self.sqlstate in ("28P01", "28000")


class _Refused(Exception):
    pass


class _Timed:
    """A socket whose every read and write shares one deadline: a server dripping a byte at a
    time cannot keep `status` waiting past ``timeout`` in all."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def _arm(self) -> None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise _Refused("the server took too long to answer")
        self._sock.settimeout(remaining)

    def recv(self, n: int) -> bytes:
        self._arm()
        return self._sock.recv(n)

    def sendall(self, data: bytes) -> None:
        self._arm()
        self._sock.sendall(data)


def probe_login(
    *,
    socket_file: Path | None,
    port: int,
    user: str,
    password: SecretStr,
    database: str,
    timeout: float = 3.0,
) -> ProbeResult:
    """Log in once (Unix socket if given, else 127.0.0.1:port) and hang up."""
    try:
        if socket_file is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: object = str(socket_file)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = ("127.0.0.1", port)
        with sock:
            sock.settimeout(timeout)
            sock.connect(address)  # type: ignore[arg-type]
            return _login(_Timed(sock, time.monotonic() + timeout), user, password, database)
    except _Refused as exc:
        return ProbeResult(ok=False, problem=str(exc))
    except (OSError, struct.error, ValueError, IndexError) as exc:
        return ProbeResult(ok=False, problem=f"no answer ({type(exc).__name__})")


def _send(sock: _Timed, kind: bytes, body: bytes) -> None:
    sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)


def _recv_exact(sock: _Timed, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise _Refused("the server hung up")
        data += chunk
    return data


def _message(sock: _Timed) -> tuple[bytes, bytes]:
    kind = _recv_exact(sock, 1)
    (length,) = struct.unpack("!i", _recv_exact(sock, 4))
    if not 4 <= length <= 1 << 20:
        raise _Refused("a malformed message")
    return kind, _recv_exact(sock, length - 4)


def _error_code(body: bytes) -> str | None:
    for field in body.split(b"\0"):
        if field[:1] == b"C":
            return field[1:].decode("ascii", "replace")
    return None


def _auth(sock: _Timed) -> tuple[int, bytes] | ProbeResult:
    kind, body = _message(sock)
    if kind == b"E":
        return ProbeResult(ok=False, sqlstate=_error_code(body))
    if kind != b"R":
        raise _Refused("an unexpected message")
    (code,) = struct.unpack("!i", body[:4])
    return code, body[4:]


def _login(sock: _Timed, user: str, password: SecretStr, database: str) -> ProbeResult:
    params = b"".join(
        k.encode() + b"\0" + v.encode() + b"\0" for k, v in (("user", user), ("database", database))
    )
    startup = struct.pack("!i", 196608) + params + b"\0"
    sock.sendall(struct.pack("!i", len(startup) + 4) + startup)
    step = _auth(sock)
    if isinstance(step, ProbeResult):
        return step
    code, rest = step
    if code != _SASL or b"SCRAM-SHA-256\0" not in rest:
        raise _Refused(f"the server asked for authentication method {code}, not SCRAM; nothing was sent")
    nonce = base64.b64encode(secrets.token_bytes(18)).decode()
    first_bare = f"n=,r={nonce}"
    first = ("n,," + first_bare).encode()
    _send(sock, b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)
    step = _auth(sock)
    if isinstance(step, ProbeResult):
        return step
    code, server_first = step
    if code != _SASL_CONTINUE:
        raise _Refused("the server broke off the SCRAM exchange")
    salt, iterations, server_nonce = _server_first(server_first, nonce)
    salted = hashlib.pbkdf2_hmac("sha256", _saslprep(password.get_secret_value()).encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    final_bare = f"c=biws,r={server_nonce}"
    auth_message = f"{first_bare},{server_first.decode('ascii')},{final_bare}".encode()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    _send(sock, b"p", f"{final_bare},p={base64.b64encode(proof).decode()}".encode())
    step = _auth(sock)
    if isinstance(step, ProbeResult):
        return step
    code, server_final = step
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest())
    if code != _SASL_FINAL or not hmac.compare_digest(server_final, b"v=" + expected):
        raise _Refused("the server could not prove it knows the password")
    # AuthenticationOk, parameters, a key, notices, then ReadyForQuery, or an error (no such
    # database). Bounded, so a server that talks forever cannot keep `status` waiting.
    for _ in range(_MAX_MESSAGES):
        kind, body = _message(sock)
        if kind == b"E":
            return ProbeResult(ok=False, sqlstate=_error_code(body))
        if kind == b"Z":
            _send(sock, b"X", b"")
            return ProbeResult(ok=True)
        if kind == b"R" and body != struct.pack("!i", _OK):
            raise _Refused("the server asked for more authentication after SCRAM")
        if kind not in (b"R", b"S", b"K", b"N"):
            raise _Refused("an unexpected message")
    raise _Refused("the server never became ready")


def _server_first(message: bytes, nonce: str) -> tuple[bytes, int, str]:
    """Salt, iteration count and nonce of a server-first-message (RFC 5802 7), or `_Refused`.

    Anything but exactly ``r=<our nonce + more>,s=<base64>,i=<count>[,ext]``
    is not a Postgres server of ours, and is refused before any hashing.
    """
    try:
        text = message.decode("ascii")
    except UnicodeDecodeError:
        raise _Refused("a malformed SCRAM message (not ASCII)") from None
    parts = text.split(",")
    if len(parts) < 3 or [part[:2] for part in parts[:3]] != ["r=", "s=", "i="]:
        raise _Refused("a malformed SCRAM message (no r=, s=, i= in order)")
    server_nonce, salt_text, count_text = (part[2:] for part in parts[:3])
    if (
        not server_nonce.startswith(nonce)
        or len(server_nonce) == len(nonce)
        or not all("!" <= ch <= "~" for ch in server_nonce)
    ):
        raise _Refused("the server's SCRAM nonce does not extend ours")
    try:
        salt = base64.b64decode(salt_text, validate=True)
    except ValueError:
        raise _Refused("a malformed SCRAM salt") from None
    if not salt:
        raise _Refused("an empty SCRAM salt")
    if not (count_text.isascii() and count_text.isdigit() and len(count_text) <= 9):
        raise _Refused("a malformed SCRAM iteration count")
    iterations = int(count_text)
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise _Refused(f"a SCRAM iteration count of {iterations} (alien_nb accepts 1 to {MAX_ITERATIONS})")
    return salt, iterations, server_nonce
