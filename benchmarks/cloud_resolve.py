"""Cost of resolving a cloud binding, against the raw SDK call it wraps, measured in one run.

For each provider (emulated on loopback: moto, FakeGcp, FakeAzure) it times
  - raw: the SDK's own secret read on a client made once (boto3 get_secret_value,
    SecretManagerServiceClient.access_secret_version, SecretClient.get_secret);
  - resolve: alien_nb's Resolver.resolve(binding) (parse, read, checks, connection details);
and prints resolve / raw. Loopback emulators make the network nearly free, so the
ratio shows alien_nb's own overhead at its largest; against a real cloud (tens of ms
per read) it shrinks towards 1.

    python benchmarks/cloud_resolve.py [--reads 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from alien_nb import CloudSettings
from alien_nb.resolver import Resolver
from alien_nb.testing import FakeAzure, FakeGcp, MotoServer, StubCredential


def timed(fn: Callable[[], object], reads: int) -> float:
    fn()  # warm: clients, connections, token
    samples = []
    for _ in range(reads):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=200)
    reads = parser.parse_args().reads
    rows = []
    with MotoServer() as moto, FakeGcp() as gcp, FakeAzure() as azure:
        os.environ.update(moto.environ())
        sm = moto.client("secretsmanager")
        arn = sm.create_secret(Name="bench", SecretString="bench-Password1")["ARN"]
        aurora = {"service": "aurora", "clusterEndpoint": "c.cluster-x.us-east-1.rds.amazonaws.com", "port": 5432,
                  "database": "alien", "username": "alien", "passwordSecretArn": arn}  # fmt: skip
        resolver = Resolver(CloudSettings(aws_endpoint_url=moto.url))
        raw = timed(lambda: sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT"), reads)
        ours = timed(lambda: resolver.resolve(aurora), reads)
        rows.append(("aurora / Secrets Manager", raw, ours))

        gcp.set_secret("bench", "bench-Password1")
        client = gcp.secret_manager_client()
        cloud_sql = {"service": "cloud-sql", "host": "10.0.0.5", "port": 5432, "database": "alien",
                     "username": "alien", "passwordSecretName": "bench",
                     "serverCaCertificates": ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"]}  # fmt: skip
        resolver = Resolver(CloudSettings(gcp_secret_manager_endpoint=gcp.url, gcp_project=gcp.project))
        name = f"projects/{gcp.project}/secrets/bench/versions/latest"
        raw = timed(lambda: client.access_secret_version(name=name), reads)
        ours = timed(lambda: resolver.resolve(cloud_sql), reads)
        rows.append(("cloud-sql / Secret Manager", raw, ours))

        azure.set_secret("bench", "bench-Password1")
        credential = StubCredential()
        vault = azure.secret_client(credential)
        flexible = {"service": "flexible-server", "host": "s.postgres.database.azure.com", "port": 5432,
                    "database": "alien", "username": "alien",
                    "passwordSecretUri": "https://alien-vault.vault.azure.net/secrets/bench"}  # fmt: skip
        resolver = Resolver(CloudSettings(key_vault_endpoint=azure.url, azure_credential=credential,
                                          azure_ca_bundle=str(azure.ca_path)))  # fmt: skip
        raw = timed(lambda: vault.get_secret("bench"), reads)
        ours = timed(lambda: resolver.resolve(flexible), reads)
        rows.append(("flexible-server / Key Vault", raw, ours))

    print(f"median of {reads} reads each, loopback emulators")
    print(f"{'binding / store':30} {'raw SDK ms':>10} {'resolve ms':>10} {'ratio':>6}")
    for label, raw, ours in rows:
        print(f"{label:30} {raw * 1e3:10.2f} {ours * 1e3:10.2f} {ours / raw:6.2f}x")


if __name__ == "__main__":
    main()
