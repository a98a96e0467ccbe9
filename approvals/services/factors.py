"""Second factors: adding, replacing and recovering them — never with a session alone.

Every change goes through one ``FactorChange``: it is issued, then *proven* — with an existing factor
(a WebAuthn assertion over its challenge, or a TOTP code) or, for a person who has no factor yet, the
password re-entered — and then consumed by exactly one enrolment (a WebAuthn registration or a new
TOTP secret confirmed by its code). A person who lost every factor asks for a recovery with their
password: an approval request (``factor_recovery``, floored: two other people in two roles, WebAuthn)
whose approval revokes the old factors; they then enrol with their password. Every step is audited,
every try counts against the step-up throttle, and the person is told by mail.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pyotp
import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from webauthn import generate_registration_options, options_to_json, verify_registration_response
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
)

from approvals.actions import FACTOR_RECOVERY
from approvals.errors import FactorRequired, InvalidApprovalRequest, StepUpFailed, StepUpRequired
from approvals.models import ApprovalRequest, FactorChange, RegistrationChallenge, TotpDevice, WebAuthnCredential
from approvals.services import throttle
from approvals.services.stepup import (
    CHALLENGE_SECONDS,
    TOTP_PURPOSE,
    b64url,
    totp_secret,
    totp_step,
    totp_verify,
    user_verification,
    webauthn_assertion_options,
    webauthn_verify,
)
from audit.actors import Actor
from audit.services import audit_record
from webapp.sealing import seal, unseal

# How long a proven change may wait for its enrolment.
PROVEN_SECONDS = 600
PASSWORD_PROOF = "password"  # noqa: S105 - the name of a proof, not a password
# Where the web UI keeps the id of the change a session proved (a name only; the row is the truth).
SESSION_KEY = "sequester_factor_change"
# Where the person goes back to once a factor is enrolled (the request they came from), in the session.
RETURN_SESSION_KEY = "sequester_security_return_to"


def user_has_factor(user: Any) -> bool:
    return (
        WebAuthnCredential.objects.filter(user=user, revoked_at__isnull=True).exists()
        or TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
    )


def accepted_proofs(user: Any) -> list[str]:
    """What proves a change for this person: their factors, or the password when they have none."""
    proofs = []
    if WebAuthnCredential.objects.filter(user=user, revoked_at__isnull=True).exists():
        proofs.append("webauthn")
    if TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
        proofs.append("totp")
    return proofs or [PASSWORD_PROOF]


@transaction.atomic
def factor_change_begin(*, user: Any) -> tuple[FactorChange, str | None]:
    """A change to prove; with it, WebAuthn options over its challenge when the person has an authenticator."""
    now = timezone.now()
    change = FactorChange.objects.create(
        user=user,
        challenge=secrets.token_bytes(32),
        issued_at=now,
        expires_at=now + timedelta(seconds=CHALLENGE_SECONDS),
    )
    return change, webauthn_assertion_options(user=user, challenge=bytes(change.challenge))


def factor_change_prove(
    *,
    change_id: Any,
    user: Any,
    actor: Actor,
    webauthn: dict[str, Any] | str | None = None,
    totp: str | None = None,
    password: str | None = None,
) -> FactorChange:
    """Prove a change with an existing factor, or with the password when the person has no factor."""
    with (
        throttle.step_up_try(
            user=user,
            actor=actor,
            purpose="factor_change",
            on_failure=lambda failure: _refusal_record(
                "stepup.factor_change_refused", user, actor, failure, {"change": str(change_id)}
            ),
        ) as attempt,
        transaction.atomic(),
    ):
        change = _prove(change_id=change_id, user=user, webauthn=webauthn, totp=totp, password=password)
        throttle.step_up_attempt_succeeded(attempt)
        return change


def _refusal_record(action: str, user: Any, actor: Actor, failure: StepUpFailed, data: dict[str, Any]) -> None:
    """A refused proof is evidence (who, from where, why); its own transaction, the caller's rolled back."""
    with transaction.atomic():
        audit_record(
            action=action,
            actor=actor,
            subject_type="user",
            subject_id=user.get_username(),
            reason=failure.message,
            data=data,
        )


