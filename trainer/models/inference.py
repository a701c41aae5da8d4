"""Inference-only rewrites of a trained network that keep its function (up to fp32 round-off).

``optimize_for_inference(model)`` returns a ``torch.fx.GraphModule`` (built from a deep copy;
``model`` itself is left unchanged) in which

1. every BatchNorm that directly follows a ``Conv2d`` or ``ConvTranspose2d`` (and is its only
   user) is folded into that conv's weights and bias. onnxruntime folds Conv+BN itself, but not
   ConvTranspose+BN, and then cannot fuse the activation either;
2. a conv followed directly by a 1x1 conv (Zhong's light encoder: 3x3 s2 cin->cin, then 1x1
   cin->cout) becomes one conv with the composed kernel when the first conv has at most
   ``merge_pointwise_max_channels`` input channels. That costs MACs (1.6x for Zhong's encoders)
   but saves a full pass over a few-channel, high-resolution tensor, which is what limits such
   layers on a CPU (measured with onnxruntime at 480x640: enc1 1.46 -> 0.98 ms per core);
3. with ``subpixel=True``, every stride-s ``ConvTranspose2d`` whose output is exactly s times
   its input (Zhong's 3x3 s2 p1 op1 decoders, A-Net's 2x2 s2), except those named in
   ``keep_transposed``, becomes a *sub-pixel* convolution: one ordinary conv with ``s*s*cout``
   outputs on the (right/bottom padded) input followed by a pixel shuffle. Each output phase
   (dy, dx) of a transposed conv is a small ordinary conv of the input, so this is an exact
   re-arrangement of the same products. It trades onnxruntime's GEMM + col2im ConvTranspose
   for a blocked (NCHWc) Conv plus a pixel shuffle (written as two transposes, see
   :func:`pixel_shuffle_by_transposes`). Off by default: at full resolution the shuffle still
   costs about as much as the col2im it replaces in fp32 (benchmarks/inference_latency.py);
4. a stride-1 ``ConvTranspose2d`` (Zhong's 1x1 attention fusion) becomes the equivalent
   ``Conv2d`` (flipped, transposed kernel);
5. a ``PReLU`` with one shared slope (all of A-Net's) becomes ``LeakyReLU`` with that slope --
   the same function once the slope is a constant. onnxruntime fuses LeakyRelu into the
   preceding Conv, while PRelu runs as a separate broadcast kernel: in A-Net at 224x224 the
   PRelu nodes were the five slowest nodes of the graph;
6. an element-wise activation right after a sub-pixel conv is applied before the pixel
   shuffle (it commutes with it), so that onnxruntime fuses it into the conv.

The result is meant for export and benchmarking only (eval mode; training it is pointless as
BN statistics are gone). MAC count of a rewritten 3x3 s2 transposed conv: 2x2 taps per output
phase instead of the 9/4 average, i.e. 16/9 of the original; whether that pays off depends on
the runtime's conv and shuffle kernels (see 3).
"""

from __future__ import annotations

import copy
from collections.abc import Collection

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

# activations that act element by element with per-tensor parameters: they commute with a
# pixel shuffle (a per-channel PReLU would not, the shuffle regroups channels)
_POINTWISE = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Identity)


def _padding(module: nn.ConvTranspose2d) -> tuple[int, int] | None:
    padding = module.padding
    if isinstance(padding, str) or len(padding) != 2:
        return None
    return int(padding[0]), int(padding[1])


def pixel_shuffle_by_transposes(x: torch.Tensor, scale: int) -> torch.Tensor:
    """``F.pixel_shuffle`` written as two transposes that onnxruntime runs fast.

    Exported as is, ``pixel_shuffle`` becomes DepthToSpace, which onnxruntime 1.31 executes at
    about one element per nanosecond (2.9 ms for Zhong's 5x480x640 logits on one core). The
    same permutation as "move the column phase innermost" (an NCHW->NHWC-like transpose) then
    "swap the row phase with the rows" (a block copy) takes 1.6 ms in float and 0.55 ms in
    uint8 (int8 models), measured on the same core.
    """
    n, c, h, w = x.shape
    channels = c // (scale * scale)
    y = x.reshape(n * channels * scale, scale, h, w).permute(0, 2, 3, 1)  # (n c ry) h w rx
    y = y.reshape(n * channels, scale, h, w * scale).permute(0, 2, 1, 3)  # (n c) h ry (w rx)
    return y.reshape(n, channels, h * scale, w * scale)


