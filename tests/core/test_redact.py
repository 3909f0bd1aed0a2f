from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from alien_nb.core import MASK, Redactor, known_redactor, remember_secret, secret_forms

SECRET = "Xk3Pq9Lm2Nb7Vc4Zr8Tw1Ys6"


def test_masks_every_spelling() -> None:
    secret = "p@ss word/ü+1"
    redactor = Redactor([SecretStr(secret), "Tr0ub4dor&3<x>"])
    for text in (
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps({"pw": secret}),
        base64.b64encode(secret.encode()).decode(),
        "<td>Tr0ub4dor&amp;3&lt;x&gt;</td>",
    ):
        assert redactor.contains_secret(text)
        assert secret not in redactor.redact(f"before {text} after")
        assert MASK in redactor.redact(text)


@settings(deadline=None)
@given(prefix=st.binary(max_size=10), suffix=st.binary(max_size=10))
def test_finds_a_secret_inside_a_larger_base64_blob(prefix: bytes, suffix: bytes) -> None:
    blob = base64.b64encode(prefix + SECRET.encode() + suffix).decode()
    assert Redactor([SECRET]).contains_secret(blob)


def test_short_strings_are_not_secrets() -> None:
    assert secret_forms("abc") == set()
    assert len(Redactor(["", None, "abc"])) == 0


def test_repr_shows_no_secret() -> None:
    redactor = Redactor([SECRET])
    assert SECRET not in repr(redactor)


def test_bytes_input() -> None:
    assert Redactor([SECRET]).contains_secret(("x" + SECRET).encode())


# -- partial runs, hex, bytes -------------------------------------------------------


def test_any_run_of_eight_characters_is_masked() -> None:
    redactor = Redactor([SECRET])
    assert redactor.redact(SECRET[:17] + "...") == MASK + "..."  # pandas' cut of a long string
    for start in range(len(SECRET) - 7):
        for end in range(start + 8, len(SECRET) + 1):
            masked = redactor.redact(f"<{SECRET[start:end]}>")
            assert masked == f"<{MASK}>", (start, end)
    assert redactor.redact(SECRET[3:10]) == SECRET[3:10]  # seven characters are not a secret
    # Masked runs leave no 8-character piece behind, even around other text.
    masked = redactor.redact(f"x{SECRET[:12]}y{SECRET[12:]}z{SECRET}")
    assert not any(SECRET[i : i + 8] in masked for i in range(len(SECRET) - 7))


@settings(deadline=None, max_examples=60)
@given(
    secret=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=8, max_size=40),
    noise=st.text(max_size=30),
    cut=st.data(),
)
def test_no_window_survives(secret: str, noise: str, cut: st.DataObject) -> None:
    start = cut.draw(st.integers(0, len(secret) - 8))
    end = cut.draw(st.integers(start + 8, len(secret)))
    run = secret[start:end]
    masked = Redactor([secret], share=False).redact(noise + run + noise)
    if not re.fullmatch(r"[\W_]*(?:[a-z]+|[A-Z][a-z]+|[A-Z]+)[\W_]*", run):  # plain words may stay
        assert run not in masked


def test_plain_words_inside_a_password_stay_readable() -> None:
    redactor = Redactor(["first-password"], share=False)
    assert redactor.redact("wrong password for first-password") == f"wrong password for {MASK}"
    assert redactor.redact("see --show-password") == "see --show-password"
    assert redactor.redact("a t-passwo b") == f"a {MASK} b"  # not a word: a piece of the secret


def test_hex_and_encoded_forms() -> None:
    secret = "p@ss word/ü+1"
    redactor = Redactor([secret])
    raw = secret.encode()
    for text in (raw.hex(), raw.hex().upper(), base64.urlsafe_b64encode(raw).decode(), json.dumps(secret)):
        assert redactor.contains_secret(f"a {text} b"), text
        assert MASK in redactor.redact(text)
    assert redactor.redact(quote(secret, safe="")[:14] + "...") == MASK + "..."  # a cut URL-encoded form


def test_any_percent_encoding() -> None:
    secret = "p@ss word/ü+1Xz"
    redactor = Redactor([secret], share=False)
    raw = secret.encode()
    for encoded in (
        quote(secret, safe="@/"),  # another safe set than any form has
        re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(secret, safe="")),  # lower-case hex
        "".join(f"%{b:02X}" for b in raw),  # every byte encoded
        "".join(
            chr(b) if i % 2 and chr(b).isascii() and chr(b).isalnum() else f"%{b:02x}"
            for i, b in enumerate(raw)
        ),
    ):
        masked = redactor.redact(f"postgres://u:{encoded}@h/db and more")
        assert masked == f"postgres://u:{MASK}@h/db and more", encoded
        assert redactor.contains_secret(encoded)
    assert redactor.redact("100% sure, 50%off, %zz") == "100% sure, 50%off, %zz"


