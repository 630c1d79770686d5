"""The recipes of firmware_examples/recipes/ replayed against a live Varistore.

Every URL and parameter is read out of the recipe files (YAML, JSON, the Tasmota rule), with the
placeholders a user replaces (firmware_examples/README.md) filled in, and sent as the tool would send it,
so that a recipe cannot drift from the API. The Node-RED flows are also checked for real node types and
consistent wiring, and the ESPHome files pass `esphome config` (ESPHome in a virtual environment of its own).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jinja2
import pytest
import yaml
from websockets.sync.client import connect

from tests.firmware.conftest import Live
from tests.harness import ROOT, scaled
from tests.support import Account

RECIPES = ROOT / "firmware_examples" / "recipes"
READING = 21.5
COOLDOWN = 60  # seconds, a new variable's: a recipe writing sooner would get error_cooldown

# The node types Node-RED itself ships (@node-red/nodes), which a flow may name without installing anything.
NODE_RED_CORE = frozenset(
    {
        *("tab", "group", "junction", "comment", "inject", "debug", "complete", "catch", "status"),
        *("link in", "link out", "link call", "function", "switch", "change", "range", "template", "delay"),
        *("trigger", "exec", "rbe", "split", "join", "sort", "batch", "csv", "html", "json", "xml", "yaml"),
        *("file", "file in", "watch", "tcp in", "tcp out", "tcp request", "udp in", "udp out", "tls-config"),
        *("http in", "http response", "http request", "http proxy", "mqtt in", "mqtt out", "mqtt-broker"),
        *("websocket in", "websocket out", "websocket-listener", "websocket-client"),
    }
)


class Lambda(str):
    """An ESPHome `!lambda`: C++ the device evaluates."""


class RecipeLoader(yaml.SafeLoader):
    """YAML with ESPHome's tags: `!lambda` kept as a Lambda, `!secret` as a stand-in."""


RecipeLoader.add_constructor("!lambda", lambda loader, node: Lambda(loader.construct_scalar(node)))
RecipeLoader.add_constructor("!secret", lambda loader, node: f"secret {loader.construct_scalar(node)}")


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=RecipeLoader)


def esphome(name: str) -> Any:
    """An ESPHome file with its `${...}` substitutions expanded, as `esphome config` does."""
    text = (RECIPES / name).read_text()
    for key, value in load_yaml(text)["substitutions"].items():
        text = text.replace(f"${{{key}}}", str(value))
    return load_yaml(text)


def node_red(name: str) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in json.loads((RECIPES / name).read_text())}


def fill(text: str, live: Live, key: str, var: str = "") -> str:
    """A recipe's text with the user's placeholders replaced by the live server's host, key and variable."""
    return (
        text.replace("ws://varistore.example", f"ws://{live.host}:{live.gateway_port}")
        .replace("varistore.example", f"{live.host}:{live.port}")
        .replace("YOUR_KEY", key)
        .replace("VARIABLE_ID", var)
    )


def get(live: Live, url: str, **params: str) -> httpx.Response:
    response = live.api.http.get(url, params=params or None)  # an empty dict would drop the query
    assert response.status_code == 200, (url, response.text)
    return response


