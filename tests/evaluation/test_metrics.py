"""Metrics from recorded events against targets per severity; /metrics exposes the named families after
an incident, to the allowed network or the bearer token only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from evaluation.models import Measure, ResponseTarget
from evaluation.services import metrics
from keyvault.errors import KeyNotFound, KeyNotUsableForEncryption
from keyvault.refusals import ledger
from keyvault.services import gate
from keyvault.types import Principal, UseContext
from tests.casefile.scenario import run_case
from tests.evaluation.conftest import open_incident
from webapp import roles

pytestmark = pytest.mark.django_db

NAMES = {
    "sequester_incident_time_to_contain_seconds",
    "sequester_incident_time_to_restrict_seconds",
    "sequester_gate_refusals",
    "sequester_approval_decision_seconds",
    "sequester_obligations_overdue",
}


def _families(text: str) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_metrics_exposes_the_named_families_after_an_incident(people, authenticators):
    case = run_case(people, authenticators)
    key = case.incident_keys.values_list("key_id", flat=True).first()
    assert key is not None
    app, _ = User.objects.get_or_create(username="payments-app")
    app.groups.add(Group.objects.get(name=roles.SERVICE_ACCOUNT))
    for _ in range(3):  # refused uses, as the gate records them (one event, then the minute's count)
        with pytest.raises((KeyNotFound, KeyNotUsableForEncryption)):
            gate.gate_encrypt(
                key_id=key,
                items=[gate.EncryptItem(b"x", b"")],
                principal=Principal.for_user(app),
                context=UseContext(purpose="billing"),
            )
    ledger.flush(everything=True)
    response = Client().get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    families = _families(text)
    assert set(families) >= NAMES
    assert 'sequester_incident_time_to_contain_seconds_count{exercise="false",severity="high"} 1.0' in text
    assert 'sequester_incident_time_to_restrict_seconds_count{exercise="false",severity="high"} 1.0' in text
    assert "sequester_gate_refusals_total 3.0" in text
    assert 'sequester_approval_decision_seconds_count{action="confirm_compromise",exercise="false"} 1.0' in text


def test_metrics_is_closed_to_other_networks_and_open_to_the_token():
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 403
    with override_settings(SEQUESTER_METRICS_TOKEN="s3cret-scrape-token"):
        assert Client().get("/metrics").status_code == 403  # a token set: loopback is not enough
        ok = Client(REMOTE_ADDR="10.1.2.3").get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
        assert ok.status_code == 200
    with override_settings(SEQUESTER_METRICS_NETWORKS=["10.0.0.0/8"]):
        assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200


def test_a_missed_target_is_flagged_on_the_incident(people):
    incident = open_incident(people[roles.COMMANDER], severity="critical")
    now = timezone.now()
    figures = {f.measure: f for f in metrics.incident_metrics(incident, now=now).figures}
    assert figures[Measure.CONTAIN].status == metrics.MET
    assert figures[Measure.CONFIRM].status == metrics.PENDING
    later = now + timedelta(minutes=90)  # critical: confirmed within 1 h, restricted within 2 h
    measured = metrics.incident_metrics(incident, now=later)
    assert [(f.measure, f.subject) for f in measured.missed] == [(Measure.CONFIRM, "")]
    ResponseTarget.objects.filter(measure=Measure.CONFIRM, severity="critical").update(seconds=3 * 3600)
    assert Measure.CONFIRM not in [f.measure for f in metrics.incident_metrics(incident, now=later).missed]
    client = Client()
    client.force_login(people[roles.COMMANDER])
    page = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Response times against targets" in page


def test_the_grafana_dashboard_reads_the_exposed_names():
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-sequester.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    used = set(re.findall(r"sequester_[a-z_]+", exprs))
    exposed = {n + s for n in NAMES for s in ("", "_bucket", "_total")} | {
        "sequester_incidents_open",
        "sequester_open_incident_targets_missed",
        "sequester_playbook_review_overdue",
        "sequester_drills_total",
        "sequester_notification_ack_seconds_bucket",
    }
    assert used <= exposed, used - exposed
