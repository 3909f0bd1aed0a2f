"""The shared loopback HTTP(S) server behind the fakes: routing, recording, error injection."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import parse_qsl, urlsplit

from ._service import Service

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._tls import IssuedCertificate

_LOOPBACK = "127.0.0.1"
_IO_TIMEOUT = 30.0


class ApiError(Exception):
    """Raised by a route handler to answer with an error in the fake's wire format."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it: method, path with query, headers. Bodies are never kept."""

    method: str
    path: str
    headers: Mapping[str, str]

    @property
    def route(self) -> str:
        """The path without its query string."""
        return urlsplit(self.path).path


@dataclass(frozen=True)
class Request:
    """A parsed request handed to route handlers."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Message[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (empty body -> ``{}``); 400 if it is anything else."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON.") from None
        if not isinstance(value, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        return value


@dataclass(frozen=True)
class Reply:
    """A response: status, a JSON-serialisable body (``None`` = no body) and extra headers."""

    status: int
    body: object = None
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Request, "re.Match[str]"], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass
class _Injection:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: Mapping[str, object] | None


class LoopbackServer(Service):
    """Base class of the fakes: a threaded HTTP(S) server on 127.0.0.1 that runs in a daemon thread.

    Subclasses return their routes from `_routes` and their error shape from
    `_error_body`. Every request is recorded in `requests` (method, path and
    headers, never the body: bodies carry passwords). `fail_next` makes the
    next matching request fail once. State is guarded by one lock, so handlers
    and the test helpers of subclasses see consistent data.
    """

    scheme: ClassVar[str] = "http"

    def __init__(self, *, certificate: IssuedCertificate | None = None) -> None:
        self._certificate = certificate
        self._lock = threading.RLock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._injections: list[_Injection] = []
        self._route_table: list[Route] | None = None
        self.requests: list[RecordedRequest] = []
        """Every request received, oldest first (method, path with query, headers; no bodies)."""
        self.errors: list[BaseException] = []
        """Unexpected exceptions raised by handlers (each was answered with HTTP 500)."""

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread; return ``self``."""
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} is already running at {self.url}")
        context = self._certificate.server_context() if self._certificate is not None else None
        httpd = _HTTPServer((_LOOPBACK, 0), _Handler, owner=self, tls=context)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-{httpd.server_address[1]}",
            daemon=True,
        )
        self._httpd, self._thread = httpd, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port. Stored state is kept; calling it twice is fine."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def port(self) -> int:
        """The bound TCP port (the server must be running)."""
        if self._httpd is None:
            raise RuntimeError(
                f"{type(self).__name__} is not running: call start() or use it in a with block"
            )
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:40123``."""
        return f"{self.scheme}://{_LOOPBACK}:{self.port}"

    # -- test controls -------------------------------------------------------------------------

    def fail_next(
        self, method: str, path_regex: str, status: int, body: Mapping[str, object] | None = None
    ) -> None:
        """Make the next request matching ``method`` (or ``"*"``) and ``path_regex`` fail once.

        ``path_regex`` is searched in the path without its query string. The
        reply is ``status`` with ``body`` as JSON, or the fake's usual error
        shape when ``body`` is None. Injections queue up; each fires once, and
        only after the fake's authentication check passes.
        """
        with self._lock:
            self._injections.append(_Injection(method.upper(), re.compile(path_regex), status, body))

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    # -- for subclasses ------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        raise NotImplementedError

    def _error_body(self, status: int, message: str, code: str | None) -> object:
        raise NotImplementedError

    def _authorize(self, request: Request) -> Reply | None:
        """Return a reply to refuse the request, or None to let it through."""
        return None

    def _error(self, status: int, message: str, code: str | None = None) -> Reply:
        return Reply(status, self._error_body(status, message, code))

    # -- dispatch ------------------------------------------------------------------------------

    def _dispatch(self, request: Request, raw_path: str) -> Reply:
        with self._lock:
            self.requests.append(RecordedRequest(request.method, raw_path, dict(request.headers.items())))
            try:
                refusal = self._authorize(request)
                if refusal is not None:
                    return refusal
                injected = self._take_injection(request)
                if injected is not None:
                    return injected
                return self._route(request)
            except ApiError as err:
                return self._error(err.status, err.message, err.code)
            except Exception as err:  # a bug in the fake: answer 500, keep the details in .errors only
                self.errors.append(err)
                return self._error(500, f"Internal error in {type(self).__name__} ({type(err).__name__}).")

    def _take_injection(self, request: Request) -> Reply | None:
        for injection in self._injections:
            if injection.method in ("*", request.method) and injection.pattern.search(request.path):
                self._injections.remove(injection)
                body = injection.body
                if body is None:
                    return self._error(injection.status, "Injected failure.")
                return Reply(injection.status, dict(body))
        return None

    def _route(self, request: Request) -> Reply:
        if self._route_table is None:
            self._route_table = self._routes()
        path_matched = False
        for route in self._route_table:
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            path_matched = True
            if route.method == request.method:
                return route.handler(request, match)
        if path_matched:
            return self._error(405, f"Method {request.method} is not allowed on {request.path}.")
        return self._error(404, f"No such resource: {request.path}")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        owner: LoopbackServer,
        tls: ssl.SSLContext | None,
    ) -> None:
        self.owner = owner
        self.tls = tls
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshakes run here, in the per-connection thread, so a stuck client can't block accept().
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        sock = cast(socket.socket, request)
        sock.settimeout(_IO_TIMEOUT)
        try:
            tls_sock = self.tls.wrap_socket(sock, server_side=True)
        except (OSError, ValueError):
            return  # failed handshake (e.g. the client does not trust our CA): nothing to serve
        try:
            super().finish_request(tls_sock, client_address)
        finally:
            tls_sock.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # dropped connections etc.: stay quiet


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    timeout = _IO_TIMEOUT

    def version_string(self) -> str:
        return "alien-nb-fake"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        body = self._read_body()
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=self.headers,
            body=body,
        )
        reply = self.server.owner._dispatch(request, self.path)
        raw = b"" if reply.body is None else json.dumps(reply.body, separators=(",", ":")).encode()
        self.send_response(reply.status)
        if reply.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


def rfc3339_now() -> str:
    """The current UTC time as RFC 3339 with microseconds and a ``Z``, as Google APIs write it."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def deep_merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """Merge ``patch`` into ``target`` in place: nested objects merge, everything else replaces."""
    for key, value in patch.items():
        current = target.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            deep_merge(current, value)
        else:
            target[key] = copy.deepcopy(value)
