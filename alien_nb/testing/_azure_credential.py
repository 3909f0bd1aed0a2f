"""`StubCredential`: an azure-core token credential that hands out the fake's token."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..core import MissingExtra

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken
    from typing_extensions import Self

FAKE_TOKEN = "fake-token"
"""The only bearer token `FakeAzure` accepts."""


class StubCredential:
    """A ``TokenCredential`` for `FakeAzure`: always returns ``"fake-token"``, valid for an hour.

    Every call is recorded: `scopes` holds the scope tuples asked for, in order,
    and `calls` the keyword arguments too (``tenant_id``, ``claims``, ``enable_cae``).
    """

    def __init__(self, token: str = FAKE_TOKEN) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []
        self.calls: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self._lock = threading.Lock()

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        try:
            from azure.core.credentials import AccessToken
        except ImportError:
            raise MissingExtra("azure", "azure-core") from None

        with self._lock:
            self.scopes.append(scopes)
            self.calls.append(
                (scopes, {"claims": claims, "tenant_id": tenant_id, "enable_cae": enable_cae, **kwargs})
            )
        return AccessToken(self.token, int(time.time()) + 3600)

    def close(self) -> None:
        """Nothing to release; here for the credential protocol."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
