"""The use cases, one module per family: `async (ctx, params) -> Outcome[result]`.

Actions hold every rule (tenancy, types, cooldowns, plan limits, locking) and return domain
results (a Variable, points, a new id, a written value) with the changes they committed. They
know nothing of HTTP, JSON field names or pipes: each front door presents results its own way.
`catalog.USE_CASES` lists them with what every front door must know to call them.
"""
