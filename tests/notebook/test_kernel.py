"""Real kernels (nbclient): run notebooks, save them with widget state, and look for the password."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from alien_nb.core import Redactor
from alien_nb.notebook._audit import audit_notebook
from tests.local.conftest import stop_everything
from tests.notebook.conftest import password_of

REPO = Path(__file__).resolve().parents[2]

CARELESS = [
    "%load_ext alien_nb",
    "db = %alien_postgres start careless",
    "print(db)\ndb",
    "import json, os\npw = json.load(open(os.path.join(os.environ['ALIEN_NB_HOME'], 'postgres', 'careless',"
    " 'metadata.json')))['password']",
    "pw",
    "url = f'postgres://postgres:{pw}@127.0.0.1:{db.binding[\"port\"]}/careless'\nprint('my url is', url)",
    "import psycopg\npsycopg.connect(url.replace(str(db.binding['port']), '1'))",
    "raise RuntimeError(f'could not use {url}')",
    "%xmode Verbose",
    "def connect_with(password):\n    return 1 / 0\nconnect_with(pw)",
    "%xmode Context",
    "panel = %alien_postgres panel\npanel",
    "panel.backend.value = 'external'\npanel.name.value = 'careless'\npanel.password.value = pw\n"
    "panel.host.value = '127.0.0.1'\npanel.port.value = db.binding['port']\n"
    "panel.attach_button.click()\npanel.status.value",
    "db.binding, db.worker_env(), db.url",
    "%alien_postgres url careless",
    "%alien_postgres status careless",
    "%%alien_postgres careless\nSELECT :pw AS echoed",
    "import sys\nprint(pw, file=sys.stderr)",
    "%alien_postgres stop careless",
]


def run_notebook(nb: Any, path: Path) -> Path:
    client = NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True, store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    client.execute()
    nbformat.write(nb, path)
    return path


@pytest.fixture
def kernel_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    home = tmp_path / "home"
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    yield home
    stop_everything(home)


def assert_no_password(path: Path, password: str) -> None:
    raw = path.read_bytes()
    redactor = Redactor([password])
    assert not redactor.contains_secret(raw), f"the password is in {path}"
    report = audit_notebook(path, redactor)
    assert report.clean, repr(report)


def test_careless_notebook_saves_no_password(kernel_home: Path, tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in CARELESS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = run_notebook(nb, tmp_path / "careless.ipynb")
    password = password_of(kernel_home, "careless")
    saved = json.loads(path.read_text())
    outputs = [o for c in saved["cells"] for o in c.get("outputs", [])]
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert {e["ename"] for e in errors} >= {"RuntimeError", "ZeroDivisionError", "OperationalError"}
    assert "widgets" in saved["metadata"], "widget state was not saved"
    text = path.read_text()
    assert "********" in text  # the scrubber masked what the cells tried to show
    assert "password received" in text or "attached" in text or "SSL" in text
    assert_no_password(path, password)


def test_quickstart_saved_with_widget_state(kernel_home: Path, tmp_path: Path) -> None:
    nb = nbformat.read(REPO / "notebooks" / "01-quickstart.ipynb", as_version=4)
    path = run_notebook(nb, tmp_path / "quickstart.ipynb")
    saved = json.loads(path.read_text())
    errors = [o for c in saved["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, errors
    assert_no_password(path, password_of(kernel_home, "quickstart"))
