"""``load``: embeddings from numpy, lists or a DataFrame into a table, by binary COPY."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
from psycopg import sql

from ..core._progress import Progress
from . import _args as args
from ._binary import row_dtype, stream_rows
from ._columns import Column, check_types, column, resolve
from ._errors import DimensionMismatch, InvalidArgument, InvalidEmbeddings, TableNotFound, VectorError
from ._tables import forget_columns, regclass, require_columns, split_name, vector_column
from ._types import register_types

if TYPE_CHECKING:
    import pandas as pd

MAX_DIMENSIONS = 16000  # pgvector's limit for vector and halfvec columns


@dataclass(frozen=True)
class LoadResult:
    table: str
    rows: int
    seconds: float
    created: bool

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")

    def __repr__(self) -> str:
        made = "created and loaded" if self.created else "appended to"
        rate = f"{self.rows_per_second:,.0f} rows/s"
        return f"<LoadResult {self.table!r} {made}: {self.rows:,} rows in {self.seconds:.2f} s ({rate})>"


def _as_matrix(embeddings: Any) -> np.ndarray:
    try:
        matrix = np.asarray(embeddings)
    except ValueError:
        raise InvalidEmbeddings(
            "The embeddings are ragged (rows of different lengths).",
            hint="Give every row the same dimension.",
        ) from None
    if matrix.dtype == object:
        try:
            matrix = np.stack([np.asarray(row, dtype=np.float32) for row in matrix])
        except (ValueError, TypeError):
            raise InvalidEmbeddings(
                "The embeddings are not all numeric rows of one length.", hint="Pass an (N, D) float array."
            ) from None
    if matrix.ndim != 2:
        raise InvalidEmbeddings(
            f"Embeddings must be 2-dimensional (N rows x D dimensions); got {matrix.ndim} dimension(s).",
            hint="For one vector use embeddings[None, :]; for a list of vectors np.stack(them).",
        )
    if not (np.issubdtype(matrix.dtype, np.floating) or np.issubdtype(matrix.dtype, np.integer)):
        raise InvalidEmbeddings(
            f"Embeddings must be numbers, not {matrix.dtype}.", hint="Convert with .astype(np.float32)."
        )
    _n, dim = matrix.shape
    if dim == 0 or dim > MAX_DIMENSIONS:
        raise InvalidEmbeddings(
            f"Embeddings have {dim} dimensions; pgvector stores 1 to {MAX_DIMENSIONS}.",
            hint="Reduce the dimension (e.g. PCA) or check the array's orientation.",
        )
    matrix = matrix.astype(np.float32, copy=False)
    if not _all_finite(matrix):
        bad = ~np.isfinite(matrix)
        row, col = map(int, np.argwhere(bad)[0])
        raise InvalidEmbeddings(
            f"Embeddings hold {int(bad.sum())} NaN or infinite value(s); "
            f"the first is at row {row}, column {col}.",
            hint="pgvector rejects them: drop or repair those rows before loading. Nothing was sent.",
        )
    return matrix


def _is_frame(value: Any) -> bool:
    pandas = sys.modules.get("pandas")  # a DataFrame means pandas is loaded already; never import it here
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _all_finite(matrix: np.ndarray, block: int = 1 << 16) -> bool:
    """No NaN or inf, checked in blocks: one pass, small temporaries, no BLAS threads
    (which would keep spinning and take CPU from the server during the load)."""
    return all(np.isfinite(matrix[i : i + block]).all() for i in range(0, len(matrix), block))


def load(
    conn: psycopg.Connection[Any],
    table: str,
    embeddings: Any,
    *,
    ids: Sequence[int] | np.ndarray | None = None,
    columns: pd.DataFrame | Mapping[str, Sequence[Any]] | None = None,
    types: Mapping[str, str] | None = None,
    create: bool = True,
    replace: bool = False,
    unlogged: bool = False,
    dtype: str = "vector",
    embedding_column: str = "embedding",
    id_column: str = "id",
    progress: bool = True,
) -> LoadResult:
    """Load embeddings into ``table`` (``id bigint``, ``embedding vector(D)``, metadata columns).

    ``embeddings`` is an (N, D) array, a list of equal-length lists, or a
    DataFrame with an ``embedding_column`` of vectors plus metadata columns.
    ``ids`` default to 0..N-1 (after the largest existing id when appending);
    ``columns`` adds metadata columns, each typed by its values: ``date``,
    ``timestamp`` / ``timestamptz`` (naive / aware datetimes, numpy and
    pandas datetime64), ``numeric`` (Decimal), ``uuid``, ``boolean``,
    ``bytea``, ``bigint``, ``double precision``, ``text``, ``interval``, and
    arrays (``bigint[]``, ``text[]``, ...) for lists; None / NaN / NaT are
    NULL. ``types={"published": "date"}`` sets a column's type instead (the
    server then parses values not already of that type). Everything is validated before a
    single row is sent; the rows then go in one binary COPY, built from numpy
    buffers. ``replace=True`` drops ``table`` first (in the same
    transaction), so re-running a cell loads the same rows instead of
    appending them again. ``unlogged=True`` makes an UNLOGGED table: faster to fill, but
    emptied after a server crash, so only for throwaway experiments.
    ``dtype="halfvec"`` stores half-precision vectors. With ``progress`` a bar shows where
    someone watches (a terminal or a Jupyter frontend), never in an unattended run.

    Raise `InvalidEmbeddings`, `DimensionMismatch`, `InvalidArgument` (a column mixing
    types, a bad ``types=``), or `TableNotFound` (with ``create=False``).
    """
    args.choice("vector type", "dtype", dtype, ("vector", "halfvec"))
    embedding_column, id_column = _column_names(embedding_column, id_column)
    matrix, pairs, ids = _matrix_and_metadata(embeddings, columns, ids, embedding_column, id_column)
    declared = check_types(types, (str(name) for name, _values in pairs))
    meta = [column(name, values, declared.get(str(name))) for name, values in pairs]
    n, dim = matrix.shape
    _check_fits(matrix, meta, dtype)
    given_ids = None if ids is None else _check_ids(ids, n)
    clash = {id_column, embedding_column} & {c.name for c in meta}
    if clash:
        raise InvalidEmbeddings(f"Metadata column(s) {sorted(clash)} clash with the id/embedding columns.")
    register_types(conn)
    forget_columns(conn, table)
    started = time.perf_counter()
    with args.server_errors(f"the load into {table!r}"), conn.transaction():
        meta = resolve(conn, meta)
        if replace:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(split_name(table)))
        created = _prepare_table(conn, table, dim, dtype, meta, create, unlogged, id_column, embedding_column)
        id_array = _ids_to_store(conn, table, id_column, given_ids, n, created)
        _copy(
            conn, table, id_array.astype(np.int64), matrix, meta, dtype, id_column, embedding_column, progress
        )
    return LoadResult(table, n, time.perf_counter() - started, created)


def _column_names(embedding_column: str, id_column: str) -> tuple[str, str]:
    """The two column names, checked, and told apart."""
    embedding_column, id_column = (
        args.name("embedding_column", embedding_column),
        args.name("id_column", id_column),
    )
    if embedding_column == id_column:
        raise InvalidArgument(
            f"embedding_column and id_column are both {id_column!r}; "
            "the ids are a bigint column of their own.",
            hint="Give the vectors and the ids different column names "
            "(the defaults are 'embedding' and 'id').",
        )
    return embedding_column, id_column


def _matrix_and_metadata(
    embeddings: Any,
    columns: pd.DataFrame | Mapping[str, Sequence[Any]] | None,
    ids: Any,
    embedding_column: str,
    id_column: str,
) -> tuple[np.ndarray, list[tuple[str, Any]], Any]:
    """The (N, D) float32 matrix, the metadata columns as (name, values), and the ids (None: numbered)."""
    pairs: list[tuple[str, Any]] = []
    if _is_frame(embeddings):
        matrix, pairs, ids = _from_frame(embeddings, ids, embedding_column, id_column)
    else:
        matrix = _as_matrix(embeddings)
    if columns is not None:
        items = ((c, columns[c]) for c in columns.columns) if _is_frame(columns) else columns.items()  # type: ignore[union-attr]
        pairs += list(items)
    return matrix, pairs, ids


def _from_frame(
    frame: pd.DataFrame, ids: Any, embedding_column: str, id_column: str
) -> tuple[np.ndarray, list[tuple[str, Any]], Any]:
    """A DataFrame's vectors, its other columns, and its id column unless ``ids`` were given."""
    if embedding_column not in frame.columns:
        raise InvalidEmbeddings(
            f"The DataFrame has no {embedding_column!r} column.",
            hint="Name the column that holds the vectors with embedding_column=.",
        )
    matrix = _as_matrix(list(frame[embedding_column]))
    pairs: list[tuple[str, Any]] = []
    for name in frame.columns:
        if name == id_column and ids is None:
            ids = frame[name].to_numpy()
        elif name != embedding_column:
            pairs.append((name, frame[name]))
    return matrix, pairs, ids


