CELLS = [
("md", """# Attach to Aurora, Cloud SQL and Azure Flexible Server

A binding for a managed Postgres carries no password, only where it lives: a Secrets Manager ARN
(Aurora), a Secret Manager secret (Cloud SQL) or a Key Vault URI (Azure Flexible Server). alien_nb reads
the password from that store each time it opens a connection, connects with verified TLS, and never shows
the password.

So that this notebook runs anywhere, offline, it starts loopback emulators of the three secret stores
(`alien_nb.testing`) and a local PostgreSQL standing in for the managed servers, behind TLS with a
certificate for their host names. The last section says what changes against a real account."""),
("code", "%load_ext alien_nb"),
("md", "## The stand-in: a local Postgres behind TLS"),
("code", "standin = %alien_postgres start cloud-standin", "nbval-ignore-output"),
("code", """import secrets

from psycopg import sql

# The "cloud" password: it goes into the emulated secret stores and the stand-in server, and is never printed.
password = secrets.token_urlsafe(18)
with standin.connect(autocommit=True) as conn:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'alien'").fetchone()
    conn.execute(sql.SQL(("ALTER" if exists else "CREATE") + " ROLE alien LOGIN PASSWORD {}").format(password))
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'alien'").fetchone():
        conn.execute("CREATE DATABASE alien OWNER alien")"""),
("md", """Managed endpoints have DNS names (or a private IP for Cloud SQL) that do not exist here. A test
certificate authority issues a certificate for those names, and a TLS proxy in front of the stand-in
presents it, as the managed server would."""),
("code", """from alien_nb.testing import FakeAzure, FakeGcp, MotoServer, StubCredential, TestCertificateAuthority, TlsPostgresProxy

AURORA_HOST = "shop.cluster-c1a2b3.us-east-1.rds.amazonaws.com"
CLOUD_SQL_IP = "10.0.0.100"
AZURE_HOST = "shop.postgres.database.azure.com"

ca = TestCertificateAuthority()
backend = (standin.binding["host"], standin.binding["port"])
proxy = TlsPostgresProxy(backend, ca.issue(AURORA_HOST, CLOUD_SQL_IP, AZURE_HOST)).start()"""),
("md", "## The three secret stores, emulated, each holding the password"),
("code", """import os

environ_before = dict(os.environ)  # restored at the end
moto = MotoServer().start()  # AWS (Secrets Manager, RDS) in moto's server mode
os.environ.update(moto.environ())  # dummy credentials and AWS_ENDPOINT_URL for boto3
gcp = FakeGcp(server_ca_pem=ca.cert_pem).start()  # GCP Secret Manager + Cloud SQL Admin
azure = FakeAzure().start()  # Azure Key Vault + ARM, over HTTPS with a 401 challenge

arn = moto.client("secretsmanager").create_secret(Name="shop-pg", SecretString=password)["ARN"]
gcp.set_secret("shop-pg", password)
azure.set_secret("shop-pg", password)
print("stored in Secrets Manager, Secret Manager and Key Vault")"""),
("md", """`CloudSettings` says where the APIs are (the emulators) and how to reach the endpoints: `dial` sends a
host's connections to an address (here the TLS proxy; with a real private endpoint, an SSH or SSM tunnel)
while TLS still checks the certificate against the binding's host name. `ca_roots` replaces the AWS and
Azure roots shipped with alien_nb by the test CA. `set_default_settings` makes them the notebook's
settings."""),
("code", """from alien_nb import CloudSettings
from alien_nb.resolver import set_default_settings

settings = CloudSettings(
    aws_endpoint_url=moto.url,
    gcp_secret_manager_endpoint=gcp.url,
    gcp_project=gcp.project,
    key_vault_endpoint=azure.url,
    azure_credential=StubCredential(),
    azure_ca_bundle=str(azure.ca_path),
    dial={host: proxy.address for host in (AURORA_HOST, CLOUD_SQL_IP, AZURE_HOST)},
    ca_roots={"aurora": ca.cert_pem, "flexible-server": ca.cert_pem},
)
set_default_settings(settings)"""),
("md", """## Attach

Bindings arrive as `ALIEN_<NAME>_BINDING` environment variables, exactly as in an Alien workload
(`%alien_postgres attach NAME --binding-file binding.json` reads a file instead)."""),
("code", """import json

bindings = {
    "shop-aurora": {"service": "aurora", "clusterEndpoint": AURORA_HOST, "port": 5432, "database": "alien",
                    "username": "alien", "passwordSecretArn": arn},
    "shop-cloudsql": {"service": "cloud-sql", "host": CLOUD_SQL_IP, "port": 5432, "database": "alien",
                      "username": "alien", "serverCaCertificates": [ca.cert_pem], "passwordSecretName": "shop-pg"},
    "shop-azure": {"service": "flexible-server", "host": AZURE_HOST, "port": 5432, "database": "alien",
                   "username": "alien", "passwordSecretUri": "https://shop-vault.vault.azure.net/secrets/shop-pg"},
}
for name, binding in bindings.items():
    os.environ[f"ALIEN_{name.upper().replace('-', '_')}_BINDING"] = json.dumps(binding)"""),
("code", "%alien_postgres attach shop-aurora"),
("code", "%alien_postgres attach shop-cloudsql"),
("code", "%alien_postgres attach shop-azure"),
("md", "Each handle works like a local one. The TLS mode follows the binding: `verify-full` for Aurora and Azure, `verify-ca` with the binding's roots for Cloud SQL."),
("code", """for db in (shop_aurora, shop_cloudsql, shop_azure):
    with db.connect() as conn:
        user = conn.execute("SELECT current_user").fetchone()[0]
        print(f"{db.name:14} {db.backend:16} TLS={conn.pgconn.ssl_in_use}  user={user}")"""),
("code", "shop_azure.sql(\"SELECT current_database() AS database, version() LIKE 'PostgreSQL%' AS is_postgres\")"),
("md", """## Rotation

The password is read from its store at every new connection, so a rotated secret is picked up without
re-attaching. Rotate it (store and server) and connect again:"""),
("code", """new_password = secrets.token_urlsafe(18)
with standin.connect(autocommit=True) as conn:
    conn.execute(sql.SQL("ALTER ROLE alien PASSWORD {}").format(new_password))
moto.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=new_password)

with shop_aurora.connect() as conn:
    print("connected after rotation:", conn.execute("SELECT 1").fetchone()[0] == 1)"""),
("md", """## Trust is checked

With the AWS roots that ship with alien_nb (instead of the test CA), the stand-in's certificate is
refused, as a server impersonating your cluster would be:"""),
("code", """from alien_nb import ConnectionFailed, get_postgres_connection

strict = settings.with_(ca_roots={})
try:
    get_postgres_connection("shop-aurora", settings=strict).connect()
except ConnectionFailed as exc:
    print(exc.message)
    print("hint:", exc.hint)"""),
("md", """## Against a real account

| here | with a real cloud |
|---|---|
| `MotoServer`, `FakeGcp`, `FakeAzure` and their endpoints in `CloudSettings` | nothing: the SDKs reach AWS, GCP and Azure |
| dummy credentials, `StubCredential` | your usual login: `aws sso login` / `AWS_PROFILE`, `gcloud auth application-default login`, `az login` |
| `ca_roots` with the test CA | nothing: AWS RDS and Azure roots ship with alien_nb; Cloud SQL roots are in the binding |
| `dial` to a local TLS proxy | `dial` to your tunnel (`ssh -L`, `aws ssm start-session` port forwarding), or no `dial` when the notebook runs inside the VPC |
| `gcp_project` | `ALIEN_NB_GCP_PROJECT`, or a full `projects/<p>/secrets/<id>` name in the binding |

Outside a notebook, `alien_nb.get_postgres_connection("shop-aurora")` does the same from
`ALIEN_SHOP_AURORA_BINDING`, and `ALIEN_NB_*` variables carry the settings to worker processes.
Creating databases (`%alien_postgres start NAME --backend aurora --plan` first) is in the README.

Clean up: the emulators, the proxy, and the stand-in server."""),
("code", """for db in (shop_aurora, shop_cloudsql, shop_azure):
    db.close()
set_default_settings(None)
os.environ.clear()
os.environ.update(environ_before)  # no dummy AWS credentials or bindings left in this kernel
proxy.stop()
azure.stop()
gcp.stop()
moto.stop()"""),
("code", "%alien_postgres stop cloud-standin"),
]
