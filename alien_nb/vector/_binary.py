"""PostgreSQL binary COPY, built and parsed with numpy instead of per-row Python.

A row of ``(id bigint, embedding vector(D))`` in binary COPY is fixed width:
field count, then for each field its length and value, all big-endian. So
a whole table is one numpy structured array, written or read in one go.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\0" + b"\0\0\0\0" + b"\0\0\0\0"
TRAILER = b"\xff\xff"
#: Writes above ~1 MB make libpq spin on one huge CopyData message; see the
#: performance notes (a structured memoryview also hides its byte length).
WRITE_CHUNK = 1 << 20

# numpy dtypes that map to a fixed-width Postgres type, with the type name.
FIXED_TYPES: dict[str, tuple[str, str]] = {
    "int64": (">i8", "bigint"),
    "int32": (">i4", "integer"),
    "int16": (">i2", "smallint"),
    "float64": (">f8", "double precision"),
    "float32": (">f4", "real"),
    "bool": ("?", "boolean"),
}


def vector_field(kind: str, dim: int) -> tuple[str, np.dtype]:
    """The numpy element type of one vector value (``vector`` float4, ``halfvec`` float2)."""
    if kind == "vector":
        return ">f4", np.dtype(">f4")
    if kind == "halfvec":
        return ">f2", np.dtype(">f2")
    raise ValueError(f"unknown vector type {kind!r}")


def row_dtype(dim: int, kind: str, extra: Sequence[tuple[str, str]] = ()) -> np.dtype:
    """The binary COPY layout of ``(id, embedding, *extra)`` rows; extra = (name, numpy dtype)."""
    element, _element_dtype = vector_field(kind, dim)
    fields: list[tuple[str, object] | tuple[str, object, object]] = [
        ("nfields", ">i2"),
        ("id_len", ">i4"),
        ("id", ">i8"),
        ("vec_len", ">i4"),
        ("dim", ">u2"),
        ("unused", ">u2"),
        ("values", element, (dim,)),
    ]
    for name, np_type in extra:
        big_endian, _pg = FIXED_TYPES[np_type]
        fields += [(f"{name}__len", ">i4"), (f"{name}__value", big_endian)]
    return np.dtype(fields)


def encode_rows(
    ids: np.ndarray, vectors: np.ndarray, kind: str = "vector", extra: Sequence[tuple[str, np.ndarray]] = ()
) -> np.ndarray:
    """The rows as one structured array, ready for `iter_copy_chunks`."""
    n, dim = vectors.shape
    dtype = row_dtype(dim, kind, [(name, str(col.dtype)) for name, col in extra])
    rows = np.empty(n, dtype=dtype)
    rows["nfields"] = 2 + len(extra)
    rows["id_len"] = 8
    rows["id"] = ids
    element_size = np.dtype(vector_field(kind, dim)[0]).itemsize
    rows["vec_len"] = 4 + element_size * dim
    rows["dim"] = dim
    rows["unused"] = 0
    rows["values"] = vectors
    for name, col in extra:
        rows[f"{name}__len"] = np.dtype(FIXED_TYPES[str(col.dtype)][0]).itemsize
        rows[f"{name}__value"] = col
    return rows


def stream_rows(
    ids: np.ndarray,
    vectors: np.ndarray,
    kind: str = "vector",
    extra: Sequence[tuple[str, np.ndarray]] = (),
    chunk: int = WRITE_CHUNK,
) -> Iterator[memoryview]:
    """Header, the rows encoded block by block into one reused buffer of <= ``chunk`` bytes, trailer.

    Same bytes as `encode_rows` + `iter_copy_chunks`, without a second copy of
    the whole table in memory (for 1M x 384 that is 1.5 GB of page faults
    saved). Each view is valid until the next one is requested: write it first.
    """
    n, dim = vectors.shape
    dtype = row_dtype(dim, kind, [(name, str(col.dtype)) for name, col in extra])
    per_block = max(1, chunk // dtype.itemsize)
    block = np.empty(min(per_block, max(n, 1)), dtype=dtype)
    block["nfields"] = 2 + len(extra)
    block["id_len"] = 8
    block["vec_len"] = 4 + np.dtype(vector_field(kind, dim)[0]).itemsize * dim
    block["dim"] = dim
    block["unused"] = 0
    for name, col in extra:
        block[f"{name}__len"] = np.dtype(FIXED_TYPES[str(col.dtype)][0]).itemsize
    yield memoryview(HEADER)
    for start in range(0, n, per_block):
        stop = min(start + per_block, n)
        rows = block[: stop - start]
        rows["id"] = ids[start:stop]
        rows["values"] = vectors[start:stop]  # converts to big-endian float4 / float2 on the way
        for name, col in extra:
            rows[f"{name}__value"] = col[start:stop]
        yield memoryview(rows).cast("B")  # type: ignore[arg-type]
    yield memoryview(TRAILER)


def iter_copy_chunks(rows: np.ndarray, chunk: int = WRITE_CHUNK) -> Iterator[memoryview]:
    """Header, the rows in byte-format chunks of at most ``chunk`` bytes, trailer."""
    yield memoryview(HEADER)
    flat = memoryview(rows).cast("B")  # type: ignore[arg-type]  # bytes, so len() is a byte count
    for start in range(0, len(flat), chunk):
        yield flat[start : start + chunk]
    yield memoryview(TRAILER)


def decode_id_vector_rows(
    data: bytes | bytearray | memoryview, kind: str = "vector"
) -> tuple[np.ndarray, np.ndarray]:
    """Parse a binary COPY of ``(bigint, vector)`` rows into ids and an (N, D) float32 matrix.

    Raise `ValueError` if the rows are not all of one width (a NULL, or mixed dimensions).
    """
    buf = memoryview(data).cast("B")
    if bytes(buf[:11]) != HEADER[:11]:
        raise ValueError("not a binary COPY stream")
    ext = int.from_bytes(buf[15:19], "big")
    body = buf[19 + ext : len(buf) - 2]
    if len(body) == 0:
        return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
    dim = int.from_bytes(body[18:20], "big")
    dtype = row_dtype(dim, kind)
    if len(body) % dtype.itemsize:
        raise ValueError("rows of different widths (NULLs or mixed dimensions)")
    rows = np.frombuffer(body, dtype=dtype)
    if (rows["nfields"] != 2).any() or (rows["dim"] != dim).any() or (rows["id_len"] != 8).any():
        raise ValueError("rows of different shapes (NULLs or mixed dimensions)")
    return rows["id"].astype(np.int64), rows["values"].astype(np.float32)