def _check_fits(matrix: np.ndarray, meta: list[Column], dtype: str) -> None:
    """halfvec can hold the values, and every metadata column has one value per embedding."""
    n = len(matrix)
    if dtype == "halfvec" and n and float(np.abs(matrix).max()) > 65504.0:
        raise InvalidEmbeddings(
            "Some values are beyond half precision's range (|x| > 65504); as halfvec they would be infinite.",
            hint="Scale or normalise the embeddings, or keep dtype='vector'.",
        )
    for col in meta:
        if len(col.values) != n:
            raise InvalidEmbeddings(f"Column {col.name!r} has {len(col.values)} values for {n} embeddings.",
                                    hint="Give one metadata value per embedding.")  # fmt: skip


def _ids_to_store(
    conn: psycopg.Connection[Any], table: str, id_column: str, given: np.ndarray | None, n: int, created: bool
) -> np.ndarray:
    """The given ids (none of them in the table yet), or 0..n-1 after the table's largest id."""
    if given is None:
        start = 0 if created else _next_id(conn, table, id_column)
        return np.arange(start, start + n, dtype=np.int64)
    if not created:
        _refuse_existing_ids(conn, table, id_column, given)
    return given


def _check_ids(ids: Any, n: int) -> np.ndarray:
    """``ids`` as n distinct int64 values: a repeated id would be stored twice, silently."""
    id_array = np.asarray(ids)
    if id_array.shape != (n,) or not np.issubdtype(id_array.dtype, np.integer):
        raise InvalidEmbeddings(
            f"ids must be {n} integers, one per embedding.", hint="Pass ids=np.arange(n) or leave it out."
        )
    if n and id_array.dtype.kind == "u" and int(id_array.max()) > np.iinfo(np.int64).max:
        raise InvalidEmbeddings("Some ids are beyond bigint's range (2**63 - 1).", hint="Renumber them.")
    id_array = id_array.astype(np.int64)
    unique, counts = np.unique(id_array, return_counts=True)
    if len(unique) != n:
        repeated = unique[counts > 1]
        raise InvalidEmbeddings(
            f"{len(repeated)} id(s) occur more than once (the first is {int(repeated[0])}); "
            "each row would be stored under the same id, and searches would return them as one.",
            hint="Give every embedding its own id, or leave ids out to number them 0..N-1.",
        )
    return id_array


