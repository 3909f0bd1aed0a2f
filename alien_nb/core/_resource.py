"""The Postgres resource model and the rules for updating one."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError, field_validator

from ._errors import InvalidResource, InvalidResourceUpdate
from ._pydantic import BASE_CONFIG, describe_errors
from ._quantity import parse_cpu, parse_size

# The id names a directory and a database locally, and cloud resources
# remotely, so keep it to characters every one of them accepts.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")

# Far past any machine or disk a provider rents, and small enough that every
# later step (float division for display, tier tables, JSON) stays exact.
MAX_SIZE_BYTES = 1 << 60  # 1 EiB
MAX_CPU_CORES = 100_000
_MAX_QUANTITY_CHARS = 32


class PostgresBackend(BaseModel):
    """Which managed flavour to use where a platform has several."""

    model_config = ConfigDict(**{**BASE_CONFIG, "extra": "forbid"})
    type: Literal["auroraServerlessV2"]


class Postgres(BaseModel):
    """A Postgres resource, as an Alien stack declares it.

    >>> Postgres(id="vec-db", memory="8Gi")
    Postgres(id='vec-db', version='17', memory='8Gi', storage='20Gi')

    Sizes use ``Ki Mi Gi Ti`` (powers of 1024) or ``k M G T`` (powers of 1000);
    cpu is cores (``"2"``, ``"0.5"``) or millicores (``"500m"``).
    Construct with `Postgres.parse` to get an `InvalidResource` error instead
    of pydantic's.
    """

    model_config = ConfigDict(**{**BASE_CONFIG, "extra": "forbid"})

    type: Literal["postgres"] | None = None
    id: str
    version: str = "17"
    cpu: str | None = None
    memory: str | None = None
    storage: str = "20Gi"
    high_availability: StrictBool = False
    backend: PostgresBackend | None = None

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError(
                "must be 1-63 characters of letters, digits, '-' or '_', starting with a letter or digit"
            )
        return value

    @field_validator("version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if not value.isascii() or not value.isdigit() or len(value) > 4:
            raise ValueError('must be a major version as a whole number, like "17"')
        return value

    @field_validator("storage", "memory")
    @classmethod
    def _check_size(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if len(value) > _MAX_QUANTITY_CHARS:
            raise ValueError('is too long to be a size; write it like "20Gi" or "8Ti"')
        size = parse_size(value)
        if size <= 0:
            raise ValueError("must be more than zero")
        if size > MAX_SIZE_BYTES:
            raise ValueError("is larger than any machine or disk (at most 1048576Ti, 1 EiB)")
        return value

    @field_validator("cpu")
    @classmethod
    def _check_cpu(cls, value: str | None) -> str | None:
        if value is not None:
            if len(value) > _MAX_QUANTITY_CHARS:
                raise ValueError('is too long to be a CPU amount; write cores like "2" or "500m"')
            if not parse_cpu(value) <= MAX_CPU_CORES:  # also catches inf from a long digit run
                raise ValueError(f"is more cores than any machine has (at most {MAX_CPU_CORES:,})")
        return value

    @classmethod
    def parse(cls, data: str | bytes | Mapping[str, Any]) -> Postgres:
        """Build a resource from JSON text or a mapping (camelCase or snake_case keys).

        Raise `InvalidResource` naming each bad field, without echoing values.
        """
        reason: str | None = None
        if isinstance(data, (str, bytes)):
            if len(data) > 1 << 20:
                raise InvalidResource(
                    f"it is {len(data):,} characters long; a resource is a small JSON object"
                )
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                reason = f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
            except UnicodeDecodeError:
                reason = "not valid JSON (the bytes are not UTF-8 text)"
            except RecursionError:
                reason = "not a usable resource: its JSON is nested far too deep"
            except ValueError:  # int() past sys.get_int_max_str_digits(); its text is not needed
                reason = "not valid JSON: a number in it is far too long"
            if reason is not None:
                raise InvalidResource(reason)
        if not isinstance(data, Mapping):
            raise InvalidResource("expected a JSON object")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            reason = describe_errors(exc)
        except (RecursionError, TypeError, ValueError, OverflowError):
            reason = "it holds values a resource cannot have (nested too deep or of the wrong kind)"
        raise InvalidResource(reason)

    @classmethod
    def from_options(
        cls,
        id: str,
        *,
        version: str | None = None,
        cpu: str | None = None,
        memory: str | None = None,
        storage: str | None = None,
        high_availability: bool = False,
    ) -> Postgres:
        """The resource a command line or a form describes (the CLI, the magics, the panel).

        An option left out (None) keeps the model's default. Raise `InvalidResource` as `parse` does.
        """
        spec: dict[str, Any] = {"id": id, "highAvailability": high_availability}
        for key, value in (("version", version), ("cpu", cpu), ("memory", memory), ("storage", storage)):
            if value is not None:
                spec[key] = value
        return cls.parse(spec)

    # -- derived values ----------------------------------------------------

    @property
    def major_version(self) -> int:
        return int(self.version)

    @property
    def storage_bytes(self) -> int:
        return parse_size(self.storage)

    @property
    def memory_bytes(self) -> int | None:
        return None if self.memory is None else parse_size(self.memory)

    @property
    def cpu_cores(self) -> float | None:
        return None if self.cpu is None else parse_cpu(self.cpu)

    def to_json(self) -> str:
        """Compact camelCase JSON, leaving out fields that are unset."""
        return self.model_dump_json(by_alias=True, exclude_none=True)

    def __repr_args__(self) -> Any:
        # Only what differs from "unset" keeps the repr readable.
        for name, value in super().__repr_args__():
            if value is not None and not (name == "high_availability" and value is False):
                yield name, value


def validate_update(old: Postgres, new: Postgres) -> None:
    """Check that ``old`` may be changed into ``new``, in the contract's order.

    1. ``id`` is immutable; 2. ``backend`` is immutable (unset → set counts);
    3. storage must parse on both sides and may only grow; 4. the major
    version must parse on both sides and may not go down; 5. cpu, memory and
    highAvailability change freely.

    Raise `InvalidResourceUpdate` naming the first field that breaks a rule.
    """
    if old.id != new.id:
        raise InvalidResourceUpdate("id", f"it is immutable (from {old.id!r} to {new.id!r})")
    if old.backend != new.backend:
        raise InvalidResourceUpdate(
            "backend", f"it is immutable (from {_backend_name(old)} to {_backend_name(new)})"
        )
    old_storage = _parsed("storage", "stored", old.storage, parse_size)
    new_storage = _parsed("storage", "requested", new.storage, parse_size)
    if new_storage < old_storage:
        raise InvalidResourceUpdate(
            "storage",
            f"storage cannot shrink (from {old.storage!r} to {new.storage!r})",
            hint="Storage only grows; keep the current size or larger.",
        )
    old_major = _parsed("version", "stored", old.version, _whole_number)
    new_major = _parsed("version", "requested", new.version, _whole_number)
    if new_major < old_major:
        raise InvalidResourceUpdate(
            "version",
            f"cannot downgrade (from {old.version!r} to {new.version!r})",
            hint="Major versions only go up; dump and restore into a new resource to go back.",
        )


def _whole_number(text: str) -> int:
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        raise ValueError("not a whole number")
    return int(text)


def _parsed(field: str, side: str, value: Any, parse: Any) -> Any:
    try:
        return parse(value)
    except ValueError:
        raise InvalidResourceUpdate(field, f"the {side} value {value!r} does not parse") from None


def _backend_name(resource: Postgres) -> str:
    return "unset" if resource.backend is None else repr(resource.backend.type)
