"""The fields a binding is made of, each checked as it is parsed.

Errors name what is wrong and never quote the value: pydantic shows these
messages next to the field name only (``hide_input_in_errors``).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr, Strict, StrictStr

from ._azure_uri import parse_key_vault_uri
from ._conninfo import is_ipv6_literal
from ._redact import remember_secret


def _check_text(value: str) -> str:
    # A lone surrogate cannot be encoded as UTF-8, so no driver, URL or environment can carry it.
    # (A NUL can: the contract's wire vectors percent-encode it in the URL.)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)") from None
    return value


def _check_password(value: SecretStr) -> SecretStr:
    try:
        _check_text(value.get_secret_value())
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return value


def _check_host(value: str) -> str:
    _check_text(value)
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    if not value:
        raise ValueError("must not be empty")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain spaces")
    if "@" in value:
        raise ValueError("must not contain '@'")
    if ":" in value and not is_ipv6_literal(value):
        raise ValueError("must be a host name or IP address without a port; put the port in `port`")
    return value


_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+")
_GCP_SECRET = re.compile(r"(?:projects/[A-Za-z0-9._:-]+/secrets/)?[A-Za-z0-9_-]{1,255}")


def _check_arn(value: str) -> str:
    if not _ARN.fullmatch(value):
        raise ValueError(
            "must be a Secrets Manager ARN, arn:aws:secretsmanager:<region>:<account>:secret:<name>"
        )
    return value


def _check_gcp_secret(value: str) -> str:
    if not _GCP_SECRET.fullmatch(value):
        raise ValueError(
            "must be a Secret Manager secret id (letters, digits, '-', '_') "
            "or projects/<project>/secrets/<id>"
        )
    return value


def _check_key_vault_uri(value: str) -> str:
    parse_key_vault_uri(value)
    return value


def _check_pem_roots(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("must hold at least one PEM certificate (verify-ca needs a root)")
    if not all("-----BEGIN CERTIFICATE-----" in pem for pem in value):
        raise ValueError("each entry must be a PEM certificate (-----BEGIN CERTIFICATE-----)")
    return value


Host = Annotated[StrictStr, AfterValidator(_check_host)]
Port = Annotated[int, Strict(), Field(ge=1, le=65535)]
Text = Annotated[StrictStr, AfterValidator(_check_text)]


def _remembered(password: SecretStr) -> SecretStr:
    remember_secret(password)  # known to the notebook scrubber from the moment it is parsed
    return password


InlinePassword = Annotated[
    SecretStr, Field(exclude=True), AfterValidator(_check_password), AfterValidator(_remembered)
]
SecretArn = Annotated[StrictStr, AfterValidator(_check_arn)]
GcpSecretName = Annotated[StrictStr, AfterValidator(_check_gcp_secret)]
KeyVaultUri = Annotated[StrictStr, AfterValidator(_check_key_vault_uri)]
PemRoots = Annotated[list[StrictStr], AfterValidator(_check_pem_roots)]
