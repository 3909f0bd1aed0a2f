"""The panel in a real browser: JupyterLab + Debian's Chromium driven by Playwright.

Runs the tutorial ``notebooks/04-panel.ipynb`` in JupyterLab, then uses the first panel output the
way a person would: types a name, presses **Start**, switches to the external backend and types a
password. The notebook is saved from the browser and the file on disk is scanned for the password
(a unique canary) in every spelling, once with JupyterLab's default settings and once with
``saveState: true`` for @jupyter-widgets/jupyterlab-manager (widget state is written into the file).

Needs ``chromium`` on PATH (Debian: ``apt-get install -y chromium``) and ``pip install jupyterlab
playwright`` (no ``playwright install``: Debian's Chromium is used through ``executable_path``).
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.local.conftest import stop_everything

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip(
        "browser tests need Debian's Chromium on PATH (apt-get install -y chromium); `chromium` not found",
        allow_module_level=True,
    )
if importlib.util.find_spec("jupyterlab") is None:
    pytest.skip("browser tests need JupyterLab (pip install jupyterlab)", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need playwright (pip install playwright)"
)

NOTEBOOK = REPO / "notebooks" / "04-panel.ipynb"
# Read at import: tests/conftest.py's autouse fixture removes ALIEN_* variables before each test runs.
ARTIFACTS = os.environ.get("ALIEN_NB_ARTIFACTS")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip
_STRIPPED_PREFIXES = ("PG", "ALIEN_", "AWS_", "GOOGLE_", "AZURE_", "JUPYTER", "IPYTHON")
SERVER_START_TIMEOUT = 60.0
UI_TIMEOUT_MS = 60_000


# -- the canary scan (shared/notes/cloud-testing.md, section 4) ---------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _strings(node: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}.{key}#key", key
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        if node and all(isinstance(x, str) for x in node):
            yield f"{path}[*]", "".join(node)
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


def spellings(secret: str) -> set[str]:
    raw = secret.encode()
    b64 = base64.b64encode(raw).decode()
    return {secret, urllib.parse.quote(secret, safe=""), b64, b64.rstrip("="), raw.hex(), raw.hex().upper()}


def leaks(ipynb: Path, secret: str) -> list[str]:
    """Every JSON path in the saved notebook (sources included) whose text holds the secret in any spelling."""
    nb = json.loads(ipynb.read_text(encoding="utf-8"))
    forms = spellings(secret)
    return sorted({path for path, text in _strings(nb) if any(form in ANSI.sub("", text) for form in forms)})


# -- JupyterLab ---------------------------------------------------------------------------------------


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    home: Path
    settings: Path
    log: Path

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def set_widget_save_state(self, save: bool) -> None:
        """jupyterlab-manager's "Save Widget State Automatically"; read by each page at load."""
        path = self.settings / "@jupyter-widgets" / "jupyterlab-manager" / "plugin.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"saveState": save}), encoding="utf-8")

    def shutdown_kernels(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for kernel in self.api("GET", "/api/kernels"):
                with contextlib.suppress(OSError, ValueError):
                    self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=20)


