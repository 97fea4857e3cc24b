"""Where work runs: the executor interface and its backends, and the sweeper."""
