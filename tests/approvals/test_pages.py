"""The approval page as a person sees it: a summary in words, the decide form only while they may
decide, a confirmation once they did, and the reason (in words) when they may not."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from django.urls import reverse

from approvals import policies
from approvals.models import StepUpAttempt
from audit.models import AuditEvent
from keyvault.models import System
from tests.approvals.conftest import grant_payload, open_request, setup_totp, suspended_key
from tests.conftest import PASSWORD
from webapp import roles

pytestmark = pytest.mark.django_db


def next_code(totp: pyotp.TOTP) -> str:
    return totp.at(time.time() + totp.interval)


def section(page: str, element_id: str) -> str:
    found = re.search(rf'<(\w+)[^>]*\bid="{element_id}".*?</\1>', page, re.S)
    assert found, f"no #{element_id} on the page"
    return found.group(0)


def test_after_deciding_the_form_gives_way_to_a_confirmation(client, people):
    lead = people[roles.SECURITY_LEAD]
    totp = setup_totp(lead)
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    page_url = reverse("approval-page", args=[request.id])
    decide_url = reverse("approval-decide-totp", args=[request.id])
    client.force_login(lead)
    assert 'id="decide-form"' in client.get(page_url).content.decode()

    posted = client.post(decide_url, {"decision": "approve", "role": "security_lead", "totp": next_code(totp)})
    page = client.get(posted["Location"]).content.decode()
    assert "Recorded: you decided to approve as Security lead" in page
    assert 'id="decide-form"' not in page
    assert "You decided to <strong>approve</strong> as Security lead" in section(page, "your-decision")

    # Posted again anyway (an old tab): a clear message, and no step-up is even attempted.
    attempts = StepUpAttempt.objects.count()
    again = client.post(decide_url, {"decision": "approve", "role": "security_lead", "totp": "000000"}, follow=True)
    text = again.content.decode()
    assert "You have already decided on this request; each person decides once (already_decided)." in text
    assert StepUpAttempt.objects.count() == attempts
    assert not AuditEvent.objects.filter(action="approval.step_up_failed").exists()


def test_a_person_who_may_not_decide_is_told_why_in_words(client, people, compromised_key):
    lead = people[roles.SECURITY_LEAD]
    request = open_request(
        policies.COMPROMISED_KEY_DECRYPT_ACCESS, lead, grant_payload(compromised_key, "p-security_lead")
    )
    page_url = reverse("approval-page", args=[request.id])

    client.force_login(lead)  # the requester: separation of duties
    page = client.get(page_url).content.decode()
    assert 'id="decide-form"' not in page
    assert "needs someone other than the requester to decide (separation of duties)" in section(page, "cannot-decide")
    refused = client.post(
        reverse("approval-decide-totp", args=[request.id]), {"decision": "approve", "totp": "123456"}, follow=True
    )
    assert "Not recorded: You asked for this" in refused.content.decode()

    client.force_login(people[roles.LEGAL_DPO])  # holds no role the policy counts
    page = client.get(page_url).content.decode()
    assert 'id="decide-form"' not in page
    assert (
        "You are not an eligible approver: this request needs 1 of CISO or Security lead and 1 of Key custodian; "
        "your roles: Legal / DPO (not_an_eligible_approver)."
    ) in section(page, "cannot-decide")


def test_the_page_says_in_plain_words_what_approving_changes(client, people):
    key = suspended_key("billing-kek")
    key.systems.add(System.objects.create(name="billing-api"))
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(key.id)]})
    client.force_login(people[roles.KEY_CUSTODIAN])
    page = client.get(reverse("approval-page", args=[request.id])).content.decode()
    summary = section(page, "plain-summary")
    assert "<h1>Confirm the compromise" in page
    assert "billing-kek" in summary
    assert "billing-api" in summary
    assert "billing-kek become compromised: they never encrypt again" in summary
    assert "decide before" in summary
    assert "1 of Security lead and 1 of Key custodian" in summary
    assert "security_lead" not in summary
    assert "key_custodian" not in summary
    # The summary comes before the canonical JSON.
    assert page.index('id="plain-summary"') < page.index('id="payload"')


def test_enrolment_returns_the_person_to_the_request_they_came_from(client, people):
    lead = people[roles.SECURITY_LEAD]
    request = open_request(policies.CONFIRM_COMPROMISE, people[roles.COMMANDER], {"keys": [str(suspended_key().id)]})
    page_url = reverse("approval-page", args=[request.id])
    client.force_login(lead)
    page = client.get(page_url).content.decode()
    link = f"{reverse('account-security')}?next={page_url}"
    assert f'href="{link}"' in page

    security = reverse("account-security")
    assert "the request you came from" in client.get(link).content.decode()
    client.post(security, {"step": "prove-password", "password": PASSWORD})
    begun = client.post(security, {"step": "totp-begin"})
    totp = pyotp.TOTP(begun.context["totp_secret"])
    done = client.post(security, {"step": "totp-confirm", "code": totp.now()})
    assert done.status_code == 302
    assert done["Location"] == page_url
    # Once back, the way there is forgotten: the next setup stays on the security page.
    assert "the request you came from" not in client.get(security).content.decode()


def test_a_foreign_return_address_is_ignored(client, people):
    client.force_login(people[roles.SECURITY_LEAD])
    page = client.get(reverse("account-security") + "?next=https://evil.example/x").content.decode()
    assert "the request you came from" not in page


def test_the_summary_of_a_closure_names_what_becomes_of_the_keys(people):
    from approvals.models import ApprovalRequest
    from approvals.wording import approving_changes

    request = ApprovalRequest(
        action=policies.CLOSE_INCIDENT,
        incident="INC-9",
        payload={"details": {"incident": "INC-9", "disposition": "destroy", "open_items": [{"check": "x"}]}},
    )
    keys, change = approving_changes(request)
    assert keys == []
    assert change == (
        "Incident INC-9 closes. Its keys are then destroyed (another quorum). "
        "1 item(s) still open are waived as recorded below."
    )