def test_bytes_keep_their_length() -> None:
    redactor = Redactor([SECRET])
    blob = b"\x89PNG" + SECRET[:10].encode() + b"\x00\xff"
    clean = redactor.redact_bytes(blob)
    assert len(clean) == len(blob) and SECRET[:10].encode() not in clean
    assert redactor.redact_bytes(b"nothing here") == b"nothing here"


def test_clean_walks_containers_and_keeps_what_is_clean() -> None:
    redactor = Redactor([SECRET])
    state = {"value": "ok", "nested": [{"k": 1}], "buffers": [memoryview(b"abc")]}
    assert redactor.clean(state) is state  # nothing copied when nothing changed
    dirty: dict[str, Any] = {SECRET: [f"url {SECRET}", (SECRET.encode(),)], "n": 1}
    clean = redactor.clean(dirty)
    assert SECRET not in repr(clean) and dirty[SECRET][0].endswith(SECRET)  # the input is untouched
    assert clean == {MASK: [f"url {MASK}", (b"*" * len(SECRET),)], "n": 1}


# -- the process-wide registry --------------------------------------------------------


def test_every_redactor_shares_with_the_registry() -> None:
    secret = "registry-" + SECRET
    Redactor([secret])
    assert known_redactor().contains_secret(secret)
    private = "Qw7Rt2Yu9Io4Pa6Sd1Fg"  # shares no 8 characters with SECRET
    Redactor([private], share=False)
    assert not known_redactor().contains_secret(private)
    remember_secret(SecretStr("remembered-" + SECRET))
    assert known_redactor().redact("remembered-" + SECRET) == MASK


def test_registry_is_thread_safe() -> None:
    redactor = Redactor(share=False)
    added = [f"{i:04d}-{SECRET}" for i in range(40)]
    errors: list[BaseException] = []

    def add_all() -> None:
        for secret in added:
            redactor.add(secret)

    def read_all() -> None:
        try:
            for secret in added * 3:
                redactor.redact(secret)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=f) for f in (add_all, read_all, add_all, read_all)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(redactor.redact(secret) == MASK for secret in added)


FRESH = """
import json, sys
from pathlib import Path
from alien_nb.core import known_redactor, parse_binding
from alien_nb.local._metadata import read_metadata
from alien_nb.resolver import Resolver
from alien_nb.resolver._secrets import _text_password
pw = json.loads(sys.stdin.read())
assert len(known_redactor()) == 0, "a fresh process knows nothing"
base = {"service": "external", "host": "db.example.com", "port": 5432, "database": "d", "username": "u"}
parse_binding(json.dumps({**base, "password": pw["parse"]}))
Resolver().resolve({**base, "password": pw["resolve"]})
_text_password("arn:x", pw["store"].encode())
read_metadata(Path(sys.argv[1]))
seen = {k: known_redactor().contains_secret(v) for k, v in pw.items()}
print(json.dumps(seen))
"""


def test_passwords_are_registered_where_they_are_materialised(tmp_path: Path) -> None:
    # Unrelated values: each must be known on its own, not through a shared run.
    passwords = {k: secrets.token_urlsafe(18) for k in ("parse", "resolve", "store", "metadata")}
    meta = tmp_path / "metadata.json"
    meta.write_text(json.dumps({"resourceId": "x", "version": "18", "port": 5432, "username": "postgres",
                                "password": passwords["metadata"], "database": "x", "dataDir": str(tmp_path)}))  # fmt: skip
    meta.chmod(0o600)
    done = subprocess.run([sys.executable, "-c", FRESH, str(meta)], input=json.dumps(passwords),
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == dict.fromkeys(passwords, True)
    assert not any(p in done.stderr for p in passwords.values())


@settings(deadline=None, max_examples=80)
@given(
    secrets_=st.lists(st.text(min_size=4, max_size=30), min_size=1, max_size=4),
    pieces=st.lists(st.text(max_size=12) | st.sampled_from(["x", "=="]), max_size=6),
    data=st.data(),
)
def test_both_search_strategies_agree(secrets_: list[str], pieces: list[str], data: st.DataObject) -> None:
    redactor = Redactor(secrets_, share=False)
    chosen = data.draw(st.sampled_from(secrets_))
    cut = data.draw(st.integers(0, len(chosen)))
    text = "".join(pieces[:3]) + chosen[cut:] + "".join(pieces[3:]) + chosen[:cut] + chosen
    matcher = redactor._text
    assert matcher.spans(text, slide=True) == matcher.spans(text, slide=False)
