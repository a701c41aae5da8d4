"""Chen et al.'s A-Net: an ENet-like asymmetric encoder-decoder for surface-defect segmentation.

Structure as released by the authors (docs/design.md, "Chen et al., A-Net"). The release leaves a few details
that the text does not pin down; the ones used here are the only combination (out of 2^12
candidates we enumerated: bias on each conv family, per-channel vs single PReLU, full vs
depthwise 5x1/1x5, BN+PReLU after the concat conv) that gives the released 389,768 parameters
at one class:

* every convolution is bias-free except the final 3x3 classifier;
* every PReLU has a single shared slope (``nn.PReLU()``);
* the Wide block's 5x1 and 1x5 convs are full (not depthwise) convs on c/4 channels;
* the concat conv of stage 7 (depthwise 3x3 + pointwise 128->64) has no BN/activation.

Input H and W must be multiples of 32 (five stride-2 stages).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer.models.registry import SegmentationModel, input_layer, register_model


def _bn_prelu(channels: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(channels), nn.PReLU()]


class Down(nn.Module):
    """Downsampling bottleneck: 1x1 reduce, 2x2 stride-2 conv, 1x1 expand; max-pool shortcut."""

    def __init__(self, cin: int, cmid: int, cout: int, *, dropout: float) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(cin, cmid, 1, bias=False),
            *_bn_prelu(cmid),
            nn.Conv2d(cmid, cmid, 2, stride=2, bias=False),
            *_bn_prelu(cmid),
            nn.Conv2d(cmid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.Dropout2d(dropout),
        )
        self.shortcut = nn.Sequential(
            nn.MaxPool2d(2), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout)
        )
        self.act = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Halve H and W."""
        return self.act(self.main(x) + self.shortcut(x))


class Residual(nn.Module):
    """Light (depthwise 3x3 + pointwise) or Wide (5x1 then 1x5) residual bottleneck on c channels."""

    def __init__(self, channels: int, *, wide: bool, dropout: float) -> None:
        super().__init__()
        q = channels // 4
        middle: list[nn.Module]
        if wide:
            # asymmetric pair without BN in between, as released
            middle = [
                nn.Conv2d(q, q, (5, 1), padding=(2, 0), bias=False),
                nn.Conv2d(q, q, (1, 5), padding=(0, 2), bias=False),
            ]
        else:
            middle = [
                nn.Conv2d(q, q, 3, padding=1, groups=q, bias=False),
                nn.Conv2d(q, q, 1, bias=False),
            ]
        self.main = nn.Sequential(
            nn.Conv2d(channels, q, 1, bias=False),
            *_bn_prelu(q),
            *middle,
            *_bn_prelu(q),
            nn.Conv2d(q, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.Dropout2d(dropout),
        )
        self.act = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same shape as ``x``."""
        return self.act(self.main(x) + x)


class Up(nn.Module):
    """Upsampling bottleneck: 1x1, 2x2 stride-2 transposed conv, 1x1; bilinear x2 shortcut."""

    def __init__(self, cin: int, cmid: int, cout: int, *, dropout: float) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(cin, cmid, 1, bias=False),
            *_bn_prelu(cmid),
            nn.ConvTranspose2d(cmid, cmid, 2, stride=2, bias=False),
            *_bn_prelu(cmid),
            nn.Conv2d(cmid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.Dropout2d(dropout),
        )
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.act = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Double H and W."""
        skip = F.interpolate(self.shortcut(x), scale_factor=2.0, mode="bilinear", align_corners=True)
        return self.act(self.main(x) + skip)


def _light_wide(channels: int, repeats: int, dropout: float) -> list[nn.Module]:
    blocks: list[nn.Module] = []
    for _ in range(repeats):
        blocks.append(Residual(channels, wide=False, dropout=dropout))
        blocks.append(Residual(channels, wide=True, dropout=dropout))
    return blocks


@register_model(
    "anet",
    description="Chen et al. A-Net, asymmetric lightweight encoder-decoder (released code)",
    paper_input_size=(224, 224),
    default_num_classes=1,
)
class ANet(SegmentationModel):
    """A-Net (389,768 parameters at ``num_classes=1``; any class count).

    With one class the output is one logit map (sigmoid); with more, softmax logits.
    ``image_norm``: standardise each input image first (:class:`~trainer.models.registry.ImageStandardize`).
    """

    def __init__(
        self, num_classes: int = 1, in_channels: int = 3, dropout: float = 0.1, image_norm: bool = False
    ) -> None:
        super().__init__()
        self._remember(
            num_classes=num_classes, in_channels=in_channels, dropout=dropout, image_norm=image_norm
        )
        p = dropout
        self.input_norm = input_layer(image_norm)
        self.stage0 = nn.Sequential(Down(in_channels, 8, 32, dropout=p), *_light_wide(32, 1, p))
        self.stage1 = nn.Sequential(Down(32, 16, 64, dropout=p), *_light_wide(64, 1, p))
        self.stage2 = nn.Sequential(Down(64, 32, 128, dropout=p), *_light_wide(128, 1, p))
        self.stage3 = nn.Sequential(Down(128, 32, 128, dropout=p), *_light_wide(128, 2, p))
        self.stage4 = nn.Sequential(Down(128, 32, 128, dropout=p), *_light_wide(128, 2, p))
        self.stage5 = nn.Sequential(Up(128, 32, 128, dropout=p), *_light_wide(128, 1, p))
        self.stage6 = nn.Sequential(Up(128, 32, 128, dropout=p), *_light_wide(128, 1, p))
        self.stage7_up = Up(128, 16, 64, dropout=p)
        self.stage7 = nn.Sequential(
            nn.Conv2d(128, 128, 3, padding=1, groups=128, bias=False),
            nn.Conv2d(128, 64, 1, bias=False),
            *_light_wide(64, 1, p),
        )
        self.stage8 = nn.Sequential(Up(64, 8, 32, dropout=p), *_light_wide(32, 1, p))
        self.head = nn.Sequential(
            nn.ConvTranspose2d(32, 16, 2, stride=2, bias=False),
            nn.PReLU(),
            nn.BatchNorm2d(16),
            nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False),
            nn.Conv2d(16, 16, 1, bias=False),
            *_bn_prelu(16),
            nn.Conv2d(16, num_classes, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x in_channels x H x W (H, W multiples of 32) -> N x num_classes x H x W logits."""
        x1 = self.stage1(self.stage0(self.input_norm(x)))
        y = self.stage6(self.stage5(self.stage4(self.stage3(self.stage2(x1)))))
        y = self.stage7(torch.cat([self.stage7_up(y), x1], dim=1))
        return self.head(self.stage8(y))
