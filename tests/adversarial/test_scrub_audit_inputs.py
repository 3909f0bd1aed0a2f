"""What ``alien-nb audit`` is pointed at, beyond the review's cases: devices, links, huge files.

Each is refused with a specific "cannot audit" line (exit 3) or audited, never hangs and never
reads without end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from alien_nb.notebook._audit import MAX_NOTEBOOK_BYTES

PASSWORD = "Hq3vLw8XkT2mRb9NcY4pZs7D"


def _audit(home: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alien_nb.cli", "--home", str(home), "audit", *paths],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def _home(tmp_path: Path) -> Path:
    vault = tmp_path / "home" / "postgres" / "vault"
    vault.mkdir(parents=True)
    (vault / "metadata.json").write_text(json.dumps({"password": PASSWORD}))
    (vault / "metadata.json").chmod(0o600)
    return tmp_path / "home"


def _leaky(path: Path) -> None:
    output = nbformat.v4.new_output("stream", name="stdout", text=f"postgres://u:{PASSWORD}@h/db\n")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[output])]), path)


def test_a_device_is_refused_without_reading_it(tmp_path: Path) -> None:
    done = _audit(tmp_path / "home", "/dev/zero")
    assert done.returncode == 3 and "/dev/zero: cannot audit: not a regular file" in done.stderr, done.stderr


def test_a_file_over_the_cap_is_refused_as_too_large(tmp_path: Path) -> None:
    huge = tmp_path / "huge.ipynb"
    with huge.open("wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_NOTEBOOK_BYTES + 1)
    done = _audit(tmp_path / "home", str(huge))
    assert done.returncode == 3 and "too large" in done.stderr, done.stderr


def test_a_symlink_to_a_fifo_does_not_hang_and_a_symlink_to_a_notebook_is_audited(tmp_path: Path) -> None:
    home = _home(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    os.mkfifo(tmp_path / "pipe")
    (work / "pipe.ipynb").symlink_to(tmp_path / "pipe")
    _leaky(tmp_path / "real.ipynb")
    (work / "linked.ipynb").symlink_to(tmp_path / "real.ipynb")
    done = _audit(home, str(work))
    assert "pipe.ipynb: cannot audit: not a regular file" in done.stderr, done.stderr
    assert "linked.ipynb: cells[0].outputs[0].text: secret" in done.stdout, done.stdout
    assert done.returncode == 1
    assert PASSWORD[:8] not in done.stdout + done.stderr


def test_json_objects_without_cells_are_not_notebooks_and_nbformat3_is_audited(tmp_path: Path) -> None:
    home = _home(tmp_path)
    (tmp_path / "object.ipynb").write_text(json.dumps({"metadata": {}, "note": f"pw {PASSWORD}"}))
    done = _audit(home, str(tmp_path / "object.ipynb"))
    assert done.returncode == 3 and "not a notebook" in done.stderr, done.stderr
    old = {"nbformat": 3, "metadata": {}, "worksheets": [{"cells": [{"cell_type": "code", "input": "x",
           "outputs": [{"output_type": "stream", "stream": "stdout", "text": [f"pw={PASSWORD}\n"]}]}]}]}  # fmt: skip
    (tmp_path / "v3.ipynb").write_text(json.dumps(old))
    done = _audit(home, str(tmp_path / "v3.ipynb"))
    assert done.returncode == 1, done.stdout + done.stderr


def test_a_symlinked_folder_is_not_entered(tmp_path: Path) -> None:
    # A link back up the tree would otherwise loop (or audit the same files twice).
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), work / "sub" / "a.ipynb")
    (work / "sub" / "loop").symlink_to(work)
    done = _audit(tmp_path / "home", str(work))
    assert done.returncode == 0 and "audited 1 notebook(s)" in done.stderr, done.stderr
