"""`alien-nb demo`, end to end against a real embedded Postgres."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from alien_nb import demo, vector
from alien_nb.cli import main
from alien_nb.core import AlienError, connection_string
from alien_nb.demo import _digits
from alien_nb.local import LocalPostgresManager
from tests.local.conftest import stop_everything

ROW = re.compile(r"^\s+pgvector HNSW\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d,]+)\s*$", re.M)
NUMPY_ROW = re.compile(r"^\s+numpy brute force\s+-\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d,]+)\s*$", re.M)


@pytest.fixture
def home() -> Iterator[Path]:
    # Not under tmp_path: as root the server runs as an unprivileged account that must pass through
    # every parent folder, and any pytest session starting meanwhile (another checkout, a parallel
    # run) resets /tmp/pytest-of-<user> to 0700, which would break initdb half-way through a test.
    base = Path(tempfile.mkdtemp(prefix="alien-nb-demo-test-"))
    path = base / "alien-home"
    try:
        yield path
    finally:
        stop_everything(path)
        shutil.rmtree(base, ignore_errors=True)


def manager_for(home: Path) -> LocalPostgresManager:
    return LocalPostgresManager(home, notify=lambda _m: None, monitor=False)


def tables(manager: LocalPostgresManager, name: str) -> dict[str, int]:
    """Tables of database ``name`` in schema public, with their row counts."""
    with psycopg.connect(connection_string(manager.binding(name)).get_secret_value()) as conn:
        names = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in names}  # type: ignore[index]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("alien-nb", path=os.path.dirname(sys.executable)) or "alien-nb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "ALIEN_"))}
    return subprocess.run([exe, "--home", str(home), *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip


def check_table(out: str) -> None:
    rows = [(int(ef), float(rec), float(p50), float(p95)) for ef, rec, p50, p95, _qps in ROW.findall(out)]
    assert [ef for ef, *_ in rows] == list(demo.EF_SEARCH), out
    for _ef, rec, p50, p95 in rows:
        assert 0.0 <= rec <= 1.0
        assert 0 <= p50 <= p95  # a fast machine may print 0.00 ms
    assert rows[-1][1] >= 0.95, "recall@10 at the largest ef_search should be high"
    assert rows[0][1] <= rows[-1][1] + 0.02
    exact = NUMPY_ROW.search(out)
    assert exact is not None and float(exact.group(1)) == 1.0, out


def test_demo_creates_measures_and_stops(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home), "demo"]) == 0
    out = capsys.readouterr().out
    check_table(out)
    assert "creating local database 'alien-demo'" in out
    assert "Loaded 1,697 vectors" in out and "100 digits held out" in out
    labels = re.search(r"have its label (\d+)% of the time; a 10-NN majority vote names (\d+) of 100", out)
    assert labels is not None and int(labels.group(1)) >= 85 and int(labels.group(2)) >= 90, out
    assert re.search(r"The nearest neighbours of an? \d are \ds \d+% of the time", out)
    assert "dropped table alien_demo_digits; stopped database alien-demo (created by this run" in out
    for hint in ("%load_ext alien_nb", "%alien_postgres start vec-db", "alien-nb status",
                 "alien-nb delete alien-demo", "notebooks/02-embeddings.ipynb"):  # fmt: skip
        assert hint in out
    # How long it took is reported, not judged: the minute budget is a benchmark's business, and a
    # test on a loaded or throttled machine must not fail for being slow.
    assert re.search(r"Done in \d+\.\d s\.", out)

    manager = manager_for(home)
    status = manager.status("alien-demo")
    assert status.lifecycle == "stopped" and not status.process_running  # it did not exist before
    assert [s.name for s in manager.list()] == ["alien-demo"]
    manager.start("alien-demo")
    assert "alien_demo_digits" not in tables(manager, "alien-demo")

    # It exists but is stopped: the demo starts it, and stops it again afterwards.
    manager.stop("alien-demo")
    assert main(["--home", str(home), "demo"]) == 0
    again = capsys.readouterr().out
    assert "stopped database alien-demo (it was not running before" in again
    assert "alien-nb delete alien-demo" not in again  # this run did not create it
    assert manager.status("alien-demo").lifecycle == "stopped"


def test_running_database_stays_running_and_keep_keeps_the_table(home: Path) -> None:
    manager = manager_for(home)
    manager.start("alien-demo")
    manager.start("other-db")
    with psycopg.connect(connection_string(manager.binding("alien-demo")).get_secret_value()) as conn:
        conn.execute("CREATE TABLE mine (x int)")
        conn.execute("INSERT INTO mine VALUES (1)")

    # Without --keep: the demo's table goes, the (running) database and everything else stay.
    done = cli(home, "demo")
    assert done.returncode == 0, done.stderr
    check_table(done.stdout)
    assert "reusing running local database 'alien-demo'" in done.stdout
    assert "left database alien-demo running (it was before)" in done.stdout
    assert "alien-nb delete alien-demo" not in done.stdout  # not the demo's to suggest deleting
    assert manager.status("alien-demo").lifecycle == "running"
    assert manager.status("other-db").lifecycle == "running"
    assert tables(manager, "alien-demo") == {"mine": 1}

    # --keep --json: the table stays, filled; the output is one JSON document.
    kept = cli(home, "demo", "--keep", "--json")
    assert kept.returncode == 0, kept.stderr
    data = json.loads(kept.stdout)
    assert data["kept"] is True and data["table_dropped"] is False and data["stopped"] is False
    assert data["created_database"] is False and data["was_running"] is True
    assert data["rows"] == 1697 and data["queries"] == 100 and data["k"] == 10
    assert list(data["recall_at_k"]) == [str(ef) for ef in demo.EF_SEARCH]
    assert all(0.0 <= r <= 1.0 for r in data["recall_at_k"].values())
    assert data["recall_at_k"][str(max(demo.EF_SEARCH))] >= 0.95
    assert data["vote_correct"] >= 90 and set(data["label_share_by_digit"]) == {str(d) for d in range(10)}
    assert tables(manager, "alien-demo") == {"mine": 1, "alien_demo_digits": 1697}
    with psycopg.connect(connection_string(manager.binding("alien-demo")).get_secret_value()) as conn:
        per_label = conn.execute("SELECT label, count(*) FROM alien_demo_digits GROUP BY label").fetchall()
        assert sorted(label for label, _n in per_label) == list(range(10))
        assert conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'alien_demo_digits'"
        ).fetchone() == (1,)
    assert manager.status("alien-demo").lifecycle == "running"
    assert manager.status("other-db").lifecycle == "running"


def test_failure_midway_cleans_up_and_says_what_failed(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))  # no --home: the environment decides

    def broken(*_args: object, **_kwargs: object) -> None:
        raise psycopg.errors.DiskFull("could not extend file: No space left on device")

    monkeypatch.setattr(vector, "create_index", broken)
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert "error: The demo failed while building the index: could not extend file" in err
    assert "hint: See `alien-nb logs alien-demo`" in err
    assert "Traceback" not in err
    manager = manager_for(home)
    assert manager.status("alien-demo").lifecycle == "stopped"  # created by the run, so stopped again
    manager.start("alien-demo")
    assert "alien_demo_digits" not in tables(manager, "alien-demo")


def test_missing_data_set_is_a_clear_error_before_any_server_starts(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pkg" / "data").mkdir(parents=True)
    (tmp_path / "pkg" / "data" / "digits.npz").write_bytes(b"not a zip file")
    monkeypatch.setattr(_digits, "files", lambda _package: tmp_path / "pkg")
    with pytest.raises(AlienError, match="cannot be read") as caught:
        demo.load_digits()
    assert "Reinstall alien-nb" in (caught.value.hint or "")
    assert main(["--home", str(home), "demo"]) == 1
    assert "error: The demo's data set alien_nb/data/digits.npz cannot be read" in capsys.readouterr().err
    (tmp_path / "pkg" / "data" / "digits.npz").unlink()
    with pytest.raises(AlienError, match="is not installed"):
        demo.load_digits()
    assert not (home / "postgres").exists()


def test_bundled_digits_need_no_scikit_learn() -> None:
    code = (
        "import sys; sys.modules['sklearn'] = None\n"  # importing sklearn would now fail
        "from alien_nb.demo import load_digits\n"
        "d = load_digits(); v = d.vectors\n"
        "assert d.images.shape == (1797, 8, 8) and d.images.dtype.name == 'uint8' and d.images.max() == 16\n"
        "assert sorted(set(d.labels.tolist())) == list(range(10)) and v.shape == (1797, 64)\n"
        "print('ok', v.dtype)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok float32", done.stderr


def test_bundled_digits_are_scikit_learns() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    theirs = datasets.load_digits()
    ours = demo.load_digits()
    np.testing.assert_array_equal(ours.images, theirs.images)
    np.testing.assert_array_equal(ours.labels, theirs.target)
    np.testing.assert_allclose(np.linalg.norm(ours.vectors, axis=1), 1.0, rtol=1e-6)
    held, rest = ours.split()
    assert len(held) == 100 and len(rest) == 1697 and not set(held) & set(rest)
    assert np.bincount(ours.labels[held]).tolist() == [10] * 10
