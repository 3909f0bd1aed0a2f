"""Binder config: names only installable packages, and postBuild works in a brand-new venv."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"


def requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_requirements_name_only_installable_packages(tmp_path: Path) -> None:
    import re

    pyproject = (REPO / "pyproject.toml").read_text()
    section = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = set(re.findall(r"^([A-Za-z0-9_-]+)\s*=", section, re.MULTILINE))
    external = []
    for line in requirement_lines():
        if line.startswith("-e "):
            target = line[3:]
            assert target.split("[")[0] == ".", line  # the repository itself
            if "[" in target:
                for extra in target.split("[")[1].rstrip("]").split(","):
                    assert extra in extras, f"binder asks for extra {extra!r}, which pyproject lacks"
            continue
        external.append(str(Requirement(line)))  # raises on anything that is not a requirement
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(tmp_path), *external],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]


def test_post_build_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    env_dir = tmp_path / "binder-venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(env_dir)}
    env.pop("ALIEN_NB_HOME", None)
    build = subprocess.run(
        ["bash", str(BINDER / "postBuild")], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    assert "start checked" in build.stdout
