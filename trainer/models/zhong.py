"""Zhong et al.'s lightweight network for tiny aluminium-surface defects, and its BaseLine.

Structure as released by the authors (docs/design.md, "The networks from the two
papers"): five light encoder stages (3->6->12->24->48->96, each halving H and W), four
transposed-conv decoders, attention on the skips e4, e3, e2 and a final transposed conv on
``cat[e1, d4]``. All convolutions carry a bias. 114,001 parameters at 5 classes.

Two deviations of the paper *text* from the released code are options:
``depthwise=True`` makes the encoder's 3x3 stride-2 conv depthwise (87,217 parameters), and
``ca_reduction`` sets the channel-attention MLP's reduction (released: 8; text: 4).

Export note: the channel attention's global max pool is ``amax`` over H and W, not
``AdaptiveMaxPool2d(1)``, which the TorchScript ONNX exporter freezes into a fixed-size MaxPool
(the graph would then only work at the export resolution).
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.models.registry import SegmentationModel, input_layer, register_model

#: LeakyReLU slope used throughout the released code
NEGATIVE_SLOPE = 0.2
#: encoder widths of the released network (input -> e1 ... e4 -> bottleneck)
CHANNELS = (6, 12, 24, 48, 96)


class LightEncoder(nn.Module):
    """Conv3x3 stride 2 (cin->cin, optionally depthwise), Conv1x1 cin->cout, BN, LeakyReLU."""

    def __init__(self, cin: int, cout: int, *, depthwise: bool = False) -> None:
        super().__init__()
        self.down = nn.Conv2d(cin, cin, 3, stride=2, padding=1, groups=cin if depthwise else 1)
        self.point = nn.Conv2d(cin, cout, 1)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.LeakyReLU(NEGATIVE_SLOPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Halve H and W, map cin to cout channels."""
        return self.act(self.bn(self.point(self.down(x))))


class PlainEncoder(nn.Module):
    """BaseLine encoder stage: Conv3x3 stride 2 cin->cout, BN, LeakyReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.LeakyReLU(NEGATIVE_SLOPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Halve H and W, map cin to cout channels."""
        return self.act(self.bn(self.conv(x)))


class Decoder(nn.Module):
    """ConvTranspose3x3 stride 2 (padding 1, output_padding 1), BN, LeakyReLU: doubles H and W."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.LeakyReLU(NEGATIVE_SLOPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Double H and W, map cin to cout channels."""
        return self.act(self.bn(self.up(x)))


