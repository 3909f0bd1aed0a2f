"""AWS: Aurora Serverless v2 (aurora-postgresql) with its password in Secrets Manager."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import SecretStr

from ..core import AuroraBinding, InvalidResource, Postgres, Tier, pick_tier, validate_update
from ..core._backends import AURORA
from ..core._cloud import CloudSettings
from ..resolver._clients import Timeouts, aws
from ..resolver._clients.aws import AwsClients
from ._cloud import (
    DATABASE,
    USERNAME,
    CloudPostgresController,
    CloudStatus,
    Plan,
    check_resource,
    describe_storage,
    new_password,
    status_from,
)

ENGINE = "aurora-postgresql"

_LIFECYCLE = {
    "creating": "creating", "available": "running", "backing-up": "running", "modifying": "updating",
    "upgrading": "updating", "renaming": "updating", "resetting-master-credentials": "updating",
    "migrating": "updating", "maintenance": "updating", "starting": "updating", "stopping": "stopping",
    "stopped": "stopped", "deleting": "deleting", "failing-over": "updating",
    "inaccessible-encryption-credentials": "failed", "failed": "failed", "storage-optimization": "running",
}  # fmt: skip


def _capacity(tier: Tier) -> dict[str, float | None]:
    return {"MinCapacity": tier.min_acu, "MaxCapacity": tier.max_acu}


def secret_name(id: str) -> str:
    """Where the controller keeps cluster ``id``'s master password."""
    return f"alien-nb/{id}/master-password"


