"""The address rate limits count by: IPv4 as it is, IPv6 by its /64 network."""

import pytest
from flask import Flask

from app.extensions import client_address


@pytest.mark.parametrize(
    ("remote", "counted"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2408:8456:3e01:7a10::1", "2408:8456:3e01:7a10::/64"),
        ("2408:8456:3e01:7a10:ffff:1:2:3", "2408:8456:3e01:7a10::/64"),
        ("2408:8456:3e01:7a11::1", "2408:8456:3e01:7a11::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not an address", "not an address"),
    ],
)
def test_rate_limits_count_ipv4_by_address_and_ipv6_by_network(remote, counted):
    with Flask(__name__).test_request_context(environ_base={"REMOTE_ADDR": remote}):
        assert client_address() == counted
