"""Who the client is, from the connection's peer and the X-Forwarded-For chain it sent."""

from __future__ import annotations

import pytest
from motcua.common.request_context import client_address, trusted_networks

PROXIES = trusted_networks("10.244.0.0/16, 127.0.0.1, fd00::/8", variable="TEST")


def test_a_peer_that_is_no_proxy_is_the_client_whatever_it_forwards() -> None:
    assert client_address("203.0.113.9", ["198.51.100.1"], PROXIES) == "203.0.113.9"


def test_the_right_most_hop_no_proxy_added_is_the_client() -> None:
    chain = ["6.6.6.6, 203.0.113.5", "10.244.3.4"]  # the client wrote 6.6.6.6; two headers count as one list
    assert client_address("10.244.0.7", chain, PROXIES) == "203.0.113.5"


def test_hops_with_ports_and_ipv6_are_read_as_addresses() -> None:
    assert client_address("127.0.0.1", ["203.0.113.5:4711"], PROXIES) == "203.0.113.5"
    assert client_address("127.0.0.1", ["[2001:db8::7]:443, fd00::1"], PROXIES) == "2001:db8::7"
    assert client_address("::ffff:10.244.0.1", ["2001:db8::8"], PROXIES) == "2001:db8::8"


def test_when_every_hop_is_a_proxy_the_left_most_is_the_client() -> None:
    assert client_address("127.0.0.1", ["10.244.9.9, 10.244.0.1"], PROXIES) == "10.244.9.9"
    assert client_address("127.0.0.1", [], PROXIES) == "127.0.0.1"


def test_a_hop_that_is_no_address_is_the_client_it_stands_for() -> None:
    assert client_address("127.0.0.1", ["unknown"], PROXIES) == "unknown"


@pytest.mark.parametrize("value", ["*", "10.0.0.0/8,*", "gateway"])
def test_believing_anyone_or_a_name_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="FORWARDED_ALLOW_IPS"):
        trusted_networks(value, variable="FORWARDED_ALLOW_IPS")
