from __future__ import annotations

import base64
import json
import pickle
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from IPython.lib.pretty import pretty
from pydantic import SecretStr, ValidationError

from alien_nb.core import (
    AlienError,
    AuroraBinding,
    BindingConfigInvalid,
    BindingNotConfigured,
    CloudSqlBinding,
    ExternalBinding,
    FlexibleServerBinding,
    LocalPostgresBinding,
    binding_env_var,
    binding_from_env,
    connection_string,
    parse_binding,
    synced_params,
)

PASSWORD = "Sup3r-Secret/Pa55@word"


def local(**overrides: Any) -> dict[str, Any]:
    return {
        "service": "local-postgres",
        "host": "127.0.0.1",
        "port": 5432,
        "database": "app",
        "username": "postgres",
        "password": PASSWORD,
        **overrides,
    }


def every_display(obj: Any) -> list[str]:
    shown = [repr(obj), str(obj), pretty(obj)]
    for name in ("_repr_html_", "model_dump_json"):
        if hasattr(obj, name):
            shown.append(getattr(obj, name)())
    if hasattr(obj, "model_dump"):
        shown.append(json.dumps(obj.model_dump(mode="json")))
        shown.append(repr(obj.model_dump()))
    return shown


def assert_hidden(secret: str, texts: list[str]) -> None:
    forms = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}
    for text in texts:
        for form in forms:
            assert form not in text


@pytest.mark.parametrize(
    "data, cls",
    [
        (local(), LocalPostgresBinding),
        ({**local(service="external"), "sslMode": "disable"}, ExternalBinding),
        (
            {
                "service": "aurora",
                "clusterEndpoint": "c.cluster-x.us-east-1.rds.amazonaws.com",
                "port": 5432,
                "database": "alien",
                "username": "alien",
                "passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pg-AbCdEf",
            },
            AuroraBinding,
        ),
        (
            {
                "service": "cloud-sql",
                "host": "10.0.0.5",
                "port": 5432,
                "database": "alien",
                "username": "alien",
                "serverCaCertificates": ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"],
                "passwordSecretName": "projects/p-1/secrets/pg-password",
            },
            CloudSqlBinding,
        ),
        (
            {
                "service": "flexible-server",
                "host": "pg.postgres.database.azure.com",
                "port": 5432,
                "database": "alien",
                "username": "alien",
                "passwordSecretUri": "https://my-vault.vault.azure.net/secrets/pg",
            },
            FlexibleServerBinding,
        ),
    ],
)
def test_variants_parse_and_ignore_unknown_keys(data: dict[str, Any], cls: type) -> None:
    binding = parse_binding({**data, "futureField": {"anything": [1, 2]}})
    assert type(binding) is cls
    assert "futureField" not in binding.synced()
    assert binding == parse_binding(json.dumps(data))


def test_inline_password_never_displayed() -> None:
    binding = parse_binding(local())
    assert binding.inline_password is not None
    assert binding.inline_password.get_secret_value() == PASSWORD
    assert "<redacted>" in repr(binding)
    assert_hidden(PASSWORD, every_display(binding))
    assert_hidden(PASSWORD, [json.dumps(binding.synced()), json.dumps(synced_params(local()))])
    assert "password" not in binding.synced()
    url = connection_string(binding)
    assert isinstance(url, SecretStr)
    assert_hidden(PASSWORD, every_display(url))


def test_runtime_json_is_the_only_way_out() -> None:
    binding = parse_binding(local())
    wrapped = binding.runtime_json()
    assert_hidden(PASSWORD, [repr(wrapped), str(wrapped)])
    assert json.loads(wrapped.get_secret_value())["password"] == PASSWORD


