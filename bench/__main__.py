"""``python -m bench [name …]``: run every benchmark package under bench/ (or the named ones)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    root = Path(__file__).parent
    return sorted(info.name for info in pkgutil.iter_modules([str(root)]) if info.ispkg)


def main(argv: list[str]) -> int:
    names = argv or available()
    if not names:
        print("no benchmark packages under bench/ yet")
        return 0
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
        return 2
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== bench/{name}")
        failed += int(module.main() != 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
