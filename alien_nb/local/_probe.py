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
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from ._scram import _saslprep

_SASL, _SASL_CONTINUE, _SASL_FINAL, _OK = 10, 11, 12, 0


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
            return _login(sock, user, password, database)
    except _Refused as exc:
        return ProbeResult(ok=False, problem=str(exc))
    except (OSError, struct.error, ValueError, IndexError) as exc:
        return ProbeResult(ok=False, problem=f"no answer ({type(exc).__name__})")


def _send(sock: socket.socket, kind: bytes, body: bytes) -> None:
    sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise _Refused("the server hung up")
        data += chunk
    return data


def _message(sock: socket.socket) -> tuple[bytes, bytes]:
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


def _auth(sock: socket.socket) -> tuple[int, bytes] | ProbeResult:
    kind, body = _message(sock)
    if kind == b"E":
        return ProbeResult(ok=False, sqlstate=_error_code(body))
    if kind != b"R":
        raise _Refused("an unexpected message")
    (code,) = struct.unpack("!i", body[:4])
    return code, body[4:]


def _login(sock: socket.socket, user: str, password: SecretStr, database: str) -> ProbeResult:
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
    fields = dict(item.split("=", 1) for item in server_first.decode().split(","))
    if not fields["r"].startswith(nonce):
        raise _Refused("the server's SCRAM nonce does not extend ours")
    salt, iterations = base64.b64decode(fields["s"]), int(fields["i"])
    salted = hashlib.pbkdf2_hmac("sha256", _saslprep(password.get_secret_value()).encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    final_bare = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first.decode()},{final_bare}".encode()
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
    while True:  # AuthenticationOk, parameters, then ReadyForQuery, or an error (no such database)
        kind, body = _message(sock)
        if kind == b"E":
            return ProbeResult(ok=False, sqlstate=_error_code(body))
        if kind == b"Z":
            _send(sock, b"X", b"")
            return ProbeResult(ok=True)
