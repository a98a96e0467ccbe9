"""Hole 12: outbound party webhooks followed redirects and accepted any scheme. Now: no redirects, https
only in production, internal addresses refused unless allow-listed — checked on the address actually
connected to (DNS rebinding gains nothing)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from notifications.models import Channel, Party, PartyRole
from notifications.services.secrets import channel_secret_rotate
from notifications.transports import TRANSPORTS, Outgoing, TransportError
from tests.keyvault.conftest import SYSTEM
from webapp.stack.temporal_dev import free_port

pytestmark = pytest.mark.django_db

OUTGOING = Outgoing(message_id="msg-1", subject="s", body="b", payload={"type": "key_status.initial"}, recipients=[])


class Recorder:
    def __init__(self) -> None:
        self.paths: list[str] = []
        self.redirect_to = ""


@pytest.fixture
def receiver() -> Iterator[tuple[str, Recorder]]:
    """A local endpoint that records what reaches it; it answers a redirect when told to."""
    recorder = Recorder()
    port = free_port()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            recorder.paths.append(self.path)
            if recorder.redirect_to and self.path == "/hook":
                self.send_response(307)
                self.send_header("Location", recorder.redirect_to)
            else:
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}", recorder
    finally:
        server.shutdown()
        server.server_close()


def _channel(url: str) -> Channel:
    party = Party.objects.create(name=f"party-{url[-12:]}", role=PartyRole.values[0])
    channel = Channel.objects.create(party=party, kind=Channel.Kind.WEBHOOK, url=url)
    channel_secret_rotate(channel_id=channel.pk, actor=SYSTEM)
    channel.refresh_from_db()
    return channel


def _send(channel: Channel) -> list[str]:
    return TRANSPORTS[Channel.Kind.WEBHOOK].send(channel, OUTGOING)


def test_a_redirect_is_not_followed(receiver):
    base, recorder = receiver
    recorder.redirect_to = f"{base}/internal-admin"
    with pytest.raises(TransportError, match="redirects are not followed") as refused:
        _send(_channel(f"{base}/hook"))
    assert refused.value.permanent
    assert recorder.paths == ["/hook"]  # the redirect's target was never asked


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://files.example/x", "gopher://x.example/"])
def test_only_http_schemes(url):
    with pytest.raises(ValidationError):
        Channel(party=Party(name="p", role=PartyRole.values[0]), kind=Channel.Kind.WEBHOOK, url=url).full_clean()
    with pytest.raises(TransportError, match="must use") as refused:
        _send(_channel(url))
    assert refused.value.permanent


def test_production_settings_take_https_only(settings, receiver):
    base, recorder = receiver
    settings.SEQUESTER_WEBHOOK_REQUIRE_HTTPS = True
    with pytest.raises(TransportError, match="must use https"):
        _send(_channel(f"{base}/hook"))
    assert recorder.paths == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hook",
        "http://localhost:{port}/hook",
        "http://[::1]:{port}/hook",
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://192.168.0.1/hook",
        "http://0.0.0.0:{port}/hook",
    ],
)
def test_internal_addresses_are_refused_unless_allow_listed(settings, receiver, url):
    base, recorder = receiver
    settings.SEQUESTER_WEBHOOK_ALLOWED_NETWORKS = []
    port = base.rsplit(":", 1)[1]
    with pytest.raises(TransportError, match="internal address") as refused:
        _send(_channel(url.format(port=port)))
    assert refused.value.permanent
    assert recorder.paths == []


def test_dns_rebinding_is_checked_at_connect_time(settings, receiver, monkeypatch):
    """The name passes the registry's check (it is a name); at send time it resolves to loopback."""
    base, recorder = receiver
    settings.SEQUESTER_WEBHOOK_ALLOWED_NETWORKS = []
    port = int(base.rsplit(":", 1)[1])
    real = socket.getaddrinfo

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    channel = _channel(f"http://hooks.rebind.example:{port}/hook")
    channel.full_clean()  # accepted into the registry
    with pytest.raises(TransportError, match="internal address"):
        _send(channel)
    assert recorder.paths == []


def test_allow_listed_networks_are_reached(settings, receiver):
    base, recorder = receiver
    settings.SEQUESTER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert _send(_channel(f"{base}/hook")) == [f"{base}/hook"]
    assert recorder.paths == ["/hook"]
