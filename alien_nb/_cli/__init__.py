"""The subcommands of ``alien-nb`` (`alien_nb.cli`), one module per kind of target."""
