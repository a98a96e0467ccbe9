"""Step-up: verifying a WebAuthn assertion (py_webauthn) or a TOTP code (pyotp). Enrolling, replacing
and recovering factors is in approvals.services.factors."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pyotp
from django.conf import settings
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    options_to_json,
    verify_authentication_response,
)
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    PublicKeyCredentialDescriptor,
    UserVerificationRequirement,
)

from approvals.errors import StepUpFailed, StepUpRequired
from approvals.models import TotpDevice, WebAuthnCredential
from webapp.sealing import unseal

CHALLENGE_SECONDS = 300
TOTP_PURPOSE = "totp"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def user_verification() -> UserVerificationRequirement:
    return (
        UserVerificationRequirement.REQUIRED
        if settings.SEQUESTER_WEBAUTHN_REQUIRE_UV
        else UserVerificationRequirement.PREFERRED
    )


# --- WebAuthn assertion ------------------------------------------------------------------------
def webauthn_assertion_options(*, user: Any, challenge: bytes) -> str | None:
    """Options for navigator.credentials.get over ``challenge`` (None when the user has no credential)."""
    credentials = list(user.webauthn_credentials.filter(revoked_at__isnull=True))
    if not credentials:
        return None
    options = generate_authentication_options(
        rp_id=settings.SEQUESTER_WEBAUTHN_RP_ID,
        challenge=challenge,
        allow_credentials=[PublicKeyCredentialDescriptor(id=bytes(c.credential_id)) for c in credentials],
        user_verification=user_verification(),
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
        .filter(user=user, credential_id=b64url_decode(evidence["credential_id"]), revoked_at__isnull=True)
        .first()
    )
    if stored is None:
        raise StepUpFailed("the assertion names a credential this person has not registered (or that was revoked)")
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
def totp_step(secret: str, code: str, *, after: int) -> int | None:
    """The time step whose code ``code`` is (this one or a neighbour), if it is later than ``after``."""
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // totp.interval
    for step in (now_step - 1, now_step, now_step + 1):
        if step > after and pyotp.utils.strings_equal(totp.generate_otp(step), code.strip()):
            return step
    return None


def totp_secret(device: TotpDevice, user: Any) -> str:
    return unseal(TOTP_PURPOSE, bytes(device.secret_sealed), context=str(user.pk).encode()).decode()


def totp_verify(*, user: Any, code: str) -> dict[str, Any]:
    """Check a TOTP code once (a code is never accepted twice); returns the evidence marker."""
    device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise StepUpRequired("no confirmed TOTP device: register an authenticator or set up TOTP")
    step = totp_step(totp_secret(device, user), code, after=device.last_used_step)
    if step is None:
        raise StepUpFailed("the TOTP code does not match or was already used")
    device.last_used_step = step
    device.save(update_fields=["last_used_step"])
    return {"method": "totp", "time_step": step, "verified_at": timezone.now().isoformat()}
