"""Sizes, core counts and versions no machine has: refused by field, never an OverflowError.

Reproduced before the fix: `alien-nb start vec-db --backend cloud-sql --plan --memory 999…9Gi` (5,000
digits) ended in "unexpected OverflowError" from the tier table, `--cpu 999…9` was planned as
"inf vCPU", and a 5,000-digit version passed validation and then broke `int()`.
"""

from __future__ import annotations

import pytest

from alien_nb import InvalidResource, Postgres, cli

HUGE = "9" * 5000


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("memory", f"{HUGE}Gi", "too long to be a size"),
        ("storage", f"{HUGE}Gi", "too long to be a size"),
        ("memory", "2000000Ti", "larger than any machine or disk"),
        ("storage", "99999999Ti", "larger than any machine or disk"),
        ("cpu", HUGE, "too long to be a CPU amount"),
        ("cpu", "9" * 30, "more cores than any machine has"),
        ("version", HUGE, "must be a major version"),
        ("version", "99999", "must be a major version"),
    ],
)
def test_absurd_quantities_are_refused_by_field(field: str, value: str, reason: str) -> None:
    with pytest.raises(InvalidResource) as info:
        Postgres.parse({"id": "vec-db", field: value})
    assert f"`{field}`" in str(info.value) and reason in str(info.value)
    assert HUGE not in str(info.value)


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"id": ' + HUGE + "}", "a number in it is far too long"),
        ("[" * 10_000, "nested far too deep"),
        (b"{\xff}", "not UTF-8"),
        ("x" * (2 << 20), "characters long"),
    ],
)
def test_resource_json_that_python_chokes_on_is_refused(text: str | bytes, reason: str) -> None:
    with pytest.raises(InvalidResource, match=reason):
        Postgres.parse(text)


@pytest.mark.parametrize("backend", ["aurora", "cloud-sql", "flexible-server"])
@pytest.mark.parametrize("flag, value", [("--memory", f"{HUGE}Gi"), ("--storage", f"{HUGE}Gi"),
                                         ("--cpu", HUGE), ("--memory", "2000000Ti")])  # fmt: skip
def test_a_cloud_plan_with_absurd_sizes_is_one_clear_error(
    backend: str, flag: str, value: str, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = cli.main(["--home", str(tmp_path), "start", "vec-db", "--backend", backend, "--plan", flag, value])
    err = capsys.readouterr().err
    assert rc == cli.EXIT_FAILED, err
    assert err.startswith("alien-nb: error: Invalid Postgres resource: `") and "\nhint: " in err
    assert "unexpected" not in err and HUGE not in err
