"""A standard small U-Net (Ronneberger et al. 2015 layout) as the classical reference network.

Double 3x3 conv blocks (conv, BN, ReLU, twice), max-pool down, bilinear x2 up followed by a
double conv on ``cat[skip, up]``. ``base`` channels at full resolution, doubled per level.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer.models.registry import SegmentationModel, input_layer, register_model


class DoubleConv(nn.Module):
    """(Conv3x3, BN, ReLU) x 2."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same H and W, cout channels."""
        return self.block(x)


@register_model(
    "unet",
    description="standard small U-Net (classical reference; bilinear up)",
    paper_input_size=(480, 640),
    default_num_classes=5,
)
class UNet(SegmentationModel):
    """U-Net with ``depth`` pooling levels and ``base`` channels at full resolution."""

    def __init__(
        self,
        num_classes: int = 5,
        in_channels: int = 3,
        base: int = 16,
        depth: int = 4,
        image_norm: bool = False,
    ) -> None:
        super().__init__()
        if depth < 1 or base < 1:
            raise ValueError(f"depth and base must be >= 1, got depth={depth}, base={base}")
        self._remember(
            num_classes=num_classes, in_channels=in_channels, base=base, depth=depth, image_norm=image_norm
        )
        self.input_norm = input_layer(image_norm)
        widths = [base * 2**i for i in range(depth + 1)]
        self.inc = DoubleConv(in_channels, widths[0])
        self.downs = nn.ModuleList(DoubleConv(widths[i], widths[i + 1]) for i in range(depth))
        # after bilinear up the channels are unchanged, so each up block sees skip + deeper width
        self.ups = nn.ModuleList(
            DoubleConv(widths[i] + widths[i + 1], widths[i]) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x in_channels x H x W (H, W multiples of 2**depth) -> N x num_classes x H x W logits."""
        skips = [self.inc(self.input_norm(x))]
        for down in self.downs:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        y = skips.pop()
        for up in self.ups:
            y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
            y = up(torch.cat([skips.pop(), y], dim=1))
        return self.head(y)
