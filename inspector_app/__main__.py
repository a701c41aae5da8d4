"""Entry point of the ``defect-inspector`` command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the desktop station (not built yet: prints a notice)."""
    args = sys.argv[1:] if argv is None else argv
    del args
    print("Defect Inspector: GUI not built yet", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
