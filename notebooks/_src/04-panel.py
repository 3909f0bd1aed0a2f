CELLS = [
("md", """# The panel: databases with widgets, and what the notebook file keeps

`%alien_postgres panel` puts the same controls as the magics into an ipywidgets panel: pick a backend,
name the database, press **Start** (local), **Attach** (a binding or an external host) or **Plan** (what
a cloud backend would create, without creating anything).

A saved notebook keeps every widget's *synced state*, so this notebook also shows what ends up in the
file: the name, the backend, the sizes and the status line, but never a password."""),
("code", "%load_ext alien_nb"),
("md", """Show the panel. In JupyterLab you would click; below, the same widgets are driven from code so
the tutorial runs top to bottom (the browser test in the suite clicks them for real)."""),
("code", "panel = %alien_postgres panel\npanel", "nbval-ignore-output"),
("md", """Type a name and press **Start**: a local PostgreSQL with pgvector starts, the status line says where it
runs, and the handle is bound to a variable exactly as `%alien_postgres start` binds it (`panel-demo` →
`panel_demo`). **Attach** binds its handle the same way."""),
("code", """panel.name.value = "panel-demo"
panel.start_button.click()""", "nbval-ignore-output"),
("code", """from IPython.display import HTML

HTML(panel.status.value)"""),
("code", 'panel_demo.sql("SELECT 1 AS one")'),
("md", """**Plan** shows what a cloud backend would create (tier, capacity, storage, network, cost class) and
calls no cloud API. Creating it is a deliberate, separate step: `%alien_postgres start NAME --backend ...`."""),
("code", """panel.backend.value = "cloud-sql"
panel.cpu.value, panel.memory.value = "2", "8Gi"
panel.plan_button.click()
HTML(panel.details.value + panel.status.value)"""),
("md", """## The password box

For an external host the panel has a password box. Its value is read the moment it arrives from the
browser, kept in memory as a `SecretStr`, and the box is cleared at once, so the value is never part of
the widget's state (and is never echoed back to other browser tabs). Below, `set_state` delivers a
value exactly as the browser does when you type:"""),
("code", """panel.backend.value = "external"
panel.password.set_state({"value": "typed-in-the-browser"})
print(repr(panel.password.value))
HTML(panel.status.value)"""),
("md", "The synced state of every widget in the panel, which is what a saved notebook stores, does not contain it:"),
("code", """import json


def synced_state(widget):
    yield json.dumps(widget.get_state(), default=str)
    for child in getattr(widget, "children", ()):
        yield from synced_state(child)


any("typed-in-the-browser" in state for state in synced_state(panel.widget))"""),
("md", """What *is* saved: the name, backend, version, storage, cpu and memory fields, the status line and the
details table (host, port, database, user; the password shown as *hidden*). `%alien_postgres audit` checks a
saved notebook for every password this kernel has handled (see `05-secrets`).

Stop the database; its data stays for next time."""),
("code", "%alien_postgres stop panel-demo"),
]
