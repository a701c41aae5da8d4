"""``defect-train train``: train a segmentation network on a data folder (see :mod:`trainer.engine`).

Every key of :class:`trainer.config.TrainConfig` is an option (``--epochs 50``, ``--no-hflip``,
``--input-size 480x640``, ``--model-options '{"base": 16}'``) and a key of the ``--config`` YAML;
the command line wins. ``--resume`` alone continues a run folder with its saved config.yaml.
Events (JSON lines) go to stdout, logs to stderr; exit codes (:class:`ExitCode`) 0 ok, 2 bad
input/config, 3 cancelled, 1 crash.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from inspector_app.core.protocol import ExitCode, Finished
from trainer.config import (
    ConfigError,
    add_arguments,
    bundled_configs,
    load_yaml,
    overrides_from_args,
    resolve,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="train a network on a data folder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        dest="config_file",
        metavar="YAML",
        help="run configuration file, or the name of a bundled one: " + ", ".join(bundled_configs()),
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the configuration and train; returns the exit code."""
    from trainer.engine import run_training
    from trainer.events import EventSink, setup_logging

    cli = overrides_from_args(args)
    try:
        saved = None
        if cli.get("resume") and cli.get("run_dir"):
            saved_file = Path(str(cli["run_dir"])) / "config.yaml"
            if saved_file.is_file():
                saved = load_yaml(saved_file)
                saved.pop("resume", None)
        config = resolve(cli, args.config_file, saved=saved)
    except ConfigError as exc:
        # Nothing is known about the run folder yet: report on stdout/stderr only.
        setup_logging(None)
        events = EventSink(None)
        events.error(str(exc), "bad_config")
        events.emit(Finished(status="failed", exit_code=ExitCode.BAD_INPUT))
        return ExitCode.BAD_INPUT
    return run_training(config)