def _prove(
    *,
    change_id: Any,
    user: Any,
    webauthn: dict[str, Any] | str | None,
    totp: str | None,
    password: str | None,
) -> FactorChange:
    change = (
        FactorChange.objects.select_for_update()
        .filter(id=change_id, user=user, proven_at__isnull=True, consumed_at__isnull=True)
        .first()
    )
    if change is None or change.expires_at <= timezone.now():
        raise StepUpRequired("no change of factors is waiting for a proof: start again")
    if user_has_factor(user):
        if webauthn:
            webauthn_verify(user=user, credential=webauthn, challenge=bytes(change.challenge))
            proof = "webauthn"
        elif totp:
            totp_verify(user=user, code=totp)
            proof = "totp"
        else:
            raise FactorRequired(
                "you have a second factor: prove it is you with it (lost it? ask for a recovery with your password)"
            )
    else:
        if not password:
            raise StepUpRequired("you have no second factor yet: re-enter your password")
        if not user.check_password(password):
            raise StepUpFailed("the password does not match")
        proof = PASSWORD_PROOF
    change.proven_at = timezone.now()
    change.proof = proof
    change.expires_at = change.proven_at + timedelta(seconds=PROVEN_SECONDS)
    change.save(update_fields=["proven_at", "proof", "expires_at"])
    return change


def _proven(user: Any, change_id: Any) -> FactorChange:
    change = (
        FactorChange.objects.select_for_update()
        .filter(id=change_id, user=user, proven_at__isnull=False, consumed_at__isnull=True)
        .first()
        if change_id
        else None
    )
    if change is None or change.expires_at <= timezone.now():
        raise StepUpRequired("adding or replacing a factor needs a fresh proof that it is you: confirm first")
    return change


def _consume(change: FactorChange) -> None:
    change.consumed_at = timezone.now()
    change.save(update_fields=["consumed_at"])


# --- WebAuthn registration ---------------------------------------------------------------------
@transaction.atomic
def webauthn_registration_begin(*, user: Any, change_id: Any) -> str:
    """Registration options (JSON for navigator.credentials.create), for a proven change only."""
    _proven(user, change_id)
    options = generate_registration_options(
        rp_id=settings.SEQUESTER_WEBAUTHN_RP_ID,
        rp_name=settings.SEQUESTER_WEBAUTHN_RP_NAME,
        user_name=user.get_username(),
        user_id=str(user.pk).encode(),
        user_display_name=user.get_full_name() or user.get_username(),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=bytes(c.credential_id)) for c in user.webauthn_credentials.all()
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED, user_verification=user_verification()
        ),
    )
    RegistrationChallenge.objects.create(
        user=user, challenge=options.challenge, expires_at=timezone.now() + timedelta(seconds=CHALLENGE_SECONDS)
    )
    return options_to_json(options)


@transaction.atomic
def webauthn_registration_finish(
    *, user: Any, change_id: Any, credential: dict[str, Any] | str, name: str, actor: Actor
) -> WebAuthnCredential:
    change = _proven(user, change_id)
    pending = (
        RegistrationChallenge.objects.select_for_update()
        .filter(user=user, consumed_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-expires_at")
        .first()
    )
    if pending is None:
        raise StepUpRequired("no registration is under way: start again")
    pending.consumed_at = timezone.now()
    pending.save(update_fields=["consumed_at"])
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=bytes(pending.challenge),
            expected_rp_id=settings.SEQUESTER_WEBAUTHN_RP_ID,
            expected_origin=settings.SEQUESTER_WEBAUTHN_ORIGINS,
            require_user_verification=settings.SEQUESTER_WEBAUTHN_REQUIRE_UV,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise StepUpFailed(f"the authenticator's registration was not accepted: {exc}") from None
    transports = []
    if isinstance(credential, dict):
        transports = list(credential.get("response", {}).get("transports", []) or [])
    stored = WebAuthnCredential.objects.create(
        user=user,
        name=name.strip()[:100] or "Authenticator",
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports,
    )
    _consume(change)
    audit_record(
        action="stepup.webauthn_registered",
        actor=actor,
        subject_type="user",
        subject_id=user.get_username(),
        data={"credential": b64url(verified.credential_id), "name": stored.name, "proof": change.proof},
    )
    _tell(user, actor, f"A WebAuthn authenticator ({stored.name}) was added to your account")
    return stored


# --- TOTP --------------------------------------------------------------------------------------
@transaction.atomic
def totp_setup_begin(*, user: Any, change_id: Any) -> tuple[str, str, str]:
    """A new TOTP secret for a proven change: returns (secret, otpauth URI, QR code as SVG). The current
    TOTP (if any) keeps working until the new one is confirmed by a code."""
    change = _proven(user, change_id)
    secret = pyotp.random_base32()
    change.pending_totp_sealed = seal(TOTP_PURPOSE, secret.encode(), context=str(user.pk).encode())
    change.save(update_fields=["pending_totp_sealed"])
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=settings.SEQUESTER_WEBAUTHN_RP_NAME)
    svg = segno.make(uri, error="m").svg_inline(scale=4)
    return secret, uri, svg