class SkipAttention(nn.Module):
    """Channel + spatial attention on a skip connection, fused by a 1x1 transposed conv.

    CA = sigmoid(MLP(avg) + MLP(max)) * x with one MLP (1x1 convs C -> C//r -> C, ReLU);
    SA = Conv1x1 C->C; out = ConvT1x1(2C -> C)(cat[CA, SA]).
    """

    def __init__(self, channels: int, *, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, channels, 1))
        self.spatial = nn.Conv2d(channels, channels, 1)
        self.fuse = nn.ConvTranspose2d(2 * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same shape as ``x``."""
        avg = x.mean(dim=(2, 3), keepdim=True)
        # amax, not AdaptiveMaxPool2d: exports as ReduceMax and stays size-independent
        peak = x.amax(dim=(2, 3), keepdim=True)
        channel = torch.sigmoid(self.mlp(avg) + self.mlp(peak)) * x
        return self.fuse(torch.cat([channel, self.spatial(x)], dim=1))


class _ZhongDecoderHead(nn.Module):
    """Decoder half shared by the full network and the BaseLine (skips arrive prepared)."""

    def __init__(self, num_classes: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = channels
        self.dec1 = Decoder(c5, c4)  # 96 -> 48
        self.dec2 = Decoder(2 * c4, c3)  # cat[skip4, d1] 96 -> 24
        self.dec3 = Decoder(2 * c3, c2)  # 48 -> 12
        self.dec4 = Decoder(2 * c2, c1)  # 24 -> 6
        # the released network ends with BN + LeakyReLU on the logits; kept for weight parity
        self.out = Decoder(2 * c1, num_classes)  # cat[e1, d4] 12 -> classes

    def forward(
        self, e1: torch.Tensor, s2: torch.Tensor, s3: torch.Tensor, s4: torch.Tensor, bottom: torch.Tensor
    ) -> torch.Tensor:
        """Logits at the input resolution."""
        d1 = self.dec1(bottom)
        d2 = self.dec2(torch.cat([s4, d1], dim=1))
        d3 = self.dec3(torch.cat([s3, d2], dim=1))
        d4 = self.dec4(torch.cat([s2, d3], dim=1))
        return self.out(torch.cat([e1, d4], dim=1))


@register_model(
    "zhong",
    description="Zhong et al. light encoder + skip attention (aluminium, released code)",
    paper_input_size=(480, 640),
    default_num_classes=5,
)
class ZhongNet(SegmentationModel):
    """The full Zhong et al. network (114,001 parameters at 5 classes, released code)."""

    def __init__(
        self,
        num_classes: int = 5,
        in_channels: int = 3,
        depthwise: bool = False,
        ca_reduction: int = 8,
        image_norm: bool = False,
    ) -> None:
        super().__init__()
        self._remember(
            num_classes=num_classes,
            in_channels=in_channels,
            depthwise=depthwise,
            ca_reduction=ca_reduction,
            image_norm=image_norm,
        )
        c1, c2, c3, c4, c5 = CHANNELS
        self.input_norm = input_layer(image_norm)
        self.enc1 = LightEncoder(in_channels, c1, depthwise=depthwise)
        self.enc2 = LightEncoder(c1, c2, depthwise=depthwise)
        self.enc3 = LightEncoder(c2, c3, depthwise=depthwise)
        self.enc4 = LightEncoder(c3, c4, depthwise=depthwise)
        self.enc5 = LightEncoder(c4, c5, depthwise=depthwise)
        self.att2 = SkipAttention(c2, reduction=ca_reduction)
        self.att3 = SkipAttention(c3, reduction=ca_reduction)
        self.att4 = SkipAttention(c4, reduction=ca_reduction)
        self.decoder = _ZhongDecoderHead(num_classes, CHANNELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x in_channels x H x W (H, W multiples of 32) -> N x num_classes x H x W logits."""
        e1 = self.enc1(self.input_norm(x))
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        bottom = self.enc5(e4)
        return self.decoder(e1, self.att2(e2), self.att3(e3), self.att4(e4), bottom)


@register_model(
    "zhong_baseline",
    description="Zhong et al. BaseLine: plain 3x3 stride-2 encoder, no attention",
    paper_input_size=(480, 640),
    default_num_classes=5,
)
class ZhongBaseline(SegmentationModel):
    """The paper's BaseLine (125,313 parameters at 5 classes).

    Not released; inferred so that the parameter count matches the paper exactly: each encoder
    stage is one Conv3x3 stride 2 cin->cout + BN + LeakyReLU(0.2) (same widths as the full
    network), the decoder is the full network's, and the skips are concatenated unchanged.
    Encoder 55,800 + decoder 69,513 = 125,313.
    """

    def __init__(self, num_classes: int = 5, in_channels: int = 3) -> None:
        super().__init__()
        self._remember(num_classes=num_classes, in_channels=in_channels)
        c1, c2, c3, c4, c5 = CHANNELS
        self.enc1 = PlainEncoder(in_channels, c1)
        self.enc2 = PlainEncoder(c1, c2)
        self.enc3 = PlainEncoder(c2, c3)
        self.enc4 = PlainEncoder(c3, c4)
        self.enc5 = PlainEncoder(c4, c5)
        self.decoder = _ZhongDecoderHead(num_classes, CHANNELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x in_channels x H x W (H, W multiples of 32) -> N x num_classes x H x W logits."""
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        return self.decoder(e1, e2, e3, e4, self.enc5(e4))
