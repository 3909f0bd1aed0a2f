"""Griffe extension for the API reference: show reST-flavoured docstrings well in Markdown.

alien_nb's docstrings are plain prose with ``>>>`` examples and ``Title::`` literal blocks
(no Google/NumPy sections). Rendered as Markdown, ``>>>`` would become nested block quotes,
so each run of ``>>>``/``...`` lines is wrapped in a ``pycon`` fence, and a trailing ``::``
becomes ``:`` (the indented block after it is already a Markdown code block).
Loaded by mkdocstrings (see ``mkdocs.yml``); it changes only the rendered docs.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_PROMPT = re.compile(r"^(\s*)(>>>|\.\.\.)( |$)")


def fence_doctests(text: str) -> str:
    """Wrap each doctest (``>>>`` and ``...`` lines, then output up to a blank line) in a ``pycon`` fence."""
    out: list[str] = []
    in_block = False
    indent = ""
    in_fence = False
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _PROMPT.match(line)
        if match and (in_block or match.group(2) == ">>>"):
            if not in_block:
                indent = match.group(1)
                if out and out[-1].strip():
                    out.append("")
                out.append(f"{indent}```pycon")
                in_block = True
            out.append(line)
            continue
        if in_block and stripped:
            out.append(line)  # the expected output of the example above
            continue
        if in_block:
            out.append(f"{indent}```")
            in_block = False
            if stripped:
                out.append("")
        if not in_fence and line.rstrip().endswith("::") and stripped.rstrip() != "::":
            line = line.rstrip()[:-1]
        out.append(line)
    if in_block:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and (">>>" in obj.docstring.value or "::" in obj.docstring.value):
            obj.docstring.value = fence_doctests(obj.docstring.value)