def _server_env(tmp: Path, home: Path, kernels: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_PREFIXES)}
    env.update(
        ALIEN_NB_HOME=str(home),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_PATH=str(kernels),  # first on the kernelspec path: python3 is this venv's python
        JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(tmp / "ipython"),
        MPLCONFIGDIR=str(tmp / "matplotlib"),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("lab")
    home, root, settings = tmp / "alien-home", tmp / "notebooks", tmp / "lab" / "user-settings"
    kernels = tmp / "kernels"
    for folder in (root, settings, kernels / "kernels" / "python3", tmp / "runtime"):
        folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (alien_nb test venv)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (kernels / "kernels" / "python3" / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True, exist_ok=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8")

    token = uuid.uuid4().hex
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp / 'lab' / 'workspaces'}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = tmp / "jupyterlab.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            command, cwd=root, env=_server_env(tmp, home, kernels), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    lab = None
    try:
        port = _wait_for_port(server, tmp / "runtime" / f"jpserver-{server.pid}.json", token, log)
        lab = Lab(f"http://127.0.0.1:{port}", token, root, home, settings, log)
        specs = lab.api("GET", "/api/kernelspecs")
        argv = specs["kernelspecs"]["python3"]["spec"]["argv"]
        assert specs["default"] == "python3" and argv[0] == sys.executable, (specs["default"], argv)
        yield lab
    finally:
        if lab is not None:
            lab.shutdown_kernels()
            with contextlib.suppress(OSError, ValueError):
                lab.api("POST", "/api/shutdown")
        _end(server)
        stop_everything(home)


def _wait_for_port(server: subprocess.Popen[bytes], info_file: Path, token: str, log: Path) -> int:
    """The port from the server's runtime file, once ``/api/status`` answers on it."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError, ValueError, KeyError):
            port = int(json.loads(info_file.read_text(encoding="utf-8"))["port"])
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=2):
                return port
        time.sleep(0.1)
    pytest.fail(
        f"jupyter lab did not answer in {SERVER_START_TIMEOUT:.0f} s:\n{log.read_text(errors='replace')}"
    )


def _end(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the browser --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


def artifacts_dir() -> Path:
    """$ALIEN_NB_ARTIFACTS, else <repo>/.artifacts (which keeps itself out of git)."""
    folder = Path(ARTIFACTS) if ARTIFACTS else REPO / ".artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    if not ARTIFACTS and not (folder / ".gitignore").exists():
        (folder / ".gitignore").write_text("*\n", encoding="utf-8")
    return folder


# -- the test -----------------------------------------------------------------------------------------

KERNEL_IDLE = (
    "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'"
)
RUN_ALL = """() => {
    window.__alienRunAll = undefined;
    window.jupyterapp.commands.execute('notebook:run-all-cells').then(
        (ok) => { window.__alienRunAll = ok ? 'ok' : 'failed'; },
        (err) => { window.__alienRunAll = 'error: ' + err; });
}"""
ERRORS = """() => window.jupyterapp.shell.currentWidget.content.widgets
    .flatMap((cell, i) => cell.model.type !== 'code' ? [] : cell.model.outputs.toJSON()
        .filter((out) => out.output_type === 'error' || (out.output_type === 'stream' && out.name === 'stderr'))
        .map((out) => `cell ${i}: ` + (out.output_type === 'error' ? `${out.ename}: ${out.evalue}` : out.text)))
    .join('\\n')"""
NOT_DIRTY = "() => window.jupyterapp.shell.currentWidget.context.model.dirty === false"


def _errors(page: Any) -> str:
    """The error and stderr outputs of the open notebook, for failure messages."""
    try:
        return str(page.evaluate(ERRORS)) or "(no error outputs)"
    except Exception as exc:
        return f"(could not read the outputs: {exc})"


@pytest.mark.parametrize("save_state", [False, True], ids=["saveState-false", "saveState-true"])
def test_panel_in_jupyterlab_keeps_password_out_of_saved_notebook(
    lab: Lab, browser: Any, tmp_path: Path, save_state: bool
) -> None:
    expect = sync_api.expect
    name = "browser-db"
    canary = "Canary-" + uuid.uuid4().hex
    folder = lab.root / f"save-state-{str(save_state).lower()}"
    folder.mkdir()
    notebook = folder / NOTEBOOK.name
    shutil.copyfile(NOTEBOOK, notebook)
    lab.set_widget_save_state(save_state)
    screenshot = tmp_path / f"panel-{folder.name}.png"

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        relative = urllib.parse.quote(notebook.relative_to(lab.root).as_posix())
        page.goto(f"{lab.url}/lab/tree/{relative}?token={lab.token}&reset")
        page.wait_for_function(KERNEL_IDLE, timeout=UI_TIMEOUT_MS)
        page.evaluate(RUN_ALL)
        page.wait_for_function("() => window.__alienRunAll !== undefined", timeout=UI_TIMEOUT_MS)
        outcome = page.evaluate("() => window.__alienRunAll")
        assert outcome == "ok", f"running the tutorial failed ({outcome}):\n{_errors(page)}\n{lab.log_tail()}"

        # The first panel output: the cell `panel = %alien_postgres panel`.
        panel = page.locator(".jp-OutputArea-output .alien-nb-panel").first
        expect(panel).to_be_visible()

        def field(kind: str, label: str) -> Any:
            labelled = page.locator("label.widget-label", has_text=re.compile(rf"^\s*{label}\s*$"))
            return panel.locator(f".widget-{kind}", has=labelled).first

        status = panel.locator(".alien-nb-status").first
        backend = field("dropdown", "backend").locator("select")

        # The tutorial leaves the panel on the external backend: back to local, where Start is enabled.
        backend.select_option(label="local (embedded PostgreSQL 18 + pgvector)")
        name_box = field("text", "name").locator("input")
        name_box.fill(name)
        name_box.press("Tab")
        start = panel.locator("button", has_text="Start")
        expect(start).to_be_enabled()
        start.click()
        expect(status).to_have_text(
            re.compile(rf"{name} is running on 127\.0\.0\.1:\d+"), timeout=UI_TIMEOUT_MS
        )
        shown = status.inner_text()
        assert name in shown and "is running on 127.0.0.1:" in shown, shown
        assert "handle: browser_db" in shown, shown  # bound as the magic binds it, and said so

        backend.select_option(label="attach external host (password)")
        password = panel.locator("input[type=password]")
        expect(password).to_be_visible()
        password.fill(canary)
        password.press("Enter")
        expect(status).to_contain_text("password received")
        expect(password).to_have_value("")  # the kernel cleared the box, and the browser got the update

        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(NOT_DIRTY, timeout=UI_TIMEOUT_MS)
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot))
    finally:
        with contextlib.suppress(Exception):
            if not screenshot.exists():
                page.screenshot(path=str(screenshot))
        context.close()
        if screenshot.exists():
            shutil.copy2(screenshot, artifacts_dir() / screenshot.name)
        lab.shutdown_kernels()
        stop_everything(lab.home)

    assert notebook.read_bytes() != NOTEBOOK.read_bytes(), "the browser did not save the notebook"
    saved = json.loads(notebook.read_text(encoding="utf-8"))
    widgets = json.dumps(saved["metadata"].get("widgets", {}))
    if save_state:
        # The setting took effect: the live panel state (the new name) was written into the file.
        assert name in widgets, "saveState: true, but the saved widget state does not hold the panel's state"
    found = leaks(notebook, canary)
    assert not found, f"the typed password is in the saved notebook at {found} (screenshot: {screenshot})"
