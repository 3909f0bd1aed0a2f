"""``%alien_postgres panel``: start, attach and stop databases with widgets.

No password ever sits in a synced trait: the password box for external
databases is read the moment its value arrives, kept in a private
attribute as `SecretStr`, and cleared at once, because saved notebooks
keep every widget's synced state.
"""

from __future__ import annotations

import html
import threading
from typing import Any

from pydantic import SecretStr

from ..core import AlienError, format_size, parse_binding, pick_tier
from ._state import NotebookState

_BACKENDS = [
    ("local (embedded PostgreSQL 18 + pgvector)", "local"),
    ("attach by binding (ALIEN_<NAME>_BINDING)", "env"),
    ("attach external host (password)", "external"),
    ("plan: AWS Aurora Serverless v2", "aurora"),
    ("plan: GCP Cloud SQL", "cloud-sql"),
    ("plan: Azure Flexible Server", "flexible-server"),
]
_CLOUD = ("aurora", "cloud-sql", "flexible-server")


def _password_box() -> Any:
    """A Password box whose value ipywidgets never echoes back to the frontends."""
    import ipywidgets as w
    from traitlets import Unicode

    class PasswordBox(w.Password):
        value = Unicode("", help="Cleared the moment it arrives.").tag(sync=True, echo_update=False)

    return PasswordBox(description="password", continuous_update=False, placeholder="read once, then cleared")


class Panel:
    def __init__(self, state: NotebookState) -> None:
        import ipywidgets as w

        self.state = state
        self._password: SecretStr | None = None
        self._busy = threading.Lock()
        self.name = w.Text(value="vec-db", description="name")
        self.backend = w.Dropdown(options=_BACKENDS, value="local", description="backend")
        self.version = w.Dropdown(options=["18", "17", "16", "15"], value="18", description="version")
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
            value=0, min=0, max=3, description="", layout=w.Layout(visibility="hidden")
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
        local = self.backend.value == "local"
        cloud = self.backend.value in _CLOUD
        self._external.layout.display = "" if self.backend.value == "external" else "none"
        for widget in (self.version, self.storage):
            widget.disabled = not (local or cloud)
        self.start_button.disabled = not local
        self.attach_button.disabled = local or cloud
        self.stop_button.disabled = cloud
        self.plan_button.layout.display = "" if cloud else "none"

    def _show_tiers(self) -> None:
        from ..core import Postgres

        spec = {key: field.value.strip() for key, field in (("cpu", self.cpu), ("memory", self.memory))}
        try:
            # The resource's own rules, so 5,000 digits are refused here as they are everywhere.
            resource = Postgres.parse({"id": "tiers", **{k: v for k, v in spec.items() if v}})
        except AlienError as exc:
            self.tiers.value = f"<span style='color:#b00'>cpu/memory: {html.escape(exc.message)}</span>"
            return
        cpu, memory = resource.cpu_cores, resource.memory_bytes
        cells = []
        for backend, label in (("aurora", "Aurora Serverless v2"), ("cloud-sql", "Cloud SQL"),
                               ("flexible-server", "Azure Flexible Server")):  # fmt: skip
            try:
                tier = pick_tier(backend, cpu, memory)
                cells.append(f"<li>{label}: {tier.describe()} {tier.cost_class}</li>")
            except AlienError as exc:
                cells.append(f"<li>{label}: {exc.message}</li>")
        self.tiers.value = "<small>In the cloud this would be:<ul>" + "".join(cells) + "</ul></small>"

    def _show_status(self) -> None:
        """The live line: what the named local database is doing right now."""
        if self.backend.value != "local" or self._busy.locked():
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

    def _run(self, action: Any) -> None:
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

    def _show_db(self, db: Any) -> None:
        self.details.value = db._repr_html_()

    # -- actions ------------------------------------------------------------------

    def _start(self) -> None:
        name = self.name.value.strip()
        self.status.value = f"starting {name}…"
        self.progress.value, self.progress.layout.visibility = 0, "visible"
        steps = {"init": 1, "start": 2, "bootstrap": 3}
        binding = self.state.writable_manager().start(
            name, self.version.value if self.version.value != "18" else None,
            progress=lambda step: setattr(self.progress, "value", steps.get(step, self.progress.value)),
        )  # fmt: skip
        db = self.state._register(name, binding, backend="local")
        self.progress.value = 3
        self.status.value = f"<b>{name}</b> is running on 127.0.0.1:{binding.port}"
        self._show_db(db)

    def _attach(self) -> None:
        name = self.name.value.strip()
        if self.backend.value == "env":
            db = self.state.attach(name)
        else:
            if self._password is None:
                raise AlienError("Type the password first (it is read once and cleared).")
            binding = parse_binding({
                "service": "external", "host": self.host.value.strip(), "port": self.port.value,
                "database": name, "username": self.user.value.strip(), "password": self._password,
            }, name=name)  # fmt: skip
            self._password = None
            # Checked before it replaces anything: a failed attach keeps a working handle of this name.
            db = self.state._register(name, binding, backend="external", check=True)
        self.status.value = f"<b>{name}</b> attached"
        self._show_db(db)

    def _plan(self) -> None:
        from ..core import Postgres

        name, backend = self.name.value.strip(), self.backend.value
        spec: dict[str, Any] = {"id": name, "storage": self.storage.value.strip() or "20Gi"}
        version = self.version.value if self.version.value != "18" else "17"  # clouds offer 15-17
        spec["version"] = version
        for key, field in (("cpu", self.cpu), ("memory", self.memory)):
            if field.value.strip():
                spec[key] = field.value.strip()
        plan = self.state.cloud_controller(backend).plan(Postgres.parse(spec))
        self.details.value = plan._repr_html_()
        command = f"%alien_postgres start {name} --backend {backend} --version {version}"
        self.status.value = (
            f"plan for <b>{html.escape(name)}</b>: nothing was created. To create it (billable): "
            f"<code>{html.escape(command)}</code>"
        )

    def _stop(self) -> None:
        name = self.name.value.strip()
        if self.backend.value == "local":
            self.state.controller.stop(name)  # a refused stop leaves the handle as it was
        self.state.forget(name)
        status = self.state.controller.status(name) if self.backend.value == "local" else None
        size = f", {format_size(status.data_size)} kept" if status else ""
        self.status.value = f"<b>{name}</b> is stopped{size}"
        self.details.value = ""
