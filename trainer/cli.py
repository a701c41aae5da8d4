"""The ``defect-train`` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``defect-train``."""
    args = sys.argv[1:] if argv is None else argv
    del args
    print("defect-train: not built yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
