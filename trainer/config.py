"""Training configuration: one flat dataclass, settable from YAML and from the command line.

Every field of :class:`TrainConfig` is a key of ``run.yaml`` / ``run_dir/config.yaml`` and a
``--dashed-name`` option of ``defect-train train`` (the parser is generated from the fields, so the
two can never drift apart). Precedence: built-in defaults < ``--config`` YAML < command line.
On ``--resume`` the run folder's saved ``config.yaml`` takes the place of ``--config``.

Values are validated once, in :func:`validate`, which raises :class:`ConfigError` (exit code 2)
with a message naming the key; nothing downstream has to re-check them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.resources
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from inspector_app.core.fileio import atomic_write_text


class ConfigError(ValueError):
    """A bad configuration value or file; the message names the key (exit code 2)."""


def _size(value: Any) -> tuple[int, int] | None:
    """``"480x640"``, ``"480,640"``, ``[480, 640]`` or ``512`` (square) -> ``(H, W)``; None stays None."""
    if value is None or value == "none":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, str):
        parts = value.lower().replace("x", ",").split(",")
        try:
            ints = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"{value!r} is not a size like 480x640") from None
    elif isinstance(value, Sequence):
        ints = [int(v) for v in value]
    else:
        raise ValueError(f"{value!r} is not a size like 480x640")
    if len(ints) == 1:
        ints = ints * 2
    if len(ints) != 2:
        raise ValueError(f"{value!r} is not a size like 480x640")
    return (ints[0], ints[1])


def _floats(value: Any) -> list[float] | None:
    """``"0.1,0.2"``, ``[0.1, 0.2]`` or ``0.1`` -> list of floats; None stays None."""
    if value is None or value == "none":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, str):
        return [float(p) for p in value.split(",") if p.strip()]
    if isinstance(value, Sequence):
        return [float(v) for v in value]
    raise ValueError(f"{value!r} is not a list of numbers")


def _weights(value: Any) -> list[float] | str | None:
    """Class weights: a list of numbers, ``"auto"`` (median frequency balancing) or None."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    return _floats(value)


def _options(value: Any) -> dict[str, Any]:
    """Model options: a mapping, or JSON text (``'{"width": 2}'``) on the command line."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a JSON object") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"{value!r} is not a mapping")
    return {str(k): v for k, v in value.items()}


def _optional_bool(value: Any) -> bool | None:
    """``true``/``false``/``auto`` (None = decided at run time)."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("auto", "none", ""):
        return None
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not true, false or auto")


def _threads(value: Any) -> int | str | None:
    """CPU threads: a count, ``auto`` (follow the machine's load) or None (torch's default)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{value!r} is not a thread count or 'auto'")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a thread count or 'auto'") from None


def _meta(help: str, *, parse: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Field metadata: command-line help and the value parser (None: by the field's type)."""
    return {"help": help, "parse": parse}


