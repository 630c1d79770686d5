"""infra/compose: the compose file hangs together, .env.example lists every setting with its default, and
the Dockerfile's install, run here in a fresh virtual environment, gives a `varistore` whose commands serve.

No container engine runs on the test machines, so the image is never built: the slow test replays the
Dockerfile instead (COPY into a directory standing for the image's `/`, ENV, WORKDIR, and the RUN lines
that install), then runs the compose services' commands from what it installed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from service.cli import build_parser, where
from service.core.settings import Settings
from tests.harness import ROOT, Running, free_port, scaled, settings_env, throwaway_database
from tests.support import check_serves

COMPOSE = ROOT / "infra" / "compose"
VARISTORE_SERVICES = ("migrate", "api", "gateway")
# Variables of compose.yaml itself (the postgres service), not settings of Varistore.
COMPOSE_VARIABLES = {"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB"}


# -- Settings and their environment variables ------------------------------------------------------


def settings_models() -> list[type[BaseSettings]]:
    """Settings and every settings model nested in it (the plan), each read from the environment alone."""
    nested = [
        field.annotation
        for field in Settings.model_fields.values()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings)
    ]
    return [Settings, *nested]


def env_name(model: type[BaseSettings], field_name: str) -> str:
    """The documented environment variable of a field: its first alias (DATABASE_URL, VARISTORE_DATA), else
    the model's prefix and the field's name."""
    alias = model.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0]).upper()
    if isinstance(alias, str):
        return alias.upper()
    return (str(model.model_config.get("env_prefix", "")) + field_name).upper()


def setting_names() -> dict[str, tuple[type[BaseSettings], str]]:
    """Every environment variable that sets a setting: name -> (model, field)."""
    names: dict[str, tuple[type[BaseSettings], str]] = {}
    for model in settings_models():
        for field_name, field in model.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
                continue  # read through its own model's variables
            names[env_name(model, field_name)] = (model, field_name)
    return names


# -- .env.example ---------------------------------------------------------------------------------

# `NAME=value`, or `#NAME=value` for a setting left at its default; `# text` lines are comments.
ENV_LINE = re.compile(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$")


def unquoted(value: str) -> str:
    # compose, systemd's EnvironmentFile and python-dotenv all drop one pair of surrounding quotes.
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else value


def env_example() -> dict[str, tuple[str, bool]]:
    """.env.example's variables: name -> (value, whether the line is active rather than commented out)."""
    lines = (COMPOSE / ".env.example").read_text().splitlines()
    found: dict[str, tuple[str, bool]] = {}
    for number, line in enumerate(lines):
        match = ENV_LINE.match(line)
        if match is None:
            assert not line or line.startswith("# "), f".env.example line {number + 1} is neither: {line!r}"
            continue
        commented, name, value = match.groups()
        assert name not in found, f"{name} listed twice in .env.example"
        assert number > 0 and lines[number - 1].startswith("# "), f"{name} has no comment line above it"
        found[name] = (unquoted(value), not commented)
    return found


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    listed = set(env_example())
    names = set(setting_names())
    assert names - listed == set(), "settings missing from infra/compose/.env.example"
    assert listed - names - COMPOSE_VARIABLES == set(), "not settings (a typo, or a setting removed?)"
    assert {"DATABASE_URL", "VARISTORE_DATA", "VARISTORE_HOST", "VARISTORE_PLAN_MAX_VARIABLES"} <= listed


def test_env_example_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every value written in .env.example, read as the service reads it, gives the default."""
    monkeypatch.chdir(tmp_path)  # no `.env` of the working tree is read
    for name in os.environ:
        if name.startswith("VARISTORE_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    defaults = Settings(_env_file=None)
    names = setting_names()
    for name, (value, _) in env_example().items():
        if name not in names:
            continue
        model, field_name = names[name]
        if value == "" and model.model_fields[field_name].default is None:
            continue  # empty stands for "unset"
        monkeypatch.setenv(name, value)
    listed = Settings(_env_file=None)
    differ = {
        name: (getattr(listed, name), getattr(defaults, name))
        for name in Settings.model_fields
        if getattr(listed, name) != getattr(defaults, name)
    }
    assert differ == {}, "(.env.example, default)"


# -- compose.yaml ---------------------------------------------------------------------------------

INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}")


def interpolate(text: str, variables: dict[str, str]) -> str:
    """compose's `${NAME}`, `${NAME:-default}`, `${NAME:?error}` and `$$`, as `docker compose` reads them."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, how, arg = match.groups()
        value = variables.get(name, "")
        if value:
            return value
        assert how != ":?", f"compose stops: {arg}"
        return arg or ""

    return INTERPOLATION.sub(one, text)


