"""pgvector types on a psycopg connection, numpy in and out."""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np
import psycopg
from psycopg.adapt import Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo

from ._errors import VectorError

_TYPE_NAMES = ("vector", "halfvec", "sparsevec", "bit")
# TypeInfo per server and database: fetching them costs four round trips per connection.
_CACHE: dict[tuple[str, str, str], dict[str, TypeInfo | None]] = {}
_CACHE_LOCK = threading.Lock()


class _VectorText(Loader):
    format = Format.TEXT
    dtype: Any = np.float32

    def load(self, data: Any) -> np.ndarray:
        text = bytes(data).decode()
        return np.array(text[1:-1].split(","), dtype=self.dtype) if len(text) > 2 else np.empty(0, self.dtype)


class _VectorBinary(Loader):
    format = Format.BINARY
    wire: Any = ">f4"
    dtype: Any = np.float32

    def load(self, data: Any) -> np.ndarray:
        return np.frombuffer(data, dtype=self.wire, offset=4).astype(self.dtype)


class _HalfvecText(_VectorText):
    dtype = np.float16


class _HalfvecBinary(_VectorBinary):
    wire = ">f2"
    dtype = np.float16


def _infos(conn: psycopg.Connection[Any]) -> dict[str, TypeInfo | None]:
    info = conn.info
    key = (info.host, str(info.port), info.dbname)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is None or cached.get("vector") is None:
        cached = {name: TypeInfo.fetch(conn, name) for name in _TYPE_NAMES}
        with _CACHE_LOCK:
            _CACHE[key] = cached
    return cached


_REGISTERED: weakref.WeakSet[Any] = weakref.WeakSet()


def register_types(conn: psycopg.Connection[Any]) -> bool:
    """Register vector, halfvec, sparsevec and bit on ``conn``; vectors load as numpy arrays.

    False (and nothing registered) if the extension is not installed in this database.
    """
    from pgvector.psycopg.bit import register_bit_info
    from pgvector.psycopg.halfvec import register_halfvec_info
    from pgvector.psycopg.sparsevec import register_sparsevec_info
    from pgvector.psycopg.vector import register_vector_info

    if conn in _REGISTERED:
        return True
    infos = _infos(conn)
    vector = infos.get("vector")
    if vector is None:
        return False
    register_vector_info(conn, vector)
    conn.adapters.register_loader(vector.oid, _VectorText)
    conn.adapters.register_loader(vector.oid, _VectorBinary)
    bit, sparsevec = infos.get("bit"), infos.get("sparsevec")
    if bit is not None:
        register_bit_info(conn, bit)
    halfvec = infos.get("halfvec")
    if halfvec is not None:
        register_halfvec_info(conn, halfvec)
        conn.adapters.register_loader(halfvec.oid, _HalfvecText)
        conn.adapters.register_loader(halfvec.oid, _HalfvecBinary)
    if sparsevec is not None:
        register_sparsevec_info(conn, sparsevec)
    _REGISTERED.add(conn)
    return True


def ensure_vector(conn: psycopg.Connection[Any]) -> None:
    """Make pgvector usable on ``conn``: create the extension if missing, register its types.

    Raise `VectorError` if the server has no pgvector to create.
    """
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.errors.UniqueViolation:
        pass  # created by another session at the same moment
    except (psycopg.errors.FeatureNotSupported, psycopg.errors.UndefinedFile) as exc:
        raise VectorError(
            "This PostgreSQL has no pgvector extension.",
            hint="Use the bundled local server (`%alien_postgres start NAME`), "
            "or install pgvector on the server.",
        ) from exc
    with _CACHE_LOCK:
        _CACHE.pop((conn.info.host, str(conn.info.port), conn.info.dbname), None)
    _REGISTERED.discard(conn)
    register_types(conn)