@transaction.atomic
def totp_setup_confirm(*, user: Any, change_id: Any, code: str, actor: Actor) -> TotpDevice:
    change = _proven(user, change_id)
    if change.pending_totp_sealed is None:
        raise StepUpRequired("set up TOTP first")
    secret = unseal(TOTP_PURPOSE, bytes(change.pending_totp_sealed), context=str(user.pk).encode()).decode()
    step = totp_step(secret, code, after=0)
    if step is None:
        raise StepUpFailed("the code does not match")
    device = TotpDevice.objects.select_for_update().filter(user=user).first()
    replaced = device is not None and device.confirmed_at is not None
    if device is not None and replaced and totp_secret(device, user) == secret:
        replaced = False
    TotpDevice.objects.update_or_create(
        user=user,
        defaults={
            "secret_sealed": bytes(change.pending_totp_sealed),
            "confirmed_at": timezone.now(),
            "last_used_step": step,
        },
    )
    _consume(change)
    audit_record(
        action="stepup.totp_registered",
        actor=actor,
        subject_type="user",
        subject_id=user.get_username(),
        data={"replaced": replaced, "proof": change.proof},
    )
    _tell(user, actor, "Your TOTP authenticator app was " + ("replaced" if replaced else "set up"))
    return TotpDevice.objects.get(user=user)


# --- recovery ----------------------------------------------------------------------------------
def factor_recovery_request(*, user: Any, password: str, reason: str, actor: Actor) -> ApprovalRequest:
    """Ask, with the password, that the factors one lost be revoked: an approval request (floored)."""
    from approvals.services.requests import approval_request_open

    with throttle.step_up_try(
        user=user,
        actor=actor,
        purpose="factor_recovery",
        on_failure=lambda failure: _refusal_record("stepup.factor_recovery_refused", user, actor, failure, {}),
    ) as attempt:
        if not password or not user.check_password(password):
            raise StepUpFailed("the password does not match")
        with transaction.atomic():
            throttle.step_up_attempt_succeeded(attempt)
            request = approval_request_open(
                action=FACTOR_RECOVERY,
                payload={"user": user.get_username()},
                reason=reason,
                requested_by=user,
                actor=actor,
            )
            _tell(
                user,
                actor,
                "A recovery of your second factors was requested; once two approvers agree, your current "
                "authenticators and TOTP stop working and you enrol new ones with your password",
            )
            return request


def factors_revoke(*, username: str, actor: Actor, approval: ApprovalRequest) -> int:
    """The effect of an approved recovery: the person's factors stop working (kept as evidence)."""
    if approval.action != FACTOR_RECOVERY or approval.status != ApprovalRequest.Status.APPROVED:
        raise InvalidApprovalRequest("factors are revoked only by an approved factor recovery")
    user = get_user_model().objects.get(username=username)
    now = timezone.now()
    revoked = WebAuthnCredential.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    revoked += TotpDevice.objects.filter(user=user).delete()[0]
    audit_record(
        action="stepup.factors_revoked",
        actor=actor,
        subject_type="user",
        subject_id=username,
        reason=approval.reason,
        data={"approval_request": str(approval.id), "revoked": revoked},
    )
    _tell(user, actor, "Your second factors were revoked after an approved recovery: enrol a new one")
    return revoked


def _tell(user: Any, actor: Actor, what: str) -> None:
    """Mail the person (after commit, through Celery): a change they did not make is their alarm."""
    if not user.email:
        return
    user_id, source = user.pk, actor.source_ip or "unknown"

    def send() -> None:
        from approvals.tasks import notify_factor_change

        notify_factor_change.delay(user_id, what, source)

    transaction.on_commit(send)
