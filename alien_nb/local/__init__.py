"""The embedded-Postgres manager: server processes, data directories, metadata and locks."""
