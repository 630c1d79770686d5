"""The handlers of the protocol's actions, one module per family: `async (ctx, params) -> Outcome`."""
