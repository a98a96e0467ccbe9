"""A real RFC 3161 time-stamping authority for tests: OpenSSL's ``ts -reply`` behind a small HTTP front
(``python tests/tsa.py DIR PORT``), with a CA and a TSA certificate made here. Nothing inside the signer
is stubbed: pyHanko sends a TimeStampReq over HTTP and gets OpenSSL's signed reply."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIG = """
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1.1
other_policies = 1.3.6.1.4.1.55555.1.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass(frozen=True, slots=True)
class TimeStampingAuthority:
    url: str
    ca_certificate: Path  # the trust anchor an auditor is given (--tsa-certificate)
    tsa_certificate: Path
    directory: Path


def make_tsa_files(directory: Path, common_name: str = "Sequester test TSA") -> None:
    """A CA and, issued by it, a TSA certificate (extended key usage timeStamping, critical)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name} root")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "tsa.pem").write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    (directory / "tsa.key").write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (directory / "serial").write_text("01\n")
    (directory / "openssl.cnf").write_text(CONFIG.format(dir=directory))


def _handler(directory: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with tempfile.TemporaryDirectory(dir=directory) as work:
                request, reply = Path(work) / "request.tsq", Path(work) / "reply.tsr"
                request.write_bytes(query)
                result = subprocess.run(
                    [
                        "openssl",
                        "ts",
                        "-reply",
                        "-config",
                        str(directory / "openssl.cnf"),
                        "-queryfile",
                        str(request),
                        "-out",
                        str(reply),
                    ],
                    capture_output=True,
                    timeout=30,
                )
                if result.returncode != 0:
                    self.send_error(500, result.stderr.decode(errors="replace")[:200])
                    return
                body = reply.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def time_stamping_authority(directory: Path) -> Iterator[TimeStampingAuthority]:
    """Start the TSA in its own process on a free port; stop it on exit."""
    from tests.servers import free_port, stop, wait_until

    make_tsa_files(directory)
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, str(directory), str(port)])
    url = f"http://127.0.0.1:{port}/"

    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except (urllib.error.URLError, OSError):
            return False

    try:
        wait_until(ready, timeout=20, what="the test TSA", process=process)
        yield TimeStampingAuthority(url, directory / "ca.pem", directory / "tsa.pem", directory)
    finally:
        stop(process)


if __name__ == "__main__":
    where, port_text = Path(sys.argv[1]), sys.argv[2]
    ThreadingHTTPServer(("127.0.0.1", int(port_text)), _handler(where)).serve_forever()