@dataclass
class TrainConfig:
    """All options of one training run (field name = YAML key = ``--dashed-name`` option)."""

    # --- what to train on, where to write -----------------------------------------------------
    data: str = field(
        default="", metadata=_meta("dataset folder (images + LabelMe JSON, or images/ + masks/)")
    )
    run_dir: str = field(
        default="",
        metadata=_meta("run folder: checkpoints, config.yaml, events.jsonl, train.log, split.json"),
    )
    model: str = field(
        default="", metadata=_meta("network name from the registry (see `defect-train models`)")
    )
    model_options: dict[str, Any] = field(
        default_factory=dict,
        metadata=_meta("extra constructor arguments (JSON object)", parse=_options),
    )
    name: str = field(
        default="", metadata=_meta("model name written into the model card (default: the network name)")
    )
    classes: str | None = field(
        default=None, metadata=_meta("class table file (default: <data>/classes.yaml, classes.txt or labels)")
    )
    add_unknown_classes: bool = field(
        default=False, metadata=_meta("append labels missing from the class table instead of failing")
    )
    label_source: str = field(
        default="auto", metadata=_meta("auto | json | masks: where targets come from (auto: JSON if present)")
    )
    binary: bool = field(
        default=False, metadata=_meta("defect vs background with one sigmoid logit (mask > 0)")
    )
    input_channels: int = field(default=3, metadata=_meta("1 (grey) or 3 (RGB) network input channels"))
    input_size: tuple[int, int] | None = field(
        default=None,
        metadata=_meta(
            "H x W every image is resized to (multiples of 32; default: the median image size of the "
            "data rounded to the nearest multiples of 32, e.g. 640x480 images -> 480x640; the log "
            "says what it resolved to)",
            parse=_size,
        ),
    )
    crop_size: tuple[int, int] | None = field(
        default=None, metadata=_meta("random training crop H x W (default: none)", parse=_size)
    )
    val_fraction: float = field(
        default=0.3, metadata=_meta("validation share of the stratified split (no train.txt/test.txt)")
    )
    val_from_train: float = field(
        default=0.0,
        metadata=_meta(
            "with train.txt/test.txt: carve this stratified share of train.txt as validation "
            "(test.txt is never seen, best.pt is not picked on it); 0 = validate on test.txt"
        ),
    )
    negatives: str | None = field(
        default=None,
        metadata=_meta(
            "list file (in the data folder, e.g. free.txt) of defect-free images added to the training split"
        ),
    )
    negatives_count: int = field(
        default=0,
        metadata=_meta("how many of the negatives list are used (a seeded hash order; 0 = all)"),
    )
    max_bad_fraction: float = field(
        default=0.0, metadata=_meta("share of unreadable/inconsistent samples tolerated (skipped)")
    )
    mask_cache: str | None = field(
        default=None, metadata=_meta("folder of an on-disk cache of rasterised masks (default: none)")
    )
    mean: list[float] | None = field(
        default=None,
        metadata=_meta("input mean per channel on 0..1 pixels (default: measured)", parse=_floats),
    )
    std: list[float] | None = field(
        default=None,
        metadata=_meta("input std per channel on 0..1 pixels (default: measured)", parse=_floats),
    )
    # --- augmentation (all off at 0) ----------------------------------------------------------
    hflip: float = field(default=0.5, metadata=_meta("probability of a horizontal flip"))
    vflip: float = field(default=0.0, metadata=_meta("probability of a vertical flip"))
    rot90: bool = field(
        default=False, metadata=_meta("random 90-degree rotations (square images or crops only)")
    )
    brightness: float = field(default=0.0, metadata=_meta("max brightness shift (fraction of full scale)"))
    contrast: float = field(default=0.0, metadata=_meta("max relative contrast change"))
    gamma: float = field(default=0.0, metadata=_meta("max relative gamma change"))
    scale: float = field(default=0.0, metadata=_meta("max relative zoom in/out"))
    rotate: float = field(default=0.0, metadata=_meta("max rotation in degrees"))
    sampling: str = field(
        default="uniform", metadata=_meta("uniform | rare: draw images with rare classes more often")
    )
    sampling_power: float = field(
        default=0.5, metadata=_meta("rare sampling: weight = (images / images with class)^power")
    )
    rare_crop: float = field(
        default=0.0, metadata=_meta("probability that a crop is centred on a pixel of a rare class")
    )
    # --- optimisation -------------------------------------------------------------------------
    epochs: int = field(default=100, metadata=_meta("number of epochs"))
    batch_size: int = field(default=4, metadata=_meta("images per step (per process under torchrun)"))
    val_batch_size: int | None = field(
        default=None, metadata=_meta("images per evaluation step (default: batch size)")
    )
    steps_per_epoch: int | None = field(
        default=None, metadata=_meta("steps per epoch (default: one pass over the training split)")
    )
    optimizer: str = field(default="adam", metadata=_meta("adam | adamw | sgd"))
    lr: float = field(default=1e-3, metadata=_meta("peak learning rate"))
    momentum: float = field(default=0.9, metadata=_meta("SGD momentum (Adam beta1 is left at 0.9)"))
    weight_decay: float = field(default=0.0, metadata=_meta("weight decay"))
    scheduler: str = field(default="cosine", metadata=_meta("none | multistep | cosine | onecycle"))
    milestones: list[float] = field(
        default_factory=lambda: [0.6, 0.85],
        metadata=_meta("multistep: epochs (>= 1) or fractions of the run (< 1)", parse=_floats),
    )
    lr_gamma: float = field(default=0.1, metadata=_meta("multistep: factor applied at each milestone"))
    warmup_epochs: float = field(
        default=0.0, metadata=_meta("linear warm-up from lr/100, in epochs (may be fractional)")
    )
    min_lr: float = field(default=0.0, metadata=_meta("cosine: final learning rate"))
    grad_clip: float | None = field(default=None, metadata=_meta("clip the gradient norm to this value"))
    loss: str = field(default="ce", metadata=_meta("ce | focal | dice | ce_dice | dice_bce"))
    class_weights: list[float] | str | None = field(
        default=None,
        metadata=_meta("CE/focal class weights: list, 'auto' (median frequency) or none", parse=_weights),
    )
    focal_gamma: float = field(default=2.0, metadata=_meta("focal loss gamma"))
    dice_per_image: bool = field(
        default=False,
        metadata=_meta(
            "soft Dice per image, averaged over images (default: one Dice over the whole batch, "
            "which lets the images with the largest defects decide the gradient)"
        ),
    )
    bce_weight: float = field(
        default=0.5, metadata=_meta("weight of BCE (or CE) added to Dice in dice_bce / ce_dice")
    )
    # --- evaluation, checkpoints ----------------------------------------------------------------
    eval_every: int = field(default=1, metadata=_meta("evaluate every N epochs (and always after the last)"))
    best_metric: str = field(
        default="auto", metadata=_meta("metric that picks best.pt: auto (miou; iou when binary) or a key")
    )
    init: str | None = field(
        default=None, metadata=_meta("fine-tune from a checkpoint (.pt) or a run folder")
    )
    head: str = field(
        default="extend",
        metadata=_meta(
            "--init only: extend (keep the parent's classes, add new ones) | replace (transfer all but "
            "the classifier: the data's class table, parent classes may be dropped)"
        ),
    )
    normalization: str = field(
        default="inherit",
        metadata=_meta("--init only: inherit the parent's input mean/std | measure them on this data"),
    )
    resume: bool = field(default=False, metadata=_meta("continue the run in --run-dir from its last.pt"))
    export: bool = field(default=True, metadata=_meta("export model.onnx + model.json at the end"))
    # --- execution ------------------------------------------------------------------------------
    seed: int = field(
        default=0, metadata=_meta("seed of the split, sampling, augmentation and initialisation")
    )
    device: str = field(default="auto", metadata=_meta("auto (cuda > mps > cpu) | cpu | cuda | cuda:N | mps"))
    amp: bool | None = field(
        default=None, metadata=_meta("mixed precision on CUDA (auto: on)", parse=_optional_bool)
    )
    cpu_bf16: bool | None = field(
        default=None,
        metadata=_meta("bfloat16 autocast on CPU (auto: see trainer.engine)", parse=_optional_bool),
    )
    channels_last: bool | None = field(
        default=None,
        metadata=_meta("channels-last memory format (auto: see trainer.engine)", parse=_optional_bool),
    )
    compile: bool = field(
        default=False, metadata=_meta("torch.compile the network (slow start, faster steps)")
    )
    threads: int | str | None = field(
        default=None,
        metadata=_meta(
            "torch CPU threads, fixed for the whole run (default: torch's own choice, the physical "
            "cores or OMP_NUM_THREADS); 'auto' follows the load average of other processes instead",
            parse=_threads,
        ),
    )
    workers: int | None = field(
        default=None,
        metadata=_meta("data loader worker processes (default: 0 on CPU - same cores -, 4 on CUDA)"),
    )
    progress: bool = field(default=True, metadata=_meta("tqdm progress bar on stderr"))
    log_every: int = field(default=10, metadata=_meta("emit a progress event every N steps"))


