"""Notification fixtures: a real SMTP server, a real webhook receiver, an incident whose blast radius
selects three parties (an HSM vendor, an application provider, an AI customer) and not a fourth."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from temporalio.testing import WorkflowEnvironment

from audit.actors import Actor
from incidents.cloudevents import parse
from incidents.models import Incident
from incidents.services.signals import signal_receive
from keyvault.models import DataAsset, ManagedKey, System
from keyvault.services import lifecycle
from notifications.models import Channel, Contact, Party, PartyRole
from notifications.services.secrets import channel_secret_rotate
from tests.mail import Inbox, smtp_server
from tests.servers import free_port, temporal_test_server_binary

SYSTEM = Actor.system("tests")


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    with (
        smtp_server() as (inbox, port),
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=port
        ),
    ):
        yield inbox


@pytest.fixture(scope="module")
async def own_time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this module's own: workflows other tests leave behind (waiting on work
    for task queues nobody polls any more) stop the shared server from skipping time."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server_binary())
    try:
        yield env
    finally:
        await env.shutdown()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 204


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    port = free_port()
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{port}/hooks")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(receiver.statuses.pop(0) if receiver.statuses else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class WebhookVerificationError(Exception):
    pass


def standard_webhooks_verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> Any:
    """An independent Standard Webhooks verifier, written from the spec (not from the sender's code)."""
    msg_id, stamp, signatures = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]
    if abs(time.time() - int(stamp)) > tolerance:
        raise WebhookVerificationError("timestamp outside the tolerance")
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return json.loads(body)
    raise WebhookVerificationError("no matching signature")


@dataclass
class Case:
    incident: Incident
    key: ManagedKey
    vendor: Party  # HSM vendor, related to the key: email + webhook
    app: Party  # application provider, related to the system: email
    customer: Party  # AI customer, related to the data asset: webhook + email
    bystander: Party  # related to nothing in the blast radius
    secrets: dict[str, str]  # party name -> whsec_ secret


def _party(name: str, role: str, *, sla: int = 60, reminders: int = 1, **relations: Any) -> Party:
    party = Party.objects.create(name=name, role=role, ack_sla_minutes=sla, reminders=reminders)
    for relation, objects in relations.items():
        getattr(party, relation).set(objects)
    return party


def _webhook(party: Party, url: str) -> str:
    channel = Channel.objects.create(party=party, kind=Channel.Kind.WEBHOOK, url=url)
    return channel_secret_rotate(channel_id=channel.pk, actor=SYSTEM)


def _email(party: Party, *addresses: str, escalation: str = "") -> None:
    Channel.objects.create(party=party, kind=Channel.Kind.EMAIL)
    for address in addresses:
        Contact.objects.create(party=party, name=address.split("@")[0], email=address)
    if escalation:
        Contact.objects.create(party=party, name="escalation", email=escalation, escalation=True)


@pytest.fixture
def case(db: None, commander: User, webhook_receiver: WebhookReceiver) -> Case:
    commander.email = "cmdr@example.test"
    commander.save()
    billing = System.objects.create(name="billing-api", owner="billing")
    other = System.objects.create(name="unrelated-system")
    prompts = DataAsset.objects.create(
        name="prompt-store", system=billing, data_categories=["personal_data"], record_count=500, jurisdictions=["EU"]
    )
    key = lifecycle.key_create(
        actor=SYSTEM,
        alias="billing-kek",
        purpose="wraps billing data keys",
        ai_category="prompt_store",
        system_ids=[billing.id],
        data_asset_ids=[prompts.id],
    )
    vendor = _party("Acme HSM", PartyRole.HSM_VENDOR, keys=[key])
    app = _party("Shop Apps", PartyRole.APPLICATION_PROVIDER, systems=[billing])
    customer = _party("Beta AI Customer", PartyRole.AI_CUSTOMER, reminders=1, data_assets=[prompts])
    bystander = _party("Elsewhere Ltd", PartyRole.CLOUD_SERVICE_PROVIDER, systems=[other])
    _email(vendor, "security@acme-hsm.test")
    _email(app, "ops@shopapps.test")
    _email(customer, "ciso@beta-ai.test", escalation="ceo@beta-ai.test")
    _email(bystander, "noc@elsewhere.test")
    hooks = {
        vendor.name: _webhook(vendor, webhook_receiver.url),
        customer.name: _webhook(customer, webhook_receiver.url),
    }
    event = parse(
        {
            "specversion": "1.0",
            "id": "leak-notify-1",
            "source": "https://scanner.example/secrets",
            "type": "com.example.secret.leaked",
            "data": {"keys": [{"alias": key.alias}], "severity": "high", "evidence": {"repo": "acme/app"}},
        }
    )
    result = signal_receive(event=event, via="api", actor=SYSTEM, commander=commander)
    key.refresh_from_db()
    return Case(result.incident, key, vendor, app, customer, bystander, hooks)
