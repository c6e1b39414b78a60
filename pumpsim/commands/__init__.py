"""One module per ``pumpsim`` subcommand.

Each module has ``register(subparsers)``, which adds its parser and sets ``func``; the command
function returns the exit code. Modules import heavy libraries inside the command function only,
so that building the parser (``pumpsim --help``) stays instant.
"""

#: Subcommands in the order ``pumpsim --help`` lists them (module names in this package).
COMMANDS = (
    "run",
    "check",
    "validate",
    "plot",
    "report",
    "tones",
    "replay",
    "schema",
    "sweep",
)
