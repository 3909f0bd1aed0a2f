"""Distance metrics: pgvector operators, operator classes, and their numpy twins."""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import VectorError


@dataclass(frozen=True)
class Metric:
    name: str
    operator: str  # pgvector's distance operator

    def opclass(self, kind: str) -> str:
        return f"{kind}_{self.name}_ops"


METRICS = {"cosine": Metric("cosine", "<=>"), "l2": Metric("l2", "<->"), "ip": Metric("ip", "<#>")}


def metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise VectorError(
            f"Unknown metric {name!r}.",
            hint="Use 'cosine' (<=>), 'l2' (<->) or 'ip' (negative inner product, <#>).",
        ) from None
