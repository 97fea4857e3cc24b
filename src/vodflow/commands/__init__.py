"""CLI commands, one module per group; `vodflow.cli` assembles them."""
