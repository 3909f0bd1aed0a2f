"""From a binding (and, for cloud variants, the resolved password) to a URL."""

from __future__ import annotations

from pydantic import SecretStr

from ._bindings import PostgresBinding
from ._conninfo import build_connection_string
from ._errors import AlienError


def connection_string(binding: PostgresBinding, *, password: str | SecretStr | None = None) -> SecretStr:
    """The binding's ``postgres://`` URL, wrapped in `SecretStr`.

    Inline variants (``local-postgres``, ``external``) use their own password;
    cloud variants need the password read from their secret store, passed as
    ``password`` (`alien_nb.resolver` does that for you).

    >>> url = connection_string(binding)
    >>> url                       # SecretStr('**********')
    >>> url.get_secret_value()    # 'postgres://alien:...@host:5432/db?sslmode=disable'
    """
    inline = binding.inline_password
    if inline is not None and password is not None:
        raise AlienError(
            f"A {binding.service} binding carries its own password; do not pass `password=`.",
            hint="Call connection_string(binding) without password=.",
        )
    secret = inline if inline is not None else password
    if secret is None:
        raise AlienError(
            f"A {binding.service} binding keeps its password in a secret store "
            f"({binding.password_locator}); connection_string() needs it passed as `password=`.",
            hint="Use alien_nb.resolver.get_postgres_connection(...) to read the secret and build the URL.",
        )
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return SecretStr(
        build_connection_string(
            username=binding.username,
            password=raw,
            host=binding.dial_host,
            port=binding.port,
            database=binding.database,
            sslmode=binding.sslmode,
        )
    )


def redacted_connection_string(binding: PostgresBinding) -> str:
    """The binding's URL with ``****`` where the password goes: safe to show."""
    return build_connection_string(
        username=binding.username,
        password="",
        host=binding.dial_host,
        port=binding.port,
        database=binding.database,
        sslmode=binding.sslmode,
    ).replace(":@", ":****@", 1)