def compose(variables: dict[str, str] | None = None) -> dict[str, Any]:
    """compose.yaml with `variables` interpolated (by default, the active lines of .env.example)."""
    if variables is None:
        variables = {name: value for name, (value, active) in env_example().items() if active}
    text = interpolate((COMPOSE / "compose.yaml").read_text(), variables)
    parsed = yaml.safe_load(text)
    assert isinstance(parsed, dict)
    return parsed


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(name): str(value) for name, value in env.items()}


def test_compose_parses_and_starts_in_order() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", *VARISTORE_SERVICES}
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume, _, mount = postgres["volumes"][0].partition(":")
    assert mount == "/var/lib/postgresql/data" and volume in compose()["volumes"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"  # one-shot
    for name in ("api", "gateway"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}


def test_compose_varistore_services_are_the_image_running_real_commands() -> None:
    services = compose()["services"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    images = set()
    for name in VARISTORE_SERVICES:
        service = services[name]
        build = service["build"]
        assert (COMPOSE / build["context"]).resolve() == ROOT
        assert (COMPOSE / build["context"] / build["dockerfile"]).resolve() == COMPOSE / "Dockerfile"
        images.add(service["image"])
        assert service["env_file"] == ".env"
        # Killed only once the API's own graceful stop (`serve` allows it 5 s more) is over.
        assert float(service["stop_grace_period"].removesuffix("s")) > Settings().shutdown_timeout + 5
        program, *args = service["command"]
        assert program in scripts
        parsed = build_parser().parse_args(args)
        assert parsed.func.__name__ == f"cmd_{name}", f"{name} runs {service['command']}"
    assert len(images) == 1, "one image for the three"
    # .env itself holds the password and is never committed: it is made from .env.example.
    assert (COMPOSE / ".env.example").is_file()
    assert ".env" in (COMPOSE / ".gitignore").read_text().split()


def test_compose_required_variables_are_in_env_example() -> None:
    text = (COMPOSE / "compose.yaml").read_text()
    used = {match.group(1) for match in INTERPOLATION.finditer(text) if match.group(1)}
    listed = env_example()
    assert used - set(listed) == set(), "compose.yaml reads variables .env.example does not list"
    required = {match.group(1) for match in INTERPOLATION.finditer(text) if match.group(2) == ":?"}
    assert all(listed[name][1] for name in required), "a variable compose requires is commented out"


def test_compose_api_and_gateway_listen_on_all_addresses_at_the_published_ports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    services = compose()["services"]
    names = setting_names()
    for service, host, port in (("api", "host", "port"), ("gateway", "gateway_host", "gateway_port")):
        env = environment(services[service])
        host_names = [name for name, (model, field) in names.items() if model is Settings and field == host]
        assert [env.get(name) for name in host_names] == ["0.0.0.0"], f"{service} binds 0.0.0.0"
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = Settings(_env_file=None)
        assert getattr(settings, host) == "0.0.0.0"
        # Published as HOST_PORT:CONTAINER_PORT; inside, the service listens on its default port.
        (published,) = services[service]["ports"]
        outside, inside = str(published).split(":")
        assert inside == outside == str(getattr(settings, port))


def test_compose_database_url_is_the_postgres_service() -> None:
    services = compose()["services"]
    postgres = environment(services["postgres"])
    for name in VARISTORE_SERVICES:
        url = environment(services[name])["DATABASE_URL"]
        parts = urlsplit(url)
        assert parts.scheme == "postgresql" and parts.hostname == "postgres" and parts.port == 5432
        assert (parts.username, parts.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
        assert parts.path == f"/{postgres['POSTGRES_DB']}"
        assert where(url) == f"postgres:5432/{postgres['POSTGRES_DB']}"
    with pytest.raises(AssertionError, match="POSTGRES_PASSWORD"):
        compose({})  # compose refuses to start without a password


# -- Dockerfile -----------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, (KEYWORD, arguments), continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for line in (COMPOSE / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1]
            continue
        keyword, _, arguments = (current + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    assert current == "", "the Dockerfile ends inside a continued line"
    return instructions


def only(keyword: str) -> str:
    (arguments,) = [arguments for word, arguments in dockerfile() if word == keyword]
    return arguments


def test_dockerfile_runs_the_api_as_a_user_of_its_own() -> None:
    assert only("FROM") == "python:3.11-slim"
    assert json.loads(only("CMD")) == ["varistore", "api"]
    assert not any(word == "ENTRYPOINT" for word, _ in dockerfile())
    user = only("USER")
    assert user not in ("root", "0")
    (useradd,) = [shlex.split(args) for word, args in dockerfile() if word == "RUN" and args.startswith("useradd")]
    assert useradd[-1] == user


def test_dockerfile_copies_only_what_the_dockerignore_lets_in() -> None:
    patterns = [line for line in (COMPOSE / "Dockerfile.dockerignore").read_text().splitlines() if line[:1] not in "#"]
    assert patterns[0] == "*", "everything out (.venv, .varistore, the git history), then the sources in"
    allowed = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    for word, arguments in dockerfile():
        if word == "COPY":
            *sources, _ = shlex.split(arguments)
            assert set(sources) <= allowed, arguments
            assert all((ROOT / source).exists() for source in sources)


SUBSTITUTION = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


class Image:
    """The Dockerfile replayed on this machine, `root` standing for the image's `/`. RUN lines run for
    real, but for the one that creates the user (it needs root and would change this machine)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # The image's python is the first on its PATH: here, this interpreter (3.11, as the image's).
        self.env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        self.workdir = root
        self.cmd: list[str] = []

    def inside(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def build(self) -> None:
        steps = {
            "FROM": lambda arguments: None,
            "ENV": self.set_env,
            "WORKDIR": self.set_workdir,
            "COPY": self.copy,
            "RUN": self.run,
            "USER": lambda arguments: None,
            "EXPOSE": lambda arguments: None,
            "CMD": self.set_cmd,
        }
        for keyword, arguments in dockerfile():
            assert keyword in steps, f"the Dockerfile uses {keyword}, which this test does not replay"
            steps[keyword](arguments)

    def set_env(self, arguments: str) -> None:
        assigned = {}
        for item in shlex.split(arguments):
            name, _, value = item.partition("=")
            value = SUBSTITUTION.sub(lambda match: self.env.get(match.group(1), ""), value)
            # An absolute path of the image (VIRTUAL_ENV) is that path under `root`.
            assigned[name] = str(self.inside(value)) if value.startswith("/") and os.pathsep not in value else value
        self.env.update(assigned)

    def set_workdir(self, arguments: str) -> None:
        self.workdir = self.inside(arguments) if arguments.startswith("/") else self.workdir / arguments
        self.workdir.mkdir(parents=True, exist_ok=True)

    def set_cmd(self, arguments: str) -> None:
        self.cmd = json.loads(arguments)

    def copy(self, arguments: str) -> None:
        *sources, destination = shlex.split(arguments)
        target = self.inside(destination) if destination.startswith("/") else self.workdir / destination
        for source in sources:
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
            else:
                into = target / path.name if destination.endswith("/") or len(sources) > 1 else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, into)

    def run(self, arguments: str) -> None:
        if arguments.startswith("useradd "):
            return
        env = {**os.environ, **self.env}
        env.pop("PIP_NO_CACHE_DIR", None)  # the image keeps no cache in its layer; here pip may use its own
        done = subprocess.run(
            ["/bin/sh", "-c", arguments], cwd=self.workdir, env=env, capture_output=True, text=True, timeout=scaled(600)
        )
        assert done.returncode == 0, f"RUN {arguments}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    def which(self, program: str) -> str:
        found = shutil.which(program, path=self.env["PATH"])
        assert found is not None and Path(found).is_relative_to(self.root), f"{program} is not the image's"
        return found


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    built = Image(tmp_path_factory.mktemp("image"))
    built.build()
    yield built


@pytest.mark.slow
@pytest.mark.timeout(scaled(900))
def test_image_install_serves_the_compose_commands(image: Image, admin_url: str) -> None:
    """The Dockerfile's pip install (run for real, with every dependency) gives a `varistore` that migrates
    a new database, serves the API (its templates, static files and graph fonts packaged) and the gateway."""
    services = compose()["services"]
    home = image.workdir  # the image's last WORKDIR, as in the container
    assert image.cmd == services["api"]["command"]

    def command(service: str) -> list[str]:
        program, *args = services[service]["command"]
        return [image.which(program), *args]

    env = {**image.env, **settings_env()}
    with throwaway_database(admin_url, migrate=False) as url:
        env["DATABASE_URL"] = url
        migrated = subprocess.run(
            command("migrate"), cwd=home, env={**os.environ, **env}, capture_output=True, text=True, timeout=scaled(120)
        )
        assert migrated.returncode == 0, migrated.stderr
        assert migrated.stdout.strip() == "migrated to head"

        made = subprocess.run(
            [image.which("varistore"), "account", "create", "--email", "image@example.com", "--confirmed"],
            cwd=home,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=scaled(120),
        )
        assert made.returncode == 0, made.stderr
        key = made.stdout.splitlines()[-1]

        port = free_port()
        api_env = {**env, "VARISTORE_HOST": "127.0.0.1", "VARISTORE_PORT": str(port)}
        gateway_env = {**env, "VARISTORE_GATEWAY_HOST": "127.0.0.1", "VARISTORE_GATEWAY_PORT": "0"}
        api = Running(command("api"), api_env, name="the image's api", source=home)
        gateway = Running(command("gateway"), gateway_env, name="the image's gateway", source=home)
        try:
            base = f"http://127.0.0.1:{port}"
            api.wait_healthy(base)
            ws = gateway.line_starting("Varistore gateway on ws://").split(" on ", 1)[1].strip()
            check_serves(base, ws, key)
        finally:
            gateway.stop()
            api.stop()
