"""``%alien_postgres panel``: start, attach and stop databases with widgets.

No password ever sits in a synced trait: the password box for external
databases is read the moment its value arrives, kept in a private
attribute as `SecretStr`, and cleared at once, because saved notebooks
keep every widget's synced state.

Start and Attach bind the handle to a notebook variable exactly as the
magics do (``vec-db`` → ``vec_db``) and say which.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..core import AlienError, Postgres, format_size, parse_binding, pick_tier
from ..core._backends import AURORA, CLOUD_BACKENDS, CLOUD_SQL, EXTERNAL, FLEXIBLE_SERVER, LOCAL
from ._state import START_STAGES, NotebookState
from ._variables import bind_handle

if TYPE_CHECKING:
    from ._database import Database

#: The panel's own choice besides the backends: attach from ALIEN_<NAME>_BINDING.
_FROM_ENV = "env"
#: The bundled major: left unset, so an existing database keeps its own.
_BUNDLED = "18"
_BACKENDS = [
    (f"local (embedded PostgreSQL {_BUNDLED} + pgvector)", LOCAL),
    ("attach by binding (ALIEN_<NAME>_BINDING)", _FROM_ENV),
    ("attach external host (password)", EXTERNAL),
    ("plan: AWS Aurora Serverless v2", AURORA),
    ("plan: GCP Cloud SQL", CLOUD_SQL),
    ("plan: Azure Flexible Server", FLEXIBLE_SERVER),
]
_TIER_LABELS = (
    (AURORA, "Aurora Serverless v2"),
    (CLOUD_SQL, "Cloud SQL"),
    (FLEXIBLE_SERVER, "Azure Flexible Server"),
)


def _password_box() -> Any:
    """A Password box whose value ipywidgets never echoes back to the frontends."""
    import ipywidgets as w
    from traitlets import Unicode

    class PasswordBox(w.Password):
        value = Unicode("", help="Cleared the moment it arrives.").tag(sync=True, echo_update=False)

    return PasswordBox(description="password", continuous_update=False, placeholder="read once, then cleared")


class Panel:
    """The widgets over ``state``; handles are bound in ``namespace`` (the notebook's user namespace)."""

    def __init__(self, state: NotebookState, namespace: MutableMapping[str, Any]) -> None:
        import ipywidgets as w

        self.state = state
        self.namespace = namespace
        self._password: SecretStr | None = None
        self._busy = threading.Lock()
        self.name = w.Text(value="vec-db", description="name")
        self.backend = w.Dropdown(options=_BACKENDS, value=LOCAL, description="backend")
        self.version = w.Dropdown(options=[_BUNDLED, "17", "16", "15"], value=_BUNDLED, description="version")
        self.storage = w.Text(value="20Gi", description="storage")
        self.cpu = w.Text(value="2", description="cpu")
        self.memory = w.Text(value="8Gi", description="memory")
        self.host = w.Text(value="", description="host", placeholder="db.example.com")
        self.port = w.IntText(value=5432, description="port")
        self.user = w.Text(value="postgres", description="user")
        self.password = _password_box()
        self.tiers = w.HTML()
        self.start_button = w.Button(description="Start", button_style="success", icon="play")
        self.attach_button = w.Button(description="Attach", icon="plug")
        self.stop_button = w.Button(description="Stop", button_style="warning", icon="stop")
        self.plan_button = w.Button(
            description="Plan", icon="list", tooltip="what the cloud would create; no call"
        )
        self.progress = w.IntProgress(
            value=0, min=0, max=len(START_STAGES), description="", layout=w.Layout(visibility="hidden")
        )
        self.status = w.HTML(value="<i>idle</i>")
        self.details = w.HTML()
        self.password.observe(self._take_password, names="value")
        for field in (self.cpu, self.memory):
            field.observe(lambda _c: self._show_tiers(), names="value")
        self.backend.observe(lambda _c: self._layout(), names="value")
        self.name.observe(lambda _c: self._show_status(), names="value")
        self.start_button.on_click(lambda _b: self._run(self._start))
        self.attach_button.on_click(lambda _b: self._run(self._attach))
        self.stop_button.on_click(lambda _b: self._run(self._stop))
        self.plan_button.on_click(lambda _b: self._run(self._plan))
        self._external = w.VBox([self.host, self.port, self.user, self.password])
        buttons = w.HBox(
            [self.start_button, self.attach_button, self.stop_button, self.plan_button, self.progress]
        )
        self.widget = w.VBox([
            w.HTML("<b>alien_nb · Postgres</b>"), self.name, self.backend, self.version, self.storage,
            self.cpu, self.memory, self.tiers, self._external, buttons, self.status, self.details,
        ])  # fmt: skip
        self.widget.add_class("alien-nb-panel")  # stable hooks for styling and browser tests
        self.status.add_class("alien-nb-status")
        self._layout()
        self._show_tiers()
        self._show_status()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return f"<alien_nb panel: {self.name.value!r}, {self.backend.value}>"

    # -- the password: read once, cleared at once -------------------------------

    def _take_password(self, change: dict[str, Any]) -> None:
        value = change["new"]
        if value:
            self._password = SecretStr(value)
            self.state.redactor.add(self._password)
            self.password.value = ""
            self.status.value = "password received (held in memory, not in the widget)"

    # -- display helpers --------------------------------------------------------

    def _layout(self) -> None:
        local = self.backend.value == LOCAL
        cloud = self.backend.value in CLOUD_BACKENDS
        self._external.layout.display = "" if self.backend.value == EXTERNAL else "none"
        for widget in (self.version, self.storage):
            widget.disabled = not (local or cloud)
        self.start_button.disabled = not local
        self.attach_button.disabled = local or cloud
        self.stop_button.disabled = cloud
        self.plan_button.layout.display = "" if cloud else "none"

    def _show_tiers(self) -> None:
        try:
            # The resource's own rules, so 5,000 digits are refused here as they are everywhere.
            resource = Postgres.from_options("tiers", cpu=_given(self.cpu), memory=_given(self.memory))
        except AlienError as exc:
            self.tiers.value = f"<span style='color:#b00'>cpu/memory: {html.escape(exc.message)}</span>"
            return
        cpu, memory = resource.cpu_cores, resource.memory_bytes
        cells = []
        for backend, label in _TIER_LABELS:
            try:
                tier = pick_tier(backend, cpu, memory)
                cells.append(f"<li>{label}: {tier.describe()} {tier.cost_class}</li>")
            except AlienError as exc:
                cells.append(f"<li>{label}: {exc.message}</li>")
        self.tiers.value = "<small>In the cloud this would be:<ul>" + "".join(cells) + "</ul></small>"

    def _show_status(self) -> None:
        """The live line: what the named local database is doing right now."""
        if self.backend.value != LOCAL or self._busy.locked():
            return
        from ..local import DatabaseNotFound

        try:
            status = self.state.controller.status(self.name.value.strip())
        except DatabaseNotFound:
            self.status.value = "<i>no local database by that name yet: Start creates it</i>"
            return
        except AlienError as exc:  # a name Start would refuse: say so now, not "Start creates it"
            self.status.value = f"<span style='color:#b00'>{html.escape(exc.message)}</span>"
            return
        self.status.value = (
            f"<b>{html.escape(status.name)}</b>: {status.lifecycle} ({status.health}), "
            f"{html.escape(status.message)}, {format_size(status.data_size)}"
        )

    def _run(self, action: Callable[[], None]) -> None:
        if not self._busy.acquire(blocking=False):
            return
        try:
            action()
        except AlienError as exc:
            text = html.escape(self.state.redactor.redact(exc.message))
            hint = (
                f"<br><small>{html.escape(self.state.redactor.redact(exc.hint))}</small>" if exc.hint else ""
            )
            self.status.value = f"<span style='color:#b00'>{text}</span>{hint}"
        except Exception as exc:
            text = html.escape(self.state.redactor.redact(f"{type(exc).__name__}: {exc}"))
            self.status.value = f"<span style='color:#b00'>{text}</span>"
        finally:
            self.progress.layout.visibility = "hidden"
            self._busy.release()

    def _show_db(self, db: Database) -> None:
        self.details.value = db._repr_html_()

    def _bound(self, name: str, db: Database) -> str:
        """Bind the handle as the magics do; the status line's words that say where it is."""
        variable = bind_handle(self.namespace, name, None, db)
        return f"handle: <code>{html.escape(variable)}</code>"

    # -- actions ------------------------------------------------------------------

    def _start(self) -> None:
        name = self.name.value.strip()
        self.status.value = f"starting {name}…"
        self.progress.value, self.progress.layout.visibility = 0, "visible"
        steps = {stage: n for n, stage in enumerate(START_STAGES, 1)}
        db, start = self.state.start_local(
            name, self.version.value if self.version.value != _BUNDLED else None,
            progress=lambda step: setattr(self.progress, "value", steps.get(step, self.progress.value)),
        )  # fmt: skip
        self.progress.value = len(START_STAGES)
        where = f"127.0.0.1:{start.binding.port}"
        self.status.value = f"<b>{html.escape(name)}</b> is running on {where}; {self._bound(name, db)}"
        self._show_db(db)

    def _attach(self) -> None:
        name = self.name.value.strip()
        if self.backend.value == _FROM_ENV:
            db = self.state.attach(name)
        else:
            if self._password is None:
                raise AlienError("Type the password first (it is read once and cleared).")
            binding = parse_binding({
                "service": EXTERNAL, "host": self.host.value.strip(), "port": self.port.value,
                "database": name, "username": self.user.value.strip(), "password": self._password,
            }, name=name)  # fmt: skip
            self._password = None
            # Checked before it replaces anything: a failed attach keeps a working handle of this name.
            db = self.state.attach(name, binding=binding)
        self.status.value = f"<b>{html.escape(name)}</b> attached; {self._bound(name, db)}"
        self._show_db(db)

    def _plan(self) -> None:
        name, backend = self.name.value.strip(), self.backend.value
        version = self.version.value if self.version.value != _BUNDLED else "17"  # clouds offer 15-17
        cpu, memory, storage = _given(self.cpu), _given(self.memory), _given(self.storage)
        resource = Postgres.from_options(name, version=version, cpu=cpu, memory=memory, storage=storage)
        plan = self.state.cloud_controller(backend).plan(resource)
        self.details.value = plan._repr_html_()
        command = f"%alien_postgres start {name} --backend {backend} --version {version}"
        self.status.value = (
            f"plan for <b>{html.escape(name)}</b>: nothing was created. To create it (billable): "
            f"<code>{html.escape(command)}</code>"
        )

    def _stop(self) -> None:
        name = self.name.value.strip()
        if self.backend.value == LOCAL:
            self.state.controller.stop(name)  # a refused stop leaves the handle as it was
        self.state.forget(name)
        status = self.state.controller.status(name) if self.backend.value == LOCAL else None
        size = f", {format_size(status.data_size)} kept" if status else ""
        self.status.value = f"<b>{name}</b> is stopped{size}"
        self.details.value = ""


def _given(field: Any) -> str | None:
    """A text box's value, or None when it is left empty (the resource's default applies)."""
    value: str = field.value.strip()
    return value or None
