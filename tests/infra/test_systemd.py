"""infra/systemd: the units are valid for systemd, run real `varistore` commands with the options the
README promises, and the processes they run work under the units' seccomp filters.

systemd (252, as on Debian 12) enforces `MemoryDenyWriteExecute=` and `RestrictAddressFamilies=` with
seccomp filters. The last tests install the same filters themselves, then run the migrations, the API and
the gateway under them: no container here runs systemd as its init to start the units for real.
"""

from __future__ import annotations

import configparser
import ctypes
import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import build_parser
from service.core.files import SPARE_FILES
from service.core.settings import Settings
from tests.harness import ROOT, Running, free_port, scaled, settings_env, throwaway_database, varistore
from tests.support import check_serves
from ws_gateway.server import CLOSE_TIMEOUT

UNITS = ROOT / "infra" / "systemd"
# Unit file -> (the verb it runs, an instance to try it with).
SERVICES = {
    "varistore-migrate.service": ("migrate", ""),
    "varistore-api@.service": ("api", "8000"),
    "varistore-gateway@.service": ("gateway", "8001"),
}
HARDENING = {
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallFilter": "@system-service",
}


def unit(name: str) -> configparser.RawConfigParser:
    """A unit file read as INI: a key set twice (which systemd would accumulate) fails here."""
    parser = configparser.RawConfigParser(strict=True, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string((UNITS / name).read_text(), source=name)
    return parser


def seconds(value: str) -> float:
    return float(value.removesuffix("s"))


def test_units_are_the_ones_the_readme_installs() -> None:
    assert {path.name for path in UNITS.glob("*.service")} == set(SERVICES)
    enable = "systemctl enable --now varistore-migrate varistore-api@8000 varistore-api@8002 varistore-gateway@8001"
    assert enable in (UNITS / "README.md").read_text()


@pytest.mark.parametrize("name", SERVICES)
def test_unit_runs_a_real_varistore_command(name: str) -> None:
    verb, instance = SERVICES[name]
    program, *args = shlex.split(unit(name)["Service"]["ExecStart"].replace("%i", instance))
    assert program == "/opt/varistore/bin/varistore"  # the README's venv
    parsed = build_parser().parse_args(args)
    assert parsed.func.__name__ == f"cmd_{verb}"
    if instance:
        assert parsed.port == int(instance), "the port is the instance name"


@pytest.mark.parametrize("name", SERVICES)
def test_unit_runs_as_varistore_with_its_settings_and_hardening(name: str) -> None:
    service = unit(name)["Service"]
    assert service["User"] == service["Group"] == "varistore"
    assert service["DynamicUser"] == "no"
    assert service["EnvironmentFile"] == "/etc/varistore/varistore.env"
    assert service["KillSignal"] == "SIGTERM"
    assert {key: service.get(key) for key in HARDENING} == HARDENING


@pytest.mark.parametrize("name", ["varistore-api@.service", "varistore-gateway@.service"])
def test_servers_restart_stop_gracefully_and_hold_their_sockets(name: str) -> None:
    units = unit(name)
    service = units["Service"]
    assert service["Type"] == "exec"
    assert service["Restart"] == "on-failure"
    assert units["Unit"]["StartLimitIntervalSec"] == "0", "a long database outage must not stop the retries"
    # The migrations run (and end) before each start.
    assert "varistore-migrate.service" in units["Unit"]["Wants"].split()
    assert "varistore-migrate.service" in units["Unit"]["After"].split()
    settings = Settings(_env_file=None)
    graceful = settings.shutdown_timeout + 5 if "api" in name else CLOSE_TIMEOUT + 5
    assert seconds(service["TimeoutStopSec"]) > graceful
    sockets = settings.max_connections if "api" in name else settings.ws_max_connections
    assert int(service["LimitNOFILE"]) >= sockets + SPARE_FILES
    assert units["Install"]["WantedBy"] == "multi-user.target"


def test_migrate_is_a_one_shot() -> None:
    service = unit("varistore-migrate.service")["Service"]
    assert service["Type"] == "oneshot"
    assert "Restart" not in service and "RemainAfterExit" not in service  # it runs again before every start


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own reading: no unknown or malformed option, and the dependencies resolve. Done in a
    root of its own: the units, systemd's stock units, and a stand-in for /opt/varistore/bin/varistore."""
    stock = Path("/usr/lib/systemd/system")
    if not stock.is_dir():
        pytest.skip("no systemd units on this machine to verify against")
    root = tmp_path / "root"
    shutil.copytree(stock, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for name in SERVICES:
        shutil.copy2(UNITS / name, root / "etc/systemd/system" / name)
    program = root / "opt/varistore/bin/varistore"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    instances = [name.replace("@.", f"@{instance}.") for name, (_, instance) in SERVICES.items()]
    done = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", *instances],
        capture_output=True,
        text=True,
        timeout=scaled(60),
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


# -- The units' seccomp filters, for real -----------------------------------------------------------

# x86-64 numbers: system calls, the audit architecture, flags, and what a refusal answers.
SYS_MMAP, SYS_MPROTECT, SYS_SHMAT, SYS_SOCKET, SYS_PKEY_MPROTECT = 9, 10, 30, 41, 329
AUDIT_ARCH_X86_64 = 0xC000003E
PROT_WRITE, PROT_EXEC, SHM_EXEC = 0x2, 0x4, 0o100000
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
EPERM, EAFNOSUPPORT = 1, 97
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
# Classic BPF: load a word, jump if equal, jump if any bit is set, and, return; and the offsets in
# struct seccomp_data of the call's number, its architecture, and its first and third arguments (the
# low 32 bits, where every value tested here lives).
LOAD, JEQ, JSET, AND, RET = 0x20, 0x15, 0x45, 0x54, 0x06
NR, ARCH, ARG0, ARG2 = 0, 4, 16, 32

# MemoryDenyWriteExecute=yes and RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX as systemd words them:
# no mmap both writable and executable, no mprotect or pkey_mprotect to executable, no executable shmat
# (EPERM); socket() of another family fails with EAFNOSUPPORT. (code, k, jump if true, jump if false),
# a jump naming a label below or, None, the next line.
UNIT_FILTER: list[str | tuple[int, int, str | None, str | None]] = [
    (LOAD, ARCH, None, None),
    (JEQ, AUDIT_ARCH_X86_64, None, "allow"),  # another architecture: SystemCallArchitectures=native refuses it
    (LOAD, NR, None, None),
    (JEQ, SYS_MMAP, "mmap", None),
    (JEQ, SYS_MPROTECT, "mprotect", None),
    (JEQ, SYS_PKEY_MPROTECT, "mprotect", None),
    (JEQ, SYS_SHMAT, "shmat", None),
    (JEQ, SYS_SOCKET, "socket", "allow"),
    "mmap",
    (LOAD, ARG2, None, None),
    (AND, PROT_WRITE | PROT_EXEC, None, None),
    (JEQ, PROT_WRITE | PROT_EXEC, "deny", "allow"),
    "mprotect",
    (LOAD, ARG2, None, None),
    (JSET, PROT_EXEC, "deny", "allow"),
    "shmat",
    (LOAD, ARG2, None, None),
    (JSET, SHM_EXEC, "deny", "allow"),
    "socket",
    (LOAD, ARG0, None, None),
    (JEQ, AF_UNIX, "allow", None),
    (JEQ, AF_INET, "allow", None),
    (JEQ, AF_INET6, "allow", "no_family"),
    "allow",
    (RET, RET_ALLOW, None, None),
    "deny",
    (RET, RET_ERRNO | EPERM, None, None),
    "no_family",
    (RET, RET_ERRNO | EAFNOSUPPORT, None, None),
]


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def assemble(source: list[str | tuple[int, int, str | None, str | None]]) -> list[tuple[int, int, int, int]]:
    """(code, jump if true, jump if false, k) lines, the jumps counted from the next line."""
    labels: dict[str, int] = {}
    for line in source:
        if isinstance(line, str):
            labels[line] = sum(1 for other in source[: source.index(line)] if not isinstance(other, str))
    lines = [line for line in source if not isinstance(line, str)]
    return [
        (code, labels[true] - pc - 1 if true else 0, labels[false] - pc - 1 if false else 0, k)
        for pc, (code, k, true, false) in enumerate(lines)
    ]


def exec_confined() -> None:
    """Run in a child: install the units' filters, then become `sys.argv[1:]` (the filters outlive execve)."""
    program = assemble(UNIT_FILTER)
    filters = (SockFilter * len(program))(*(SockFilter(*line) for line in program))
    libc = ctypes.CDLL(None, use_errno=True)
    fprog = SockFprog(len(program), filters)
    # NoNewPrivileges=yes first, which an unprivileged filter requires anyway.
    for call in ((PR_SET_NO_NEW_PRIVS, 1, 0), (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog))):
        if libc.prctl(*call, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    os.execv(sys.argv[1], sys.argv[1:])


def confined(argv: list[str]) -> list[str]:
    """`argv` under the units' filters (run from the repository's root, as the harness runs processes)."""
    return [sys.executable, "-c", "from tests.infra.test_systemd import exec_confined; exec_confined()", *argv]


x86_64_linux = pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64"), reason="the filter is written for x86-64 Linux"
)

PROBE = """
import mmap, socket
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("wx allowed")
except PermissionError:
    print("wx refused")
try:
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)
    print("netlink allowed")
except OSError as exc:
    print("netlink", exc.errno)
socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()
print("inet6 allowed")
"""


@x86_64_linux
def test_the_filters_refuse_what_the_units_refuse() -> None:
    def probe(argv: list[str]) -> list[str]:
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=scaled(60))
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    if probe([sys.executable, "-c", PROBE])[:2] != ["wx", "allowed"]:
        pytest.skip("this machine refuses writable and executable memory already")
    assert probe(confined([sys.executable, "-c", PROBE])) == ["wx", "refused", "netlink", "97", "inet6", "allowed"]


