"""Write a tutorial from its cell list and execute it, keeping the outputs (the nbval reference).

    python notebooks/_src/build.py 04-panel      # writes and runs notebooks/04-panel.ipynb
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def build(stem: str) -> Path:
    spec = importlib.util.spec_from_file_location(stem, HERE / f"{stem}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source, *tags in module.CELLS:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    if "ALIEN_NB_HOME" not in os.environ:
        home = tempfile.mkdtemp(prefix="alien-nb-build-")
        os.chmod(home, 0o755)  # as root the server account passes through without a notice in the outputs
        os.environ["ALIEN_NB_HOME"] = home
    target = HERE.parent / f"{stem}.ipynb"
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(HERE.parent)}}).execute()
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index}"  # stable ids: a rebuild diffs only where content changed
        cell.metadata.pop("execution", None)
    nbformat.write(nb, target)
    return target


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(build(name))
