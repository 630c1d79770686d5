"""The VariPass protocol (DESIGN.md §3) as one front door over the actions.

One request takes one path: `endpoint` → `transport` (HTTP to a RawRequest) → `dispatch` (the
action table and the protocol's own first checks) → the use case (service/actions) →
`presenter` (every JSON field and pipe field of every action) → `encode` (HTTP bytes).
"""
