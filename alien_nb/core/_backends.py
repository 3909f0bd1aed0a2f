"""Every backend and binding service name, defined once.

A *backend* is where `start --backend` puts a database; a *service* is how a
binding says to reach one (the contract's ``service`` field). The cloud
names are both: a cloud backend's binding has that service.
"""

from __future__ import annotations

from typing import Final

LOCAL: Final = "local"
AURORA: Final = "aurora"
CLOUD_SQL: Final = "cloud-sql"
FLEXIBLE_SERVER: Final = "flexible-server"

#: Managed Postgres, created (billably) through the provider's API.
CLOUD_BACKENDS: Final = (AURORA, CLOUD_SQL, FLEXIBLE_SERVER)
#: What ``--backend`` takes, the default first.
BACKENDS: Final = (LOCAL, *CLOUD_BACKENDS)

#: The binding services: alien_nb's embedded server, any reachable host, and the clouds.
LOCAL_SERVICE: Final = "local-postgres"
EXTERNAL: Final = "external"
SERVICES: Final = (LOCAL_SERVICE, EXTERNAL, *CLOUD_BACKENDS)
