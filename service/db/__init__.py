"""The data layer: plain async functions, connection first, SQL inline.

Nothing here raises VariPassError; functions return rows, None or counts and the
handlers decide what that means for the protocol.
"""
