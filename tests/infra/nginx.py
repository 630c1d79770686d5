"""infra/nginx/ run for real on loopback: the committed configuration, with its ports and paths
replaced by a test's own, in front of replicas the test started."""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.harness import ROOT, Running, accepts, debian_package, free_port, scaled

CONFIG = ROOT / "infra" / "nginx"
NGINX_CONF = """\
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/varistore.conf;
}}
"""


@dataclass(frozen=True)
class Edge:
    http: str  # http://127.0.0.1:PORT, the devices' plain HTTP
    https: str  # https://127.0.0.1:PORT
    ws: str  # ws://127.0.0.1:PORT/ws
    certificate: Path  # the self-signed certificate the HTTPS server shows, for clients to trust
    process: Running


def _upstream(config: str, name: str, ports: Sequence[int]) -> str:
    """`config` with upstream `name`'s servers replaced by 127.0.0.1 at `ports`, options kept."""
    block = re.search(rf"upstream {name} {{.*?\n}}", config, re.S)
    assert block is not None, name
    servers = re.findall(r"^\s*server \S+(.*);$", block.group(0), re.M)
    assert servers, f"no server in upstream {name}"
    lines = "".join(f"    server 127.0.0.1:{port}{servers[0]};\n" for port in ports)
    replaced = re.sub(r"(    server \S+.*;\n)+", lambda _: lines, block.group(0), count=1)
    return config.replace(block.group(0), replaced)


def site_config(tmp: Path, api_ports: Sequence[int], gateway_ports: Sequence[int], http: int, https: int) -> str:
    """infra/nginx/varistore.conf for this machine: listening on loopback at `http` and `https`."""
    config = (CONFIG / "varistore.conf").read_text()
    config = _upstream(config, "varistore_api", api_ports)
    config = _upstream(config, "varistore_gateway", gateway_ports)
    config = re.sub(r"^\s*listen \[::\].*\n", "", config, flags=re.M)  # loopback IPv4 only
    config = config.replace("listen 80;", f"listen 127.0.0.1:{http};")
    config = config.replace("listen 443 ", f"listen 127.0.0.1:{https} ")
    config = re.sub(r"ssl_certificate (\S+);", f"ssl_certificate {tmp}/cert.pem;", config)
    config = re.sub(r"ssl_certificate_key (\S+);", f"ssl_certificate_key {tmp}/key.pem;", config)
    return config.replace("/etc/nginx/varistore/", f"{tmp}/")


@contextlib.contextmanager
def running_nginx(
    api_ports: Sequence[int], gateway_ports: Sequence[int], *, edge_limits: bool = True
) -> Iterator[Edge]:
    """nginx with infra/nginx/'s configuration in front of the API and gateway replicas at the ports given;
    without its per-address limits when `edge_limits` is false (a benchmark's load comes from one address)."""
    nginx = debian_package("nginx", "nginx")
    with tempfile.TemporaryDirectory(prefix="varistore-nginx-") as name:
        tmp = Path(name)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
            check=True, capture_output=True, timeout=scaled(60),
        )  # fmt: skip
        http, https = free_port(), free_port()
        (tmp / "varistore.conf").write_text(site_config(tmp, api_ports, gateway_ports, http, https))
        locations = (CONFIG / "locations.conf").read_text()
        if not edge_limits:
            locations = re.sub(r"^limit_(req|conn) .*\n", "", locations, flags=re.M)
        (tmp / "locations.conf").write_text(locations)
        (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp))
        checked = subprocess.run([nginx, "-t", "-p", str(tmp), "-c", str(tmp / "nginx.conf")], capture_output=True)
        assert checked.returncode == 0, checked.stderr.decode()
        process = Running([nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"], {}, name="nginx")
        try:
            process.wait_until(lambda: accepts(http) and accepts(https), 30, "nginx to listen")
            yield Edge(f"http://127.0.0.1:{http}", f"https://127.0.0.1:{https}", f"ws://127.0.0.1:{http}/ws",
                       tmp / "cert.pem", process)  # fmt: skip
        finally:
            process.stop()
