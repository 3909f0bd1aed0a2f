"""Loopback emulators of the AWS, GCP and Azure APIs alien_nb calls, for tests and offline tutorials.

Each emulator serves on 127.0.0.1 from a daemon thread, is a context manager
(``with FakeGcp() as gcp:``) with ``start()``/``stop()`` and a ``url``, and logs
nothing per request. None of them ever contacts a real cloud.

- `MotoServer`: AWS (Secrets Manager, RDS, …) through moto's server mode.
- `FakeGcp`: Secret Manager v1 and Cloud SQL Admin v1 REST (plain HTTP).
- `FakeAzure`: Key Vault secrets and ARM PostgreSQL flexible servers (HTTPS),
  with `StubCredential` for the bearer token it expects.
- `TestCertificateAuthority`: a throwaway CA issuing loopback server certificates.
- `TlsPostgresProxy`: TLS in front of a plain local Postgres, standing in for a managed endpoint.

The names load on first use, so importing this package needs none of the cloud libraries.
`MotoServer` needs ``moto[server]`` and `TestCertificateAuthority` (and so `FakeAzure`) needs
``cryptography``: ``pip install 'alien-nb[emulators]'``; without them they raise `MissingExtra`
saying so. `FakeGcp` and `TlsPostgresProxy` (given a certificate) need nothing beyond a plain
install; each fake's client helper needs the matching cloud extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from ._azure import FakeAzure
    from ._azure_credential import StubCredential
    from ._gcp import FakeGcp
    from ._http import RecordedRequest
    from ._moto import MotoServer
    from ._pgtls import TlsPostgresProxy
    from ._tls import IssuedCertificate, TestCertificateAuthority

__all__ = [
    "TestCertificateAuthority",
    "IssuedCertificate",
    "MotoServer",
    "FakeGcp",
    "FakeAzure",
    "StubCredential",
    "RecordedRequest",
    "TlsPostgresProxy",
]

_MODULES = {
    "TestCertificateAuthority": "._tls",
    "IssuedCertificate": "._tls",
    "MotoServer": "._moto",
    "FakeGcp": "._gcp",
    "FakeAzure": "._azure",
    "StubCredential": "._azure_credential",
    "RecordedRequest": "._http",
    "TlsPostgresProxy": "._pgtls",
}


__getattr__, __dir__ = _lazy_exports(__name__, _MODULES)
