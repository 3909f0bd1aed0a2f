"""The alien_nb error hierarchy: every error alien_nb raises on purpose, wherever it is defined.

::

    AlienError
    ├── BindingError
    │   ├── BindingNotConfigured      no ALIEN_<NAME>_BINDING in the environment
    │   └── BindingConfigInvalid      bad JSON, wrong shape, unresolvable field
    ├── SecretError
    │   ├── SecretResolutionFailed    the secret store could not be read
    │   └── SecretValueInvalid        read, but missing, empty or not UTF-8
    ├── ResourceError
    │   ├── InvalidResource           a resource spec that does not parse
    │   ├── InvalidResourceUpdate     validate_update() refused a change
    │   ├── NoTierFits                no cloud tier is large enough
    │   └── CloudCallFailed           a provider API call (create, modify, delete) failed
    ├── CloudSettingsInvalid          a malformed cloud setting or ALIEN_NB_* variable
    ├── ConnectionFailed              the server is unreachable or refused the login
    ├── MissingExtra                  an optional dependency is not installed
    ├── LocalServerError              the embedded server (alien_nb.local)
    │   ├── DatabaseNotFound          no local database of that name
    │   ├── MetadataInvalid           metadata.json is missing or unreadable
    │   ├── DataDirInvalid            a data directory alien_nb may not use
    │   ├── StartFailed               the server did not come up
    │   │   └── CredentialsRejected   it runs, but refuses the recorded login
    │   ├── HomeInvalid               the home folder cannot hold databases
    │   ├── InitFailed                initdb could not create the cluster
    │   ├── StopFailed                the server did not stop
    │   ├── VersionUnavailable        no installation of the requested major version
    │   ├── ServerAccountError        running as root, with no account to run the server as
    │   └── LockTimeout               another process holds the database's lock
    ├── SqlTextInvalid                a placeholder style alien_nb does not bind
    ├── SqlError                      a notebook's SQL failed: the server's message
    │   ├── StatementInterrupted      the connection broke while a statement ran
    │   └── TransactionLost           the connection closed inside a transaction
    ├── SqlArgumentInvalid            db.sql() / db.run() got a query or params of the wrong kind
    ├── ParameterMissing              no Python variable for a :name
    ├── CopyNeedsData                 a COPY without the file it reads or writes
    ├── NotebookUnreadable            alien-nb audit: missing, or not a notebook
    └── VectorError                   a pgvector helper was given something it cannot use
        ├── InvalidEmbeddings         wrong shape or dtype, NaN, infinity, repeated ids
        ├── DimensionMismatch         vectors of the wrong dimension
        ├── TableNotFound             no such table
        │   └── ColumnNotFound        no such column, or not a vector column
        ├── InvalidArgument           an option of the wrong type or out of range
        ├── IndexExists               the index exists already (replace=True rebuilds it)
        └── ServerRefused             the server refused a helper's statement

Users catch them as ``alien_nb.<Name>``, except the `VectorError` branch, which is
``alien_nb.vector.<Name>``, and `NotebookUnreadable`, which the ``alien-nb audit`` command
reports itself. tests/test_imports.py compares this drawing with the real subclass tree.

Every message says what went wrong and, in ``hint``, what to do next. No
message ever contains a password or a raw input value: errors are built from
field names, locators and reasons only.
"""

from __future__ import annotations

from typing import Any


