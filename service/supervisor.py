"""`varistore serve`'s children: started, watched, restarted when they die, stopped together.

Modelled on uvicorn's multiprocess supervisor. The API and the gateway run as processes of
their own, as in production (DESIGN.md §1), in a session of their own so that Ctrl-C reaches
only the supervisor, which then stops them in order. A child that dies is restarted with a
growing delay, except on its first start when it says it cannot start at all (exit status 3,
uvicorn's own for a failed start-up: a port in use, a database that cannot be reached): then
everything stops, since a restart would fail again.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger("varistore.supervisor")

STARTUP_FAILURE = 3  # the exit status of a child that cannot start (uvicorn's, and the gateway's)
POLL_SECONDS = 0.2
STABLE_SECONDS = 30.0  # a child that ran this long has its restart delay reset
MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0
PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_parent() -> None:
    """In the child, before it runs: SIGTERM it when the supervisor dies, even by SIGKILL (Linux)."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    stop_timeout: float  # after SIGTERM, then SIGKILL
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    runs: int = 0
    backoff: float = MIN_BACKOFF
    restart_at: float | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.started_at = time.monotonic()
        self.runs += 1
        self.restart_at = None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", self.name, self.stop_timeout)
            self.process.kill()
            self.process.wait()


class Supervisor:
    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self._stopping = False

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        # A signal handler runs between any two bytecodes of the main thread, and a second Ctrl-C may come
        # while the first one's handler runs: it takes no lock (threading.Event.set here deadlocked, issue 9).
        self._stopping = True

    def run(self) -> int:
        """Run the children until SIGINT or SIGTERM (exit status 0) or a start-up failure (1)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.stop)
        status = 0
        try:
            for child in self.children:
                child.start()
            while not self._stopping:
                time.sleep(POLL_SECONDS)
                if not self._stopping and not all(map(self._watch, self.children)):
                    status = 1
                    break
        finally:
            for child in reversed(self.children):
                child.stop()
            # From here on serve only stops (the database, then the interpreter), and a late Ctrl-C
            # must not cut that short: Python puts the default handlers back as it exits, and a
            # SIGINT then killed the process (status -2, once in a suite run of the storm test).
            # Blocked, they wait unseen until the exit (signal.signal(SIG_IGN) instead can raise
            # "ignored due to race condition" while the storm lasts).
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        return status

    def _watch(self, child: Child) -> bool:
        """Restart `child` if it died (after its delay); False if it failed to start at all."""
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at:
                log.warning("restarting %s", child.name)
                child.start()
            return True
        assert child.process is not None
        code = child.process.poll()
        if code is None:
            return True
        if code == STARTUP_FAILURE and child.runs == 1:
            log.error("%s could not start; stopping", child.name)
            return False
        ran = now - child.started_at
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        delay = MIN_BACKOFF if ran >= STABLE_SECONDS else child.backoff
        child.backoff = min(delay * 2, MAX_BACKOFF)
        child.restart_at = now + delay
        log.warning("%s %s after %.1f s; restarting in %.1f s", child.name, how, ran, delay)
        return True
