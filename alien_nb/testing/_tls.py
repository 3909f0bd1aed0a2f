"""A throwaway certificate authority for TLS on loopback.

The certificates themselves are built in ``_x509`` (``cryptography``, of the ``emulators``
extra), imported by the first `TestCertificateAuthority`; `IssuedCertificate` needs only ``ssl``.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..core import MissingExtra

if TYPE_CHECKING:
    from ._x509 import Authority


@dataclass(frozen=True)
class IssuedCertificate:
    """A server certificate and its private key, both PEM text, issued by a `TestCertificateAuthority`."""

    cert_pem: str
    key_pem: str
    ca_pem: str
    names: tuple[str, ...]

    @property
    def chain_pem(self) -> str:
        """The leaf certificate followed by the CA certificate."""
        return self.cert_pem + self.ca_pem

    def write(self, directory: str | os.PathLike[str], stem: str = "server") -> tuple[Path, Path]:
        """Write ``<stem>.crt`` (leaf, then CA) and ``<stem>.key`` (mode 0600); return both paths."""
        folder = Path(directory)
        cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
        cert_path.write_text(self.chain_pem, encoding="ascii")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as key_file:
            key_file.write(self.key_pem)
        os.chmod(key_path, 0o600)
        return cert_path, key_path

    def server_context(self) -> ssl.SSLContext:
        """A server-side `ssl.SSLContext` presenting this certificate (TLS 1.2 or later)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # load_cert_chain only reads files: stage them in a private directory for the call.
        with tempfile.TemporaryDirectory(prefix="alien-nb-tls-") as tmp:
            cert_path, key_path = self.write(tmp)
            context.load_cert_chain(cert_path, key_path)
        return context


class TestCertificateAuthority:
    """An in-memory CA (EC P-256) for issuing loopback server certificates in tests.

    Certificates are valid from one day ago to two days ahead and carry what
    OpenSSL's strict verification (Python 3.13's default ``VERIFY_X509_STRICT``)
    asks for: a critical CA basic constraint, key usages, SKI and AKI, and
    subject alternative names.

    >>> ca = TestCertificateAuthority()
    >>> server = ca.issue("127.0.0.1", "localhost")
    >>> ctx = ca.client_context()   # trusts only this CA
    """

    __test__ = False  # not a pytest test class

    def __init__(self, common_name: str = "alien_nb test CA") -> None:
        self._authority = _authority(common_name)
        self._cert_pem = self._authority.cert_pem

    @property
    def cert_pem(self) -> str:
        """The CA certificate, PEM text: what clients should trust."""
        return self._cert_pem

    def write_ca(self, path: str | os.PathLike[str]) -> Path:
        """Write the CA certificate PEM to ``path`` and return it as a `Path`."""
        target = Path(path)
        target.write_text(self._cert_pem, encoding="ascii")
        return target

    def client_context(self) -> ssl.SSLContext:
        """A client-side `ssl.SSLContext` that trusts this CA only, with hostname checks on."""
        return ssl.create_default_context(cadata=self._cert_pem)

    def issue(self, *names: str) -> IssuedCertificate:
        """Issue a server certificate for DNS names and/or IP literals.

        IP literals become IP SANs, everything else DNS SANs; the first name is
        also the subject CN. The certificate is good for server and client auth.
        """
        if not names:
            raise ValueError("issue() needs at least one DNS name or IP address")
        cert_pem, key_pem = self._authority.issue(names)
        return IssuedCertificate(cert_pem, key_pem, ca_pem=self._cert_pem, names=tuple(names))


def _authority(common_name: str) -> Authority:
    try:
        from ._x509 import Authority
    except ImportError:
        raise MissingExtra("emulators", "cryptography") from None
    return Authority(common_name)
