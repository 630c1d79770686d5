"""firmware_examples/micropython/varistore.py, the networking file a board runs, run unchanged under CPython
against a live Varistore: its self-check writes, reads back, parses `slatest` and gets one `refresh`."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.firmware.conftest import Live
from tests.harness import ROOT, scaled
from tests.support import Account

MODULE = ROOT / "firmware_examples" / "micropython" / "varistore.py"
# What MicroPython on an ESP32 or a Pico W has as well; os and sys only for the self-check on a computer.
SHARED_MODULES = {"binascii", "random", "socket", "time"}


def self_check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MODULE), *args], env=env, capture_output=True, text=True, timeout=scaled(60)
    )


def test_self_check(live: Live, maker: Account) -> None:
    words = live.api.create(maker.key, type="string")
    assert live.api.simple("swrite", maker.key, id=words, value="a few words") == "success"
    var = live.api.create(maker.key)

    passed = self_check(live.env(maker.key, var))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    lines = passed.stdout.splitlines()
    written = lines[1].removeprefix("write ").removesuffix(": success")
    assert lines == [
        "websocket: ok",
        f"write {written}: success",
        f"read: {float(written)}",
        f"slatest: 2 variables, {var} = {float(written)}",
        "refresh: received",
        "self-check passed",
    ]
    assert live.api.simple("sread", maker.key, id=var) == f"success|{float(written)}"

    again = self_check(live.env(maker.key, var), "21.5")
    assert (again.returncode, again.stdout) == (4, "websocket: ok\nrefused: error_cooldown\n")


def test_self_check_failures(live: Live, maker: Account) -> None:
    var = live.api.create(maker.key, type="int")
    not_int = self_check(live.env(maker.key, var), "21.5")
    assert (not_int.returncode, not_int.stdout.splitlines()[-1]) == (1, "refused: error_invalid_parameters")
    wrong_key = self_check(live.env("A" * 16, var))
    assert (wrong_key.returncode, wrong_key.stdout) == (1, "refused: error_invalid_key\n")
    unset = self_check({**live.env(maker.key), "VARISTORE_ID": ""})
    assert (unset.returncode, unset.stdout.split(" (")[0]) == (2, "set VARISTORE_HOST, VARISTORE_KEY and VARISTORE_ID")


def test_imports_only_what_micropython_has() -> None:
    tree = ast.parse(MODULE.read_text())
    top = {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    everywhere = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert top == SHARED_MODULES
    assert everywhere - top == {"os", "sys"}  # in _self_check only
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))