def _refuse_existing_ids(conn: psycopg.Connection[Any], table: str, id_column: str, ids: np.ndarray) -> None:
    row = conn.execute(
        sql.SQL("SELECT {id} FROM {t} WHERE {id} = ANY(%s::bigint[]) LIMIT 1").format(
            id=sql.Identifier(id_column), t=split_name(table)
        ),
        (ids.tolist(),),
    ).fetchone()
    if row is not None:
        raise InvalidEmbeddings(
            f"{table!r} already has a row with id {int(row[0])}; appending would store that id twice.",
            hint="Leave ids out to number the new rows after the largest id, or pass ids not yet used "
            "(replace=True reloads the table from scratch).",
        )


def _prepare_table(
    conn: psycopg.Connection[Any],
    table: str,
    dim: int,
    kind: str,
    meta: list[Column],
    create: bool,
    unlogged: bool,
    id_column: str,
    embedding_column: str,
) -> bool:
    if regclass(conn, table) is not None:
        existing_kind, existing_dim = vector_column(conn, table, embedding_column, "embedding_column")
        if existing_kind != kind:
            raise VectorError(
                f"{table!r} stores {existing_kind} embeddings, not {kind}.",
                hint=f"Load with dtype={existing_kind!r}, or into a new table.",
            )
        _check_column_types(conn, table, meta)
        require_columns(conn, table, (id_column,), "id_column")
        if existing_dim > 0 and existing_dim != dim:
            raise DimensionMismatch(
                f"The embeddings for {table!r}", existing_dim, dim,
                hint=f"{table!r} holds {existing_kind}({existing_dim}); "
                "load into a new table for another model.",
            )  # fmt: skip
        return False
    if not create:
        raise TableNotFound(table, hint="Pass create=True to create it.")
    cols = [
        sql.SQL("{} bigint").format(sql.Identifier(id_column)),
        sql.SQL("{} {}({})").format(sql.Identifier(embedding_column), sql.SQL(kind), sql.Literal(dim)),
    ]
    # pg_type is an inferred name or a types= one checked to be a plain type name (no quotes, no ;).
    cols += [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in meta]
    conn.execute(
        sql.SQL("CREATE {}TABLE {} ({})").format(
            sql.SQL("UNLOGGED " if unlogged else ""), split_name(table), sql.SQL(", ").join(cols)
        )
    )
    return True


