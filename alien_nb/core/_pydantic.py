"""Turn pydantic validation errors into alien_nb reasons that never echo input."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from ._backends import SERVICES

#: Shared by every contract model: camelCase on the wire, immutable, and no
#: input value in ``str(ValidationError)``.
BASE_CONFIG = ConfigDict(
    alias_generator=to_camel,
    populate_by_name=True,
    frozen=True,
    hide_input_in_errors=True,
    str_strip_whitespace=False,
)

# Messages whose pydantic text carries part of the input (e.g. the bad tag).
_SAFE_MESSAGES = {
    "union_tag_invalid": "unknown service; expected one of {expected_tags}",
    "union_tag_not_found": "the `service` field is missing",
    "extra_forbidden": "unknown field (not part of the contract)",
    "missing": "required field is missing",
}


def describe_errors(err: ValidationError) -> str:
    """One line per problem, ``field: reason``, with no input values."""
    parts = []
    for item in err.errors(include_input=False, include_url=False, include_context=True):
        parts.append(_describe(item))
    return "; ".join(dict.fromkeys(parts))


def _describe(item: Any) -> str:
    loc = [str(p) for p in item.get("loc", ()) if not _is_variant_tag(p)]
    field = ".".join(loc) if loc else "(whole object)"
    kind = item.get("type", "")
    if kind in _SAFE_MESSAGES:
        ctx = item.get("ctx") or {}
        try:
            msg = _SAFE_MESSAGES[kind].format(**ctx)
        except (KeyError, IndexError):
            msg = _SAFE_MESSAGES[kind]
    elif kind == "value_error":
        msg = str((item.get("ctx") or {}).get("error", item.get("msg", "")))
    else:
        msg = str(item.get("msg", "invalid value"))
        msg = msg[0].lower() + msg[1:] if msg else "invalid value"
    return f"`{field}` {msg}" if loc else msg


def _is_variant_tag(part: Any) -> bool:
    # Discriminated unions add the tag ("aurora") as a location step.
    return isinstance(part, str) and part in SERVICES
