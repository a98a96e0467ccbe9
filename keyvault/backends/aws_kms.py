"""AWS KMS: keys stay in KMS; Sequester restricts them with their key policy.

- Suspended, deactivated or compromised: two statements are added to the key policy —
  ``SequesterDecryptOnly`` denies ``kms:Encrypt``, ``kms:GenerateDataKey*`` and ``kms:ReEncryptTo`` to
  every principal; ``SequesterReEncryptFromNamedRoles`` denies ``kms:ReEncryptFrom`` to every principal
  but the named decrypt roles (moving data *off* the key is a decrypt). ``kms:Decrypt`` is not touched:
  the roles that had it keep it. Restore removes exactly these two statements.
- Replacement: a new key with the old key's policy (less Sequester's statements), and every alias of
  the old key moved to it. Rewrap: ``ReEncrypt`` from the old key to the new one, inside KMS.

A key version's material is the key's ARN (KMS rotates key material behind one key id itself).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from keyvault.backends.base import BackendError, BackendRefused, NewVersion, Restriction, VersionRef
from keyvault.backends.managers import (
    ManagerConnector,
    ManagerDenied,
    ManagerKeyUnknown,
    ManagerMisconfigured,
    ManagerUnreachable,
    RemoteKey,
    RemoteVersion,
)

DENY_SID = "SequesterDecryptOnly"
REENCRYPT_SID = "SequesterReEncryptFromNamedRoles"
SIDS = (DENY_SID, REENCRYPT_SID)
_DENIED_CODES = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "IncompleteSignature",
}
_STATES = {"Enabled": "active", "Disabled": "deactivated", "PendingImport": "pre_active", "Unavailable": "active"}


def statements(decrypt_roles: Sequence[str]) -> list[dict[str, Any]]:
    """The exact statements added to a key policy (and removed on restore)."""
    reencrypt_from: dict[str, Any] = {
        "Sid": REENCRYPT_SID,
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "kms:ReEncryptFrom",
        "Resource": "*",
    }
    if decrypt_roles:
        reencrypt_from["Condition"] = {"ArnNotEquals": {"aws:PrincipalArn": sorted(decrypt_roles)}}
    return [
        {
            "Sid": DENY_SID,
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncryptTo"],
            "Resource": "*",
        },
        reencrypt_from,
    ]


def policy_with(policy: dict[str, Any], decrypt_roles: Sequence[str]) -> dict[str, Any]:
    kept = [s for s in _statements_of(policy) if s.get("Sid") not in SIDS]
    return {**policy, "Statement": kept + statements(decrypt_roles)}


def policy_without(policy: dict[str, Any]) -> dict[str, Any]:
    return {**policy, "Statement": [s for s in _statements_of(policy) if s.get("Sid") not in SIDS]}


def _statements_of(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


class KmsConnector(ManagerConnector):
    def __init__(
        self,
        *,
        manager_name: str,
        region: str,
        endpoint_url: str = "",
        credentials: dict[str, str] | None = None,
        decrypt_roles: Sequence[str] = (),
        deletion_window_days: int = 30,
    ) -> None:
        import boto3
        from botocore.config import Config

        if not region:
            raise ManagerMisconfigured(f"{manager_name}: an AWS region is required (--region)")
        if not 7 <= deletion_window_days <= 30:
            raise ManagerMisconfigured("deletion_window_days must be between 7 and 30 (KMS's limits)")
        self.manager_name = manager_name
        self.decrypt_roles = list(decrypt_roles)
        self.deletion_window_days = deletion_window_days
        secret = credentials or {}
        session = boto3.session.Session(
            aws_access_key_id=secret.get("access_key_id") or None,
            aws_secret_access_key=secret.get("secret_access_key") or None,
            aws_session_token=secret.get("session_token") or None,
            region_name=region,
        )
        self._kms = session.client(
            "kms",
            endpoint_url=endpoint_url or None,
            config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"}),
        )

    @contextmanager
    def _errors(self, what: str, key: str = "") -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = f"{self.manager_name}: {what}: {code} {exc.response.get('Error', {}).get('Message', '')}"
            if code in _DENIED_CODES:
                raise ManagerDenied(message) from None
            if code == "NotFoundException":
                raise ManagerKeyUnknown(f"{self.manager_name}: no KMS key {key!r}") from None
            if code in ("KMSInvalidStateException", "DisabledException"):
                raise BackendRefused(message) from None
            if code in ("ThrottlingException", "KMSInternalException", "DependencyTimeoutException"):
                raise ManagerUnreachable(message) from None
            raise BackendError(message, permanent=True) from None
        except NoCredentialsError:
            raise ManagerDenied(f"{self.manager_name}: no AWS credentials") from None
        except EndpointConnectionError:
            raise ManagerUnreachable(f"{self.manager_name}: cannot reach KMS") from None
        except BotoCoreError as exc:
            raise ManagerUnreachable(f"{self.manager_name}: {what}: {type(exc).__name__}") from None

    def _policy(self, arn: str) -> dict[str, Any]:
        with self._errors("GetKeyPolicy", arn):
            raw = self._kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"]
        policy: dict[str, Any] = json.loads(raw)
        return policy

    def _put_policy(self, arn: str, policy: dict[str, Any]) -> None:
        with self._errors("PutKeyPolicy", arn):
            self._kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps(policy))

    # --- connector -------------------------------------------------------------------------------
    def ident_of(self, material: bytes) -> str:
        return bytes(material).decode().rsplit("/", 1)[-1]

    def test_connection(self) -> str:
        with self._errors("ListKeys"):
            self._kms.list_keys(Limit=1)
        with self._errors("ListAliases"):
            self._kms.list_aliases(Limit=1)
        return f"AWS KMS in {self._kms.meta.region_name} at {self._kms.meta.endpoint_url}"

    def list_keys(self) -> list[RemoteKey]:
        aliases: dict[str, list[str]] = {}
        with self._errors("ListAliases"):
            for page in self._kms.get_paginator("list_aliases").paginate():
                for alias in page["Aliases"]:
                    if alias.get("TargetKeyId"):
                        aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
        found = []
        with self._errors("ListKeys"):
            pages = list(self._kms.get_paginator("list_keys").paginate())
        for page in pages:
            for entry in page["Keys"]:
                with self._errors("DescribeKey", entry["KeyId"]):
                    meta = self._kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
                if meta.get("KeyManager") == "AWS" or meta.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
                    continue
                if meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
                    continue
                if meta.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
                    continue
                names = sorted(aliases.get(meta["KeyId"], []))
                state = _STATES.get(meta.get("KeyState", ""), "active")
                if state == "active" and self._has_deny(self._policy(meta["Arn"])):
                    state = "suspended"
                found.append(
                    RemoteKey(
                        ident=meta["KeyId"],
                        name=names[0].removeprefix("alias/") if names else meta["KeyId"],
                        versions=[RemoteVersion(1, meta["Arn"].encode())],
                        state=state,
                        detail={"arn": meta["Arn"], "aliases": names, "key_state": meta.get("KeyState")},
                    )
                )
        return found

    def _has_deny(self, policy: dict[str, Any]) -> bool:
        present = [s for s in _statements_of(policy) if s.get("Sid") in SIDS]
        return sorted(present, key=lambda s: str(s["Sid"])) == sorted(
            statements(self.decrypt_roles), key=lambda s: str(s["Sid"])
        )

    def restrict_to_decrypt(self, ref: VersionRef) -> bytes:
        arn = bytes(ref.material).decode()
        policy = self._policy(arn)
        if not self._has_deny(policy):
            self._put_policy(arn, policy_with(policy, self.decrypt_roles))
        return bytes(ref.material)

    def verify_restriction(self, ref: VersionRef) -> Restriction:
        arn = bytes(ref.material).decode()
        denied = self._has_deny(self._policy(arn))
        detail = f"key policy statements {', '.join(SIDS)}: {'present' if denied else 'absent or altered'}"
        return Restriction(encrypt_allowed=not denied, wrap_allowed=not denied, detail=detail)

    def allow_encrypt(self, ref: VersionRef) -> bytes:
        arn = bytes(ref.material).decode()
        policy = self._policy(arn)
        if any(s.get("Sid") in SIDS for s in _statements_of(policy)):
            self._put_policy(arn, policy_without(policy))
        return bytes(ref.material)

    def destroy(self, ref: VersionRef) -> None:
        arn = bytes(ref.material).decode()
        with self._errors("ScheduleKeyDeletion", arn):
            meta = self._kms.describe_key(KeyId=arn)["KeyMetadata"]
            if meta.get("KeyState") != "PendingDeletion":
                self._kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=self.deletion_window_days)

    def successor(self, ref: VersionRef, *, key_id: uuid.UUID) -> NewVersion:
        old = bytes(ref.material).decode()
        with self._errors("DescribeKey", old):
            meta = self._kms.describe_key(KeyId=old)["KeyMetadata"]
        policy = policy_without(self._policy(old))
        with self._errors("CreateKey"):
            created = self._kms.create_key(
                Description=f"Sequester replacement of {meta['KeyId']} ({key_id})"[:8192],
                KeyUsage="ENCRYPT_DECRYPT",
                KeySpec="SYMMETRIC_DEFAULT",
                Policy=json.dumps(policy),
                Tags=[{"TagKey": "sequester:replaces", "TagValue": meta["KeyId"]}],
            )["KeyMetadata"]
        with self._errors("ListAliases", old):
            aliases = self._kms.list_aliases(KeyId=meta["KeyId"])["Aliases"]
        for alias in aliases:
            with self._errors("UpdateAlias", alias["AliasName"]):
                self._kms.update_alias(AliasName=alias["AliasName"], TargetKeyId=created["KeyId"])
        return NewVersion(material=str(created["Arn"]).encode(), fingerprint="")

    def rewrap(self, source: VersionRef, target: VersionRef, ciphertexts: Sequence[bytes]) -> list[bytes]:
        source_arn, target_arn = bytes(source.material).decode(), bytes(target.material).decode()
        out = []
        for blob in ciphertexts:
            with self._errors("ReEncrypt", source_arn):
                answer = self._kms.re_encrypt(
                    CiphertextBlob=bytes(blob), SourceKeyId=source_arn, DestinationKeyId=target_arn
                )
            out.append(bytes(answer["CiphertextBlob"]))
        return out