def test_pickle_keeps_password_for_worker_processes() -> None:
    binding = parse_binding(local())
    assert pickle.loads(pickle.dumps(binding)) == binding


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"password": {"secretRef": {"name": "pg", "key": "password"}}}, "password"),
        ({"host": {"fn::join": ["a", "b"]}}, "host"),
        ({"port": ["${port}"]}, "port"),
        ({"database": {"secretRef": {"name": "x", "key": "y"}}}, "database"),
    ],
)
def test_secret_ref_and_expressions_are_config_errors(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(BindingConfigInvalid, match=f"`{field}`") as info:
        parse_binding(local(**overrides), name="vec-db")
    assert "cannot be resolved in a notebook" in str(info.value)


def test_cloud_sql_root_entry_that_is_a_secret_ref() -> None:
    data = {
        "service": "cloud-sql",
        "host": "10.0.0.5",
        "port": 5432,
        "database": "a",
        "username": "a",
        "serverCaCertificates": [{"secretRef": {"name": "ca", "key": "pem"}}],
        "passwordSecretName": "pg",
    }
    with pytest.raises(BindingConfigInvalid, match="serverCaCertificates"):
        parse_binding(data)


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"host": "db:5432"}, "without a port"),
        ({"host": "db host"}, "spaces"),
        ({"port": "5432"}, "port"),
        ({"port": True}, "port"),
        ({"port": 5432.0}, "port"),
        ({"password": 1234}, "password"),
        ({"service": "mysql"}, "unknown service"),
        ({"service": None}, "service"),
    ],
)
def test_bad_fields_named_without_values(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(BindingConfigInvalid, match=expected) as info:
        parse_binding(local(**overrides), name="vec-db", variable="ALIEN_VEC_DB_BINDING")
    text = str(info.value)
    assert "vec-db" in text and "ALIEN_VEC_DB_BINDING" in text
    assert PASSWORD not in text
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_missing_fields_listed() -> None:
    with pytest.raises(BindingConfigInvalid) as info:
        parse_binding({"service": "aurora", "port": 5432})
    for field in ("clusterEndpoint", "database", "username", "passwordSecretArn"):
        assert field in str(info.value)


def test_bad_json_names_position_not_text() -> None:
    text = '{"service": "local-postgres", "password": "' + PASSWORD + '",,}'
    with pytest.raises(BindingConfigInvalid, match="not valid JSON at line 1") as info:
        parse_binding(text, name="db")
    assert PASSWORD not in str(info.value)
    with pytest.raises(BindingConfigInvalid, match="expected a JSON object"):
        parse_binding("[1, 2]")


@pytest.mark.parametrize(
    "field, value",
    [
        ("passwordSecretArn", "arn:aws:s3:::bucket"),
        ("passwordSecretArn", "not-an-arn"),
    ],
)
def test_aurora_locator_validated(field: str, value: str) -> None:
    data = {
        "service": "aurora",
        "clusterEndpoint": "c.example.com",
        "port": 5432,
        "database": "a",
        "username": "a",
        field: value,
    }
    with pytest.raises(BindingConfigInvalid, match=field):
        parse_binding(data)


def test_cloud_sql_needs_a_root() -> None:
    data = {
        "service": "cloud-sql",
        "host": "10.0.0.5",
        "port": 5432,
        "database": "a",
        "username": "a",
        "serverCaCertificates": [],
        "passwordSecretName": "pg",
    }
    with pytest.raises(BindingConfigInvalid, match="at least one PEM"):
        parse_binding(data)


def test_pydantic_errors_hide_input_when_models_are_built_directly() -> None:
    with pytest.raises(ValidationError) as info:
        LocalPostgresBinding(host="h", port=70000, database="d", username="u", password=PASSWORD)
    assert PASSWORD not in str(info.value)
    assert "70000" not in str(info.value)
    assert all("input" not in e for e in info.value.errors(include_input=False))


def test_cloud_variants_need_the_resolved_password() -> None:
    binding = parse_binding(
        {
            "service": "flexible-server",
            "host": "pg.example.com",
            "port": 5432,
            "database": "a",
            "username": "a",
            "passwordSecretUri": "https://vault-1.vault.azure.net/secrets/pg/v1",
        }
    )
    assert binding.password_locator == "https://vault-1.vault.azure.net/secrets/pg/v1"
    assert isinstance(binding, FlexibleServerBinding)
    assert binding.key_vault_secret.version == "v1"
    with pytest.raises(AlienError, match="get_postgres_connection"):
        connection_string(binding)
    url = connection_string(binding, password=SecretStr(PASSWORD)).get_secret_value()
    assert url.startswith("postgres://a:Sup3r-Secret%2FPa55%40word@pg.example.com:5432/a?sslmode=verify-full")


def test_inline_variant_refuses_a_second_password() -> None:
    with pytest.raises(AlienError, match="carries its own password"):
        connection_string(parse_binding(local()), password="other")


def test_ipv6_hosts() -> None:
    url = connection_string(parse_binding(local(host="::1"))).get_secret_value()
    assert "@[::1]:5432/" in url


def test_binding_from_env() -> None:
    env = {binding_env_var("vec-db"): json.dumps(local()), "ALIEN_OTHER_BINDING": "{broken"}
    assert binding_from_env("vec-db", env) == parse_binding(local())
    with pytest.raises(BindingNotConfigured) as info:
        binding_from_env("missing-db", env)
    assert "ALIEN_MISSING_DB_BINDING" in str(info.value)
    assert info.value.variable == "ALIEN_MISSING_DB_BINDING"
    with pytest.raises(BindingConfigInvalid) as bad:
        binding_from_env("other", env)
    assert "ALIEN_OTHER_BINDING" in str(bad.value) and "'other'" in str(bad.value)


def test_binding_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIEN_VEC_DB_BINDING", json.dumps(local()))
    assert binding_from_env("vec-db").dial_host == "127.0.0.1"


def test_errors_render_short_in_ipython_and_pickle() -> None:
    try:
        parse_binding(local(port=0), name="vec-db")
    except BindingConfigInvalid as exc:
        lines = exc._render_traceback_()
        assert lines[0].startswith("BindingConfigInvalid: Binding 'vec-db' is invalid")
        assert lines[1].startswith("What to do:")
        copy = pickle.loads(pickle.dumps(exc))
        assert type(copy) is BindingConfigInvalid and str(copy) == str(exc)
        assert copy.binding_name == "vec-db"
        assert type(exc).__module__ == "alien_nb"


_passwords = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=64)


