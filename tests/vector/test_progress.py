"""Progress bars never decide an output: silent where nobody watches, closed at their total.

Reproduced (issue 11, section 7): on a slower machine the index-build bar of
notebooks/02-embeddings.ipynb was polled mid-build, drawn at once (tqdm's refresh ignores
``delay``) and closed short of its total, which tqdm draws as a red bar: the cell's output
differed from the stored one and nbval failed.
"""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any, ClassVar

import nbformat
import numpy as np
import psycopg
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from alien_nb import vector
from alien_nb.core import _progress
from alien_nb.core._progress import Progress, someone_watches
from alien_nb.vector import _index, _load
from tests.local.conftest import stop_everything


class Recording(Progress):
    made: ClassVar[list[Recording]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inner = self._bar
        Recording.made.append(self)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> list[Recording]:
    Recording.made = []
    monkeypatch.setattr(_index, "Progress", Recording)
    monkeypatch.setattr(_load, "Progress", Recording)
    return Recording.made


def test_nobody_watches_a_captured_run(
    conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _progress._policy is None and not someone_watches()  # pytest captures stderr: no terminal
    x = np.random.default_rng(0).standard_normal((3000, 16)).astype(np.float32)
    vector.load(conn, "progress_silent", x, replace=True)
    vector.create_index(conn, "progress_silent", metric="l2")
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_polled_bar_waits_for_its_delay_and_closes_at_its_total(
    watched: None, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = Progress(100, "polled", delay=3600)
    slow.show(40, "loading tuples")  # tqdm's own refresh() would draw it now
    inner = slow._bar
    slow.close()
    assert inner is not None and inner.n == 100
    assert capsys.readouterr().err == ""  # never drawn: the work ended before the delay

    shown = Progress(100, "polled", delay=0)
    shown.show(40, "loading tuples")
    inner = shown._bar
    assert "40/100" in capsys.readouterr().err
    shown.close()
    assert inner is not None and inner.n == 100  # the last poll missed the end; the bar does not

    with pytest.raises(RuntimeError), Progress(10, "failing", delay=0) as failing:
        inner = failing._bar
        failing.update(3)
        raise RuntimeError("the work failed")
    assert inner is not None and inner.n == 3  # a failure stays visible where it stopped


def test_index_build_and_load_bars_end_complete(
    conn: psycopg.Connection[Any], watched: None, recording: list[Recording]
) -> None:
    x = np.random.default_rng(1).standard_normal((20_000, 32)).astype(np.float32)
    vector.load(conn, "progress_complete", x, replace=True)
    vector.create_index(conn, "progress_complete", metric="l2")
    assert [r.total for r in recording] == [20_000, 20_000]  # the load, then the build
    for bar in recording:
        assert bar.inner is not None and bar.inner.n == bar.total and bar._bar is None

    recording.clear()
    with pytest.raises(vector.IndexExists):  # a build that fails: its bar stays short
        vector.create_index(conn, "progress_complete", metric="l2")  # the same index name again
    (failed,) = recording
    assert failed.inner is not None and failed.inner.n < failed.total


CELL = """\
%load_ext alien_nb
from alien_nb.core._progress import Progress, someone_watches
bar = Progress(100, "polled", delay=0)
bar.show(40, "phase")
bar.close()
print(someone_watches())
"""


def _run(client: Any, code: str, allow_stdin: bool) -> list[dict[str, Any]]:
    msg_id = client.execute(code, allow_stdin=allow_stdin)
    messages: list[dict[str, Any]] = []
    while True:
        try:
            msg = client.get_iopub_msg(timeout=60)
        except queue.Empty:  # pragma: no cover - a hung kernel
            pytest.fail("the kernel did not finish the cell")
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages
        messages.append(msg)


def test_a_real_kernel_draws_bars_only_for_a_person_at_the_frontend() -> None:
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        # nbclient / nbval / papermill: every cell with allow_stdin off. Nothing but the print.
        unattended = _run(client, CELL, allow_stdin=False)
        kinds = [m["msg_type"] for m in unattended if m["msg_type"] not in {"execute_input", "status"}]
        assert kinds == ["stream"] and unattended[-1]["content"]["text"] == "False\n"

        # JupyterLab / VS Code let the user answer input(): the bar is shown, and ends complete.
        attended = _run(client, CELL, allow_stdin=True)
        assert any(m["msg_type"] == "display_data" for m in attended)
        states = [
            m["content"]["data"]["state"] for m in attended if m["msg_type"] in {"comm_open", "comm_msg"}
        ]
        values = [s["value"] for s in states if isinstance(s.get("value"), (int, float))]
        assert values and values[-1] == 100, states
        assert all(s.get("bar_style") != "danger" for s in states)  # tqdm's red "unfinished" bar
        assert attended[-1]["content"].get("text") == "True\n"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_an_unattended_notebook_saves_no_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reproduction, executed by nbclient like nbval does: before, a start that took a moment
    and an index build longer than one poll (0.5 s) left their bars in the saved outputs."""
    home = tmp_path / "home"
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        "%load_ext alien_nb",
        "db = %alien_postgres start unattended",
        "import numpy as np\nx = np.random.default_rng(0).standard_normal((12_000, 64)).astype(np.float32)\n"
        "db.vector.load('items', x, replace=True).rows",
        "db.vector.create_index('items', metric='l2').rows",
        "%alien_postgres stop unattended",
    )]  # fmt: skip
    try:
        NotebookClient(nb, timeout=300).execute()
    finally:
        stop_everything(home)
    kinds = [{o["output_type"] for o in cell.outputs} for cell in nb.cells]
    assert kinds == [set(), {"stream"}, {"execute_result"}, {"execute_result"}, {"stream"}]
    assert "widgets" not in nb.metadata  # no bar's widget state saved either
