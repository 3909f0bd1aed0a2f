"""The status/start SCRAM probe against a server that answers junk.

A fake server on 127.0.0.1 speaks the protocol up to the point it misbehaves: malformed or
missing SCRAM attributes, bad base64, a nonce that does not extend ours, hostile iteration
counts, truncated or oversized frames, unknown message types, endless chatter. Each must give a
not-ok `ProbeResult` (never an exception, never a long pbkdf2). A fake server that plays by the
rules logs in, so the fake itself is checked, and the probe can fail these tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import struct
import threading
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from alien_nb.local._probe import MAX_ITERATIONS, ProbeResult, probe_login

PASSWORD = "probe-junk-" + "p" * 20
SALT = b"0123456789abcdef"
SALT_B64 = base64.b64encode(SALT).decode()


def frame(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def auth(code: int, rest: bytes = b"") -> bytes:
    return frame(b"R", struct.pack("!i", code) + rest)


class Peer:
    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def message(self, typed: bool = True) -> bytes:
        if typed:
            self.exact(1)
        (length,) = struct.unpack("!i", self.exact(4))
        return self.exact(length - 4)

    def client_first_nonce(self) -> tuple[str, str]:
        """(client-first-bare, nonce) after the SASL offer."""
        self.message(typed=False)  # startup
        self.conn.sendall(auth(10, b"SCRAM-SHA-256\0\0"))
        body = self.message()
        bare = body.split(b"n,,", 1)[1].decode()
        return bare, bare.split("r=", 1)[1]


Script = Callable[[Peer], None]


def probe(script: Script) -> ProbeResult:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            try:
                script(Peer(conn))
            except OSError:
                pass  # the probe hung up first, as it should

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    with listener:
        result = probe_login(
            socket_file=None,
            port=listener.getsockname()[1],
            user="u",
            password=SecretStr(PASSWORD),
            database="d",
        )
    server.join(10)
    assert isinstance(result, ProbeResult)
    return result


def first_only(server_first: Callable[[str], bytes]) -> Script:
    def script(peer: Peer) -> None:
        _bare, nonce = peer.client_first_nonce()
        peer.conn.sendall(auth(11, server_first(nonce)))
        peer.message()  # a client-final, should the probe (wrongly) go on

    return script


def honest(*, after: list[bytes], iterations: int = 4096, tamper: bool = False) -> Script:
    """A correct SCRAM exchange, then ``after`` (the frames that follow the server-final)."""

    def script(peer: Peer) -> None:
        bare, nonce = peer.client_first_nonce()
        server_first = f"r={nonce}SRV,s={SALT_B64},i={iterations}"
        peer.conn.sendall(auth(11, server_first.encode()))
        final = peer.message().decode()
        without_proof = final.rsplit(",p=", 1)[0]
        salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), SALT, iterations)
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        message = f"{bare},{server_first},{without_proof}".encode()
        signature = hmac.new(server_key, message, hashlib.sha256).digest()
        if tamper:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        peer.conn.sendall(auth(12, b"v=" + base64.b64encode(signature)) + b"".join(after))

    return script


READY = [auth(0), frame(b"S", b"server_version\x0018\0"), frame(b"K", b"\0" * 8), frame(b"Z", b"I")]


def test_an_honest_server_logs_in() -> None:
    assert probe(honest(after=READY)).ok


def test_the_iteration_cap_still_admits_a_real_servers_count() -> None:
    assert probe(honest(after=READY, iterations=MAX_ITERATIONS)).ok


SERVER_FIRSTS = {
    "no salt": "r={n}x,i=4096",
    "no count": "r={n}x,s=" + SALT_B64,
    "out of order": "s=" + SALT_B64 + ",r={n}x,i=4096",
    "bad base64": "r={n}x,s=***,i=4096",
    "bad padding": "r={n}x,s=c2FsdA=,i=4096",
    "empty salt": "r={n}x,s=,i=4096",
    "count 2**31-1": "r={n}x,s=" + SALT_B64 + ",i=2147483647",
    "count over the cap": "r={n}x,s=" + SALT_B64 + f",i={MAX_ITERATIONS + 1}",
    "count 0": "r={n}x,s=" + SALT_B64 + ",i=0",
    "count negative": "r={n}x,s=" + SALT_B64 + ",i=-4096",
    "count float": "r={n}x,s=" + SALT_B64 + ",i=4096.0",
    "count spaced": "r={n}x,s=" + SALT_B64 + ",i= 4096",
    "count arabic digits": "r={n}x,s=" + SALT_B64 + ",i=\u0664\u0660\u0669\u0666",
    "count 10**20": "r={n}x,s=" + SALT_B64 + ",i=" + "1" * 21,
    "foreign nonce": "r=someone-else,s=" + SALT_B64 + ",i=4096",
    "nonce not extended": "r={n},s=" + SALT_B64 + ",i=4096",
    "nonce prefixed": "r=x{n},s=" + SALT_B64 + ",i=4096",
    "nonce with a control char": "r={n}\x01,s=" + SALT_B64 + ",i=4096",
    "mandatory extension": "m=ext,r={n}x,s=" + SALT_B64 + ",i=4096",
    "empty": "",
    "garbage": "garbage",
    "only commas": ",,,,",
    "equals only": "=,=,=",
}


@pytest.mark.parametrize("template", SERVER_FIRSTS.values(), ids=SERVER_FIRSTS.keys())
def test_a_malformed_server_first_message_is_not_ok(template: str) -> None:
    result = probe(first_only(lambda nonce: template.replace("{n}", nonce).encode()))
    assert not result.ok and result.problem


def test_a_server_first_message_that_is_not_ascii_is_not_ok() -> None:
    assert not probe(first_only(lambda nonce: b"r=" + nonce.encode() + b"\xff\xfe,s=" + SALT_B64.encode())).ok


FRAMES = {
    "truncated": b"R" + struct.pack("!i", 100) + b"abc",
    "length below 4": b"R" + struct.pack("!i", 2),
    "negative length": b"R" + struct.pack("!i", -1),
    "oversized length": b"R" + struct.pack("!i", 1 << 30) + b"x" * 64,
    "unknown type": frame(b"Q", b"abcd"),
    "auth body too short": frame(b"R", b"ab"),
    "final before continue": auth(12, b"v=AAAA"),
    "ok before any proof": auth(0),
    "nothing": b"",
}


@pytest.mark.parametrize("raw", FRAMES.values(), ids=FRAMES.keys())
def test_a_broken_frame_after_the_client_first_message_is_not_ok(raw: bytes) -> None:
    def script(peer: Peer) -> None:
        peer.client_first_nonce()
        peer.conn.sendall(raw)

    result = probe(script)
    assert not result.ok and result.problem


AFTER_AUTH = {
    "unknown message type": [auth(0), frame(b"Q", b"x"), frame(b"Z", b"I")],
    "asks for a cleartext password": [auth(3), frame(b"Z", b"I")],
    "endless notices": [auth(0), *[frame(b"N", b"Mchatter\0\0")] * 1500, frame(b"Z", b"I")],
    "truncated ready": [auth(0), b"Z" + struct.pack("!i", 5)],
}


@pytest.mark.parametrize("after", AFTER_AUTH.values(), ids=AFTER_AUTH.keys())
def test_misbehaving_after_the_scram_exchange_is_not_ok(after: list[bytes]) -> None:
    result = probe(honest(after=after))
    assert not result.ok and result.problem


def test_a_wrong_server_signature_is_not_ok() -> None:
    result = probe(honest(after=READY, tamper=True))
    assert not result.ok and result.problem and "prove" in result.problem


def test_an_error_after_login_is_reported_by_sqlstate() -> None:
    result = probe(honest(after=[auth(0), frame(b"E", b"SFATAL\0C3D000\0Mno such database\0\0")]))
    assert not result.ok and result.sqlstate == "3D000"


FRAGMENTS = ["r={n}", "r={n}x", "s=" + SALT_B64, "s=", "i=4096", "i=2147483647", "i=", "m=x", "r=", "=", ""]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=120),
        st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=6).map(
            lambda parts: ",".join(parts).encode("utf-8", "surrogatepass")
        ),
    )
)
def test_junk_server_first_messages_are_never_ok_and_never_raise(junk: bytes) -> None:
    assert not probe(first_only(lambda nonce: junk.replace(b"{n}", nonce.encode()))).ok


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_junk_frames_after_the_client_first_message_are_never_ok_and_never_raise(junk: bytes) -> None:
    def script(peer: Peer) -> None:
        peer.client_first_nonce()
        peer.conn.sendall(junk)

    assert not probe(script).ok
