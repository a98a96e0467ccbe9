"""A clean Python environment holding only what the offline verifier states it needs (pyHanko and
cryptography, with what they require): a standard-library venv whose site-packages links exactly that
dependency closure from the project's environment — no Django, no project code, no network."""

from __future__ import annotations

import sys
import venv
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from audit.offline_verifier import REQUIREMENTS


def closure(names: tuple[str, ...]) -> list[metadata.Distribution]:
    """The distributions ``names`` need, recursively (extras not asked for are left out)."""
    seen: dict[str, metadata.Distribution] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        dist = metadata.distribution(name)
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return list(seen.values())


def _top_level(dist: metadata.Distribution) -> set[str]:
    return {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}


def clean_python(directory: Path) -> tuple[Path, list[str]]:
    """Make the environment; return its interpreter and the distributions it holds."""
    venv.create(directory, with_pip=False, symlinks=True, clear=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = directory / "lib" / version / "site-packages"
    source = Path(str(metadata.distribution("pyhanko").locate_file("")))
    held = []
    for dist in closure(REQUIREMENTS):
        held.append(f"{dist.metadata['Name']}=={dist.version}")
        for entry in _top_level(dist):
            target = site / entry
            if not target.exists():
                target.symlink_to(source / entry)
    return directory / "bin" / "python", sorted(held)