@x86_64_linux
def test_migrate_api_and_gateway_work_under_the_units_filters(admin_url: str) -> None:
    """Everything that would need memory both writable and executable (a JIT, a ctypes callback without
    static trampolines) or another socket family fails here: the migrations (SQLAlchemy, greenlet), argon2,
    the API (uvloop, httptools, asyncpg, Pillow drawing graphs, Jinja pages) and the gateway."""

    def run(*args: str) -> str:
        done = subprocess.run(
            confined(varistore(*args)),
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=scaled(120),
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    with throwaway_database(admin_url, migrate=False) as url:
        env = {"DATABASE_URL": url, **settings_env()}
        assert run("migrate").strip() == "migrated to head"
        made = run("account", "create", "--email", "confined@example.com", "--password", "horses 9 ok", "--confirmed")
        key = made.splitlines()[-1]
        port = free_port()
        api = Running(confined(varistore("api", "--port", str(port))), env, name="confined api")
        gateway = Running(
            confined(varistore("gateway", "--host", "127.0.0.1", "--port", "0")), env, name="confined gateway"
        )
        try:
            base = f"http://127.0.0.1:{port}"
            api.wait_healthy(base)
            ws = gateway.line_starting("Varistore gateway on ws://").split(" on ", 1)[1].strip()
            for process in (api, gateway):
                status = Path(f"/proc/{process.pid}/status").read_text()
                assert "\nSeccomp:\t2\n" in status and "\nNoNewPrivs:\t1\n" in status, "filtered"
            check_serves(base, ws, key)
        finally:
            stopped = (gateway.stop(), api.stop())
    assert stopped == (0, 0), "a graceful stop under the filters too"
