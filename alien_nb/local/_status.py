"""The heartbeat of a local database, in the contract's shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core import format_size
from ._metadata import Metadata


@dataclass(frozen=True)
class LocalStatus:
    name: str
    health: str  # unknown / healthy / degraded / unhealthy
    lifecycle: str  # creating / running / stopping / stopped / failed / unknown
    message: str
    port: int | None
    version: str | None
    process_running: bool
    pid: int | None
    data_size: int

    @classmethod
    def observe(
        cls,
        *,
        name: str,
        metadata: Metadata | None,
        running: bool,
        server_status: str | None,
        pid: int | None,
        desired: str,
        data_size: int,
        credentials: str | None = None,
    ) -> LocalStatus:
        """``credentials``: what a test login with metadata's credentials gave (ok/rejected/unreachable)."""
        if metadata is None:
            health, lifecycle, message = "unhealthy", "failed", "metadata.json is missing or unreadable"
        elif running and server_status == "ready" and credentials == "rejected":
            health, lifecycle, message = (
                "unhealthy",
                "running",
                "running, but it refuses the username or password in metadata.json",
            )
        elif running and server_status == "ready" and credentials == "unreachable":
            health, lifecycle, message = "degraded", "running", "running, but a test login did not complete"
        elif running and server_status == "orphaned":
            health, lifecycle, message = (
                "unhealthy",
                "failed",
                "its data directory is gone, but its server still runs; `alien-nb stop` ends it",
            )
        elif running and server_status == "ready":
            health, lifecycle, message = (
                "healthy",
                "running",
                f"accepting connections on 127.0.0.1:{metadata.port}",
            )
        elif running and server_status == "stopping":
            health, lifecycle, message = "unknown", "stopping", "shutting down"
        elif running:
            health, lifecycle, message = "unknown", "creating", "starting up"
        elif desired == "running":
            health, lifecycle, message = "unhealthy", "failed", "the server exited; the monitor restarts it"
        else:
            health, lifecycle, message = "unknown", "stopped", "stopped; data kept"
        return cls(
            name=name,
            health=health,
            lifecycle=lifecycle,
            message=message,
            port=metadata.port if metadata else None,
            version=metadata.version if metadata else None,
            process_running=running,
            pid=pid,
            data_size=data_size,
        )

    def to_dict(self) -> dict[str, Any]:
        """camelCase, as the contract's heartbeat (plus pid and dataSize)."""
        return {
            "name": self.name,
            "health": self.health,
            "lifecycle": self.lifecycle,
            "message": self.message,
            "port": self.port,
            "version": self.version,
            "processRunning": self.process_running,
            "pid": self.pid,
            "dataSize": self.data_size,
        }

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in self.to_dict().items()
            if k != "dataSize"
        )
        size = f"<tr><th style='text-align:left'>dataSize</th><td>{format_size(self.data_size)}</td></tr>"
        return f"<table>{rows}{size}</table>"