#: Field names that are paths (resolved to absolute paths when saved).
PATH_KEYS = ("data", "run_dir", "classes", "mask_cache", "init")
CHOICES: dict[str, tuple[str, ...]] = {
    "label_source": ("auto", "json", "masks"),
    "sampling": ("uniform", "rare"),
    "optimizer": ("adam", "adamw", "sgd"),
    "scheduler": ("none", "multistep", "cosine", "onecycle"),
    "loss": ("ce", "focal", "dice", "ce_dice", "dice_bce"),
    "head": ("extend", "replace"),
    "normalization": ("inherit", "measure"),
}
_FIELDS = {f.name: f for f in fields(TrainConfig)}


def _convert(name: str, value: Any) -> Any:
    """Convert a YAML or command-line value of field ``name`` to the field's type."""
    f = _FIELDS[name]
    parse = f.metadata.get("parse")
    try:
        if parse is not None:
            return parse(value)
        default = f.default
        if value is None:
            return None
        if isinstance(default, bool):
            parsed = _optional_bool(value)
            if parsed is None:
                raise ValueError(f"{value!r} is not true or false")
            return parsed
        if f.type in ("int", "int | None") or isinstance(default, int):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(f"{value!r} is not an integer")
            return int(value)
        if f.type in ("float", "float | None") or isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError(f"{value!r} is not a number")
            return float(value)
        if f.type in ("str", "str | None"):
            if isinstance(value, (dict, list)):
                raise ValueError(f"{value!r} is not a string")
            return os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config key {name!r}: {exc}") from None
    return value


