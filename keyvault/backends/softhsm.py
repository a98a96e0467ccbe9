"""A SoftHSM2 token for the PKCS#11 backend: set up by the test fixture and by `runstack --softhsm`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

SOFTHSM_MODULE_PATHS = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


def softhsm_module() -> str | None:
    return next((path for path in SOFTHSM_MODULE_PATHS if Path(path).exists()), None)


def softhsm_token_ensure(directory: Path, *, label: str, pin: str, so_pin: str) -> dict[str, str]:
    """Create (once) a token in ``directory`` and return the environment that points the backend at it."""
    module = softhsm_module()
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        raise FileNotFoundError("SoftHSM2 is not installed (Debian package softhsm2)")
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True, mode=0o700)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {"SOFTHSM2_CONF": str(conf)}
    slots = subprocess.run([util, "--show-slots"], env=env, capture_output=True, text=True, check=True).stdout
    if not re.search(rf"^\s*Label:\s+{re.escape(label)}\s*$", slots, re.MULTILINE):
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return env | {
        "SEQUESTER_PKCS11_MODULE": module,
        "SEQUESTER_PKCS11_TOKEN_LABEL": label,
        "SEQUESTER_PKCS11_PIN": pin,
    }
