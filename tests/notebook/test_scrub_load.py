"""``%load_ext alien_nb`` stays light, and already knows every local database's password."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LOAD = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "alien_nb")
from alien_nb.core import known_redactor
password, inline = sys.stdin.read().split()
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"psycopg", "pandas", "pydantic", "sqlalchemy", "boto3",
                                                         "google", "azure", "numpy", "ipywidgets", "pyarrow"})
print(json.dumps({"heavy": heavy, "knows": known_redactor().contains_secret(password),
                  "knows_env": known_redactor().contains_secret(inline),
                  "masked": known_redactor().redact("pw " + password[:12])}))
"""


def test_load_ext_is_light_and_knows_local_passwords(tmp_path: Path) -> None:
    password = "Lz4Qw8Er2Ty6Ui0Op3As7Df"
    (tmp_path / "postgres" / "one").mkdir(parents=True)
    (tmp_path / "postgres" / "one" / "metadata.json").write_text(json.dumps({"password": password}))
    (tmp_path / "postgres" / "two").mkdir()
    (tmp_path / "postgres" / "two" / "metadata.json").write_text("{ broken")  # skipped, no crash
    inline = "Env7Binding3Pass9Word1Xy"
    binding = {
        "service": "external",
        "host": "db.example.com",
        "database": "d",
        "username": "u",
        "password": inline,
    }
    env = {**os.environ, "ALIEN_NB_HOME": str(tmp_path), "ALIEN_WORKER_DB_BINDING": json.dumps(binding),
           "ALIEN_BROKEN_BINDING": "{ not json"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", LOAD], input=f"{password} {inline}", capture_output=True, text=True,
                          env=env, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"heavy": [], "knows": True, "knows_env": True, "masked": "pw ********"}
