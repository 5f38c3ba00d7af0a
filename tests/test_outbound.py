"""The outbound-fetch guard (app/security/outbound.py) against real loopback servers."""

from __future__ import annotations

import pytest

from app.security import outbound
from app.security.outbound import OutboundError
from tests.support.receiver import Receiver
from tests.support.receiver import Reply
from tests.support.receiver import closed_port


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:10.0.0.1", False),
        ("not an address", False),
    ],
)
def test_is_public_address(address, public):
    assert outbound.is_public_address(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com/",
        "https://",
        "//example.com/x",
        "https://user:pw@example.com/",
        "http://[::1/",
    ],
)
def test_check_url_refuses_bad_shapes(url):
    with pytest.raises(OutboundError) as refused:
        outbound.check_url(url, allow_private=True)
    assert refused.value.reason == "bad_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/x",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "http://[::1]:80/",
        "http://0.0.0.0/",
    ],
)
def test_check_url_refuses_private_addresses_unless_allowed(url):
    with pytest.raises(OutboundError) as refused:
        outbound.check_url(url, allow_private=False)
    assert refused.value.reason == "private_address"
    assert outbound.check_url(url, allow_private=True) == url


def test_fetch_reads_a_loopback_server_only_when_private_is_allowed():
    with Receiver(lambda m, p: Reply(200, {"ok": True})) as server:
        response = outbound.fetch("GET", server.url("/doc"), allow_private=True)
        assert response.ok and response.json() == {"ok": True}
        with pytest.raises(OutboundError) as refused:
            outbound.fetch("GET", server.url("/doc"), allow_private=False)
        assert refused.value.reason == "private_address"
        assert str(refused.value) == outbound.FAILURE_MESSAGE
        assert [hit[1] for hit in server.hits] == ["/doc"]  # the refused fetch never arrived


def test_every_redirect_is_checked_again(monkeypatch):
    """127.0.0.2 plays a public host that redirects to a private one (127.0.0.1)."""
    monkeypatch.setattr(
        outbound,
        "is_public_address",
        lambda address: address == "127.0.0.2",
    )
    with Receiver(lambda m, p: Reply(200, "internal secret")) as internal:
        target = internal.url("/admin")
        with Receiver(
            lambda m, p: Reply(302, headers={"Location": target}), host="127.0.0.2"
        ) as public:
            with pytest.raises(OutboundError) as refused:
                outbound.fetch("GET", public.url("/start"), allow_private=False)
            assert refused.value.reason == "private_address"
            assert len(public.hits) == 1
        assert internal.hits == []


def test_redirects_are_followed_within_the_limit_and_303_becomes_get():
    def answer(method, path):
        if path == "/a":
            return Reply(303, headers={"Location": "/b"})
        return Reply(200, {"method": method})

    with Receiver(answer) as server:
        response = outbound.fetch("POST", server.url("/a"), allow_private=True, data={"x": "1"})
        assert response.json() == {"method": "GET"}
        assert response.url == server.url("/b")

    with Receiver(lambda m, p: Reply(302, headers={"Location": p + "x"})) as loop:
        with pytest.raises(OutboundError) as refused:
            outbound.fetch("GET", loop.url("/r"), allow_private=True, max_redirects=2)
        assert refused.value.reason == "too_many_redirects"
        assert len(loop.hits) == 3


def test_redirect_to_another_scheme_is_refused():
    with Receiver(lambda m, p: Reply(302, headers={"Location": "file:///etc/passwd"})) as server:
        with pytest.raises(OutboundError) as refused:
            outbound.fetch("GET", server.url("/"), allow_private=True)
        assert refused.value.reason == "bad_url"


def test_responses_are_bounded():
    with Receiver(lambda m, p: Reply(200, b"x" * 5000)) as server:
        assert len(outbound.fetch("GET", server.url(), allow_private=True).content) == 5000
        with pytest.raises(OutboundError) as refused:
            outbound.fetch("GET", server.url(), allow_private=True, max_bytes=4096)
        assert refused.value.reason == "too_large"


def test_open_and_closed_ports_fail_alike_when_refused():
    with Receiver() as server:
        errors = []
        for url in (server.url("/"), f"http://127.0.0.1:{closed_port()}/"):
            with pytest.raises(OutboundError) as refused:
                outbound.fetch("GET", url, allow_private=False)
            errors.append((refused.value.reason, str(refused.value)))
        assert errors[0] == errors[1]
        assert server.hits == []


def test_a_closed_port_is_the_one_network_failure_message():
    with pytest.raises(OutboundError) as refused:
        outbound.fetch("GET", f"http://127.0.0.1:{closed_port()}/", allow_private=True)
    assert refused.value.reason == "network"
    assert str(refused.value) == outbound.FAILURE_MESSAGE


def test_a_slow_server_times_out():
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        with pytest.raises(OutboundError) as refused:
            url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
            outbound.fetch("GET", url, allow_private=True, timeout=0.5)
        assert refused.value.reason == "network"
    finally:
        for conn, _ in accepted:
            conn.close()
        listener.close()


def test_allow_private_follows_the_configuration(make_app):
    for value in (False, True):
        with make_app(OUTBOUND_ALLOW_PRIVATE=value).app_context():
            assert outbound.allow_private() is value


def test_outbound_allow_private_defaults():
    from app.config import load_config

    secret = "s" * 40
    dev = load_config("/tmp/gatehouse-test-instance", {"SECRET_KEY": secret})
    prod = load_config(
        "/tmp/gatehouse-test-instance", {"SECRET_KEY": secret, "GATEHOUSE_ENV": "production"}
    )
    forced = load_config(
        "/tmp/gatehouse-test-instance",
        {"SECRET_KEY": secret, "GATEHOUSE_ENV": "production", "OUTBOUND_ALLOW_PRIVATE": "true"},
    )
    assert (dev["OUTBOUND_ALLOW_PRIVATE"], prod["OUTBOUND_ALLOW_PRIVATE"]) == (True, False)
    assert forced["OUTBOUND_ALLOW_PRIVATE"] is True