class AuroraController(CloudPostgresController):
    """Aurora Serverless v2: one ``db.serverless`` writer (plus a reader when highly available).

    Capacity is 0 ACU minimum (the cluster pauses when idle) up to the ACU
    that gives the resource's memory; storage is encrypted, grows on its
    own, and the instances are not publicly accessible. The master password
    is generated here and stored as a Secrets Manager secret, whose ARN the
    binding carries.
    """

    backend = AURORA
    poll_interval = 15.0

    def __init__(
        self,
        *,
        region: str | None = None,
        settings: CloudSettings | None = None,
        subnet_group: str | None = None,
        security_group_ids: Sequence[str] = (),
        notify: Callable[[str], None] | None = None,
        on_secret: Callable[[SecretStr], None] | None = None,
    ) -> None:
        super().__init__(settings=settings, notify=notify, on_secret=on_secret)
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
        self.subnet_group = subnet_group
        self.security_group_ids = tuple(security_group_ids)
        self._clients = AwsClients(self.settings, Timeouts.for_management(self.settings))

    # -- clients ----------------------------------------------------------------

    def _client(self, service: str) -> Any:
        if not self.region:
            raise InvalidResource(
                "no AWS region is set", hint="Pass region=..., or set AWS_REGION / AWS_DEFAULT_REGION."
            )
        return self._clients.client(service, self.region)

    @property
    def rds(self) -> Any:
        return self._client("rds")

    @property
    def secretsmanager(self) -> Any:
        return self._client("secretsmanager")

    def describe_sdk_error(self, exc: Exception) -> str:
        return aws.service_error_text(exc) or super().describe_sdk_error(exc)

    def error_hint(self, exc: Exception) -> str | None:
        if aws.is_missing_credentials(exc):
            return (
                "Configure AWS credentials (aws configure / aws sso login, AWS_PROFILE, or an instance role)."
            )
        return None

    # -- plan -------------------------------------------------------------------

    def plan(self, resource: Postgres) -> Plan:
        check_resource(self.backend, "Aurora", resource, 63)
        tier = pick_tier(AURORA, resource.cpu_cores, resource.memory_bytes)
        return Plan(
            backend=self.backend,
            id=resource.id,
            region=self.region or "(AWS_REGION not set)",
            tier=tier,
            version=resource.version,
            storage=f"grows on its own (asked {describe_storage(resource)}), encrypted",
            high_availability=resource.high_availability,
            details={
                "capacity": f"{tier.min_acu:g}-{tier.max_acu:g} ACU (pauses at 0 when idle)",
                "instances": "writer + reader in another zone"
                if resource.high_availability
                else "one writer",
                "network": "private (not publicly accessible)",
                "password": f"generated, stored in Secrets Manager as {secret_name(resource.id)}",
            },
        )

    # -- lifecycle --------------------------------------------------------------

    def create(self, resource: Postgres) -> AuroraBinding:
        plan = self.plan(resource)
        cluster = self._describe_cluster(resource.id)
        if cluster is not None:
            self.notify(f"{resource.id}: the Aurora cluster exists; attaching to it")
            if not any(m.get("IsClusterWriter") for m in cluster.get("DBClusterMembers", [])):
                self.notify(
                    f"{resource.id}: it has no writer (an earlier create stopped half-way); adding one"
                )
                self._create_instance(resource.id, "writer")
            return self.runtime_binding(resource.id)
        password = new_password()
        with self.holding(password):
            self._store_password(resource.id, password)
            assert plan.tier.max_acu is not None
            cluster_args: dict[str, Any] = {
                "DBClusterIdentifier": resource.id,
                "Engine": ENGINE,
                "EngineVersion": resource.version,
                "DatabaseName": DATABASE,
                "MasterUsername": USERNAME,
                "StorageEncrypted": True,
                "ServerlessV2ScalingConfiguration": {
                    "MinCapacity": plan.tier.min_acu,
                    "MaxCapacity": plan.tier.max_acu,
                },
                "CopyTagsToSnapshot": True,
                "Tags": [{"Key": "alien-nb:resource", "Value": resource.id}],
            }
            if self.subnet_group:
                cluster_args["DBSubnetGroupName"] = self.subnet_group
            if self.security_group_ids:
                cluster_args["VpcSecurityGroupIds"] = list(self.security_group_ids)
            self.call(
                f"create Aurora cluster {resource.id!r}",
                lambda: self.rds.create_db_cluster(
                    **cluster_args, MasterUserPassword=password.get_secret_value()
                ),
                secrets=(password,),
            )
            self._create_instance(resource.id, "writer")
            if resource.high_availability:
                self._create_instance(resource.id, "reader")
            self.notify(f"{resource.id}: Aurora cluster requested ({plan.details['capacity']})")
            return self.runtime_binding(resource.id)

    def _create_instance(self, id: str, role: str) -> None:
        self.call(
            f"create the {role} instance of {id!r}",
            lambda: self.rds.create_db_instance(
                DBInstanceIdentifier=f"{id}-{role}",
                DBClusterIdentifier=id,
                Engine=ENGINE,
                DBInstanceClass="db.serverless",
                PubliclyAccessible=False,
                Tags=[{"Key": "alien-nb:resource", "Value": id}],
            ),
        )

    def _store_password(self, id: str, password: SecretStr) -> str:
        name = secret_name(id)
        found = self._secret(id)
        existing = None if found is None else found[0]
        if found is not None and found[1]:
            # Deleted with a recovery window by an earlier delete of the same name: bring it back.
            self.call(
                f"restore the password secret of {id!r}",
                lambda: self.secretsmanager.restore_secret(SecretId=existing),
            )
        if existing is not None:  # left by an earlier create that failed later on
            self.call(
                f"store the password of {id!r}",
                lambda: self.secretsmanager.put_secret_value(
                    SecretId=existing, SecretString=password.get_secret_value()
                ),
                secrets=(password,),
            )
            return existing
        answer = self.call(
            f"store the password of {id!r}",
            lambda: self.secretsmanager.create_secret(
                Name=name,
                Description=f"Master password of Aurora cluster {id} (made by alien_nb)",
                SecretString=password.get_secret_value(),
                Tags=[{"Key": "alien-nb:resource", "Value": id}],
            ),
            secrets=(password,),
        )
        return str(answer["ARN"])

    def _secret_arn(self, id: str) -> str | None:
        found = self._secret(id)
        return None if found is None else found[0]

    def _secret(self, id: str) -> tuple[str, bool] | None:
        """The password secret's ARN, and whether it is scheduled for deletion."""
        sm = self.secretsmanager
        answer = self._lookup(
            f"look up the password secret of {id!r}",
            lambda: sm.describe_secret(SecretId=secret_name(id)),
            sm.exceptions.ResourceNotFoundException,
        )
        return None if answer is None else (str(answer["ARN"]), "DeletedDate" in answer)

    def _lookup(
        self, action: str, describe: Callable[[], Any], missing: type[Exception]
    ) -> dict[str, Any] | None:
        """One describe call; None when it raises ``missing`` (one of the client's not-found errors)."""
        found = self.call_or_none(action, describe, none_if=lambda exc: isinstance(exc, missing))
        return None if found is None else dict(found)

    def _describe_cluster(self, id: str) -> dict[str, Any] | None:
        rds = self.rds
        return self._lookup(
            f"describe Aurora cluster {id!r}",
            lambda: rds.describe_db_clusters(DBClusterIdentifier=id)["DBClusters"][0],
            rds.exceptions.DBClusterNotFoundFault,
        )

    def status(self, id: str) -> CloudStatus:
        cluster = self._describe_cluster(id)
        if cluster is None:
            return status_from(None, _LIFECYCLE, f"Aurora cluster {id!r}")
        state = str(cluster.get("Status", "unknown"))
        status = status_from(state, _LIFECYCLE, f"Aurora cluster {id!r}")
        writers = [m for m in cluster.get("DBClusterMembers", []) if m.get("IsClusterWriter")]
        if status.lifecycle == "running" and not writers:
            return CloudStatus(
                "degraded", "creating", f"Aurora cluster {id!r} has no writer instance yet", state
            )
        if status.lifecycle == "running":
            writer = self._describe_instance(str(writers[0]["DBInstanceIdentifier"]))
            instance_state = str((writer or {}).get("DBInstanceStatus", "missing"))
            if instance_state != "available":
                return CloudStatus(
                    "degraded", "creating", f"Aurora cluster {id!r}: its writer is {instance_state}", state
                )
        return status

    def _describe_instance(self, instance: str) -> dict[str, Any] | None:
        rds = self.rds
        return self._lookup(
            f"describe instance {instance!r}",
            lambda: rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"][0],
            rds.exceptions.DBInstanceNotFoundFault,
        )

    def update(self, old: Postgres, new: Postgres) -> None:
        validate_update(old, new)
        self.plan(new)
        changes: dict[str, Any] = {}
        old_tier, new_tier = (
            pick_tier(AURORA, None, old.memory_bytes),
            pick_tier(AURORA, None, new.memory_bytes),
        )
        if new_tier.max_acu != old_tier.max_acu:
            changes["ServerlessV2ScalingConfiguration"] = {
                "MinCapacity": new_tier.min_acu,
                "MaxCapacity": new_tier.max_acu,
            }
        if new.version != old.version:
            changes["EngineVersion"] = new.version
            changes["AllowMajorVersionUpgrade"] = True
        if changes:
            self.call(
                f"modify Aurora cluster {new.id!r}",
                lambda: self.rds.modify_db_cluster(
                    DBClusterIdentifier=new.id, ApplyImmediately=True, **changes
                ),
            )
        if new.high_availability and not old.high_availability:
            self._create_instance(new.id, "reader")
        elif old.high_availability and not new.high_availability:
            self._delete_instance(f"{new.id}-reader")
        # Aurora storage grows by itself; a larger `storage` needs no call.

    def delete(self, id: str) -> None:
        cluster = self._describe_cluster(id)
        if cluster is not None:
            for member in cluster.get("DBClusterMembers", []):
                self._delete_instance(str(member["DBInstanceIdentifier"]))
            self.call(
                f"delete Aurora cluster {id!r}",
                lambda: self.rds.delete_db_cluster(DBClusterIdentifier=id, SkipFinalSnapshot=True),
            )
        arn = self._secret_arn(id)
        if arn is not None:
            # The default 7-day recovery window: a mistaken delete can still be undone.
            self.call(
                f"delete the password secret of {id!r}",
                lambda: self.secretsmanager.delete_secret(SecretId=arn),
            )

    def _delete_instance(self, instance: str) -> None:
        self.call(
            f"delete instance {instance!r}",
            lambda: self.rds.delete_db_instance(DBInstanceIdentifier=instance, SkipFinalSnapshot=True),
        )
        waiter = self.rds.get_waiter("db_instance_deleted")
        delay = max(1, int(self.poll_interval))
        self.call(
            f"wait for instance {instance!r} to be deleted",
            lambda: waiter.wait(
                DBInstanceIdentifier=instance, WaiterConfig={"Delay": delay, "MaxAttempts": 3600 // delay}
            ),
        )

    def runtime_binding(self, id: str) -> AuroraBinding:
        cluster = self._describe_cluster(id)
        if cluster is None:
            raise self.failed(f"find Aurora cluster {id!r}", "it does not exist")
        arn = self._secret_arn(id)
        if arn is None:
            managed = cluster.get("MasterUserSecret", {}).get("SecretArn")
            if not managed:
                raise self.failed(f"find the password of {id!r}", f"no secret {secret_name(id)} exists")
            arn = managed  # an RDS-managed master secret ({"username", "password"} JSON)
        return AuroraBinding(
            cluster_endpoint=str(cluster["Endpoint"]),
            port=int(cluster.get("Port", 5432)),
            database=str(cluster.get("DatabaseName") or DATABASE),
            username=str(cluster.get("MasterUsername") or USERNAME),
            password_secret_arn=arn,
        )
