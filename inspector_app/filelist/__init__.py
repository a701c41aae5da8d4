"""File list: the Qt model, scanner thread and view. Entries and listing rules are Qt-free and
live in :mod:`inspector_app.services.file_entries`."""
