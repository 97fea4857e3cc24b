"""One module per family of actions; each registers its actions with `@action`."""
