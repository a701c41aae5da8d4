#!/usr/bin/env bash
# Builds a one-folder desktop bundle with PyInstaller and installs the desktop entry on Linux.
# Usage: installer/build.sh [--install-desktop-entry]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q "pyinstaller>=6.5" .
pyinstaller --noconfirm --clean installer/defect_inspector.spec
echo "bundle: dist/defect-inspector/defect-inspector" >&2
if [ "${1:-}" = "--install-desktop-entry" ]; then
  dest="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
  mkdir -p "$dest"
  sed "s|^Exec=.*|Exec=$PWD/dist/defect-inspector/defect-inspector %F|" installer/defect-inspector.desktop \
    > "$dest/defect-inspector.desktop"
  echo "desktop entry: $dest/defect-inspector.desktop" >&2
fi
