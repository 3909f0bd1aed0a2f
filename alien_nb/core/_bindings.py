"""Bindings: the JSON that tells a process how to reach its Postgres.

Five variants, tagged by ``service``::

    local-postgres   host, port, database, username, password (inline)
    external         ... password (inline), sslMode
    aurora           clusterEndpoint, ... passwordSecretArn      (AWS Secrets Manager)
    cloud-sql        host, ... serverCaCertificates, passwordSecretName  (GCP Secret Manager)
    flexible-server  host, ... passwordSecretUri                 (Azure Key Vault)

Inline passwords are `SecretStr` and are left out of every dump, repr and
error; `runtime_json()` is the one explicit way to write them out.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    Strict,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from ._azure_uri import KeyVaultSecretRef, parse_key_vault_uri
from ._backends import SERVICES as SERVICES  # still importable from here, as before
from ._conninfo import is_ipv6_literal
from ._errors import BindingConfigInvalid
from ._pydantic import BASE_CONFIG, describe_errors
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


class _Redacted:
    def __repr__(self) -> str:
        return "<redacted>"


class PostgresBinding(BaseModel):
    """Base of the five binding variants; parse one with `parse_binding`."""

    model_config = ConfigDict(**{**BASE_CONFIG, "extra": "ignore"})

    #: The sslmode a client must use for this variant.
    default_sslmode: ClassVar[str] = "disable"
    #: Field that holds the secret-store locator, for cloud variants.
    locator_field: ClassVar[str | None] = None

    service: str

    if TYPE_CHECKING:  # every variant declares these, in its own wire order
        port: int
        database: str
        username: str

    @model_validator(mode="before")
    @classmethod
    def _refuse_unresolvable(cls, data: Any) -> Any:
        # Upstream lets any field be {"secretRef": ...} or a template
        # expression; nothing in a notebook can resolve those, so say which
        # field it is instead of a type error.
        if isinstance(data, Mapping):
            for name, field in cls.model_fields.items():
                key = field.alias or name
                value = data.get(key, data.get(name))
                if isinstance(value, Mapping) or (
                    isinstance(value, list) and name != "server_ca_certificates"
                ):
                    raise ValueError(_unresolvable(key, value))
                if isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
                    raise ValueError(_unresolvable(key, value))
        return data

    # -- what every variant answers ----------------------------------------

    @property
    def dial_host(self) -> str:
        """The host a client connects to."""
        return str(getattr(self, "host"))  # noqa: B009 (every variant but aurora has `host`)

    @property
    def sslmode(self) -> str:
        return self.default_sslmode

    @property
    def inline_password(self) -> SecretStr | None:
        """The password carried in the binding itself, or None for cloud variants."""
        return getattr(self, "password", None)

    @property
    def password_locator(self) -> str | None:
        """Where a cloud variant's password lives (ARN, secret name, vault URI)."""
        return None if self.locator_field is None else str(getattr(self, self.locator_field))

    def synced(self) -> dict[str, Any]:
        """The binding with ``password`` removed: safe to store, show or share."""
        return self.model_dump(mode="json", by_alias=True)

    def runtime_json(self) -> SecretStr:
        """The full binding as compact JSON, password included, for a child's environment.

        Wrapped in `SecretStr`: unwrap it only where it is handed over.
        """
        data = self.synced()
        password = self.inline_password
        if password is not None:
            data = _insert_after(data, "username", "password", password.get_secret_value())
        return SecretStr(json.dumps(data, separators=(",", ":"), ensure_ascii=False))

    # -- display: never the password ---------------------------------------

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, (_Redacted() if isinstance(value, SecretStr) else value)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        rows = []
        for key, value in self.synced().items():
            shown = (
                "<br>".join(_short_pem(v) for v in value)
                if isinstance(value, list)
                else html.escape(str(value))
            )
            rows.append(f"<tr><th style='text-align:left'>{html.escape(key)}</th><td>{shown}</td></tr>")
        if self.inline_password is not None:
            rows.append("<tr><th style='text-align:left'>password</th><td><i>hidden</i></td></tr>")
        title = html.escape(f"{type(self).__name__} ({self.service})")
        return f"<table><caption>{title}</caption>{''.join(rows)}</table>"


def _short_pem(pem: str) -> str:
    return html.escape(f"PEM certificate ({len(pem)} chars)")


def _unresolvable(key: str, value: Any) -> str:
    kind = "a secretRef" if isinstance(value, Mapping) and "secretRef" in value else "an expression"
    return f"field `{key}` is {kind}, which cannot be resolved in a notebook; give its plain value"