def seconds(period: str) -> float:
    """An ESPHome period (`65s`, `10min`) in seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|min|h)", period)
    assert match, period
    return float(match[1]) * {"ms": 0.001, "s": 1, "min": 60, "h": 3600}[match[2]]


def sread(live: Live, key: str, var: str) -> str:
    return live.api.simple("sread", key, id=var)


# -- ESPHome ----------------------------------------------------------------------------------------


def test_esphome_posts_the_sensor_reading_as_esphome_formats_it(live: Live, maker: Account) -> None:
    var = live.api.create(maker.key)
    sensor = esphome("esphome_sensor.yaml")["sensor"][0]
    assert seconds(sensor["update_interval"]) > COOLDOWN
    post = sensor["on_value"][0]["http_request.post"]
    body = {
        # The lambda's to_string(x) of a float is C's "%f": six decimals.
        name: f"{READING:f}" if isinstance(value, Lambda) else fill(value, live, maker.key, var)
        for name, value in post["json"].items()
    }
    assert live.api.http.post(fill(post["url"], live, maker.key, var), json=body).text == "success"
    assert sread(live, maker.key, var) == "success|21.5"


def test_esphome_online_image_is_a_bmp_whose_ink_is_its_one_bits(live: Live, maker: Account) -> None:
    var = live.api.create(maker.key)
    image = esphome("esphome_eink.yaml")["online_image"][0]
    assert (image["format"], image["type"]) == ("BMP", "BINARY")

    answer = get(live, fill(image["url"], live, maker.key, var))
    assert answer.headers["content-type"] == "image/bmp"
    bmp = answer.content
    assert bmp[:2] == b"BM" and int.from_bytes(bmp[28:30], "little") == 1
    # online_image draws a 1-bit as ink: the white background must be 0-bits (what invert=true gives).
    pixels = bmp[int.from_bytes(bmp[10:14], "little") :]
    ones = sum(bin(byte).count("1") for byte in pixels)
    assert ones < len(pixels) * 8 / 2, "the background is drawn as 1-bits: online_image would show it black"


# ESPHome in a virtual environment of its own: in the project's, it would replace the service's Pillow,
# Starlette and uvicorn with older releases. Installed once (about 30 s), then reused.
ESPHOME = "esphome==2026.6.5"


@pytest.fixture(scope="module")
def esphome_program() -> str:
    tools = Path(sys.prefix) / "tools" / "esphome"
    program = tools / "bin" / "esphome"
    marker = tools / f".installed-{ESPHOME}"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(tools)], check=True, timeout=scaled(120))
        install = [str(tools / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", ESPHOME]
        done = subprocess.run(install, capture_output=True, text=True, timeout=scaled(900), check=False)
        assert done.returncode == 0, f"cannot install {ESPHOME}: {done.stderr[-2000:]}"
        marker.touch()
    return str(program)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["esphome_sensor.yaml", "esphome_eink.yaml"])
def test_esphome_config_accepts_the_recipe(esphome_program: str, name: str, tmp_path: Path) -> None:
    shutil.copy(RECIPES / name, tmp_path)
    (tmp_path / "secrets.yaml").write_text('wifi_ssid: "a network"\nwifi_password: "a password"\n')
    command = [esphome_program, "config", name]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=scaled(120), check=False)
    assert run.returncode == 0, run.stdout + run.stderr


# -- Home Assistant ---------------------------------------------------------------------------------


def test_home_assistant_writes_reads_and_shows_the_graph(live: Live, maker: Account) -> None:
    var = live.api.create(maker.key)
    config = load_yaml((RECIPES / "home_assistant.yaml").read_text())
    jinja = jinja2.Environment(autoescape=False)

    command = config["rest_command"]["varistore_write"]
    assert command["method"] == "get"
    url = jinja.from_string(command["url"]).render(value=READING)
    assert get(live, fill(url, live, maker.key, var)).text == "success"

    sensor = config["sensor"][0]
    assert sensor["platform"] == "rest"
    read = get(live, fill(sensor["resource"], live, maker.key, var))
    assert jinja.from_string(sensor["value_template"]).render(value_json=read.json()) == "21.5"

    image = config["template"][0]["image"][0]
    graph = get(live, fill(jinja.from_string(image["url"]).render(now=datetime.now), live, maker.key, var))
    assert graph.headers["content-type"] == "image/png"
    assert graph.content.startswith(b"\x89PNG")


# -- Node-RED ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["node_red_write.json", "node_red_refresh.json"])
def test_node_red_flow_names_core_nodes_wired_consistently(name: str) -> None:
    flow = node_red(name)
    assert len(flow) == len(json.loads((RECIPES / name).read_text())), "ids repeat"
    tabs = {id for id, node in flow.items() if node["type"] == "tab"}
    for node in flow.values():
        assert node["type"] in NODE_RED_CORE, node
        if "z" in node:
            assert node["z"] in tabs, node
        for output in node.get("wires", []):
            assert all(target in flow for target in output), node
        if node["type"] == "switch":
            assert node["outputs"] == len(node["rules"]) == len(node["wires"]), node
        if node["type"] in ("websocket in", "websocket out"):
            assert flow[node["client"]]["type"] == "websocket-client", node
        if node["type"] == "status":
            assert all(target in flow for target in node["scope"]), node


def of_type(flow: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    [node] = [node for node in flow.values() if node["type"] == kind]
    return node


def test_node_red_write_flow_writes(live: Live, maker: Account) -> None:
    var = live.api.create(maker.key)
    flow = node_red("node_red_write.json")
    assert float(of_type(flow, "inject")["repeat"]) > COOLDOWN
    request = of_type(flow, "http request")
    assert (request["method"], request["ret"]) == ("GET", "txt")
    url = request["url"].replace("{{{payload}}}", str(READING))
    assert get(live, fill(url, live, maker.key, var)).text == "success"
    assert sread(live, maker.key, var) == "success|21.5"


def test_node_red_refresh_flow_reads_latest_on_refresh(live: Live, maker: Account) -> None:
    flow = node_red("node_red_refresh.json")
    socket_in = of_type(flow, "websocket in")
    [[switch_id]] = socket_in["wires"]
    switch = flow[switch_id]

    def routed(payload: str) -> list[str]:
        """The ids of the nodes the switch sends `payload` on to (its rules are regular expressions)."""
        return [
            target
            for rule, targets in zip(switch["rules"], switch["wires"], strict=True)
            if re.search(rule["v"], payload, re.IGNORECASE if rule.get("case") else 0)
            for target in targets
        ]

    latest = flow[routed("refresh")[0]]
    assert latest["type"] == "http request" and routed("ok") == routed("refresh")
    sends = of_type(flow, "change")["rules"][0]["to"]
    ping = of_type(flow, "inject")
    assert float(ping["repeat"]) < 60  # the gateway closes a socket silent for 60 s

    url = fill(flow[socket_in["client"]]["path"], live, maker.key)
    with connect(url, open_timeout=scaled(10)) as socket:
        socket.send(fill(sends, live, maker.key))
        assert socket.recv(timeout=scaled(10)) == "ok"
        socket.send(ping["payload"])
        assert socket.recv(timeout=scaled(10)) == "pong"
        var = live.api.create(maker.key)
        assert socket.recv(timeout=scaled(10)) == "refresh"
        assert live.api.simple("swrite", maker.key, id=var, value=READING) == "success"
        assert socket.recv(timeout=scaled(10)) == "refresh"

    answer = get(live, fill(latest["url"], live, maker.key)).json()
    assert answer["result"] == "success"
    assert {"id": var, "value": READING} in [{"id": row["id"], "value": row["value"]} for row in answer["list"]]


# -- Tasmota ----------------------------------------------------------------------------------------


def test_tasmota_rule_websends_a_write(live: Live, maker: Account) -> None:
    var = live.api.create(maker.key)
    commands = [line for line in (RECIPES / "tasmota_rule.txt").read_text().splitlines() if not line.startswith("#")]
    [rule] = [line for line in commands if line.startswith("Rule1 ON")]
    telemetry = re.search(r"TelePeriod (\d+)", "\n".join(commands))
    assert telemetry and int(telemetry[1]) > COOLDOWN
    send = re.search(r"WebSend \[(\S+)\] (\S+)", rule)
    assert send, rule
    url = fill(f"http://{send[1]}{send[2]}", live, maker.key, var).replace("%value%", str(READING))
    assert get(live, url).text == "success"
    assert sread(live, maker.key, var) == "success|21.5"


# -- Grafana ----------------------------------------------------------------------------------------


def test_grafana_infinity_panel_reads_history(live: Live, maker: Account) -> None:
    var = live.api.create(maker.key)
    assert live.api.simple("swrite", maker.key, id=var, value=READING) == "success"
    [source] = load_yaml((RECIPES / "grafana_datasource.yaml").read_text())["datasources"]
    [panel] = json.loads((RECIPES / "grafana_dashboard.json").read_text())["panels"]
    [query] = panel["targets"]
    assert panel["datasource"] == query["datasource"] == {"type": source["type"], "uid": source["uid"]}

    url = fill(source["url"] + query["url"], live, maker.key, var)
    assert any(url.startswith(fill(host, live, maker.key)) for host in source["jsonData"]["allowedHosts"])
    params = {param["key"]: fill(param["value"], live, maker.key, var) for param in query["url_options"]["params"]}
    secret = source["secureJsonData"]["secureQueryValue1"]
    params[source["jsonData"]["secureQueryName1"]] = fill(secret, live, maker.key)
    rows = get(live, url, **params).json()[query["root_selector"]]
    columns = {column["type"]: column["selector"] for column in query["columns"]}
    assert [row[columns["number"]] for row in rows] == [READING]
    assert all(isinstance(row[columns["timestamp_epoch_s"]], int) for row in rows)