class AlienError(Exception):
    """Root of every error alien_nb raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        text = str(self.args[0]) if self.args else type(self).__name__
        return f"{text} {self.hint}" if self.hint else text

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing a full traceback, for any
        # exception class (plain UsageError alone is special-cased there).
        lines = [f"{type(self).__name__}: {self.message}"]
        if self.hint:
            lines.append(f"What to do: {self.hint}")
        return lines

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword fields; rebuild from the finished state so
        # the error survives pickling (multiprocessing, ipyparallel).
        return (_rebuild, (type(self), self.message, self.hint, dict(self.__dict__)))


def _rebuild(cls: type[AlienError], message: str, hint: str | None, state: dict[str, Any]) -> AlienError:
    err = AlienError.__new__(cls)
    AlienError.__init__(err, message, hint=hint)
    err.__dict__.update(state)
    return err


class BindingError(AlienError):
    """A binding could not be found or used."""


class BindingNotConfigured(BindingError):
    """No binding is configured under this name."""

    def __init__(self, name: str, variable: str) -> None:
        self.binding_name = name
        self.variable = variable
        super().__init__(
            f"Binding {name!r} is not configured: the environment variable {variable} is not set.",
            hint=f"Set {variable} to the binding JSON, or start a local database with "
            f"`alien-nb start {name}` / `%alien_postgres start {name}`.",
        )


class BindingConfigInvalid(BindingError):
    """A binding exists but cannot be used as it is written."""

    def __init__(self, reason: str, *, name: str | None = None, variable: str | None = None) -> None:
        self.binding_name = name
        self.variable = variable
        self.reason = reason
        where = ""
        if name is not None:
            where = f" {name!r}"
        if variable is not None:
            where += f" (from {variable})"
        super().__init__(
            f"Binding{where} is invalid: {reason}.",
            hint="Fix the binding JSON; the contract is in the Alien Postgres binding spec "
            "(`service` is one of local-postgres, external, aurora, cloud-sql, flexible-server).",
        )


class SecretError(AlienError):
    """A password held in a cloud secret store could not be obtained."""


class SecretResolutionFailed(SecretError):
    """Reading the secret failed (network, permission, not found)."""

    def __init__(self, locator: str, reason: str, *, hint: str | None = None) -> None:
        self.locator = locator
        self.reason = reason
        super().__init__(
            f"Could not read the password secret {locator}: {reason}.",
            hint=hint or "Check that the secret exists and that your credentials may read it.",
        )


class SecretValueInvalid(SecretError):
    """The secret was read but holds no usable password."""

    def __init__(self, locator: str, reason: str) -> None:
        self.locator = locator
        self.reason = reason
        super().__init__(
            f"The password secret {locator} holds no usable password: {reason}.",
            hint="Store the raw password (UTF-8 text, not empty) as the secret's current value.",
        )


class ResourceError(AlienError):
    """A Postgres resource description is wrong or cannot be applied."""


class InvalidResource(ResourceError):
    """A resource spec that does not validate."""

    def __init__(self, reason: str, *, hint: str | None = None) -> None:
        self.reason = reason
        super().__init__(
            f"Invalid Postgres resource: {reason}.",
            hint=hint
            or "Fields are id, version, cpu, memory, storage, highAvailability and backend; "
            'sizes look like "20Gi" or "512Mi", cpu like "2" or "500m".',
        )


class InvalidResourceUpdate(ResourceError):
    """validate_update() refused a change to an existing resource."""

    def __init__(self, field: str, reason: str, *, hint: str | None = None) -> None:
        self.field = field
        self.reason = reason
        super().__init__(
            f"Cannot update Postgres field {field!r}: {reason}.",
            hint=hint or "Create a new resource with the new value and migrate the data.",
        )


class NoTierFits(ResourceError):
    """No machine tier of a provider satisfies the requested cpu and memory."""

    def __init__(self, backend: str, requested: str, largest: str) -> None:
        self.backend = backend
        self.requested = requested
        self.largest = largest
        super().__init__(
            f"No {backend} tier has {requested}; the largest is {largest}.",
            hint="Ask for at most the largest tier's cpu and memory.",
        )


class ConnectionFailed(AlienError):
    """The server could not be reached or refused the login."""

    def __init__(self, where: str, reason: str, *, hint: str | None = None) -> None:
        self.where, self.reason = where, reason
        super().__init__(
            f"Could not connect to {where}: {reason}.",
            hint=hint or "Check that the server runs and that host, port and credentials are right.",
        )


class CloudCallFailed(ResourceError):
    """A provider API call (create, modify, delete, describe) failed.

    The reason is the provider's message with every password masked; the
    SDK's exception is not chained, since its frames hold the request body.
    """

    def __init__(self, backend: str, action: str, reason: str, *, hint: str | None = None) -> None:
        self.backend, self.action, self.reason = backend, action, reason
        super().__init__(
            f"{backend}: {action} failed: {reason}.",
            hint=hint or "Check your cloud credentials, quotas and the settings named in the message.",
        )


class MissingExtra(AlienError):
    """An optional dependency is needed for this feature."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        self.module = module
        super().__init__(
            f"This feature needs the optional package {module!r}, which is not installed.",
            hint=f"pip install 'alien-nb[{extra}]'",
        )


def show_as_public(namespace: dict[str, Any], module: str = "alien_nb") -> None:
    """Make tracebacks say ``alien_nb.StartFailed`` rather than the private module path.

    Only the errors defined in ``namespace`` are renamed, not the ones it imports (``AlienError``
    stays ``alien_nb.AlienError`` when ``alien_nb.vector`` shows its own). The public module must
    export each of them under the same name, so that pickle and ``help()`` find them there.
    """
    defined_here = namespace["__name__"]
    for value in list(namespace.values()):
        if isinstance(value, type) and issubclass(value, AlienError) and value.__module__ == defined_here:
            value.__module__ = module


show_as_public(globals())
