"""The open-file limit a server process needs for the connections it allows."""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)

# Beyond its sockets a process holds a few files of its own: the database pool, logs, libraries.
SPARE_FILES = 256


def raise_file_limit(connections: int) -> int:
    """Raise this process's soft limit on open files to what `connections` sockets need (at most the
    hard limit), and return the limit now in force. Many systems start processes at 1,024, which
    1,100 idle connections exhaust: `accept` then fails for everyone."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = connections + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning("open-file limit %d is below the %d that %d connections need", soft, needed, connections)
    return soft
