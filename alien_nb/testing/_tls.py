"""A throwaway certificate authority for TLS on loopback."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_BACKDATE = dt.timedelta(days=1)
_LIFETIME = dt.timedelta(days=2)


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
        now = dt.datetime.now(dt.timezone.utc)
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        public = self._key.public_key()
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(self._name)
            .issuer_name(self._name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self._cert_pem = self._cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

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
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        now = dt.datetime.now(dt.timezone.utc)
        key = ec.generate_private_key(ec.SECP256R1())
        ca_ski = self._cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return IssuedCertificate(
            cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            key_pem=key_pem.decode("ascii"),
            ca_pem=self._cert_pem,
            names=tuple(names),
        )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