def _insert_after(data: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        out[k] = v
        if k == after:
            out[key] = value
    return out


class LocalPostgresBinding(PostgresBinding):
    """A Postgres on this machine (alien_nb's embedded server); TLS off."""

    service: Literal["local-postgres"] = "local-postgres"
    host: Host
    port: Port
    database: Text
    username: Text
    password: InlinePassword


class ExternalBinding(PostgresBinding):
    """Any reachable Postgres with an inline password; verify-full TLS by default."""

    service: Literal["external"] = "external"
    host: Host
    port: Port
    database: Text
    username: Text
    password: InlinePassword
    ssl_mode: Literal["verify-full", "disable"] = "verify-full"

    @property
    def sslmode(self) -> str:
        return self.ssl_mode


class AuroraBinding(PostgresBinding):
    """Aurora PostgreSQL; password in AWS Secrets Manager."""

    default_sslmode: ClassVar[str] = "verify-full"
    locator_field: ClassVar[str | None] = "password_secret_arn"

    service: Literal["aurora"] = "aurora"
    cluster_endpoint: Host
    port: Port
    database: Text
    username: Text
    password_secret_arn: Annotated[StrictStr, AfterValidator(_check_arn)]

    @property
    def dial_host(self) -> str:
        return self.cluster_endpoint

    @property
    def region(self) -> str:
        return self.password_secret_arn.split(":")[3]


class CloudSqlBinding(PostgresBinding):
    """GCP Cloud SQL; password in Secret Manager, server CA roots in the binding."""

    default_sslmode: ClassVar[str] = "verify-ca"
    locator_field: ClassVar[str | None] = "password_secret_name"

    service: Literal["cloud-sql"] = "cloud-sql"
    host: Host
    port: Port
    database: Text
    username: Text
    server_ca_certificates: Annotated[list[StrictStr], AfterValidator(_check_pem_roots)]
    password_secret_name: Annotated[StrictStr, AfterValidator(_check_gcp_secret)]


class FlexibleServerBinding(PostgresBinding):
    """Azure Database for PostgreSQL Flexible Server; password in Key Vault."""

    default_sslmode: ClassVar[str] = "verify-full"
    locator_field: ClassVar[str | None] = "password_secret_uri"

    service: Literal["flexible-server"] = "flexible-server"
    host: Host
    port: Port
    database: Text
    username: Text
    password_secret_uri: Annotated[StrictStr, AfterValidator(_check_key_vault_uri)]

    @property
    def key_vault_secret(self) -> KeyVaultSecretRef:
        return parse_key_vault_uri(self.password_secret_uri)


AnyBinding = Annotated[
    LocalPostgresBinding | ExternalBinding | AuroraBinding | CloudSqlBinding | FlexibleServerBinding,
    Field(discriminator="service"),
]


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter[Any]:
    return TypeAdapter(AnyBinding)


def parse_binding(
    data: str | bytes | Mapping[str, Any] | PostgresBinding,
    *,
    name: str | None = None,
    variable: str | None = None,
) -> PostgresBinding:
    """Parse a binding from JSON text or a mapping.

    ``name`` and ``variable`` only label errors. Unknown keys are ignored.

    Raise `BindingConfigInvalid` if the JSON is malformed, ``service`` is
    unknown, a field is missing or wrong, or a field is a secretRef or
    expression. The message names fields, never values.
    """
    if isinstance(data, PostgresBinding):
        return data
    reason = _problem(data)
    if reason is None:
        if isinstance(data, (str, bytes, bytearray, memoryview)):
            data, reason = _loads(data)
        if reason is None and not isinstance(data, Mapping):
            reason = "expected a JSON object"
        if reason is None:
            try:
                binding: PostgresBinding = _adapter().validate_python(data)
                return binding
            except ValidationError as exc:
                reason = describe_errors(exc)
            except Exception:
                # Whatever a hostile mapping (a raising __getitem__, a value
                # nested past the stack) makes validation trip over; the
                # exception may quote the input, so none of it is kept.
                reason = "it holds values a binding cannot have (nested too deep or of the wrong kind)"
    # Raised outside every except block so the original error (which may hold
    # the input) is not even attached as __context__.
    raise BindingConfigInvalid(reason, name=name, variable=variable)


#: A binding is a few hundred bytes; a few certificates make it a few KiB.
MAX_BINDING_BYTES = 1 << 20


def _problem(data: Any) -> str | None:
    """A reason to refuse ``data`` before parsing it at all, or None."""
    if isinstance(data, (str, bytes, bytearray, memoryview)):
        size = len(data) if not isinstance(data, memoryview) else data.nbytes
        if size > MAX_BINDING_BYTES:
            limit = f"{MAX_BINDING_BYTES:,}"
            return f"it is {size:,} characters long; a binding is a small JSON object (at most {limit})"
        return None
    if isinstance(data, Mapping):
        return None
    return f"expected JSON text or a mapping, not {type(data).__name__}"


def _loads(text: str | bytes | bytearray | memoryview) -> tuple[Any, str | None]:
    raw = bytes(text) if isinstance(text, memoryview) else text
    try:
        return json.loads(raw, parse_int=_int), None
    except _NumberTooLong:
        return None, "not a usable binding: a number in it has more than 20 digits"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON at line {exc.lineno}, column {exc.colno}"
    except UnicodeDecodeError:
        return None, "not valid JSON (the bytes are not UTF-8 text)"
    except RecursionError:
        return None, "not a usable binding: its JSON is nested far too deep"
    except ValueError:  # a last resort: its message might quote the input
        return None, "not valid JSON"


class _NumberTooLong(ValueError):
    pass


def _int(digits: str) -> int:
    # int() on thousands of digits is slow, and past sys.get_int_max_str_digits()
    # it raises a ValueError of its own; no field of a binding needs 20 digits.
    if len(digits.lstrip("-")) > 20:
        raise _NumberTooLong
    return int(digits)


def synced_params(binding: PostgresBinding | str | Mapping[str, Any]) -> dict[str, Any]:
    """The synced channel: the binding as a JSON-ready dict without ``password``."""
    return parse_binding(binding).synced()
