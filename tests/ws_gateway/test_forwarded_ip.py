"""ws_gateway.keys.client_ip: which address the banned-IP check sees, behind proxies or not."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from websockets.datastructures import Headers

from ws_gateway.keys import client_ip

PROXY = "10.0.0.1"
CLIENT = "203.0.113.7"
SPOOFED = "198.51.100.66"  # what a client writes into its own X-Forwarded-For


def forwarded(value: str) -> Headers:
    return Headers([("X-Forwarded-For", value)])


def test_no_header_is_the_peer() -> None:
    assert client_ip(CLIENT, Headers(), PROXY) == ip_address(CLIENT)


def test_no_peer_is_unknown() -> None:
    assert client_ip(None, forwarded(CLIENT), PROXY) is None
    assert client_ip(None, Headers(), "*") is None


def test_header_name_in_any_case() -> None:
    headers = Headers([("x-forwarded-for", CLIENT)])
    assert client_ip(PROXY, headers, PROXY) == ip_address(CLIENT)


def test_untrusted_peer_is_itself_whatever_it_forwards() -> None:
    assert client_ip(CLIENT, forwarded(SPOOFED), PROXY) == ip_address(CLIENT)
    assert client_ip(CLIENT, forwarded(SPOOFED), "") == ip_address(CLIENT)


def test_trusted_proxy_one_hop() -> None:
    assert client_ip(PROXY, forwarded(CLIENT), PROXY) == ip_address(CLIENT)


def test_trusted_proxy_believes_only_the_hop_it_added() -> None:
    # The client sent "X-Forwarded-For: SPOOFED"; the proxy appended the address it saw.
    assert client_ip(PROXY, forwarded(f"{SPOOFED}, {CLIENT}"), PROXY) == ip_address(CLIENT)


def test_several_trusted_proxies_are_skipped_from_the_right() -> None:
    inner, outer = "10.0.0.2", "10.0.0.3"
    trusted = f"{PROXY}, {inner},{outer}"  # spaces around commas allowed
    chain = f"{SPOOFED}, {CLIENT}, {outer}, {inner}"
    assert client_ip(PROXY, forwarded(chain), trusted) == ip_address(CLIENT)
    # A proxy not in the list is where belief stops, even if more follow it.
    assert client_ip(PROXY, forwarded(f"{CLIENT}, 10.9.9.9, {inner}"), trusted) == ip_address("10.9.9.9")


def test_all_hops_trusted_is_the_leftmost() -> None:
    # The client was itself a trusted proxy (uvicorn does the same).
    assert client_ip(PROXY, forwarded(f"10.0.0.2, {PROXY}"), f"{PROXY},10.0.0.2") == ip_address("10.0.0.2")


def test_star_trusts_any_peer_and_takes_the_rightmost_hop() -> None:
    # With "*" every peer is a proxy, but no hop equals "*": the hop the last proxy added is the
    # client, never one the client wrote itself.
    assert client_ip(CLIENT, forwarded(f"{SPOOFED}, 192.0.2.1"), "*") == ip_address("192.0.2.1")
    assert client_ip(CLIENT, forwarded(SPOOFED), "*") == ip_address(SPOOFED)
    assert client_ip(CLIENT, Headers(), "*") == ip_address(CLIENT)


@pytest.mark.parametrize("value", ["", " ", ",", " , ,"])
def test_empty_header_is_the_peer(value: str) -> None:
    assert client_ip(PROXY, forwarded(value), PROXY) == ip_address(PROXY)


@pytest.mark.parametrize("hop", ["unknown", "not-an-ip", "203.0.113", "300.1.2.3", "_hidden", "[2001:db8::1]"])
def test_garbage_hop_is_no_address(hop: str) -> None:
    assert client_ip(PROXY, forwarded(f"{CLIENT}, {hop}"), PROXY) is None


@pytest.mark.parametrize("peer", ["", "garbage", "unix:/run/varistore.sock"])
def test_garbage_peer_is_no_address(peer: str) -> None:
    assert client_ip(peer, Headers(), PROXY) is None


def test_ipv6_peer_and_hops() -> None:
    assert client_ip("::1", Headers(), "127.0.0.1") == ip_address("::1")
    assert client_ip("::1", forwarded("2001:db8::7"), "::1") == ip_address("2001:db8::7")
    assert client_ip("2001:db8::1", forwarded(f"{SPOOFED}, 2001:db8::7"), "2001:db8::1") == ip_address("2001:db8::7")
    # An IPv6 peer not in the list is not believed.
    assert client_ip("2001:db8::2", forwarded(CLIENT), "2001:db8::1") == ip_address("2001:db8::2")


def test_hops_are_stripped_of_spaces() -> None:
    assert client_ip(PROXY, forwarded(f"  {CLIENT}  "), PROXY) == ip_address(CLIENT)


# Read as uvicorn reads the same setting for the API (service/server.py passes forwarded_allow_ips to it).


def test_two_forwarded_headers_are_read_as_one_list() -> None:
    # uvicorn joins repeated headers with ", " (RFC 9110 §5.3), so the last hop is the proxy's.
    headers = Headers([("X-Forwarded-For", SPOOFED), ("X-Forwarded-For", CLIENT)])
    assert client_ip(PROXY, headers, PROXY) == ip_address(CLIENT)


def test_trusted_network() -> None:
    # uvicorn accepts networks in --forwarded-allow-ips ("10.0.0.0/8").
    assert client_ip(PROXY, forwarded(CLIENT), "10.0.0.0/8") == ip_address(CLIENT)


def test_trusted_ipv6_written_another_way() -> None:
    assert client_ip("::1", forwarded(CLIENT), "0:0:0:0:0:0:0:1") == ip_address(CLIENT)
