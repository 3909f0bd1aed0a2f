"""`MotoServer`: moto's AWS emulator on loopback, for boto3 and anything that honours AWS_ENDPOINT_URL."""

from __future__ import annotations

import logging
import urllib.request
from typing import TYPE_CHECKING, Any

from ..core import MissingExtra
from ._service import Service

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer
    from typing_extensions import Self

_DUMMY_KEY = "testing"


class MotoServer(Service):
    """moto (``moto[server]``) in a daemon thread on ``http://127.0.0.1:PORT``.

    State is shared by every client of the server, and with in-process
    ``moto.mock_aws`` users; wipe it with `reset`. moto emulates Secrets
    Manager, RDS and the rest without validating much (see the notes in
    ``shared/notes/cloud-testing.md``); e.g. its RDS-managed master secret
    always holds ``{"username": "admin", "password": "P@55w0rd!"}``.

    >>> with MotoServer() as aws:
    ...     sm = aws.client("secretsmanager")
    ...     _ = sm.create_secret(Name="pg", SecretString="s3cr3t-pw")
    ...     sm.get_secret_value(SecretId="pg")["SecretString"]
    's3cr3t-pw'
    """

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None
        self._url: str | None = None
        self._clients: list[Any] = []

    def start(self) -> Self:
        """Start moto on a free loopback port; return ``self``."""
        if self._server is not None:
            raise RuntimeError(f"MotoServer is already running at {self._url}")
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise MissingExtra("emulators", "moto[server]") from None

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # else a log line per request
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server, self._url = server, f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Close the clients made by `client` and stop the server (up to ~0.5 s). Safe to call twice."""
        clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        server, self._server, self._url = self._server, None, None
        if server is not None:
            server.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        if self._url is None:
            raise RuntimeError("MotoServer is not running: call start() or use it in a with block")
        return self._url

    def reset(self) -> None:
        """Wipe every emulated resource (``POST /moto-api/reset``)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def environ(self, region: str = "us-east-1") -> dict[str, str]:
        """Environment variables that send boto3's default client chain here, with dummy credentials.

        Apply them with ``monkeypatch.setenv`` or ``os.environ.update``; also make
        sure no ``AWS_PROFILE`` points elsewhere.
        """
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": _DUMMY_KEY,
            "AWS_SECRET_ACCESS_KEY": _DUMMY_KEY,
            "AWS_DEFAULT_REGION": region,
        }

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A boto3 client for ``service`` pointed here with dummy credentials. `stop` closes it."""
        try:
            import boto3  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise MissingExtra("aws", "boto3") from None

        client = boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=_DUMMY_KEY,
            aws_secret_access_key=_DUMMY_KEY,
        )
        self._clients.append(client)
        return client