def _check_column_types(conn: psycopg.Connection[Any], table: str, meta: list[Column]) -> None:
    """Appending writes binary values: each column must already have the type being sent
    (a type modifier such as numeric(10,2) aside, which the server applies)."""
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), format_type(atttypid, NULL) FROM pg_attribute "
        "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped",
        (regclass(conn, table),),
    ).fetchall()
    existing = {name: (shown, base) for name, shown, base in rows}
    for col in meta:
        if col.name not in existing:
            raise VectorError(
                f"{table!r} has no column {col.name!r}.",
                hint="Append only the columns the table has, or load into a new table.",
            )
        shown, base = existing[col.name]
        if base != col.base:
            raise VectorError(
                f"Column {col.name!r} of {table!r} is {shown}, but the data is {col.base}.",
                hint="Convert the column first (for example .astype(float) for double precision), "
                f"or pass types={{{col.name!r}: {shown!r}}} to have the server parse each value as {shown}.",
            )


def _next_id(conn: psycopg.Connection[Any], table: str, id_column: str) -> int:
    row = conn.execute(
        sql.SQL("SELECT coalesce(max({}), -1) + 1 FROM {}").format(
            sql.Identifier(id_column), split_name(table)
        )
    ).fetchone()
    return int(row[0]) if row else 0


def _copy(
    conn: psycopg.Connection[Any],
    table: str,
    ids: np.ndarray,
    matrix: np.ndarray,
    meta: list[Column],
    kind: str,
    id_column: str,
    embedding_column: str,
    progress: bool,
) -> None:
    names = [id_column, embedding_column, *(c.name for c in meta)]
    # A column whose values are not of its types= type goes as text, for the server to parse:
    # then the whole COPY does (its format is one for all columns).
    binary = all(c.binary for c in meta)
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        split_name(table), sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(" WITH (FORMAT BINARY)" if binary else ""),
    )  # fmt: skip
    with conn.cursor().copy(statement) as copy:
        if binary and all(c.fixed for c in meta):
            extra = [(c.name, c.values) for c in meta]
            row_size = row_dtype(
                matrix.shape[1], kind, [(name, str(col.dtype)) for name, col in extra]
            ).itemsize
            with _rows_bar(len(ids), progress) as bar:
                for chunk in stream_rows(ids, matrix, kind, extra):
                    copy.write(chunk)  # psycopg hands it to libpq before the buffer is reused
                    bar.update(len(chunk) // row_size)  # 0 for the header and trailer
        else:
            _copy_rows(copy, ids, matrix, meta, kind, progress)


def _copy_rows(
    copy: psycopg.Copy, ids: np.ndarray, matrix: np.ndarray, meta: list[Column], kind: str, progress: bool
) -> None:
    """Text and other variable-width metadata: row by row (psycopg dumps each value)."""
    from pgvector import HalfVector, Vector

    types = [c.binary for c in meta]
    if all(types):
        copy.set_types(["int8", kind, *(t for t in types if t)])
    values = [c.values.tolist() if isinstance(c.values, np.ndarray) else c.values for c in meta]
    wrap = Vector if kind == "vector" else HalfVector
    with _rows_bar(len(ids), progress) as bar:
        for i in range(len(ids)):
            copy.write_row([int(ids[i]), wrap(matrix[i]), *(col[i] for col in values)])
            if i % 10_000 == 9_999:
                bar.update(10_000)


def _rows_bar(rows: int, enabled: bool) -> Progress:
    return Progress(rows, "loading", enabled=enabled, unit=" rows", unit_scale=True)
