"""What every Varistore process may import: the rules and vocabulary shared by all front doors.

settings (the environment, read once), results (`Result`, `VariPassError`), values (types and
parsing), access (who acts: `Actor`, and the access rule, in SQL and in Python), ids (keys and
variable ids) and changes (the typed change feed between the API and the gateways).

The rule of this package: it imports nothing heavier than pydantic and the standard library —
no Starlette, no Pillow, no argon2 — so that the WebSocket gateway, which imports it, stays
small (tests/core/test_imports.py enforces this for `ws_gateway.server`).
"""
