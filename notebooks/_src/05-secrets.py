CELLS = [
("md", """# Secrets: what alien_nb guarantees, and how to check a notebook

A notebook is a file people share. alien_nb keeps database passwords out of it:

* **Two channels.** The *synced* binding (what you store, show, share) has no `password`. The full
  binding exists only at runtime: built from the 0600 `metadata.json` of a local database when a process
  connects, or read from the cloud secret store (Secrets Manager, Secret Manager, Key Vault) at each
  connection.
* **Nothing shows it.** Handles, bindings, URLs, statuses, plans and errors mask it; it stays wrapped in
  `SecretStr` until the call that connects, so even `%xmode Verbose` frames show `SecretStr('**********')`.
* **The kernel scrubs output.** While the extension is loaded, every password it has handled is masked in
  printed text, rich output, error messages and tracebacks, in plain, URL-encoded, JSON and base64 forms.
* **Widgets never hold it.** The panel's password box is read once and cleared (see `04-panel`).
* **`%alien_postgres audit`** scans a saved notebook for the passwords this kernel knows and for URLs with
  an inline password.

This notebook shows each of these on a local database."""),
("code", "%load_ext alien_nb"),
("code", "db = %alien_postgres start secrets-demo", "nbval-ignore-output"),
("md", "## What you can look at"),
("code", "db"),
("code", "db.url"),
("code", "db.binding  # the synced channel: safe to store and share"),
("code", "db.worker_env()  # the runtime channel for a worker process: its repr names the variable only"),
("md", """## Mistakes are masked

The full binding is available, for handing to a worker. Printing it by mistake shows the password
masked: the kernel's output scrubber knows it."""),
("code", """runtime = db.worker_env()["ALIEN_SECRETS_DEMO_BINDING"]
print(runtime)"""),
("md", "The same holds for error messages, for example the server quoting a value back:"),
("code", """import json

password = json.loads(runtime)["password"]
db.sql("SELECT CAST(:value AS integer)", {"value": password})""", "raises-exception"),
("md", """## Auditing a saved notebook

`%alien_postgres audit` reads a saved `.ipynb` and reports every place a known password (in any of its
spellings) or a `postgres://user:password@...` URL appears: cell sources, every output mimetype,
tracebacks, cell and notebook metadata, saved widget state, and base64 payloads.

Here is a notebook someone saved after a few careless cells:"""),
("code", """import base64
import tempfile
from pathlib import Path

import nbformat

scratch = tempfile.TemporaryDirectory()  # the planted files never sit beside your notebooks
careless_path = Path(scratch.name) / "careless.ipynb"
careless = nbformat.v4.new_notebook()
careless.cells = [
    nbformat.v4.new_code_cell(
        "conn_url",
        outputs=[nbformat.v4.new_output("execute_result", {"text/plain": repr(f"postgresql://postgres:{password}@127.0.0.1/db")})],
    ),
    nbformat.v4.new_code_cell("settings", metadata={"tool": {"last_password": password}}),
    nbformat.v4.new_code_cell(
        "chart",
        outputs=[nbformat.v4.new_output("display_data", {"image/png": base64.b64encode(b"PNG..." + password.encode()).decode()})],
    ),
]
nbformat.write(careless, careless_path)"""),
("code", """report = %alien_postgres audit $careless_path
report""", "nbval-ignore-output"),
("md", "The report lists each place (the file path above is a temporary one); as data:"),
("code", """print(report.clean)
for finding in report.findings:
    print(finding)"""),
("md", "And this notebook's own cells, written the alien_nb way, as a saved file (`%alien_postgres audit` with no argument audits the current notebook when the kernel knows its path):"),
("code", """clean = nbformat.v4.new_notebook()
clean.cells = [nbformat.v4.new_code_cell("db.url", outputs=[nbformat.v4.new_output("execute_result", {"text/plain": repr(db.url)})])]
clean_path = Path(scratch.name) / "clean.ipynb"
nbformat.write(clean, clean_path)"""),
("code", """report = %alien_postgres audit $clean_path
report.clean"""),
("md", """In CI, audit your executed notebooks in a cell and fail the run when the report is not clean:
`report = %alien_postgres audit executed.ipynb`, then `assert report.clean, report` (the report lists
where, never the secret).

Clean up:"""),
("code", "scratch.cleanup()"),
("code", "%alien_postgres stop secrets-demo"),
]
