"""How detection is configured, as auditors see it: every change to a webhook source is an audit event,
and the configuration in force at a moment (an incident's opening) is read back from them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEvent
from incidents.models import WebhookSource
from incidents.services.detection import detection_config_at, webhook_source_configure, webhook_source_deactivate
from incidents.webhooks import webhook_secret_seal

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


def test_each_change_is_audited_and_the_configuration_at_a_moment_is_read_back():
    out = io.StringIO()
    call_command(
        "add_webhook_source", "gh-scanner", "--kind", "github", "--owner", "AppSec", stdout=out, stderr=io.StringIO()
    )
    assert len(out.getvalue().strip()) == 64  # the secret, printed once
    event = AuditEvent.objects.get(action="detection.source_configured")
    assert event.data == {"name": "gh-scanner", "kind": "github", "owner": "AppSec", "active": True}
    assert "secret" not in str(event.data).lower()
    opened = timezone.now()
    webhook_source_configure(name="gh-scanner", kind="github", owner="Platform security", actor=SYSTEM)
    webhook_source_deactivate(name="gh-scanner", actor=SYSTEM, reason="replaced by the cloud scanner")
    then = detection_config_at(opened)
    assert [(d.name, d.kind, d.owner, d.active) for d in then] == [("gh-scanner", "github", "AppSec", True)]
    assert then[0].evidence == f"audit event #{event.seq}"
    now = detection_config_at(timezone.now())
    assert [(d.owner, d.active) for d in now] == [("Platform security", False)]
    assert detection_config_at(opened - timedelta(hours=1)) == []


def test_a_source_made_before_auditing_says_its_values_are_todays():
    WebhookSource.objects.create(name="legacy", kind="aws", secret_sealed=webhook_secret_seal("legacy", b"x"))
    (record,) = detection_config_at(timezone.now())
    assert record.name == "legacy"
    assert record.evidence.startswith("created before changes were audited")
