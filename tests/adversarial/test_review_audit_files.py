"""Review of issue 11, sections 4/6: what ``alien-nb audit`` is pointed at.

A FIFO named ``*.ipynb`` (planted in a shared folder the CI audits, or given by mistake) hangs the
audit forever: the notebook reader opens it blocking (the metadata reader was hardened against
exactly this, the notebook reader was not). (``/dev/zero`` reads until memory runs out: not
tested here, on a shared machine.) JSON that is not a notebook (``[]``, ``null``) is reported "audited 1
notebook(s): no secrets found" instead of "not a notebook". A folder's ``.ipynb_checkpoints/``
copies, which hold the previous save and get committed by accident, are skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _audit(home: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alien_nb.cli", "--home", str(home), "audit", *paths],
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip


def test_a_fifo_among_the_notebooks_does_not_hang_the_audit(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    os.mkfifo(work / "planted.ipynb")
    try:
        done = _audit(tmp_path / "home", str(work))
    except subprocess.TimeoutExpired:
        raise AssertionError("alien-nb audit hung on a FIFO named *.ipynb") from None
    assert done.returncode != 0 and "planted.ipynb" in done.stderr, done.stderr


def test_json_that_is_not_a_notebook_is_not_audited_clean(tmp_path: Path) -> None:
    for name, text in (("list.ipynb", "[]"), ("null.ipynb", "null")):
        (tmp_path / name).write_text(text)
        done = _audit(tmp_path / "home", str(tmp_path / name))
        assert done.returncode != 0, f"{name}: {done.stderr}"


def test_a_checkpoint_copy_in_an_audited_folder_is_audited(tmp_path: Path) -> None:
    # Jupyter keeps the previous save in .ipynb_checkpoints/; repositories commit it by accident.
    import json

    import nbformat

    password = "Zq8vLw3XkT9mRb2NcY7pHs4D"
    home = tmp_path / "home"
    vault = home / "postgres" / "vault"
    vault.mkdir(parents=True)
    (vault / "metadata.json").write_text(json.dumps({"password": password}))
    (vault / "metadata.json").chmod(0o600)
    checkpoints = tmp_path / "work" / ".ipynb_checkpoints"
    checkpoints.mkdir(parents=True)
    output = nbformat.v4.new_output("stream", name="stdout", text=f"postgres://u:{password}@h/db\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(url)", outputs=[output])])
    nbformat.write(nb, checkpoints / "analysis-checkpoint.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "work" / "analysis.ipynb")
    done = _audit(home, str(tmp_path / "work"))
    assert done.returncode == 1, done.stderr
