"""Step-up: WebAuthn credentials (py_webauthn) and the TOTP fallback (pyotp)."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from approvals.errors import StepUpFailed, StepUpRequired
from approvals.models import RegistrationChallenge, TotpDevice, WebAuthnCredential
from audit.actors import Actor
from audit.services import audit_record
from webapp.sealing import seal, unseal

CHALLENGE_SECONDS = 300
TOTP_PURPOSE = "totp"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uv() -> UserVerificationRequirement:
    return (
        UserVerificationRequirement.REQUIRED
        if settings.SEQUESTER_WEBAUTHN_REQUIRE_UV
        else UserVerificationRequirement.PREFERRED
    )


# --- WebAuthn registration ---------------------------------------------------------------------
@transaction.atomic
def webauthn_registration_begin(*, user: Any) -> str:
    """Registration options (JSON for navigator.credentials.create) with a fresh, stored challenge."""
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
            resident_key=ResidentKeyRequirement.DISCOURAGED, user_verification=_uv()
        ),
    )
    RegistrationChallenge.objects.create(
        user=user, challenge=options.challenge, expires_at=timezone.now() + timedelta(seconds=CHALLENGE_SECONDS)
    )
    return options_to_json(options)


@transaction.atomic
def webauthn_registration_finish(
    *, user: Any, credential: dict[str, Any] | str, name: str, actor: Actor
) -> WebAuthnCredential:
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
    audit_record(
        action="stepup.webauthn_registered",
        actor=actor,
        subject_type="user",
        subject_id=user.get_username(),
        data={"credential": b64url(verified.credential_id), "name": stored.name},
    )
    return stored


# --- WebAuthn assertion ------------------------------------------------------------------------
def webauthn_assertion_options(*, user: Any, challenge: bytes) -> str | None:
    """Options for navigator.credentials.get over ``challenge`` (None when the user has no credential)."""
    credentials = list(user.webauthn_credentials.all())
    if not credentials:
        return None
    options = generate_authentication_options(
        rp_id=settings.SEQUESTER_WEBAUTHN_RP_ID,
        challenge=challenge,
        allow_credentials=[PublicKeyCredentialDescriptor(id=bytes(c.credential_id)) for c in credentials],
        user_verification=_uv(),
    )
    return options_to_json(options)


def _assertion_evidence(credential: dict[str, Any] | str) -> dict[str, Any]:
    parsed = parse_authentication_credential_json(credential if isinstance(credential, str) else json.dumps(credential))
    return {
        "method": "webauthn",
        "credential_id": b64url(parsed.raw_id),
        "authenticator_data": b64url(parsed.response.authenticator_data),
        "client_data_json": b64url(parsed.response.client_data_json),
        "signature": b64url(parsed.response.signature),
        "user_handle": b64url(parsed.response.user_handle) if parsed.response.user_handle else None,
    }


def webauthn_verify(
    *, user: Any, credential: dict[str, Any] | str, challenge: bytes
) -> tuple[WebAuthnCredential, dict[str, Any]]:
    """Verify an assertion over ``challenge`` by one of ``user``'s credentials; returns it and the evidence.

    The credential row is locked and its signature counter advanced: a replayed assertion fails."""
    try:
        evidence = _assertion_evidence(credential)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise StepUpFailed(f"the assertion is malformed: {exc}") from None
    stored = (
        WebAuthnCredential.objects.select_for_update()
        .filter(user=user, credential_id=b64url_decode(evidence["credential_id"]))
        .first()
    )
    if stored is None:
        raise StepUpFailed("the assertion names a credential this person has not registered")
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.SEQUESTER_WEBAUTHN_RP_ID,
            expected_origin=settings.SEQUESTER_WEBAUTHN_ORIGINS,
            credential_public_key=bytes(stored.public_key),
            credential_current_sign_count=stored.sign_count,
            require_user_verification=settings.SEQUESTER_WEBAUTHN_REQUIRE_UV,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise StepUpFailed(f"the assertion was not accepted: {exc}") from None
    stored.sign_count = verified.new_sign_count
    stored.last_used_at = timezone.now()
    stored.save(update_fields=["sign_count", "last_used_at"])
    evidence["sign_count"] = verified.new_sign_count
    evidence["user_verified"] = verified.user_verified
    return stored, evidence


# --- TOTP --------------------------------------------------------------------------------------
@transaction.atomic
def totp_setup_begin(*, user: Any) -> tuple[str, str, str]:
    """A new, unconfirmed TOTP secret: returns (secret, otpauth URI, QR code as SVG)."""
    secret = pyotp.random_base32()
    context = str(user.pk).encode()
    TotpDevice.objects.update_or_create(
        user=user,
        defaults={"secret_sealed": seal(TOTP_PURPOSE, secret.encode(), context=context), "confirmed_at": None},
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=settings.SEQUESTER_WEBAUTHN_RP_NAME)
    svg = segno.make(uri, error="m").svg_inline(scale=4)
    return secret, uri, svg


def _totp_step(device: TotpDevice, user: Any, code: str) -> int | None:
    secret = unseal(TOTP_PURPOSE, bytes(device.secret_sealed), context=str(user.pk).encode()).decode()
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // totp.interval
    for step in (now_step - 1, now_step, now_step + 1):
        if step > device.last_used_step and pyotp.utils.strings_equal(totp.generate_otp(step), code.strip()):
            return step
    return None


@transaction.atomic
def totp_setup_confirm(*, user: Any, code: str, actor: Actor) -> TotpDevice:
    device = TotpDevice.objects.select_for_update().filter(user=user).first()
    if device is None:
        raise StepUpRequired("set up TOTP first")
    step = _totp_step(device, user, code)
    if step is None:
        raise StepUpFailed("the code does not match")
    device.confirmed_at = timezone.now()
    device.last_used_step = step
    device.save(update_fields=["confirmed_at", "last_used_step"])
    audit_record(action="stepup.totp_registered", actor=actor, subject_type="user", subject_id=user.get_username())
    return device


def totp_verify(*, user: Any, code: str) -> dict[str, Any]:
    """Check a TOTP code once (a code is never accepted twice); returns the evidence marker."""
    device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise StepUpRequired("no confirmed TOTP device: register an authenticator or set up TOTP")
    step = _totp_step(device, user, code)
    if step is None:
        raise StepUpFailed("the TOTP code does not match or was already used")
    device.last_used_step = step
    device.save(update_fields=["last_used_step"])
    return {"method": "totp", "time_step": step, "verified_at": timezone.now().isoformat()}
