"""Reusable Qt widgets of the station (dialogs, panels)."""