def from_mapping(values: Mapping[str, Any], base: TrainConfig | None = None, source: str = "") -> TrainConfig:
    """``base`` (default: defaults) updated with ``values``; unknown keys raise ConfigError."""
    where = f"{source}: " if source else ""
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"{where}unknown config key(s) {unknown}; see `defect-train train --help`")
    config = dataclasses.replace(base) if base is not None else TrainConfig()
    for key, value in values.items():
        try:
            setattr(config, key, _convert(key, value))
        except ConfigError as exc:
            raise ConfigError(f"{where}{exc}") from None
    return config


def bundled_configs() -> dict[str, Path]:
    """The ready-made run configurations shipped in the package (``trainer/configs/*.yaml``) by name."""
    # Package data: a plain folder in every installation (wheel, editable, source checkout).
    folder = Path(str(importlib.resources.files("trainer") / "configs"))
    return {path.stem: path for path in sorted(folder.glob("*.yaml"))}


def find_config_file(spec: str | os.PathLike[str]) -> Path:
    """``--config`` value -> file: an existing YAML file, else a bundled configuration's name.

    ``aluminum_zhong`` (or ``aluminum_zhong.yaml``) names ``trainer/configs/aluminum_zhong.yaml``
    of the installation, so the ready-made configurations work from a wheel too. A value that is
    neither is returned unchanged, and :func:`load_yaml` reports it with the bundled names.
    """
    path = Path(spec)
    if path.is_file():
        return path
    bundled = bundled_configs()
    return bundled.get(path.name.removesuffix(".yaml"), path)


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The mapping of a run.yaml; ConfigError naming the file when missing or malformed."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        names = ", ".join(bundled_configs())
        raise ConfigError(
            f"{path}: cannot read config file ({exc.strerror or exc}); bundled configurations: {names}"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
    return data


def to_dict(config: TrainConfig) -> dict[str, Any]:
    """Plain YAML/JSON-friendly mapping (tuples become lists)."""
    out: dict[str, Any] = {}
    for f in fields(config):
        value = getattr(config, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


#: Path keys that name a folder (recorded as its name) vs a file (recorded as ``folder/file``).
FOLDER_KEYS = ("data", "run_dir", "mask_cache")


def portable_path(value: str, *, keep: int) -> str:
    """The last ``keep`` components of a path, ``/``-joined: no machine's folders, on any OS.

    ``/data/sets/aluminum`` -> ``aluminum`` (keep=1); ``C:\\runs\\al1\\last.pt`` -> ``al1/last.pt``
    (keep=2). A value that is already that short is returned unchanged (idempotent).
    """
    parts = [p for p in value.replace("\\", "/").split("/") if p and not p.endswith(":")]
    return "/".join(parts[-keep:])


def portable_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """A resolved config (:func:`to_dict`) without machine paths: what checkpoints and cards record.

    ``data`` becomes the dataset's name, ``run_dir`` the run's name, ``mask_cache`` its folder name,
    ``classes`` and ``init`` ``<folder>/<file>`` (``aluminum/classes.yaml``, ``al_phase1/last.pt``).
    Absolute paths would be meaningless on another machine and leak the trainer's home folder into
    every shipped model; the run folder's own ``config.yaml`` keeps the absolute paths, which is
    what ``--resume`` and int8 calibration read.
    """
    out = dict(values)
    for key in PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and value:
            out[key] = portable_path(value, keep=1 if key in FOLDER_KEYS else 2)
    return out


def save_yaml(config: TrainConfig, path: str | os.PathLike[str]) -> None:
    """Write the resolved config atomically (it is what ``--resume`` and the GUI read back)."""
    path = Path(path)
    text = "# Resolved training configuration (written by defect-train).\n"
    text += yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True)
    atomic_write_text(path, text)


def _check_size(name: str, size: tuple[int, int] | None) -> None:
    if size is None:
        return
    if min(size) < 32 or size[0] % 32 or size[1] % 32:
        raise ConfigError(
            f"{name} must be multiples of 32 (>= 32), got {size[0]}x{size[1]}; nearest valid: "
            + ", ".join(f"{h}x{w}" for h, w in nearest_valid_sizes(size))
        )


def _near(value: int) -> list[int]:
    low = max(32, value // 32 * 32)
    return sorted({low, max(32, -(-value // 32) * 32)})


def nearest_valid_sizes(size: tuple[int, int]) -> list[tuple[int, int]]:
    """The multiples-of-32 sizes around ``size`` (rounding each side down and up), nearest first."""
    options = {(h, w) for h in _near(size[0]) for w in _near(size[1])}
    return sorted(options, key=lambda hw: (abs(hw[0] - size[0]) + abs(hw[1] - size[1]), hw))


def validate(config: TrainConfig) -> None:
    """Raise ConfigError for the first invalid value (message names the key)."""
    for key in ("data", "run_dir"):
        if not getattr(config, key):
            raise ConfigError(f"--{key.replace('_', '-')} is required")
    for key, allowed in CHOICES.items():
        if getattr(config, key) not in allowed:
            raise ConfigError(f"{key} must be one of {list(allowed)}, got {getattr(config, key)!r}")
    _check_size("input_size", config.input_size)
    _check_size("crop_size", config.crop_size)
    if (
        config.crop_size
        and config.input_size
        and (config.crop_size[0] > config.input_size[0] or config.crop_size[1] > config.input_size[1])
    ):
        raise ConfigError(f"crop_size {config.crop_size} is larger than input_size {config.input_size}")
    if config.input_channels not in (1, 3):
        raise ConfigError(f"input_channels must be 1 or 3, got {config.input_channels}")
    positive = ("epochs", "batch_size", "eval_every", "log_every")
    for key in positive:
        if getattr(config, key) < 1:
            raise ConfigError(f"{key} must be >= 1, got {getattr(config, key)}")
    for key in ("val_batch_size", "steps_per_epoch"):
        value = getattr(config, key)
        if value is not None and value < 1:
            raise ConfigError(f"{key} must be >= 1, got {value}")
    if isinstance(config.threads, int) and config.threads < 1:
        raise ConfigError(f"threads must be >= 1 or 'auto', got {config.threads}")
    if isinstance(config.threads, str) and config.threads != "auto":
        raise ConfigError(f"threads must be a count >= 1 or 'auto', got {config.threads!r}")
    if config.workers is not None and config.workers < 0:
        raise ConfigError(f"workers must be >= 0, got {config.workers}")
    if config.lr <= 0:
        raise ConfigError(f"lr must be > 0, got {config.lr}")
    if not 0.0 <= config.val_from_train < 1.0:
        raise ConfigError(f"val_from_train must be >= 0 and < 1, got {config.val_from_train}")
    if config.negatives_count < 0:
        raise ConfigError(f"negatives_count must be >= 0, got {config.negatives_count}")
    unit = ("val_fraction", "max_bad_fraction", "hflip", "vflip", "rare_crop")
    for key in unit:
        if not 0.0 <= getattr(config, key) <= 1.0:
            raise ConfigError(f"{key} must be between 0 and 1, got {getattr(config, key)}")
    if not 0.0 < config.val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be between 0 and 1 (exclusive), got {config.val_fraction}")
    for key in ("brightness", "contrast", "gamma", "scale", "rotate", "warmup_epochs", "min_lr"):
        if getattr(config, key) < 0:
            raise ConfigError(f"{key} must be >= 0, got {getattr(config, key)}")
    for key in ("mean", "std"):
        value = getattr(config, key)
        if value is not None and len(value) not in (1, config.input_channels):
            raise ConfigError(f"{key} needs 1 or {config.input_channels} values, got {value}")
    if config.std is not None and min(config.std) <= 0:
        raise ConfigError(f"std must be > 0, got {config.std}")
    if config.binary and config.loss in ("ce_dice",):
        raise ConfigError("loss 'ce_dice' is for multi-class training; use 'dice_bce' with binary")
    if not config.binary and config.loss == "dice_bce":
        raise ConfigError("loss 'dice_bce' needs binary: true (one sigmoid logit)")
    if isinstance(config.class_weights, list) and min(config.class_weights, default=1.0) < 0:
        raise ConfigError(f"class_weights must be >= 0, got {config.class_weights}")


# --- command line --------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--dashed-name`` option per config field (default SUPPRESS: absent = not overridden)."""
    group = parser.add_argument_group("training options (also settable as keys of --config YAML)")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        helptext = str(f.metadata.get("help", ""))
        default = f.default
        if isinstance(default, bool):
            group.add_argument(
                flag,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=helptext,
            )
        else:
            shown = "" if default in (None, "", dataclasses.MISSING) else f" [{default}]"
            group.add_argument(flag, dest=f.name, default=argparse.SUPPRESS, help=helptext + shown)


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The config keys given on the command line (raw strings, converted by :func:`from_mapping`)."""
    return {name: getattr(args, name) for name in _FIELDS if hasattr(args, name)}


def resolve(
    cli: Mapping[str, Any],
    config_file: str | os.PathLike[str] | None = None,
    *,
    saved: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """Defaults < ``saved`` (a resumed run's config.yaml) < ``config_file`` < ``cli``; validated."""
    config = TrainConfig()
    if saved:
        config = from_mapping(saved, config, source="saved config.yaml")
    if config_file is not None:
        config_path = find_config_file(config_file)
        config = from_mapping(load_yaml(config_path), config, source=os.fspath(config_path))
    config = from_mapping(cli, config, source="command line")
    for key in PATH_KEYS:
        value = getattr(config, key)
        if value:
            setattr(config, key, os.path.abspath(os.path.expanduser(value)))
    validate(config)
    return config
