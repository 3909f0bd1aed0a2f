"""COPY ... FROM STDIN and TO STDOUT: what a cell must give them, checked before anything is sent,
and the source read in blocks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from os import PathLike
from typing import Any

from ..core._sql import Statement
from ._sqlerrors import CopyNeedsData

_COPY_BLOCK = 1 << 20


def check_copies(statements: tuple[Statement, ...], copy_from: Any, copy_to: Any) -> None:
    """Refuse, before anything is sent, a COPY that would have no data or nowhere to go."""
    from ._copytext import copy_format

    for statement in statements:
        direction = statement.copy_direction
        if direction and statement.names:
            raise CopyNeedsData(
                "COPY takes no :name parameters (the server does not bind them in COPY).",
                hint="Filter in a query instead: COPY (SELECT ... WHERE x = 1) TO STDOUT, with the value "
                "written in, or select into a DataFrame with a plain SELECT ... WHERE x = :x.",
            )
        if direction == "in" and copy_from is not None:
            check_source(copy_from)
        writable = copy_to is None or isinstance(copy_to, (str, PathLike)) or hasattr(copy_to, "write")
        if direction == "out" and not writable:
            raise CopyNeedsData(
                f"copy_to must be a path or a file object to write to, not {type(copy_to).__name__}.",
                hint="For example copy_to='out.csv', or copy_to=open('out.csv', 'wb').",
            )
        if direction == "in" and copy_from is None:
            raise CopyNeedsData(
                "COPY ... FROM STDIN reads data that this cell does not give it.",
                hint="Name the file: %%alien_postgres --in-file data.csv (or db.sql(query, copy_from="
                "'data.csv')); or load a DataFrame with db.engine and DataFrame.to_sql.",
            )
        if direction == "out" and copy_to is None and copy_format(statement) == "binary":
            raise CopyNeedsData(
                "COPY ... TO STDOUT in binary format cannot be shown as rows.",
                hint="Write it to a file: %%alien_postgres --out-file data.bin (or db.sql(query, "
                "copy_to='data.bin')); or leave out FORMAT binary to get a DataFrame.",
            )


def check_source(source: Any) -> None:
    """copy_from: a readable file's path, bytes, or an object with read(); checked before sending."""
    if isinstance(source, (bytes, bytearray, memoryview)) or callable(getattr(source, "read", None)):
        return
    if isinstance(source, str) and not os.path.exists(source) and ("\n" in source or "," in source):
        raise CopyNeedsData(
            "copy_from= takes a file's path, bytes or a file object; this str looks like the data itself.",
            hint="Pass the data as bytes, e.g. copy_from=data.encode(), or io.StringIO(data).",
        )
    if isinstance(source, (str, PathLike)):
        problem = unreadable(source)
        if problem == NO_SUCH_FILE:
            raise CopyNeedsData(
                f"copy_from={os.fspath(source)!r}: no such file.",
                hint="Give the path of the data COPY ... FROM STDIN should read.",
            )
        if problem is not None:
            raise CopyNeedsData(f"copy_from={os.fspath(source)!r} is {problem}.")
        return
    raise CopyNeedsData(
        f"copy_from must be a path, bytes or a file object, not {type(source).__name__}.",
        hint="For example copy_from='data.csv'.",
    )


NO_SUCH_FILE = "no such file"


def unreadable(path: str | PathLike[str]) -> str | None:
    """Why COPY ... FROM STDIN could not read the file at ``path`` (``~`` expanded); None if it can.

    The one check behind ``copy_from=`` and ``--in-file``: a missing file must not start a COPY.
    """
    expanded = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(expanded):
        return NO_SUCH_FILE
    if not os.access(expanded, os.R_OK):
        return "not readable by this kernel's user"
    return None


def read_failed(exc: Exception) -> Exception:
    from ..core import AlienError

    return AlienError(
        f"Reading the data for COPY ... FROM STDIN failed ({type(exc).__name__}: {exc}); the server "
        "aborted that COPY and kept none of it.",
        hint="Check the file (or the object's read()) and run the cell again; the connection is ready.",
    )


def blocks(source: Any, encoding: str) -> Iterator[bytes]:
    """``source`` (a path, bytes, or a file object, binary or text) in blocks of bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        for i in range(0, len(data), _COPY_BLOCK):
            yield data[i : i + _COPY_BLOCK]
        return
    if isinstance(source, (str, PathLike)):
        with open(os.path.expanduser(source), "rb") as f:
            yield from blocks(f, encoding)
        return
    while True:
        block = source.read(_COPY_BLOCK)
        if not block:
            return
        yield block.encode(encoding) if isinstance(block, str) else block
