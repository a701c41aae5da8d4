"""Choose a model's image-level decision rule on validation images and score it on the test split.

The rule (probability threshold + minimum region area, :mod:`inspector_app.core.decision`) is
chosen on the run's validation split (``split.json`` ``val``: defective images carved from
``train.txt`` plus the negatives put there) together with ``--val-free N`` more defect-free
images that the run never trained on (the first N of ``--free`` in the run's seeded hash order
that are in neither split list). The test split is only scored, never used to choose.

Reported (and written with ``--json``): the rule, the validation rates it reaches, binary IoU on
the test split at the rule's threshold, per-class detection rates on the test split, the false
alarm rate on *all* images of ``--free`` and on those neither trained on nor used to choose, and
the defective test images missed. ``--write-card`` stores the rule in the model's card (the
``.json`` sidecar and the card embedded in the ONNX file).

Usage::

    python benchmarks/decision_rule.py --model RUN/model.onnx --run-dir RUN \\
        --data ../shared/datasets/magnetic_tile --free free.txt --val-free 200 --write-card --json OUT
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector_app.core.fileio import atomic_write_text
from trainer.data.samples import find_class_table
from trainer.data.split import _order, load_split
from trainer.decision import choose_rule, rule_report, score_images
from trainer.evaluate import free_samples, open_model, read_name_list, select_samples, stderr_progress


def _pct(value: float) -> str:
    return f"{100.0 * value:.2f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="model.onnx (or a checkpoint .pt)")
    parser.add_argument(
        "--run-dir", required=True, type=Path, help="the run folder (split.json, config.yaml)"
    )
    parser.add_argument("--data", required=True, type=Path, help="dataset folder")
    parser.add_argument("--test", default="test.txt", help="test list in the data folder")
    parser.add_argument("--free", default="free.txt", help="defect-free list in the data folder")
    parser.add_argument("--val-free", type=int, default=200, help="unseen free images added to validation")
    parser.add_argument("--max-false-alarm", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (hash order of the free list)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--write-card", action="store_true", help="store the rule in the model card")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    table, _ = find_class_table(args.data)
    assert table is not None, "the dataset needs a class table"
    split = load_split(args.run_dir / "split.json")
    model = open_model(args.model, threads=args.threads)
    progress = stderr_progress(50)

    free_names = read_name_list(args.data / args.free)
    used = set(split.train) | set(split.val)
    unseen = sorted((n for n in free_names if n not in used), key=lambda n: _order(args.seed, n))
    chooser_free = unseen[: args.val_free]
    never_seen = unseen[args.val_free :]

    val = select_samples(args.data, list(split.val)) + free_samples(args.data, chooser_free)
    val_scores = score_images(model, val, table, progress=progress)
    rule = choose_rule(val_scores, max_false_alarm=args.max_false_alarm)
    val_report = rule_report(val_scores, rule, table)

    test = select_samples(args.data, read_name_list(args.data / args.test))
    test_scores = score_images(model, test, table, progress=progress)
    free_scores = score_images(model, free_samples(args.data, free_names), table, progress=progress)
    test_report = rule_report(test_scores, rule, table)
    free_report = rule_report(free_scores, rule, table)
    unseen_set = set(never_seen)
    unseen_report = rule_report([s for s in free_scores if s.stem in unseen_set], rule, table)
    any_pixel = rule_report(free_scores, rule.__class__(rule.threshold, 1), table)

    result: dict[str, Any] = {
        "model": Path(args.model).name,
        "rule": rule.to_dict(),
        "validation": {k: v for k, v in val_report.items() if k != "missed_images"},
        "test": test_report,
        "free_all": {
            k: v for k, v in free_report.items() if k in ("free_images", "false_alarms", "false_alarm_rate")
        },
        "free_unseen": {
            k: v for k, v in unseen_report.items() if k in ("free_images", "false_alarms", "false_alarm_rate")
        },
        "free_all_any_pixel": any_pixel["false_alarm_rate"],
    }
    print(f"rule (chosen on {len(val_scores)} validation images): {rule.to_dict()}")
    print(
        f"validation: missed {val_report['missed']}/{val_report['defective_images']}, "
        f"false alarms {val_report['false_alarms']}/{val_report['free_images']}"
    )
    print(f"test binary IoU at threshold {rule.threshold}: {100.0 * test_report['binary_iou']:.2f}")
    ious = ", ".join(f"{t}: {100.0 * v:.2f}" for t, v in test_report["binary_iou_by_threshold"].items())
    print(f"test binary IoU by threshold: {ious}")
    for label, row in test_report["per_class"].items():
        print(f"  {label:<10} detected {row['detected']}/{row['images']} ({_pct(row['rate'])})")
    print(f"test defective images missed: {test_report['missed']}/{test_report['defective_images']}")
    print(f"median prediction time per tile (1 thread, shared CPU): {free_report['median_ms']:.1f} ms")
    print(
        f"false alarms, all {free_report['free_images']} free tiles: {free_report['false_alarms']} "
        f"({_pct(free_report['false_alarm_rate'])}); never seen in training or choosing "
        f"({unseen_report['free_images']}): {unseen_report['false_alarms']} "
        f"({_pct(unseen_report['false_alarm_rate'])}); "
        f"any pixel at the threshold: {_pct(any_pixel['false_alarm_rate'])}"
    )
    if args.write_card:
        from inspector_app.core.modelcard import embed_card, read_card, write_card_sidecar

        card = read_card(args.model).replace(decision=rule)
        embed_card(args.model, card)
        write_card_sidecar(card, args.model)
        print(f"decision rule written into the card of {Path(args.model).name}")
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
