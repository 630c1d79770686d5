"""The WebSocket gateway: pushes `refresh` to an account's sockets when PostgreSQL says it changed."""
