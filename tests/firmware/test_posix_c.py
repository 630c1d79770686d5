"""The plain C client of firmware_examples/posix_c/, built with the machine's C compiler (into a temporary
directory, never the repository) and run against a live Varistore."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.firmware.conftest import Live
from tests.harness import ROOT, debian_package, free_port, scaled
from tests.support import Account

SOURCE = ROOT / "firmware_examples" / "posix_c"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory vs_write and vs_read are built in, with the flags of the Makefile (-Werror included)."""
    gcc = debian_package("gcc", "gcc")
    make = debian_package("make", "make")
    out = tmp_path_factory.mktemp("posix_c")
    subprocess.run([make, "-C", str(SOURCE), f"BUILD={out}", f"CC={gcc}"], check=True, timeout=scaled(120))
    return out


def run(build: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(build / args[0]), *args[1:]], env=env, capture_output=True, text=True, timeout=scaled(30)
    )


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [("float", "21.5", "21.5"), ("int", "21.000000", "21"), ("string", "18 °C & 50% humid=ok?", None)],
)
def test_writes_reads_back_then_gets_cooldown(
    live: Live, maker: Account, build: Path, kind: str, value: str, stored: str | None
) -> None:
    env = live.env(maker.key, live.api.create(maker.key, type=kind))

    written = run(build, env, "vs_write", value)
    assert (written.returncode, written.stdout, written.stderr) == (0, "success\n", "")
    read = run(build, env, "vs_read")
    assert (read.returncode, read.stdout) == (0, f"{stored or value}\n")

    again = run(build, env, "vs_write", "0")
    assert (again.returncode, again.stdout) == (4, "error_cooldown\n")
    assert "vs_write: error_cooldown: written too soon: wait the variable's cooldown" in again.stderr
    assert run(build, env, "vs_read").stdout == f"{stored or value}\n"  # a refused write changes nothing


def test_result_codes_and_failures(live: Live, maker: Account, build: Path) -> None:
    var = live.api.create(maker.key)

    wrong_key = run(build, live.env("A" * 16, var), "vs_write", "1")
    assert (wrong_key.returncode, wrong_key.stdout) == (1, "error_invalid_key\n")
    assert "the API key is wrong" in wrong_key.stderr
    unknown = run(build, live.env(maker.key, "AAAAAAAA"), "vs_read")
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert "vs_read: error_invalid_id: no such variable" in unknown.stderr
    not_a_number = run(build, live.env(maker.key, var), "vs_write", "warm")
    assert (not_a_number.returncode, not_a_number.stdout) == (1, "error_invalid_parameters\n")

    unset = run(build, {**live.env(maker.key, var), "VARISTORE_KEY": ""}, "vs_read")
    assert unset.returncode == 2 and "set VARISTORE_HOST, VARISTORE_KEY" in unset.stderr
    assert run(build, live.env(maker.key, var), "vs_write").returncode == 2

    nobody = run(build, {**live.env(maker.key, var), "VARISTORE_PORT": str(free_port())}, "vs_write", "1")
    assert (nobody.returncode, nobody.stdout) == (3, "")
    assert "vs_write: cannot connect: Connection refused (http://127.0.0.1:" in nobody.stderr
    wrong_server = run(build, {**live.env(maker.key, var), "VARISTORE_PORT": str(live.gateway_port)}, "vs_read")
    assert wrong_server.returncode == 3 and "not a Varistore answer" in wrong_server.stderr
