"""The audit engine: every hiding place of a password in a saved notebook, and no false alarms."""

from __future__ import annotations

import base64
import gzip
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from alien_nb.core import Redactor
from alien_nb.notebook._audit import NotebookUnreadable, audit_notebook, audit_text
from alien_nb.notebook._inline import inline_password_kinds

REPO = Path(__file__).resolve().parents[2]
PW = "Vb8Nq3Lx6Tz1Kp4Wm7Rc2Hs"


def png(*chunks: tuple[bytes, bytes]) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    body = b"".join(chunk(kind, data) for kind, data in chunks)
    return b"\x89PNG\r\n\x1a\n" + header + body + chunk(b"IDAT", zlib.compress(b"\0\0")) + chunk(b"IEND", b"")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def display(mime: str, value: Any) -> Any:
    return nbformat.v4.new_output("display_data", {mime: value})


def stream(text: str) -> Any:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def saved(tmp_path: Path, *outputs: Any, source: str = "x") -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, outputs=list(outputs))])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def kinds(path: Path, redactor: Redactor | None = None) -> dict[str, set[str]]:
    report = audit_notebook(path, redactor if redactor is not None else Redactor([PW], share=False))
    found: dict[str, set[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.location, set()).add(finding.kind)
    assert PW[:4] not in repr(report)  # a report never shows the secret, or a piece of it
    return found


ZTXT = b"Comment\0\0" + zlib.compress(PW.encode())
ITXT_PLAIN = b"Comment\0\0\0en\0\0" + PW.encode()
ITXT_PACKED = b"Comment\0\1\0en\0\0" + zlib.compress(PW.encode())

HIDDEN: dict[str, tuple[Callable[[], Any], str, str]] = {
    "hex": (lambda: stream(f"dump: {PW.encode().hex()}\n"), "cells[0].outputs[0].text", "secret"),
    "HEX": (lambda: display("text/plain", PW.encode().hex().upper()), "cells[0].outputs[0].data.text/plain",
            "secret"),
    "gzip": (lambda: display("text/plain", b64(gzip.compress(PW.encode()))),
             "cells[0].outputs[0].data.text/plain", "secret (gzip+base64 payload)"),
    "zlib": (lambda: display("application/json", {"blob": b64(zlib.compress(b"x" * 40 + PW.encode()))}),
             "cells[0].outputs[0].data.application/json.blob", "secret (zlib+base64 payload)"),
    "png tEXt": (lambda: display("image/png", b64(png((b"tEXt", b"Comment\0" + PW.encode()))),),
                 "cells[0].outputs[0].data.image/png", "secret (PNG tEXt chunk)"),
    "png zTXt": (lambda: display("image/png", b64(png((b"zTXt", ZTXT))),),
                 "cells[0].outputs[0].data.image/png", "secret (PNG zTXt chunk)"),
    "png iTXt": (lambda: display("image/png", b64(png((b"iTXt", ITXT_PLAIN))),),
                 "cells[0].outputs[0].data.image/png", "secret (PNG iTXt chunk)"),
    "png iTXt compressed": (lambda: display("image/png", b64(png((b"iTXt", ITXT_PACKED))),),
                            "cells[0].outputs[0].data.image/png", "secret (PNG iTXt chunk)"),
    "prefix of 10": (lambda: display("text/plain", f"'{PW[:10]}…'"), "cells[0].outputs[0].data.text/plain",
                     "secret"),
    "urlsafe base64": (lambda: stream(base64.urlsafe_b64encode(b"ab" + PW.encode()).decode()),
                       "cells[0].outputs[0].text", "secret"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(HIDDEN))
def test_finds_the_hidden_forms(case: str, tmp_path: Path) -> None:
    make, location, kind = HIDDEN[case]
    found = kinds(saved(tmp_path, make()))
    assert kind in found.get(location, set()), found


def test_a_password_split_across_outputs(tmp_path: Path) -> None:
    short = "Kp4Wm7Rc2Hs9"  # two halves of 6: no run of 8 in either output
    path = saved(tmp_path, stream(short[:6]), stream(short[6:] + "\n"))
    report = audit_notebook(path, Redactor([short], share=False))
    assert [str(f) for f in report.findings] == ["cells[0].outputs[0..1]: secret split across outputs"]
    # A base64 form cut in two is found the same way.
    encoded = b64(PW.encode())
    path = saved(tmp_path, display("text/plain", encoded[:13]), display("text/plain", encoded[13:]))
    assert "secret split across outputs" in kinds(path).get("cells[0].outputs[0..1]", set())


CONNINFO = {
    "libpq": ("host=db.internal port=5432 user=app password=hunter2isbad dbname=x", "libpq conninfo with password"),
    "libpq quoted": ("dbname=x user=app password='hunter 2 \\' isbad'", "libpq conninfo with password"),
    "jdbc": ("jdbc:postgresql://db:5432/app?user=app&password=hunter2isbad", "jdbc url with password"),
    "odbc": ("Driver={PostgreSQL Unicode};Server=db;Port=5432;Database=app;Uid=app;Pwd=hunter2isbad;",
             "odbc connection string with password"),
    "odbc braces": ("DSN=prod;UID=app;PWD={hunter;2}", "odbc connection string with password"),
    "url": ("postgresql+psycopg://app:hunter2isbad@db/app", "url with password"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CONNINFO))
def test_inline_passwords_of_unknown_value(case: str, tmp_path: Path) -> None:
    text, kind = CONNINFO[case]
    path = saved(tmp_path, source=f"conn = connect({text!r})")
    assert kinds(path, Redactor(share=False)) == {"cells[0].source": {kind}}


NOT_A_PASSWORD = [
    "psycopg.connect(host=h, port=p, password=pw)",
    "psycopg.connect(\n    host=h,\n    password=pw\n)",
    "f'host={host} user={user} password={password}'",
    "'host=%s user=%s password=%s' % args",
    "host=db user=app password=******** dbname=x",
    "host=db user=app password=<redacted> dbname=x",
    "host=db user=app password=$PGPASSWORD dbname=x",
    "jdbc:postgresql://db/app?user=app&password=${DB_PASSWORD}",
    "Driver={PostgreSQL};Server=db;Uid=app;Pwd={pwd};",
    "Driver={PostgreSQL};Server=db;Uid=app;Pwd=********;",
    "postgres://app:********@db/app",
    "<alien_nb.Database 'x' host='127.0.0.1' user='postgres' sslmode='disable' password=<redacted>>",
    "set PGPASSWORD or pass password= to connect()",
]


@pytest.mark.parametrize("text", NOT_A_PASSWORD)
def test_masks_templates_and_code_are_not_findings(text: str) -> None:
    assert list(inline_password_kinds(text)) == []


def test_unreadable_files_raise_a_specific_error(tmp_path: Path) -> None:
    (tmp_path / "bad.ipynb").write_text("{not json")
    (tmp_path / "dir.ipynb").mkdir()
    for name, reason in (
        ("bad.ipynb", "not JSON"),
        ("dir.ipynb", "it is a directory"),
        ("none.ipynb", "no such"),
    ):
        with pytest.raises(NotebookUnreadable, match=reason):
            audit_notebook(tmp_path / name, Redactor(share=False))
    for depth in (900, 990, 5_000, 100_000):  # JSON nested this deep: a report or that error, never a crash
        deep = tmp_path / f"deep{depth}.ipynb"
        deep.write_text('{"cells": ' + "[" * depth + "]" * depth + "}")
        try:
            assert audit_notebook(deep, Redactor([PW], share=False)).clean
        except NotebookUnreadable as exc:
            assert exc.reason in ("not JSON", "nested too deeply to be a notebook")


def test_the_tutorials_and_docs_audit_clean() -> None:
    redactor = Redactor(share=False)  # the patterns alone: no false alarm in the project's own pages
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 5
    for path in notebooks:
        report = audit_notebook(path, redactor)
        assert report.clean, repr(report)
    pages = [
        REPO / "README.md",
        *sorted((REPO / "docs").rglob("*.md")),
        *sorted((REPO / "notebooks").glob("_src/*.py")),
    ]
    for page in pages:
        findings = audit_text(page.read_text(encoding="utf-8"), redactor, str(page))
        assert not findings, findings


def test_the_json_report(tmp_path: Path) -> None:
    path = saved(tmp_path, stream(PW))
    report = audit_notebook(path, Redactor([PW], share=False))
    data = json.loads(json.dumps(report.to_dict()))
    assert data == {"path": str(path), "clean": False,
                    "findings": [{"location": "cells[0].outputs[0].text", "kind": "secret"}]}  # fmt: skip


def test_a_password_written_one_character_at_a_time(tmp_path: Path) -> None:
    path = saved(tmp_path, *[stream(ch) for ch in PW], display("text/plain", "done"))
    report = audit_notebook(path, Redactor([PW], share=False))
    assert [str(f) for f in report.findings] == [
        f"cells[0].outputs[0..{len(PW) - 1}]: secret split across outputs"
    ]
