"""What each process loads: the gateway stays small (service/core's rule)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.harness import ROOT

HEAVY = ["starlette", "PIL", "argon2", "matplotlib", "render"]


def loaded(module: str) -> set[str]:
    """The top-level packages in sys.modules after importing `module` in a fresh interpreter."""
    code = f"import json, sys, {module}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("module", ["ws_gateway.server", "service.core.access", "service.core.changes"])
def test_gateway_and_core_load_no_starlette_pillow_or_argon2(module: str) -> None:
    assert loaded(module).isdisjoint(HEAVY)


def test_core_imports_nothing_of_the_service_but_itself() -> None:
    for path in (ROOT / "service" / "core").glob("*.py"):
        for line in path.read_text().splitlines():
            if line.startswith(("from service", "import service")):
                assert line.startswith("from service.core"), f"{path.name}: {line}"
