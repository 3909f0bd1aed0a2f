"""Connection strings in the contract's exact form."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

from ._backends import LOCAL_SERVICE


def encode_userinfo(text: str) -> str:
    """Percent-encode every UTF-8 byte except ``A-Z a-z 0-9 - . _ ~``, hex upper-case.

    >>> encode_userinfo("p@ss/word")
    'p%40ss%2Fword'
    """
    # quote() with safe="" keeps exactly RFC 3986's unreserved set.
    return quote(text, safe="", encoding="utf-8", errors="strict")


def is_ipv6_literal(host: str) -> bool:
    """True for ``::1``, ``fe80::1%eth0`` or ``[::1]``."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    address = bare.split("%", 1)[0]
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def url_host(host: str) -> str:
    """The host as it stands in a URL: IPv6 literals in brackets, zone ``%`` as ``%25``.

    Upstream writes IPv6 hosts raw, which no URL parser reads back; alien_nb
    brackets them (RFC 3986, RFC 6874).
    """
    if host.startswith("[") and host.endswith("]"):
        return host
    if ":" in host and is_ipv6_literal(host):
        return "[" + host.replace("%", "%25") + "]"
    return host


def build_connection_string(
    *, username: str, password: str, host: str, port: int, database: str, sslmode: str
) -> str:
    """``postgres://user:password@host:port/database?sslmode=mode``; every part present."""
    return (
        f"postgres://{encode_userinfo(username)}:{encode_userinfo(password)}"
        f"@{url_host(host)}:{port}/{encode_userinfo(database)}?sslmode={sslmode}"
    )


#: The one authentication a password may go out by when TLS does not prove who the server is.
SCRAM_ONLY = "scram-sha-256"


def required_auth(service: str, sslmode: str) -> str | None:
    """libpq's ``require_auth`` for a binding: ``scram-sha-256``, or None when TLS proves the server.

    Local servers authenticate by SCRAM only, so anything else on their port
    (a process that took it while the server was down) is an impostor: asked
    for a cleartext password or an MD5 hash, libpq then refuses and sends
    nothing, and SCRAM itself proves the server knows the password's
    verifier. The same holds for an ``external`` binding without TLS
    (``sslmode=disable``), where nothing else authenticates the server.
    With ``verify-ca`` / ``verify-full`` the certificate does, and managed
    servers may ask for any method over it. (An impostor that speaks SCRAM
    still gets the client's proof, open to offline guessing: harmless for
    the 24 random characters of a local password, not for a weak one.)
    """
    if service == LOCAL_SERVICE or not sslmode.startswith("verify"):
        return SCRAM_ONLY
    return None
