"""A password full of LaTeX's special characters, shown through ``to_latex``.

LaTeX escaping (``\\_``, ``\\%``, ``\\textasciitilde ``, ...) breaks the password into runs of
7 or fewer plain characters, too short for partial-run masking, and every escaper spells the
word commands its own way. The look-up here is independent of the redactor: pandas' own
escaper and the ``{}`` / accent spellings, every run of 8 characters of each, in the string
and in its repr.
"""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path

import pytest

from alien_nb.core import Redactor
from tests.adversarial.scrub_kit import run

SPECIAL = "&%$#_{}~^\\"


def latex_password() -> str:
    # 3-6 letters between special characters (a space after some): no plain run of 8 survives escaping.
    parts = []
    for _ in range(6):
        letters = secrets.choice(range(3, 7))
        parts.append("".join(secrets.choice(string.ascii_letters) for _ in range(letters)))
        parts.append(secrets.choice(SPECIAL) + secrets.choice(["", " "]) + secrets.choice(SPECIAL))
    return "".join(parts)


def escapes(password: str) -> list[str]:
    from pandas.io.formats.style_render import _escape_latex

    braces = {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
    accents = {**braces, "~": r"\~{}", "^": r"\^{}"}
    forms = [_escape_latex(password)]
    for table in (braces, accents):
        forms.append("".join(table.get(c, "\\" + c if c in "&%$#_{}" else c) for c in password))
    return forms + [f.replace("\\", "\\\\") for f in forms]


def generic(run: str) -> bool:
    # One plain word with punctuation around it ("textasciitilde ", "\\} \\}Tfz") is no evidence
    # (the redactor's documented exception, or every LaTeX text would be masked); a full
    # escaped password always holds longer runs that are not.
    core = run.strip(string.punctuation + " ")
    return core.isalpha() and (core.islower() or core.isupper() or core.istitle())


def runs(blob: str, password: str) -> list[str]:
    return [form[i : i + 8] for form in escapes(password) for i in range(len(form) - 7)
            if form[i : i + 8] in blob and not generic(form[i : i + 8])]  # fmt: skip


def test_every_latex_spelling_is_masked_in_part() -> None:
    for _ in range(20):
        password = latex_password()
        redactor = Redactor([password], share=False)
        for form in escapes(password):
            for i in range(len(form) - 7):
                piece = f"<{form[i : i + 8]}>"
                if not generic(form[i : i + 8]):
                    assert not runs(redactor.redact(piece), password), (form, i)


@pytest.mark.parametrize("call", ["df.style.format(escape='latex').to_latex()", "df.to_latex(escape=True)",
                                  "print(df.style.format(escape='latex').to_latex())"])  # fmt: skip
def test_to_latex_of_a_password_is_masked_in_a_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      call: str) -> None:  # fmt: skip
    password = latex_password()
    vault = tmp_path / "home" / "postgres" / "vault"
    vault.mkdir(parents=True)
    (vault / "metadata.json").write_text(json.dumps({"password": password}))
    (vault / "metadata.json").chmod(0o600)
    monkeypatch.setenv("ALIEN_NB_HOME", str(tmp_path / "home"))
    cells = [
        "%load_ext alien_nb",
        "import json, os\nimport pandas as pd\n"
        "pw = json.load(open(os.path.join(os.environ['ALIEN_NB_HOME'], 'postgres', 'vault', 'metadata.json')))"
        "['password']\n"
        "df = pd.DataFrame({'head': [pw[:12]], 'all': [pw]})",
        call,
    ]
    client, path = run(cells, tmp_path / "latex.ipynb")
    saved = path.read_text(encoding="utf-8")
    assert "tabular" in saved  # the cell ran
    outputs = json.dumps([c.get("outputs") for c in json.loads(saved)["cells"]], ensure_ascii=False)
    decoded = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                      for c in json.loads(saved)["cells"] for o in c.get("outputs", []))  # fmt: skip
    assert not runs(saved + outputs + decoded, password), runs(saved + outputs + decoded, password)
    assert not any(runs(json.dumps(m.get("content"), ensure_ascii=False), password) for m in client.iopub)
