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


def test_an_index_build_is_counted_in_rows_in_every_phase() -> None:
    rows = 150_000
    # Polls measured on pgvector 0.8 (see _index.build_position).
    assert _index.build_position(rows, "building index: loading tuples", 68, 0, 2, 5580) == (
        68,
        "loading tuples",
    )
    assert _index.build_position(rows, "building index: performing k-means", 0, 0, 0, 0) == (
        0,
        "performing k-means",
    )
    done, phase = _index.build_position(rows, "building index: assigning tuples", 0, 0, 2790, 5580)
    assert (done, phase) == (75_000, "assigning tuples")
    assert (
        _index.build_position(rows, "building index: loading tuples", 14773, 150000, 5580, 5580)[0] == 14773
    )
    assert _index.build_position(rows, "initializing", 0, 0, 0, 0) == (0, "initializing")
    assert _index.build_position(100, "building index: loading tuples", 103, 0, 1, 1)[0] == 100  # never past


def test_a_new_phase_restarts_the_count_and_a_phase_never_moves_back(watched: None) -> None:
    import threading

    polls: list[Any] = [
        (50.0, "assigning tuples"), (40.0, "assigning tuples"), (90.0, "assigning tuples"),
        (10.0, "loading tuples"), None, (60.0, "loading tuples"),
    ]  # fmt: skip
    seen: list[tuple[int, str | None]] = []
    finished = threading.Event()

    def positions() -> Any:
        yield from polls
        finished.set()
        while True:
            yield None

    bar = Progress(100, "building index", delay=3600)
    inner = bar._bar
    assert inner is not None
    original = bar.show

    def show(done: float, postfix: str | None = None) -> None:
        original(done, postfix)
        seen.append((inner.n, postfix))

    bar.show = show  # type: ignore[method-assign]
    bar.follow(positions(), every=0.01, phased=True)
    assert finished.wait(10)
    bar.close()
    assert seen == [(50, "assigning tuples"), (50, "assigning tuples"), (90, "assigning tuples"),
                    (10, "loading tuples"), (60, "loading tuples")]  # fmt: skip
    assert inner.n == 100  # the build's success closes it at its total


CELL = """\
%load_ext alien_nb
from alien_nb.core._progress import Progress, someone_watches
bar = Progress(100, "polled", delay=0)
bar.show(40, "phase")
bar.close()
print(someone_watches())
"""


FAILING_CELL = """\
try:
    with Progress(100, "failing", delay=0) as bar:
        bar.show(30, "phase")
        raise RuntimeError("the work failed")
except RuntimeError:
    pass
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
        assert states[-1].get("bar_style") == "success"  # left in place, full and green
        assert attended[-1]["content"].get("text") == "True\n"
        # What a saved notebook keeps, and a reopened one shows without widget state: the widget's
        # text when first shown ("40%") is replaced by its final one.
        (shown,) = [m for m in attended if m["msg_type"] == "display_data"]
        assert "40/100" in shown["content"]["data"]["text/plain"]
        (final,) = [m for m in attended if m["msg_type"] == "update_display_data"]
        assert final["content"]["transient"] == shown["content"]["transient"]
        assert "100%" in final["content"]["data"]["text/plain"]
        assert "100/100" in final["content"]["data"]["text/plain"]
        view = "application/vnd.jupyter.widget-view+json"
        assert final["content"]["data"][view] == shown["content"]["data"][view]

        # A failure stays red, where it stopped, in the saved text too.
        failed = _run(client, FAILING_CELL, allow_stdin=True)
        (final,) = [m for m in failed if m["msg_type"] == "update_display_data"]
        assert "30/100" in final["content"]["data"]["text/plain"]
        styles = [
            m["content"]["data"]["state"].get("bar_style")
            for m in failed
            if m["msg_type"] in {"comm_open", "comm_msg"}
        ]
        assert "danger" in styles
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