class SubPixelConvTranspose2d(nn.Module):
    """A stride-s transposed convolution computed as pad + conv (s*s*cout outputs) + shuffle."""

    def __init__(
        self, conv: nn.Conv2d, scale: int, pad: tuple[int, int, int, int], act: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv = conv
        self.scale = scale
        self.pad = pad  # (left, right, top, bottom) as F.pad takes them
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same result as the transposed conv it replaces."""
        if any(self.pad):
            x = F.pad(x, self.pad)
        y = self.conv(x)
        if self.act is not None:
            y = self.act(y)
        return pixel_shuffle_by_transposes(y, self.scale)

    @classmethod
    def from_transposed(cls, module: nn.ConvTranspose2d) -> SubPixelConvTranspose2d | None:
        """The equivalent sub-pixel module, or ``None`` when ``module`` is not of a supported kind.

        Supported: groups 1, dilation 1, equal strides s >= 2 and output size exactly s x input
        (``kernel + output_padding - 2*padding == s`` per axis).
        """
        stride = module.stride
        padding = _padding(module)
        if (
            padding is None
            or module.groups != 1
            or module.dilation != (1, 1)
            or stride[0] != stride[1]
            or stride[0] < 2
            or module.padding_mode != "zeros"
        ):
            return None
        s = stride[0]
        axes = []
        for axis in range(2):
            k = module.kernel_size[axis]
            p = padding[axis]
            if k + module.output_padding[axis] - 2 * p != s:
                return None
            # output o = s*m + r receives input m + d through kernel tap k' = r + p - s*d
            taps = {
                r: {d: r + p - s * d for d in range(-k, k + 1) if 0 <= r + p - s * d < k} for r in range(s)
            }
            dmin = min(min(t) for t in taps.values() if t)
            dmax = max(max(t) for t in taps.values() if t)
            axes.append((taps, dmin, dmax))
        (taps_y, dmin_y, dmax_y), (taps_x, dmin_x, dmax_x) = axes
        if dmin_y > 0 or dmin_x > 0:
            return None  # would need a crop on the left; not a case the networks have
        cin, cout = module.in_channels, module.out_channels
        kh, kw = dmax_y - dmin_y + 1, dmax_x - dmin_x + 1
        weight = module.weight.detach()  # (cin, cout, k, k)
        new = torch.zeros(cout, s, s, cin, kh, kw, dtype=weight.dtype)
        for ry in range(s):
            for dy, ky in taps_y[ry].items():
                for rx in range(s):
                    for dx, kx in taps_x[rx].items():
                        new[:, ry, rx, :, dy - dmin_y, dx - dmin_x] = weight[:, :, ky, kx].t()
        conv = nn.Conv2d(cin, cout * s * s, (kh, kw), bias=module.bias is not None)
        with torch.no_grad():
            conv.weight.copy_(new.reshape(cout * s * s, cin, kh, kw))
            if module.bias is not None and conv.bias is not None:
                conv.bias.copy_(module.bias.detach().repeat_interleave(s * s))
        return cls(conv, s, (-dmin_x, dmax_x, -dmin_y, dmax_y))

    def extra_repr(self) -> str:
        """Shown by ``print(module)``."""
        return f"scale={self.scale}, pad={self.pad}"


def _stride_one_as_conv(module: nn.ConvTranspose2d) -> nn.Conv2d | None:
    """A stride-1 transposed conv is a conv with the flipped, transposed kernel."""
    if (
        module.stride != (1, 1)
        or module.groups != 1
        or module.dilation != (1, 1)
        or any(module.output_padding)
        or module.padding_mode != "zeros"
    ):
        return None
    kh, kw = module.kernel_size
    padding = _padding(module)
    if padding is None or padding[0] > kh - 1 or padding[1] > kw - 1:
        return None
    ph, pw = padding
    conv = nn.Conv2d(
        module.in_channels, module.out_channels, (kh, kw), padding=(kh - 1 - ph, kw - 1 - pw),
        bias=module.bias is not None,
    )
    with torch.no_grad():
        conv.weight.copy_(module.weight.detach().flip(2, 3).transpose(0, 1))
        if module.bias is not None and conv.bias is not None:
            conv.bias.copy_(module.bias.detach())
    return conv


def _prelu_to_leaky(graph_module: fx.GraphModule) -> None:
    for name, module in list(graph_module.named_modules()):
        if isinstance(module, nn.PReLU) and module.weight.numel() == 1:
            graph_module.add_submodule(name, nn.LeakyReLU(float(module.weight.detach().item())))


def _single_user(node: fx.Node) -> fx.Node | None:
    users = list(node.users)
    return users[0] if len(users) == 1 else None


def _fold_batchnorms(graph_module: fx.GraphModule) -> None:
    modules = dict(graph_module.named_modules())
    for node in list(graph_module.graph.nodes):
        if node.op != "call_module" or not isinstance(modules[node.target], nn.BatchNorm2d):
            continue
        source = node.args[0]
        if not isinstance(source, fx.Node) or source.op != "call_module":
            continue
        if len(source.users) != 1:  # the conv's raw output is needed elsewhere too
            continue
        conv = modules[str(source.target)]
        if not isinstance(conv, nn.Conv2d | nn.ConvTranspose2d):
            continue
        bn = modules[node.target]
        assert isinstance(bn, nn.BatchNorm2d)
        fused = fuse_conv_bn_eval(conv, bn, transpose=isinstance(conv, nn.ConvTranspose2d))
        graph_module.add_submodule(str(source.target), fused)
        node.replace_all_uses_with(source)
        graph_module.graph.erase_node(node)


def _rewrite_transposed(graph_module: fx.GraphModule, keep: Collection[str], subpixel: bool) -> None:
    modules = dict(graph_module.named_modules())
    for node in list(graph_module.graph.nodes):
        if node.op != "call_module" or not isinstance(modules[node.target], nn.ConvTranspose2d):
            continue
        if str(node.target) in keep:
            continue
        plain = _stride_one_as_conv(modules[node.target])
        if plain is not None:
            graph_module.add_submodule(str(node.target), plain)
            continue
        if not subpixel:
            continue
        sub = SubPixelConvTranspose2d.from_transposed(modules[node.target])
        if sub is None:
            continue
        user = _single_user(node)
        if user is not None and user.op == "call_module":
            act = modules[str(user.target)]
            if isinstance(act, _POINTWISE):
                sub.act = act
                user.replace_all_uses_with(node)
                graph_module.graph.erase_node(user)
        graph_module.add_submodule(str(node.target), sub)


def _merge_pointwise(graph_module: fx.GraphModule, max_channels: int) -> None:
    modules = dict(graph_module.named_modules())
    for node in list(graph_module.graph.nodes):
        if node.op != "call_module":
            continue
        first = modules[str(node.target)]
        user = _single_user(node)
        if not isinstance(first, nn.Conv2d) or user is None or user.op != "call_module":
            continue
        second = modules[str(user.target)]
        if (
            not isinstance(second, nn.Conv2d)
            or second.kernel_size != (1, 1)
            or second.stride != (1, 1)
            or second.padding != (0, 0)
            or second.groups != 1
            or first.groups != 1
            or first.padding_mode != "zeros"
            or first.in_channels > max_channels
        ):
            continue
        point = second.weight.detach()[:, :, 0, 0]  # (cout, mid)
        merged = nn.Conv2d(
            first.in_channels,
            second.out_channels,
            (first.kernel_size[0], first.kernel_size[1]),
            stride=(first.stride[0], first.stride[1]),
            padding=first.padding if isinstance(first.padding, str) else (first.padding[0], first.padding[1]),
            dilation=(first.dilation[0], first.dilation[1]),
            bias=first.bias is not None or second.bias is not None,
        )
        with torch.no_grad():
            merged.weight.copy_(torch.einsum("om,mikl->oikl", point, first.weight.detach()))
            bias = torch.zeros(second.out_channels)
            if first.bias is not None:
                bias += point @ first.bias.detach()
            if second.bias is not None:
                bias += second.bias.detach()
            if merged.bias is not None:
                merged.bias.copy_(bias)
        graph_module.add_submodule(str(node.target), merged)
        user.replace_all_uses_with(node)
        graph_module.graph.erase_node(user)
        modules[str(node.target)] = merged


def optimize_for_inference(
    model: nn.Module,
    *,
    subpixel: bool = False,
    keep_transposed: Collection[str] = (),
    merge_pointwise_max_channels: int = 8,
) -> fx.GraphModule:
    """An eval-mode copy of ``model`` rewritten for inference (see the module docstring).

    ``keep_transposed`` names transposed-conv modules (as in ``model.named_modules()``) that
    ``subpixel`` leaves as they are (BN is still folded into them).
    ``merge_pointwise_max_channels=0`` disables the conv + 1x1 conv merge.
    """
    traced = fx.symbolic_trace(copy.deepcopy(model).eval())
    _fold_batchnorms(traced)
    _prelu_to_leaky(traced)
    _merge_pointwise(traced, merge_pointwise_max_channels)
    _rewrite_transposed(traced, set(keep_transposed), subpixel)
    traced.graph.lint()
    traced.recompile()
    traced.delete_all_unused_submodules()
    return traced.eval()

