"""OpenBao / HashiCorp Vault transit: keys stay in transit; Sequester restricts them there.

- Suspended, deactivated or compromised: a deny block for the key's ``encrypt``, ``datakey`` and
  ``rewrap`` paths in the policy every application token carries (``governed_policy``, default
  ``default``). Deny wins over any allow in Vault's ACL, so every token carrying that policy can still
  ``decrypt`` but no longer encrypt. The block is delimited by markers; restore removes exactly it.
- Compromised, in addition: the key is rotated and ``min_encryption_version`` raised above every
  compromised version, so those versions never encrypt again, for any token, even once the block is
  lifted (when the replacement — the rotated version — takes over the key's name).
- Policy edits are check-and-set on the policy's version: a concurrent edit is re-read, never lost.

A key version's material is ``b"<transit key name>#<version>"``.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import urllib3

from keyvault.backends.base import (
    BackendError,
    BackendRefused,
    KeyRestriction,
    NewVersion,
    Restriction,
    VersionRef,
)
from keyvault.backends.managers import (
    ManagerConnector,
    ManagerDenied,
    ManagerKeyUnknown,
    ManagerMisconfigured,
    ManagerUnreachable,
    RemoteKey,
    RemoteVersion,
)

BEGIN, END = "# sequester:deny-begin", "# sequester:deny-end"
_CAS_ATTEMPTS = 8


def material_of(name: str, version: int) -> bytes:
    return f"{name}#{version}".encode()


def parse_material(material: bytes) -> tuple[str, int]:
    name, _, version = bytes(material).decode().rpartition("#")
    if not name or not version.isdigit():
        raise BackendError(f"not a transit key reference: {bytes(material)!r}", permanent=True)
    return name, int(version)


def deny_block(mount: str, name: str) -> str:
    """The exact text added to the governed policy for one key (and removed on restore)."""
    paths = [f"{mount}/encrypt/{name}", f"{mount}/datakey/plaintext/{name}", f"{mount}/datakey/wrapped/{name}"]
    paths.append(f"{mount}/rewrap/{name}")
    body = "".join(f'path "{path}" {{\n  capabilities = ["deny"]\n}}\n' for path in paths)
    return (
        f"{BEGIN} {mount}/{name} (decrypt-only: added by Sequester, removed on restore)\n{body}{END} {mount}/{name}\n"
    )


def _block_pattern(mount: str, name: str) -> re.Pattern[str]:
    tag = re.escape(f"{mount}/{name}")
    return re.compile(rf"\n?{re.escape(BEGIN)} {tag} [^\n]*\n.*?{re.escape(END)} {tag}\n", re.DOTALL)


def _blocks(policy: str, mount: str) -> dict[str, bool]:
    """Every Sequester block in ``policy``: name -> intact (exactly as written by ``deny_block``)."""
    tag = re.escape(mount)
    pattern = re.compile(rf"{re.escape(BEGIN)} {tag}/(\S+) [^\n]*\n.*?{re.escape(END)} {tag}/\1\n", re.DOTALL)
    return {m.group(1): m.group(0) == deny_block(mount, m.group(1)) for m in pattern.finditer(policy)}


def policy_with(policy: str, mount: str, names: Iterable[str]) -> str:
    """``policy`` with an intact deny block for each name (a tampered block is replaced). One pass over
    the policy whatever the number of names (a thousand keys in one edit)."""
    present = _blocks(policy, mount)
    wanted = list(dict.fromkeys(names))
    for name in wanted:
        if present.get(name) is False:
            policy = _block_pattern(mount, name).sub("", policy)
    missing = [name for name in wanted if not present.get(name)]
    if not missing:
        return policy
    return policy.rstrip("\n") + "\n\n" + "".join(deny_block(mount, name) for name in missing)


def policy_without(policy: str, mount: str, names: Iterable[str]) -> str:
    present = _blocks(policy, mount)
    for name in names:
        if name in present:
            policy = _block_pattern(mount, name).sub("", policy)
    return policy


def denied(policy: str, mount: str) -> set[str]:
    """The names whose deny block is intact in ``policy``."""
    return {name for name, intact in _blocks(policy, mount).items() if intact}


class TransitConnector(ManagerConnector):
    def __init__(
        self,
        *,
        manager_name: str,
        url: str,
        token: str,
        mount: str = "transit",
        governed_policy: str = "default",
        namespace: str = "",
        ca_file: str = "",
        timeout: float = 10.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ManagerMisconfigured(f"the transit URL must start with http:// or https://, not {url!r}")
        self.manager_name = manager_name
        self._url = url.rstrip("/")
        self._token = token
        self.mount = mount.strip("/") or "transit"
        self.policy = governed_policy or "default"
        self._headers = {"X-Vault-Token": token, "Content-Type": "application/json"}
        if namespace:
            self._headers["X-Vault-Namespace"] = namespace
        self._http = urllib3.PoolManager(
            maxsize=8,
            timeout=urllib3.Timeout(connect=min(timeout, 3.0), read=timeout),
            retries=False,
            ca_certs=ca_file or None,
        )
        self._policy_lock = threading.Lock()

    # --- HTTP ------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, *, key: str = "") -> dict[str, Any]:
        try:
            response = self._http.request(
                method,
                f"{self._url}/v1/{path}",
                body=json.dumps(body).encode() if body is not None else None,
                headers=self._headers,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ManagerUnreachable(f"{self.manager_name}: cannot reach {self._url} ({type(exc).__name__})") from None
        status, raw = response.status, response.data
        try:
            payload: dict[str, Any] = json.loads(raw) if raw else {}
        except ValueError:
            payload = {}
        if status < 400:
            return payload
        errors = "; ".join(str(e).strip() for e in payload.get("errors", [])) or f"HTTP {status}"
        if status in (401, 403):
            raise ManagerDenied(f"{self.manager_name}: {method} {path} refused ({errors})")
        if status == 404 and key:
            raise ManagerKeyUnknown(f"{self.manager_name}: no transit key {key!r} under {self.mount}/")
        if status in (429, 500, 502, 503, 504):
            raise ManagerUnreachable(f"{self.manager_name}: {method} {path} answered {status} ({errors})")
        raise BackendError(f"{self.manager_name}: {method} {path} answered {status} ({errors})", permanent=True)

    def _key(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", f"{self.mount}/keys/{name}", key=name)["data"]
        return data

    def _read_policy(self) -> tuple[str, int | None]:
        data = self._call("GET", f"sys/policies/acl/{self.policy}")["data"]
        version = data.get("version")
        return str(data.get("policy", "")), int(version) if isinstance(version, int) else None

    def _edit_policy(self, edit: Any) -> None:
        """Read, edit, write with check-and-set; a concurrent writer makes us re-read and re-apply."""
        with self._policy_lock:
            for _ in range(_CAS_ATTEMPTS):
                text, version = self._read_policy()
                changed = edit(text)
                if changed == text:
                    return
                body: dict[str, Any] = {"policy": changed}
                if version is not None:
                    body["cas"] = version
                try:
                    self._call("PUT", f"sys/policies/acl/{self.policy}", body)
                    return
                except BackendError as exc:
                    if "check-and-set" not in str(exc):
                        raise
            raise ManagerUnreachable(f"{self.manager_name}: policy {self.policy!r} kept changing under us; retrying")

    @staticmethod
    def _names(keys: Sequence[KeyRestriction]) -> list[str]:
        return list(dict.fromkeys(parse_material(ref.material)[0] for key in keys for ref in key.versions))

    # --- connector -------------------------------------------------------------------------------
    def ident_of(self, material: bytes) -> str:
        return parse_material(material)[0]

    def test_connection(self) -> str:
        health = self._call("GET", "sys/health")
        self._call("GET", "auth/token/lookup-self")
        policy_path, keys_path = f"sys/policies/acl/{self.policy}", f"{self.mount}/keys"
        caps = self._call("POST", "sys/capabilities-self", {"paths": [policy_path, keys_path]})
        missing = []
        for path, needed in ((policy_path, {"read", "update"}), (keys_path, {"list"})):
            granted = set(caps.get(path, caps.get("data", {}).get(path, [])))
            if "root" not in granted and not needed <= granted:
                missing.append(f"{path}: {', '.join(sorted(needed - granted))}")
        if missing:
            raise ManagerDenied(f"{self.manager_name}: the token lacks {'; '.join(missing)}")
        with contextlib.suppress(ManagerKeyUnknown):  # no key in this mount yet: transit answers 404
            self._call("LIST", keys_path, key="*")
        return f"{health.get('version', '?')} at {self._url}, transit at {self.mount}/, policy {self.policy!r}"

    def list_keys(self) -> list[RemoteKey]:
        try:
            names = self._call("LIST", f"{self.mount}/keys", key="*")["data"]["keys"]
        except ManagerKeyUnknown:
            return []  # no key yet: transit answers 404 to LIST
        policy, _ = self._read_policy()
        intact = denied(policy, self.mount)
        found = []
        for name in names:
            data = self._key(name)
            if not data.get("supports_encryption"):
                continue
            latest = int(data["latest_version"])
            min_decrypt = max(int(data.get("min_decryption_version") or 1), 1)
            min_encrypt = int(data.get("min_encryption_version") or 0)
            versions = [RemoteVersion(v, material_of(name, v)) for v in range(min_decrypt, latest + 1)]
            state = "suspended" if name in intact else ("deactivated" if min_encrypt > latest else "active")
            detail = {"type": data.get("type"), "latest_version": latest, "min_encryption_version": min_encrypt}
            found.append(RemoteKey(ident=name, name=name, versions=versions, state=state, detail=detail))
        return found

    def _require(self, names: Iterable[str]) -> None:
        """Every name must exist in the mount (one LIST for any number of keys)."""
        try:
            existing = set(self._call("LIST", f"{self.mount}/keys", key="*")["data"]["keys"])
        except ManagerKeyUnknown:
            existing = set()
        missing = [name for name in names if name not in existing]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise ManagerKeyUnknown(f"{self.manager_name}: no transit key {shown} under {self.mount}/")

    def restrict_keys(self, keys: Sequence[KeyRestriction]) -> list[list[bytes]]:
        self._require(self._names(keys))
        for key in keys:
            if key.compromised and key.versions:
                self._retire_versions(key)
        names = self._names(keys)
        self._edit_policy(lambda text: policy_with(text, self.mount, names))
        return [[bytes(ref.material) for ref in key.versions] for key in keys]

    def _retire_versions(self, key: KeyRestriction) -> None:
        """Rotate past the key's newest version and raise min_encryption_version above it."""
        name = parse_material(key.versions[0].material)[0]
        newest = max(parse_material(ref.material)[1] for ref in key.versions)
        data = self._key(name)
        if int(data["latest_version"]) <= newest:
            self._call("POST", f"{self.mount}/keys/{name}/rotate", {}, key=name)
        if int(data.get("min_encryption_version") or 0) <= newest:
            self._call("POST", f"{self.mount}/keys/{name}/config", {"min_encryption_version": newest + 1}, key=name)

    def restrict_to_decrypt(self, ref: VersionRef) -> bytes:
        return self.restrict_keys([KeyRestriction(ref.key_id, [ref])])[0][0]

    def verify_keys(self, keys: Sequence[KeyRestriction]) -> list[list[Restriction]]:
        self._require(self._names(keys))
        policy, _ = self._read_policy()
        intact = denied(policy, self.mount)
        results = []
        cache: dict[str, dict[str, Any]] = {}
        for key in keys:
            checks = []
            for ref in key.versions:
                name, version = parse_material(ref.material)
                blocked = name in intact
                if blocked and not key.compromised:
                    # The deny block alone makes it decrypt-only: no need to read the key (1,000 keys, 1 read).
                    detail = f"deny block in policy {self.policy!r}: present"
                    checks.append(Restriction(encrypt_allowed=False, wrap_allowed=False, detail=detail))
                    continue
                data = cache.get(name) or cache.setdefault(name, self._key(name))
                min_encrypt = int(data.get("min_encryption_version") or 0)
                retired = version < min_encrypt
                allowed = not (blocked or retired)
                detail = (
                    f"deny block in policy {self.policy!r}: {'present' if blocked else 'absent'}; "
                    f"min_encryption_version={min_encrypt} (v{version} {'retired' if retired else 'not retired'})"
                )
                checks.append(Restriction(encrypt_allowed=allowed, wrap_allowed=allowed, detail=detail))
            results.append(checks)
        return results

    def verify_restriction(self, ref: VersionRef) -> Restriction:
        return self.verify_keys([KeyRestriction(ref.key_id, [ref])])[0][0]

    def allow_keys(self, keys: Sequence[KeyRestriction]) -> list[list[bytes]]:
        names = self._names(keys)
        for name in names:
            self._key(name)  # an unknown key is an error, not a silent no-op
        self._edit_policy(lambda text: policy_without(text, self.mount, names))
        return [[bytes(ref.material) for ref in key.versions] for key in keys]

    def allow_encrypt(self, ref: VersionRef) -> bytes:
        return self.allow_keys([KeyRestriction(ref.key_id, [ref])])[0][0]

    def destroy(self, ref: VersionRef) -> None:
        """Destroy one version: trim it (and older ones) away, or delete the key when it is the newest."""
        name, version = parse_material(ref.material)
        try:
            data = self._key(name)
        except ManagerKeyUnknown:
            return  # already gone
        if version >= int(data["latest_version"]):
            self._call("POST", f"{self.mount}/keys/{name}/config", {"deletion_allowed": True}, key=name)
            self._call("DELETE", f"{self.mount}/keys/{name}", key=name)
            self._edit_policy(lambda text: policy_without(text, self.mount, [name]))
            return
        floor = version + 1
        config = {
            "min_decryption_version": max(int(data.get("min_decryption_version") or 1), floor),
            "min_encryption_version": max(int(data.get("min_encryption_version") or 0), floor),
        }
        self._call("POST", f"{self.mount}/keys/{name}/config", config, key=name)
        if int(data.get("min_available_version") or 0) < floor:
            self._call("POST", f"{self.mount}/keys/{name}/trim", {"min_available_version": floor}, key=name)

    def successor(self, ref: VersionRef, *, key_id: uuid.UUID) -> NewVersion:
        """The rotated version takes over the key's name: the versions before it are retired
        (min_encryption_version), then the deny block is lifted so that applications encrypt with it."""
        name, version = parse_material(ref.material)
        data = self._key(name)
        if int(data["latest_version"]) <= version:
            self._call("POST", f"{self.mount}/keys/{name}/rotate", {}, key=name)
            data = self._key(name)
        latest = int(data["latest_version"])
        if int(data.get("min_encryption_version") or 0) < latest:
            self._call("POST", f"{self.mount}/keys/{name}/config", {"min_encryption_version": latest}, key=name)
        self._edit_policy(lambda text: policy_without(text, self.mount, [name]))
        return NewVersion(material=material_of(name, latest), fingerprint="")

    def rewrap(self, source: VersionRef, target: VersionRef, ciphertexts: Sequence[bytes]) -> list[bytes]:
        """Transit's own ``rewrap``: each ciphertext moves to the target version inside OpenBao/Vault."""
        name, _ = parse_material(source.material)
        target_name, target_version = parse_material(target.material)
        if target_name != name:
            raise BackendRefused(f"transit rewraps within one key only ({name} -> {target_name})")
        if not ciphertexts:
            return []
        batch = [{"ciphertext": bytes(c).decode()} for c in ciphertexts]
        body: dict[str, Any] = {"batch_input": batch, "key_version": target_version}
        results = self._call("POST", f"{self.mount}/rewrap/{name}", body, key=name)["data"]["batch_results"]
        out = []
        for result in results:
            if result.get("error"):
                raise BackendError(f"{self.manager_name}: rewrap refused an item ({result['error']})", permanent=True)
            out.append(str(result["ciphertext"]).encode())
        return out
