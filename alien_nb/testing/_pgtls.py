"""A TLS front for a plain local Postgres, standing in for a managed server's endpoint.

The embedded server is built without OpenSSL, so TLS is terminated here, the
way RDS Proxy or PgBouncer would: the client's ``SSLRequest`` is answered
``S``, the handshake presents a certificate from a `TestCertificateAuthority`,
and the decrypted protocol is relayed to the server on loopback. A
``GSSENCRequest`` is declined, as a server without GSSAPI does.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import struct
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self

from ._service import Service
from ._tls import IssuedCertificate

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


class TlsPostgresProxy(Service):
    """Listen on 127.0.0.1 with TLS and relay each connection to ``backend`` in the clear.

    >>> with TlsPostgresProxy(("127.0.0.1", 5432), ca.issue("db.example.com")) as proxy:
    ...     settings = CloudSettings(dial={"db.example.com": f"127.0.0.1:{proxy.port}"})

    Clients that do not ask for TLS are refused (every managed endpoint requires it).
    """

    def __init__(self, backend: tuple[str, int], certificate: IssuedCertificate) -> None:
        self.backend = backend
        self._context = certificate.server_context()
        self.certificate = certificate
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.connections = 0

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> Self:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        self._listener = listener
        self._stopping.clear()
        thread = threading.Thread(target=self._accept_loop, name="alien-nb-tls-proxy", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("TlsPostgresProxy is not running: call start() or use it in a with block")
        return int(self._listener.getsockname()[1])

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, the form `CloudSettings.dial` takes."""
        return f"127.0.0.1:{self.port}"

    def use_certificate(self, certificate: IssuedCertificate) -> None:
        """Present ``certificate`` to the connections that come next."""
        self._context = certificate.server_context()
        self.certificate = certificate

    # -- relaying ---------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(client)
            client.settimeout(10)
            try:
                if not self._negotiate(client):
                    return
                tls = stack.enter_context(self._context.wrap_socket(client, server_side=True))
                upstream = stack.enter_context(socket.create_connection(self.backend, timeout=10))
            except (OSError, ssl.SSLError):
                return  # a refused handshake (wrong CA or name) ends here, as on a real server
            _relay(tls, upstream, self._stopping)

    def _negotiate(self, client: socket.socket) -> bool:
        while True:
            header = _read_exact(client, 8)
            if header is None:
                return False
            length, code = struct.unpack("!II", header)
            if length == 8 and code == _GSSENC_REQUEST:
                client.sendall(b"N")
                continue
            if length == 8 and code == _SSL_REQUEST:
                client.sendall(b"S")
                return True
            # A plaintext startup: managed endpoints refuse it; say so in the protocol's words.
            message = b"SFATAL\0C28000\0Mthis endpoint requires TLS (sslmode=require or stronger)\0\0"
            client.sendall(b"E" + struct.pack("!I", len(message) + 4) + message)
            return False


def _read_exact(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _relay(tls: ssl.SSLSocket, upstream: socket.socket, stopping: threading.Event) -> None:
    tls.settimeout(None)
    upstream.settimeout(None)
    peers = {tls: upstream, upstream: tls}
    while not stopping.is_set():
        # An SSL socket may hold decrypted bytes that select() cannot see.
        ready = [tls] if tls.pending() else select.select(list(peers), [], [], 0.2)[0]
        for sock in ready:
            try:
                data = sock.recv(65536)
            except (OSError, ssl.SSLError):
                return
            if not data:
                return
            try:
                peers[sock].sendall(data)
            except OSError:
                return
