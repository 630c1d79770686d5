"""The dashboard: pages for people, over the same actions as the protocol."""
