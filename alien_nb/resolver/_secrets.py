"""Read a cloud binding's password from its secret store.

One reader per provider, each creating its SDK client once (per region or
vault) and reading the secret afresh on every call, so a rotation is seen
at the next connect. Errors name the locator, never the value; the SDK's
exception is not chained (its frames hold the response).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr

from ..core import (
    AuroraBinding,
    CloudSqlBinding,
    FlexibleServerBinding,
    SecretResolutionFailed,
    SecretValueInvalid,
)
from ..core._cloud import CloudSettings, CloudSettingsInvalid
from ..core._crc32c import crc32c
from ..core._logguard import guard_logs
from ..core._redact import remember_secret
from ._clients import Timeouts, aws, gcp
from ._clients.aws import AwsClients
from ._clients.azure import AzureClients
from ._clients.gcp import GcpClients


def _text_password(locator: str, data: bytes | str | None) -> SecretStr:
    if data is None:
        raise SecretValueInvalid(locator, "the secret has no value")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretValueInvalid(locator, "the value is not UTF-8 text") from None
    if not data:
        raise SecretValueInvalid(locator, "the value is empty")
    remember_secret(data)  # known to the notebook scrubber from the moment it is read
    return SecretStr(data)


class AwsSecrets:
    """Secrets Manager: ``GetSecretValue(SecretId=ARN, VersionStage="AWSCURRENT")``."""

    def __init__(self, settings: CloudSettings) -> None:
        self.settings = settings
        self._clients = AwsClients(settings, Timeouts.for_secret_reads(settings))

    def client(self, region: str) -> Any:
        return self._clients.client("secretsmanager", region)

    def read(self, binding: AuroraBinding) -> SecretStr:
        arn = binding.password_secret_arn
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        reason: str
        hint: str | None = None
        try:
            client = self.client(binding.region)  # a wrong AWS_PROFILE fails here
            with guard_logs(withhold_client_chatter=True):
                answer = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
        except ClientError as exc:
            reason = aws.service_error_text(exc) or type(exc).__name__
            code = exc.response.get("Error", {}).get("Code")
            if code in ("AccessDeniedException", "UnrecognizedClientException"):
                hint = "Your AWS identity needs secretsmanager:GetSecretValue on this secret."
        except NoCredentialsError:
            reason = "no AWS credentials were found"
            hint = "Configure credentials (aws configure / aws sso login, AWS_PROFILE, or an instance role)."
        except BotoCoreError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            hint = "Check the network path to Secrets Manager in the secret's region."
        else:
            return _aws_password(arn, answer)
        raise SecretResolutionFailed(arn, reason, hint=hint)


def _aws_password(arn: str, answer: dict[str, Any]) -> SecretStr:
    value = answer.get("SecretString")
    if value is None:
        value = answer.get("SecretBinary")
    password = _text_password(arn, value)
    text = password.get_secret_value()
    if text.startswith("{"):
        # alien_nb also reads the RDS-managed master secret shape, {"username": ..., "password": ...}.
        try:
            document = json.loads(text)
        except ValueError:
            return password
        if isinstance(document, dict) and isinstance(document.get("password"), str):
            return _text_password(arn, document["password"])
    return password  # the contract's shape: the raw password, whatever it looks like


class GcpSecrets:
    """Secret Manager: access ``<name>/versions/latest`` and check its CRC32C."""

    def __init__(self, settings: CloudSettings) -> None:
        self.settings = settings
        self._clients = GcpClients(settings)

    def client(self) -> Any:
        return self._clients.secret_manager()

    def secret_path(self, binding: CloudSqlBinding) -> str:
        name = binding.password_secret_name
        if name.startswith("projects/"):
            return name
        project = self.settings.gcp_project
        if not project:
            raise CloudSettingsInvalid(
                "gcp_project",
                f"the binding names secret {name!r} without its project, and no project is set",
                hint="Set ALIEN_NB_GCP_PROJECT (or CloudSettings(gcp_project=...)), "
                "or write passwordSecretName as projects/<project>/secrets/<id>.",
            )
        return f"projects/{project}/secrets/{name}"

    def read(self, binding: CloudSqlBinding) -> SecretStr:
        locator = binding.password_secret_name
        path = self.secret_path(binding) + "/versions/latest"
        try:
            client = self.client()
        except Exception as exc:
            if not gcp.is_missing_credentials(exc):
                raise
            raise SecretResolutionFailed(
                locator, "no Google credentials were found",
                hint="Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS.",
            ) from None  # fmt: skip
        from google.api_core import exceptions as gexc
        from google.api_core import retry as gretry

        retry = (
            gretry.Retry(initial=0.2, maximum=2.0, multiplier=2.0, timeout=self.settings.timeout)
            if self.settings.retries
            else None
        )
        reason: str
        hint: str | None = None
        from google.auth import exceptions as auth_exc

        try:
            with guard_logs(withhold_client_chatter=True):
                answer = client.access_secret_version(name=path, retry=retry, timeout=self.settings.timeout)
        except auth_exc.GoogleAuthError as exc:
            reason = f"Google sign-in failed: {_first_line(str(exc))}"
            hint = (
                "Run `gcloud auth application-default login` again, or check GOOGLE_APPLICATION_CREDENTIALS."
            )
        except gexc.RetryError as exc:
            cause = f": last error {_first_line(str(exc.cause))}" if exc.cause is not None else ""
            reason = f"no answer within {self.settings.timeout:g} s (retried){cause}"
            hint = "Check the network path and your Google credentials, or raise CloudSettings(timeout=...)."
        except gexc.GoogleAPICallError as exc:
            reason = gcp.api_error_text(exc) or type(exc).__name__
            if isinstance(exc, gexc.PermissionDenied):
                hint = "Your identity needs roles/secretmanager.secretAccessor on this secret."
        else:
            return _gcp_password(locator, answer)
        raise SecretResolutionFailed(locator, reason, hint=hint)


def _gcp_password(locator: str, answer: Any) -> SecretStr:
    payload = answer.payload
    data = bytes(payload.data)
    if "data_crc32c" in payload and crc32c(data) != payload.data_crc32c:
        raise SecretResolutionFailed(
            locator,
            "the payload's CRC32C checksum does not match (corrupted in transit)",
            hint="Try again; if it persists, re-add the secret version.",
        )
    return _text_password(locator, data)


class AzureSecrets:
    """Key Vault: get secret (name, optional version) by the binding's URI."""

    def __init__(self, settings: CloudSettings) -> None:
        self.settings = settings
        self._clients = AzureClients(settings, Timeouts.for_secret_reads(settings))

    def client(self, vault_url: str) -> Any:
        return self._clients.vault(vault_url)

    def read(self, binding: FlexibleServerBinding) -> SecretStr:
        locator = binding.password_secret_uri
        ref = binding.key_vault_secret
        client = self.client(self.settings.key_vault_endpoint or ref.vault_url)
        from azure.core import exceptions as aexc

        reason: str
        hint: str | None = None
        try:
            with guard_logs(withhold_client_chatter=True):
                secret = client.get_secret(ref.name, ref.version)
        except aexc.ClientAuthenticationError as exc:
            reason = f"authentication failed: {_first_line(exc.message)}"
            hint = "Sign in (az login) or configure a credential; it needs the Key Vault Secrets User role."
        except aexc.ResourceNotFoundError as exc:
            reason = f"not found: {_first_line(exc.message)}"
        except aexc.HttpResponseError as exc:
            reason = f"HTTP {exc.status_code}: {_first_line(exc.message)}"
        except aexc.AzureError as exc:
            reason = f"{type(exc).__name__}: {_first_line(str(exc))}"
            hint = "Check the network path to the vault, or raise CloudSettings(timeout=...)."
        else:
            return _text_password(locator, secret.value)
        raise SecretResolutionFailed(locator, reason, hint=hint)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "no details"
