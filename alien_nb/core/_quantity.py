"""Parse the contract's size ("20Gi") and CPU ("500m") strings."""

from __future__ import annotations

import re
from decimal import Decimal

_SIZE = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?P<unit>Ki|Mi|Gi|Ti|k|M|G|T)?")
_CPU = re.compile(r"(?P<milli>[0-9]+)m|(?P<cores>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")

_UNITS = {
    None: 1,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
}

GiB = 1024**3


def parse_size(text: str) -> int:
    """Parse a size such as ``"20Gi"``, ``"1.5Gi"`` or ``"500M"`` into whole bytes.

    ``Ki Mi Gi Ti`` are powers of 1024, ``k M G T`` powers of 1000, no suffix
    is bytes; fractions are truncated to whole bytes.

    Raise `ValueError` (with a message that quotes no input) if it does not parse.
    """
    match = _SIZE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError('not a size; write a number with an optional unit, like "20Gi", "512Mi" or "1.5G"')
    return int(Decimal(match["num"]) * _UNITS[match["unit"]])


def parse_cpu(text: str) -> float:
    """Parse a CPU amount such as ``"2"``, ``"0.5"`` or ``"500m"`` into cores.

    Raise `ValueError` if it does not parse or is not positive.
    """
    match = _CPU.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError('not a CPU amount; write cores like "2" or "0.5", or millicores like "500m"')
    cores = int(match["milli"]) / 1000 if match["milli"] is not None else float(match["cores"])
    if cores <= 0:
        raise ValueError("must be more than zero")
    return cores


def format_size(n_bytes: int) -> str:
    """Render bytes the way people read them: ``8 GiB``, ``1.5 GiB``, ``512 MiB``."""
    for unit, factor in (("TiB", 1024**4), ("GiB", GiB), ("MiB", 1024**2), ("KiB", 1024)):
        if n_bytes >= factor:
            value = n_bytes / factor
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    return f"{n_bytes} B"
