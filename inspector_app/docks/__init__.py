"""Dock panels that work on the canvas (shape list, defect navigator): views above the canvas."""
