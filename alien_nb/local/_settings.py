"""Server settings for embedding experiments on a workstation.

Sized from the machine: shared_buffers large enough to keep an HNSW index
in memory (stock 128MB doubles kNN latency once the index outgrows it),
maintenance_work_mem so a graph of a few hundred thousand vectors builds
in memory (a spilling build is ~4x slower), and parallel maintenance
workers for every core.
"""

from __future__ import annotations

import os

MiB = 1024**2
GiB = 1024**3


def machine_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 * GiB


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _mb(n_bytes: int) -> str:
    return f"{max(n_bytes // MiB, 1)}MB"


def tuned_settings(memory: int, cores: int) -> dict[str, str]:
    """Settings for a machine with ``memory`` bytes of RAM and ``cores`` CPUs."""
    shared_buffers = min(max(memory // 8, 128 * MiB), 4 * GiB)
    maintenance = min(max(memory // 8, 64 * MiB), 4 * GiB)
    return {
        "shared_buffers": _mb(shared_buffers),
        "effective_cache_size": _mb(memory // 2),
        "maintenance_work_mem": _mb(maintenance),
        "work_mem": _mb(min(max(memory // 256, 4 * MiB), 64 * MiB)),
        "max_parallel_maintenance_workers": str(max(cores, 1)),
        "max_parallel_workers_per_gather": str(max(cores // 2, 1)),
        "max_worker_processes": str(max(8, cores + 4)),
        "max_parallel_workers": str(max(8, cores)),
        # Bulk loads: fewer forced checkpoints; WAL-skipping COPY into new tables.
        "max_wal_size": "4GB",
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "random_page_cost": "1.1",
        # JIT compiles for seconds on analytic-looking kNN queries that run in ms.
        "jit": "off",
    }


def server_settings(
    port: int, memory: int | None = None, cores: int | None = None, *, socket_dir: str = ""
) -> dict[str, str]:
    """Everything alien_nb sets on a local server: network, auth and tuning.

    ``socket_dir`` is the private folder for the Unix socket ("" for none).
    """
    settings = {
        "port": str(port),
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": socket_dir,
        "unix_socket_permissions": "0700",
        "password_encryption": "scram-sha-256",
        "logging_collector": "off",
        "log_line_prefix": "%m [%p] ",
        "log_statement": "none",
        # A failing statement is not copied into server.log: ALTER ROLE ... PASSWORD '...' with a
        # typo would otherwise put the password there, next to the error.
        "log_min_error_statement": "panic",
        # Keep index pages warm across restarts.
        "shared_preload_libraries": "pg_prewarm",
    }
    settings.update(tuned_settings(memory or machine_memory(), cores or machine_cores()))
    return settings


def render_conf(settings: dict[str, str]) -> str:
    lines = ["# Written by alien_nb at every start; edit postgresql.auto.conf (ALTER SYSTEM) instead."]
    for key, value in settings.items():
        escaped = value.replace("'", "''")
        lines.append(f"{key} = '{escaped}'")
    return "\n".join(lines) + "\n"