@settings(max_examples=300, deadline=None)
@given(password=_passwords, username=_passwords, database=_passwords)
def test_any_password_round_trips_through_libpq(password: str, username: str, database: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    binding = parse_binding(local(password=password, username=username, database=database))
    params = psycopg.conninfo.conninfo_to_dict(connection_string(binding).get_secret_value())
    assert params.get("password", "") == password
    assert params.get("user", "") == username
    assert params.get("dbname", "") == database
    assert params["sslmode"] == "disable"


@settings(max_examples=200, deadline=None)
@given(password=st.text(st.characters(exclude_categories=["Cs"]), min_size=4, max_size=64))
def test_no_display_or_error_shows_the_password(password: str) -> None:
    def shown(pw: str) -> list[str]:
        texts = every_display(parse_binding(local(password=pw)))
        for bad in (local(password=pw, port=0), local(password=pw, host=""), local(password=pw, port="1")):
            with pytest.raises(BindingConfigInvalid) as info:
                parse_binding(bad, name="db")
            texts += [str(info.value), repr(info.value), *info.value._render_traceback_()]
        return texts

    # A password like "5432" occurs in the text by coincidence, not by leaking.
    assume(password not in " ".join(shown("\x01placeholder\x01")))
    for text in shown(password):
        assert password not in text


# -- hostile input: parse_binding raises BindingConfigInvalid and nothing else ----------

HOSTILE_PASSWORD = "Hostile-Pa55word-9137"
_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
_field_values = (
    _json | st.just(HOSTILE_PASSWORD) | st.integers(-(10**30), 10**30) | st.text(st.characters(), max_size=30)
)
_FIELDS = ["service", "host", "port", "database", "username", "password", "sslMode", "clusterEndpoint",
           "passwordSecretArn", "serverCaCertificates", "passwordSecretName", "passwordSecretUri"]  # fmt: skip
_binding_like = st.fixed_dictionaries(
    {"password": st.just(HOSTILE_PASSWORD)},
    optional={
        "service": st.sampled_from(["local-postgres", "external", "aurora", "cloud-sql", "flexible-server"])
        | _field_values,
        **{key: _field_values for key in _FIELDS if key not in {"service", "password"}},
    },
)


def _refused(data: Any) -> BindingConfigInvalid | None:
    try:
        parse_binding(data, name="db", variable="ALIEN_DB_BINDING")
    except BindingConfigInvalid as exc:
        assert exc.__cause__ is None and exc.__context__ is None
        return exc
    return None


def _assert_no_password(exc: BindingConfigInvalid | None) -> None:
    if exc is None:
        return
    for text in (str(exc), repr(exc), *exc._render_traceback_(), str(exc.hint)):
        for shown in (HOSTILE_PASSWORD, HOSTILE_PASSWORD[:10], quote(HOSTILE_PASSWORD),
                      base64.b64encode(HOSTILE_PASSWORD.encode()).decode()):  # fmt: skip
            assert shown not in text


@settings(max_examples=300, deadline=None)
@given(data=_binding_like)
def test_any_binding_shaped_mapping_or_json_is_parsed_or_refused_cleanly(data: dict[str, Any]) -> None:
    _assert_no_password(_refused(data))
    try:
        text = json.dumps(data)
    except ValueError:  # NaN is valid for Python's json, but keep the test honest either way
        return
    _assert_no_password(_refused(text))
    _assert_no_password(_refused(text.encode()))


@settings(max_examples=300, deadline=None)
@given(data=_json | st.binary(max_size=200) | st.text(max_size=200))
def test_any_json_text_or_bytes_is_refused_cleanly(data: Any) -> None:
    _refused(data)
    if not isinstance(data, (str, bytes)):
        _refused(json.dumps(data))


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"service":"local-postgres","port":' + "9" * 5000 + "}", "more than 20 digits"),
        ("[" * 10_000 + "]" * 10_000, "nested far too deep"),
        ('{"a":' * 10_000 + "1" + "}" * 10_000, "nested far too deep"),
        ('{"host": "' + "h" * (101 * 1024 * 1024) + '"}', "characters long"),
        (b"\xff\xfe{", "not UTF-8"),
        ("NaN", "expected a JSON object"),
    ],
    ids=["5000-digit-port", "10000-deep-array", "10000-deep-object", "100MB", "not-utf8", "nan"],
)
def test_pathological_binding_text_gets_a_specific_reason(text: str | bytes, reason: str) -> None:
    exc = _refused(text)
    assert exc is not None and reason in str(exc)
    assert len(str(exc)) < 400  # one line, not the input


