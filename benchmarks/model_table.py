"""Parameters and cost of the networks at the papers' input sizes, beside the papers' claims.

    python benchmarks/model_table.py

MACs follow trainer/flops.py (docs/adr/0002-flop-counting.md): conv/linear multiply-adds, a
transposed conv counted per *input* pixel; FLOPs = 2 x MACs. The "naive" columns count
transposed convs per *output* pixel, as popular op counters do, and the "op-count" column adds
their element-wise bookkeeping (bias, BN x2, activations) with MACs counted as one op each:
that is how the Zhong paper's "0.591 GFLOPs" comes about.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.flops import count_cost, op_count_style_total
from trainer.models import create_model, model_spec

# (label, registry name, options, input size, claimed params, claimed cost text)
ROWS: list[tuple[str, str, dict[str, object], tuple[int, int], str, str]] = [
    ("Zhong (released code)", "zhong", {}, (480, 640), "114,001 (release)", "0.591 GFLOPs (paper)"),
    ("Zhong, depthwise (paper text)", "zhong", {"depthwise": True}, (480, 640), "87,217 (text)", "-"),
    ("Zhong, CA reduction 4", "zhong", {"ca_reduction": 4}, (480, 640), "-", "-"),
    ("Zhong BaseLine", "zhong_baseline", {}, (480, 640), "125,313 (paper)", "-"),
    ("A-Net (1 class)", "anet", {}, (224, 224), "389,768 (release)", "0.326 GMAC (docs/design.md)"),
    ("A-Net (1 class)", "anet", {}, (512, 512), "389,768", "-"),
    ("U-Net base 16 (reference)", "unet", {}, (480, 640), "-", "-"),
]


def main() -> int:
    """Print the table."""
    header = (
        f"{'network':<30}{'input':>9}{'params':>11}{'GMAC':>8}{'GFLOP':>8}"
        f"{'naive GMAC':>12}{'op-count G':>12}  {'claimed params':<19}claimed cost"
    )
    print(header)
    print("-" * len(header))
    for label, name, options, size, claimed_params, claimed_cost in ROWS:
        model = create_model(name, num_classes=model_spec(name).default_num_classes, **options)
        correct = count_cost(model, size)
        naive = count_cost(model, size, convention="naive")
        print(
            f"{label:<30}{'x'.join(map(str, size)):>9}{correct.params:>11,}{correct.macs / 1e9:>8.3f}"
            f"{correct.flops / 1e9:>8.3f}{naive.macs / 1e9:>12.3f}{op_count_style_total(naive) / 1e9:>12.3f}"
            f"  {claimed_params:<19}{claimed_cost}"
        )
    zhong = create_model("zhong")
    correct = count_cost(zhong, (480, 640))
    naive = count_cost(zhong, (480, 640), convention="naive")
    print()
    print("Zhong at 480x640, where the paper's 0.591 comes from (x1e9):")
    lines = [
        ("conv + transposed-conv MACs, ConvT per input pixel", correct.macs),
        ("same, ConvT per output pixel (4x on stride-2 ConvT)", naive.macs),
    ]
    other = naive.elementwise_by_kind
    for kind, factor in (("bias", 1), ("batchnorm", 2), ("activation", 1)):
        lines.append((f"+ {kind} elements x {factor}", factor * other.get(kind, 0)))
    lines.append(("= op-count total (what the paper calls GFLOPs)", op_count_style_total(naive)))
    for text, value in lines:
        print(f"  {text:<56}{value / 1e9:>8.4f}")
    print(f"  true cost: {correct.macs / 1e9:.3f} GMAC = {correct.flops / 1e9:.3f} GFLOP")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
