"""The project's model registry: promoted models under ``.inspector/models/``, with lineage.

``.inspector/models/<model_id>/`` holds a promoted run's ``model.onnx``, ``model.json`` (card)
and ``best.pt`` (the checkpoint a later fine-tune starts from); ``registry.json`` lists them
(``models``: id -> entry) and the promotion history (``history``: ids, the last is current).

* :meth:`ModelRegistry.promote` copies a finished run's files in (into a temporary folder renamed
  into place, so a crash leaves no half model) and makes it current.
* :meth:`ModelRegistry.rollback` makes the previously promoted model current again; no model is
  ever deleted. Rolling back past the first promotion leaves no current model: the station goes
  back to the model it used before (its own settings).

Pure file operations; ``registry.json`` is written atomically (:mod:`inspector_app.core.fileio`)
and a corrupt one raises :class:`RegistryError` instead of being overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspector_app.core.fileio import atomic_write_text
from inspector_app.services.training.runs import RunSummary

MODELS_DIR = Path(".inspector") / "models"
REGISTRY_FILE = "registry.json"
MODEL_FILES = ("model.onnx", "model.json", "best.pt")


class RegistryError(RuntimeError):
    """A promotion or rollback cannot be done (the message says why)."""


@dataclass(frozen=True)
class ModelEntry:
    """One promoted model."""

    model_id: str
    folder: Path
    run_id: str
    parent: str | None
    name: str
    promoted: str
    best_metric: float | None

    @property
    def onnx_path(self) -> Path:
        """The model the station loads."""
        return self.folder / "model.onnx"

    @property
    def checkpoint_path(self) -> Path | None:
        """The checkpoint to fine-tune from (None if the run had none)."""
        path = self.folder / "best.pt"
        return path if path.is_file() else None


class ModelRegistry:
    """The registry of one project folder."""

    def __init__(self, project_root: str | os.PathLike[str]) -> None:
        self.folder = Path(project_root) / MODELS_DIR
        self.file = self.folder / REGISTRY_FILE

    def _read(self) -> dict[str, Any]:
        if not self.file.is_file():
            return {"models": {}, "history": []}
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            if not isinstance(data.get("models"), dict) or not isinstance(data.get("history"), list):
                raise ValueError("missing 'models' or 'history'")
            return data
        except (OSError, ValueError, AttributeError) as exc:
            raise RegistryError(
                f"{self.file}: cannot read the model registry ({exc}); fix or move it"
            ) from None

    def _write(self, data: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.file, json.dumps(data, indent=1) + "\n")

    def _entry(self, model_id: str, raw: dict[str, Any]) -> ModelEntry:
        return ModelEntry(
            model_id,
            self.folder / model_id,
            str(raw.get("run_id", "")),
            raw.get("parent"),
            str(raw.get("name", model_id)),
            str(raw.get("promoted", "")),
            raw.get("best_metric"),
        )

    def entries(self) -> tuple[ModelEntry, ...]:
        """Every kept model, in promotion order of first promotion."""
        data = self._read()
        return tuple(self._entry(k, v) for k, v in data["models"].items())

    def history(self) -> tuple[str, ...]:
        """Model ids in promotion order (the last one is current)."""
        return tuple(str(i) for i in self._read()["history"])

    def current(self) -> ModelEntry | None:
        """The current model, None before any promotion (or after rolling back past the first)."""
        data = self._read()
        if not data["history"]:
            return None
        model_id = str(data["history"][-1])
        return self._entry(model_id, data["models"][model_id])

    def promote(self, run: RunSummary) -> ModelEntry:
        """Make ``run``'s exported model current (see the module docstring)."""
        if run.status != "ok":
            raise RegistryError(
                f"run {run.run_id} did not finish successfully ({run.status}): nothing to promote"
            )
        onnx = run.model_path or run.run_dir / "model.onnx"
        card_path = run.card_path or run.run_dir / "model.json"
        if not onnx.is_file() or not card_path.is_file():
            raise RegistryError(f"run {run.run_id} has no exported model ({onnx.name} + {card_path.name})")
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
            model_id = str(card["model_id"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RegistryError(f"{card_path}: unreadable model card ({exc})") from None
        data = self._read()
        target = self.folder / model_id
        if not target.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{model_id}.", dir=self.folder))
            try:
                shutil.copy2(onnx, staging / "model.onnx")
                shutil.copy2(card_path, staging / "model.json")
                if (run.run_dir / "best.pt").is_file():
                    shutil.copy2(run.run_dir / "best.pt", staging / "best.pt")
                os.replace(staging, target)
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        data["models"].setdefault(
            model_id,
            {
                "run_id": run.run_id,
                "parent": card.get("parent") or run.parent_model_id,
                "name": card.get("name", model_id),
                "promoted": datetime.now(UTC).isoformat(timespec="seconds"),
                "best_metric": run.best_metric,
            },
        )
        if not data["history"] or data["history"][-1] != model_id:
            data["history"].append(model_id)
        self._write(data)
        return self._entry(model_id, data["models"][model_id])

    def rollback(self) -> ModelEntry | None:
        """Make the previously promoted model current; returns it (None: the pre-registry model).

        Raises :class:`RegistryError` when nothing was promoted.
        """
        data = self._read()
        if not data["history"]:
            raise RegistryError("no promoted model to roll back")
        data["history"].pop()
        self._write(data)
        if not data["history"]:
            return None
        model_id = str(data["history"][-1])
        return self._entry(model_id, data["models"][model_id])

    def lineage(self, model_id: str) -> tuple[str, ...]:
        """``model_id`` and its ancestors known to the registry, child first."""
        models = self._read()["models"]
        chain = [model_id]
        while (parent := (models.get(chain[-1]) or {}).get("parent")) and parent not in chain:
            chain.append(str(parent))
        return tuple(chain)