@pytest.mark.parametrize("field", ["host", "database", "username", "password"])
def test_text_no_encoding_can_carry_is_refused_by_field(field: str) -> None:
    exc = _refused(local(**{field: "a\ud800b"}))  # a lone surrogate: not UTF-8, not JSON-safe
    assert exc is not None and f"`{field}`" in str(exc)
    assert "\ud800" not in str(exc)


def test_a_nul_is_refused_in_the_host_only() -> None:
    # The contract's wire vectors carry a NUL in username and password (percent-encoded in the URL).
    assert "`host`" in str(_refused(local(host="a\x00b")))
    assert parse_binding(local(username="a\x00b", password="p\x00w")).username == "a\x00b"


def test_a_deep_mapping_and_odd_python_objects_are_refused_cleanly() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    assert _refused(local(port=deep)) is not None
    assert _refused(local(port=10**5000)) is not None
    for odd in (42, None, [local()], object(), memoryview(json.dumps(local()).encode())):
        if isinstance(odd, memoryview):
            assert parse_binding(odd).port == 5432  # type: ignore[arg-type]  # bytes-like, beyond the signature
        else:
            assert "expected" in str(_refused(odd))


def test_a_hostile_mapping_is_refused_cleanly() -> None:
    class Hostile(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            raise RuntimeError(f"boom {HOSTILE_PASSWORD}")

        def __getitem__(self, key: str) -> Any:
            raise KeyError(HOSTILE_PASSWORD)

    exc = _refused(Hostile(local(password=HOSTILE_PASSWORD)))
    assert exc is not None
    _assert_no_password(exc)
