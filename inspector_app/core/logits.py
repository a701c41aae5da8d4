"""Class masks from a graph's logits in row strips: memory bounded whatever the image size.

The per-frame path of :func:`inspector_app.core.predictor.postprocess` used to bring every logit
plane to the image's size (a bilinear resize of each plane when the graph works at another
resolution, then a stacked copy) before the argmax: about 43 bytes per image pixel for a
four-class model, so a 10000x10000 image needed 4.3 GB. Here the image is walked in strips of
rows; for each strip only the source rows it needs are resized (horizontally with OpenCV, then
blended vertically with the bilinear weights OpenCV uses), and the argmax or the sigmoid cut is
taken strip by strip into the uint8 mask. Apart from the mask (1 byte per pixel) the memory is
a few strip buffers (about :data:`STRIP_BYTES` per class).

The values agree with a whole-plane ``cv2.resize`` (``INTER_LINEAR``) up to float rounding
(at most one unit in the last place), so a mask can differ from the whole-plane result only where
two class logits tie to within 1e-7.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

#: Bytes of one class's strip buffer; the strip height follows from the image width.
STRIP_BYTES = 4 << 20

def _strip_rows(width: int, planes: int) -> int:
    return int(max(8, min(1024, STRIP_BYTES // max(1, width * 4 * max(1, planes // 2)))))


def _vertical_weights(rows: np.ndarray, src_h: int, dst_h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source rows (lo, hi) and the weight of ``hi`` for destination ``rows`` (OpenCV's mapping)."""
    scale = src_h / dst_h
    pos = (rows + 0.5) * scale - 0.5
    lo = np.floor(pos).astype(np.int64)
    weight = (pos - lo).astype(np.float32)
    below = lo < 0
    weight[below], lo[below] = 0.0, 0
    above = lo >= src_h - 1
    weight[above], lo[above] = 0.0, src_h - 1
    hi = np.minimum(lo + 1, src_h - 1)
    return lo, hi, weight


def _strip(
    plane: np.ndarray, rows: np.ndarray, target: tuple[int, int], width: int
) -> np.ndarray:
    """Rows ``rows`` of ``plane`` resized to ``target`` (H, W), columns cropped to ``width``."""
    src_h, src_w = plane.shape
    dst_h, dst_w = target
    if (src_h, src_w) == (dst_h, dst_w):
        return np.asarray(plane[rows[0] : rows[-1] + 1, :width], dtype=np.float32)
    if src_h == dst_h:
        block = plane[rows[0] : rows[-1] + 1]
        return cv2.resize(block, (dst_w, block.shape[0]), interpolation=cv2.INTER_LINEAR)[:, :width]
    lo, hi, weight = _vertical_weights(rows, src_h, dst_h)
    first, last = int(lo.min()), int(hi.max()) + 1
    block = np.ascontiguousarray(plane[first:last], dtype=np.float32)
    if src_w != dst_w:
        block = cv2.resize(block, (dst_w, last - first), interpolation=cv2.INTER_LINEAR)
    block = block[:, :width]
    w = weight[:, None]
    out = block[lo - first] * (np.float32(1.0) - w)
    out += block[hi - first] * w
    return out


def mask_from_logits(
    logits: np.ndarray,
    size: tuple[int, int],
    *,
    target: tuple[int, int] | None = None,
    cut: float | None = None,
) -> npt.NDArray[np.uint8]:
    """uint8 mask (H, W) = ``size`` from logits (K, h', w').

    ``target`` (H', W'): the planes are first resized (bilinear) to that size, then cropped to
    ``size``; None: cropped as they are (they must be at least ``size``). ``cut``: one logit,
    class 1 where it exceeds ``cut``; else the argmax over the K planes (first maximum wins).
    """
    height, width = size
    planes = logits.shape[0]
    tgt = target if target is not None else (logits.shape[1], logits.shape[2])
    mask = np.zeros((height, width), dtype=np.uint8)
    step = _strip_rows(width, planes)
    greater = np.empty((step, width), dtype=np.uint8)
    for y0 in range(0, height, step):
        y1 = min(height, y0 + step)
        rows = np.arange(y0, y1)
        out = mask[y0:y1]
        if cut is not None:
            np.greater(_strip(logits[0], rows, tgt, width), np.float32(cut), out=out.view(np.bool_))
            continue
        best = np.array(_strip(logits[0], rows, tgt, width), dtype=np.float32, copy=True)
        flags = greater[: y1 - y0]
        for c in range(1, planes):
            plane = _strip(logits[c], rows, tgt, width)
            cv2.compare(plane, best, cv2.CMP_GT, dst=flags)  # 255 where class c is better
            np.bitwise_and(flags, np.uint8(c), out=flags)
            cv2.max(out, flags, dst=out)  # c exceeds every earlier index, so max() = assign
            cv2.max(best, plane, dst=best)
    return mask
