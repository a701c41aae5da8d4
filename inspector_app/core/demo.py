"""Procedural demo data: aluminium-sheet-like images with the four defect types and exact labels.

The bundled demo set (``resources/demo``) is made by this module, not taken from any dataset::

    python -m inspector_app.core.demo resources/demo --count 12 --seed 7

Each 640x480 image imitates the aluminium set of Zhong et al.: a sheet seen through a round
inspection port (bright rim, dark surround, vignetting, a dark out-of-focus lens reflection in
the middle, sometimes a specular band) with a brushed, mottled metal texture. Defects are
painted strictly inside the rasterisation of their own annotation, so the LabelMe shapes are
exact: wrinkling ``zhe_zhou`` (wavy polygon bands with fold shading), abrasion ``ca_shang``
(linestrips, drawn 10 px wide as in the real set, with fine scratch lines inside), contamination
``zang_wu`` (blotchy dark filled polygons) and pinholes ``zhen_kong`` (tiny dark round polygons).
Generation is deterministic for a (seed, index) pair and uses only numpy and OpenCV.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from inspector_app.core.annotations import (
    Document,
    Shape,
    atomic_write_bytes,
    document_for_image,
    save_document,
)
from inspector_app.core.classes import ClassInfo, ClassTable, parse_color

HEIGHT, WIDTH = 480, 640
#: Stroke width of ``ca_shang`` linestrips, as the aluminium set's authors drew them.
SCRATCH_WIDTH = 10
#: (label, display name, colour, line width, draw_as) in class-index order = drawing order.
DEMO_CLASSES = (
    ("zhe_zhou", "wrinkling", "#e6194b", 1, None),
    ("ca_shang", "abrasion", "#3cb44b", SCRATCH_WIDTH, "polyline"),
    ("zang_wu", "contamination", "#ffe119", 1, None),
    ("zhen_kong", "pinhole", "#4363d8", 1, None),
)
LABELS = tuple(c[0] for c in DEMO_CLASSES)

FloatImage = npt.NDArray[np.float32]
BoolMask = npt.NDArray[np.bool_]
Points = list[tuple[float, float]]


def demo_class_table() -> ClassTable:
    """The aluminium set's class table: same labels, names, colours and drawing rules."""
    infos = [ClassInfo(0, "_background_", "background", (0, 0, 0))]
    for i, (label, name, color, width, draw_as) in enumerate(DEMO_CLASSES, start=1):
        infos.append(ClassInfo(i, label, name, parse_color(color), width, draw_as))
    return ClassTable(tuple(infos))


@dataclass(frozen=True)
class DemoSample:
    """One generated image: ``image`` HxWx3 uint8 RGB (grey content, like the real set),
    ``background`` the same surface before any defect was painted, ``document`` its exact LabelMe
    annotations and ``class_mask`` their rasterisation (uint8, value = class index)."""

    name: str
    image: npt.NDArray[np.uint8]
    background: npt.NDArray[np.uint8]
    document: Document
    class_mask: npt.NDArray[np.uint8]


# ------------------------------------------------------------------------------------ surface


def _noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float = 0.0) -> FloatImage:
    """Unit-variance Gaussian noise, optionally smoothed with a Gaussian of ``sigma`` px."""
    noise = rng.standard_normal(shape, dtype=np.float32)
    if sigma > 0:
        noise = np.asarray(cv2.GaussianBlur(noise, (0, 0), sigma), dtype=np.float32)
        noise /= float(noise.std()) + 1e-6
    return noise


def _brushed(rng: np.random.Generator, angle_deg: float) -> FloatImage:
    """Zero-mean brushed-metal texture: long streaks along ``angle_deg``, grain and mottling."""
    size = int(math.hypot(HEIGHT, WIDTH)) + 8
    streaks = cv2.blur(_noise(rng, (size, size)), (91, 1)) + 0.5 * cv2.blur(
        _noise(rng, (size, size)), (25, 1)
    )
    rotation = cv2.getRotationMatrix2D((size / 2, size / 2), angle_deg, 1.0)
    rotation[0, 2] += (WIDTH - size) / 2
    rotation[1, 2] += (HEIGHT - size) / 2
    rotated = np.asarray(cv2.warpAffine(streaks, rotation, (WIDTH, HEIGHT)), dtype=np.float32)
    rotated *= 5.0 / (float(rotated.std()) + 1e-6)
    grain = 3.0 * _noise(rng, (HEIGHT, WIDTH), 0.7)
    # Two scales of mottling give the cloudy, slightly rolled look of the real sheets.
    mottle = 4.0 * _noise(rng, (HEIGHT, WIDTH), 5) + 6.0 * _noise(rng, (HEIGHT, WIDTH), 30)
    return np.asarray(rotated + grain + mottle, dtype=np.float32)


def _surface(rng: np.random.Generator) -> tuple[FloatImage, BoolMask]:
    """The defect-free view as grey levels (float, 0..255) and the area where defects may go."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    cx, cy = WIDTH / 2 + rng.uniform(-25, 25), HEIGHT / 2 + rng.uniform(-12, 12)
    radius = rng.uniform(205, 222)
    r = np.hypot(xx - cx, yy - cy)

    # The sheet: brushed texture, a linear light gradient and the lens's dark reflection.
    sheet = rng.uniform(195, 220) + _brushed(rng, rng.uniform(-12, 12))
    theta = rng.uniform(0, 2 * math.pi)
    sheet += rng.uniform(10, 25) * ((xx - cx) * math.cos(theta) + (yy - cy) * math.sin(theta)) / radius
    bx, by = cx + rng.uniform(-40, 40), cy + rng.uniform(-30, 30)
    sx, sy = rng.uniform(60, 95), rng.uniform(45, 75)
    blob = np.exp(-(((((xx - bx) / sx) ** 2 + ((yy - by) / sy) ** 2) / 2) ** 1.5))  # flat-topped
    sheet -= rng.uniform(80, 125) * blob
    if rng.random() < 0.5:  # a specular band from the ring light, as in many real images
        phi = rng.uniform(-0.35, 0.35)
        offset = rng.uniform(-0.75, 0.75) * radius
        distance = (yy - cy) * math.cos(phi) - (xx - cx) * math.sin(phi) - offset
        along = 0.5 + 0.5 * np.tanh(((xx - cx) * math.cos(phi) - rng.uniform(-150, 50)) / 40)
        sheet += rng.uniform(60, 95) * np.exp(-((distance / rng.uniform(9, 18)) ** 2)) * along
    sheet *= 1 - 0.3 * np.clip(r / radius, 0, 1) ** 6  # vignetting

    # The port: a dark gap, the bright rim, then a dark surround with a faint halo.
    gap, rim_width = rng.uniform(3, 6), rng.uniform(11, 15)
    rim = 135 + 30 * np.cos((r - radius - gap) / rim_width * math.pi - math.pi / 2)
    outside = 10 + 28 * np.exp(-(((r - radius - gap - rim_width - 22) / 14) ** 2))
    image = np.where(
        r < radius,
        sheet,
        np.where(r < radius + gap, 100, np.where(r < radius + gap + rim_width, rim, outside)),
    )
    # Soften the hard edges of the port by a pixel, like a real lens.
    image = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 0.8)
    return np.asarray(image, dtype=np.float32), np.asarray(r < radius - 18)


# ------------------------------------------------------------------------------------ shapes


@dataclass(frozen=True)
class _Defect:
    """A placed defect: its annotation (points), their rasterisation (mask) and how to paint it."""

    label: str
    points: Points
    mask: BoolMask
    #: For bands and scratches: makes the additive shading layer (called once, after placement).
    shading: Callable[[], FloatImage] | None = None


def _polygon_mask(points: Points) -> BoolMask:
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.fillPoly(mask, [np.array(points, np.int32)], 1)
    return mask.astype(bool)


def _polyline_mask(points: Points, width: int) -> BoolMask:
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.polylines(mask, [np.array(points, np.int32)], False, 1, thickness=width)
    return mask.astype(bool)


def _distance_inside(mask: BoolMask) -> FloatImage:
    """Distance of each pixel of ``mask`` to the nearest pixel outside it (0 outside)."""
    return np.asarray(cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3), dtype=np.float32)


def _inner_alpha(mask: BoolMask, feather: float) -> FloatImage:
    """1 deep inside ``mask``, falling to 0 at its edge, exactly 0 outside (paint never spills)."""
    return np.asarray(np.clip(_distance_inside(mask) / feather, 0, 1), dtype=np.float32)


def _round(points: Sequence[tuple[float, float]]) -> Points:
    # Integer vertices: every rasteriser (cv2 truncating, PIL, ours) agrees on them.
    return [(float(round(x)), float(round(y))) for x, y in points]


def _pinhole(rng: np.random.Generator, x: float, y: float, scale: float = 1.0) -> _Defect:
    radius = rng.uniform(2.0, 4.5)
    count = 8 if radius < 3.2 else 12
    angles = np.arange(count) * 2 * math.pi / count + rng.uniform(0, math.pi)
    points = _round([(x + radius * math.cos(a), y + radius * math.sin(a)) for a in angles])
    return _Defect("zhen_kong", points, _polygon_mask(points))


def _stain(rng: np.random.Generator, x: float, y: float, scale: float = 1.0) -> _Defect:
    radius = rng.uniform(12, 42) * scale
    count = int(rng.integers(28, 44))
    angles = np.arange(count) * 2 * math.pi / count
    wobble = rng.normal(0, 0.025, count)
    for k in range(2, 7):  # a few harmonics: blotchy, never star-shaped
        wobble += rng.uniform(0, 0.22 / (k - 1) ** 0.7) * np.cos(k * angles + rng.uniform(0, 2 * math.pi))
    aspect, tilt = rng.uniform(0.7, 1.0), rng.uniform(0, math.pi)
    cos_t, sin_t = math.cos(tilt), math.sin(tilt)
    points = []
    for a, w in zip(angles, wobble, strict=True):
        px, py = radius * (1 + w) * math.cos(a), radius * (1 + w) * aspect * math.sin(a)
        points.append((x + px * cos_t - py * sin_t, y + px * sin_t + py * cos_t))
    points = _round(points)
    return _Defect("zang_wu", points, _polygon_mask(points))


def _centreline(
    rng: np.random.Generator, x: float, y: float, length: float, step: float, bend: float
) -> list[tuple[float, float, float]]:
    """Points (x, y, heading) of a gently curving path centred on (x, y)."""
    heading = rng.uniform(-0.6, 0.6) + (math.pi if rng.random() < 0.5 else 0.0)
    n = max(2, int(length / step) + 1)
    turn = rng.uniform(-bend, bend)
    headings = [heading + turn * (i / (n - 1) - 0.5) + rng.normal(0, bend / 6) for i in range(n)]
    xs, ys = [0.0], [0.0]
    for h in headings[1:]:
        xs.append(xs[-1] + step * math.cos(h))
        ys.append(ys[-1] + step * math.sin(h))
    mx, my = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return [(x + px - mx, y + py - my, h) for px, py, h in zip(xs, ys, headings, strict=True)]


def _wrinkle(rng: np.random.Generator, x: float, y: float, scale: float = 1.0) -> _Defect:
    """A long wavy band polygon, shaded as folds: bright ridges on one side, shadows on the other."""
    path = _centreline(rng, x, y, rng.uniform(180, 340) * scale, 10.0, 0.4)
    half = rng.uniform(14, 30)
    wave, phase, period = rng.uniform(2, 6), rng.uniform(0, 2 * math.pi), rng.uniform(120, 260)
    left, middle, right = [], [], []
    for i, (px, py, h) in enumerate(path):
        t = i / (len(path) - 1)
        offset = wave * math.sin(2 * math.pi * i * 10.0 / period + phase)
        width = half * (0.3 + 0.7 * math.sin(math.pi * t) ** 0.5)
        nx, ny = -math.sin(h), math.cos(h)
        left.append((px + nx * (offset + width), py + ny * (offset + width)))
        middle.append((px + nx * offset, py + ny * offset))
        right.append((px + nx * (offset - width), py + ny * (offset - width)))
    points = _round(left + right[::-1])
    mask = _polygon_mask(points)

    def shading() -> FloatImage:
        # Signed position across the band: 0 on the centre line, +-1 at the two edges.
        centre = np.ones((HEIGHT, WIDTH), np.uint8)
        cv2.polylines(centre, [np.array(_round(middle), np.int32)], False, 0, thickness=1)
        to_centre = cv2.distanceTransform(centre, cv2.DIST_L2, 3)
        to_edge = _distance_inside(mask)
        across = to_centre / np.maximum(to_centre + to_edge, 1e-3)
        left_half = _polygon_mask(_round(left + middle[::-1]))
        signed = np.where(left_half, across, -across)
        folds = rng.uniform(1.2, 2.2)
        shade = (
            rng.uniform(55, 85) * np.sin(math.pi * folds * signed) * np.clip(1 - np.abs(signed), 0, 1) ** 0.7
        )
        crest = rng.uniform(-0.5, 0.5)
        shade += rng.uniform(40, 80) * np.exp(-(((signed - crest) / 0.09) ** 2))  # a sharp highlight
        along = 0.45 + 0.55 * np.clip(0.5 + 0.35 * _noise(rng, (HEIGHT, WIDTH), 30), 0, 1)
        return np.asarray(shade * along * _inner_alpha(mask, 2.0), dtype=np.float32)

    return _Defect("zhe_zhou", points, mask, shading)


def _scratch(rng: np.random.Generator, x: float, y: float, scale: float = 1.0) -> _Defect:
    """A linestrip (drawn SCRATCH_WIDTH wide) with fine scratch lines inside that band."""
    length = rng.uniform(50, 200) * scale
    count = int(rng.integers(3, 7))
    path = _centreline(rng, x, y, length, length / (count - 1), 0.7)
    points = _round([(px, py) for px, py, _ in path])
    band = _polyline_mask(points, SCRATCH_WIDTH)

    def shading() -> FloatImage:
        layer = np.zeros((HEIGHT, WIDTH), np.float32)
        line = np.array(points, np.int32)
        depth, thickness = -rng.uniform(70, 120), int(rng.integers(1, 3))
        cv2.polylines(layer, [line], False, depth, thickness=thickness, lineType=cv2.LINE_AA)
        for _ in range(int(rng.integers(1, 4))):  # parallel fine scratches, light and dark
            dx, dy = (int(v) for v in rng.integers(-3, 4, size=2))
            cv2.polylines(
                layer,
                [line + np.array([dx, dy], np.int32)],
                False,
                rng.uniform(-60, 50),
                thickness=1,
                lineType=cv2.LINE_AA,
            )
        blurred = np.asarray(cv2.GaussianBlur(layer, (0, 0), 0.6), dtype=np.float32)
        scuff = 10.0 * _inner_alpha(band, 3.0)  # the rubbed zone around the scratch is a bit brighter
        return np.asarray((blurred + scuff) * band, dtype=np.float32)

    return _Defect("ca_shang", points, band, shading)


#: Defect makers: (rng, x, y, scale) -> defect centred near (x, y); ``scale`` shrinks it.
MAKERS: dict[str, Callable[[np.random.Generator, float, float, float], _Defect]] = {
    "zhe_zhou": _wrinkle,
    "ca_shang": _scratch,
    "zang_wu": _stain,
    "zhen_kong": _pinhole,
}


# ------------------------------------------------------------------------------------ samples


def _place(rng: np.random.Generator, free: BoolMask, label: str) -> _Defect | None:
    """Try random positions (shrinking the defect after every 40 misses) until it lies wholly
    in free space; None if even the smallest size does not fit."""
    ys, xs = np.nonzero(free)
    if len(xs) == 0:
        return None
    for scale in (1.0, 0.8, 0.6, 0.45):
        for _ in range(40):
            i = int(rng.integers(len(xs)))
            defect = MAKERS[label](rng, float(xs[i]), float(ys[i]), scale)
            if defect.mask.any() and not (defect.mask & ~free).any():
                return defect
    return None


def _paint(rng: np.random.Generator, surface: FloatImage, defect: _Defect) -> FloatImage:
    """Paint one defect; every change is confined to its mask (the annotation's rasterisation)."""
    mask = defect.mask
    if defect.shading is not None:
        return np.asarray(surface + defect.shading() * mask, dtype=np.float32)
    if defect.label == "zhen_kong":  # a small, very dark hole with a soft rim
        alpha = _inner_alpha(mask, 1.5)
        target: FloatImage | float = rng.uniform(8, 25)
    else:  # a dark, glossy stain with crumpled texture and bright creases
        alpha = 0.95 * _inner_alpha(mask, 2.5)
        creases = np.abs(_noise(rng, (HEIGHT, WIDTH), 1.6))
        texture = 6 * _noise(rng, (HEIGHT, WIDTH), 1.0) + 55 * np.clip(creases - 1.6, 0, None)
        target = np.asarray(rng.uniform(12, 35) + texture, dtype=np.float32)
    painted = surface * (1 - alpha) + target * alpha
    return np.asarray(np.where(mask, painted, surface), dtype=np.float32)


def generate_sample(
    seed: int, index: int = 0, *, name: str | None = None, image_suffix: str = ".png"
) -> DemoSample:
    """Generate image ``index`` of the set for ``seed`` (deterministic for the pair).

    Every image has at least one defect; image ``index`` always has one of class
    ``LABELS[index % 4]``, so any four consecutive images show all four types.
    """
    rng = np.random.default_rng([seed, index])
    name = name or f"demo_{index:03d}"
    surface, free = _surface(rng)
    background = _to_rgb8(surface)
    extras = rng.choice(LABELS, size=int(rng.integers(0, 4)), p=[0.15, 0.2, 0.35, 0.3])
    wanted = [LABELS[index % 4], *(str(label) for label in extras)]
    if "zhen_kong" in wanted and rng.random() < 0.6:
        wanted.append("zhen_kong")  # pinholes often come in small clusters in the real set
    placed: list[_Defect] = []
    for label in wanted:
        defect = _place(rng, free, label)
        if defect is None:
            continue
        surface = _paint(rng, surface, defect)
        # Keep defects apart so that no two overlap (and the drawing order never matters).
        free &= ~cv2.dilate(defect.mask.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        placed.append(defect)
    if not placed:  # pragma: no cover - the first defect always fits in an empty port
        raise RuntimeError(f"could not place any defect for seed {seed}, index {index}")

    class_mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    for defect in placed:
        class_mask[defect.mask] = LABELS.index(defect.label) + 1
    shapes = [
        Shape(d.label, tuple(d.points), "linestrip" if d.label == "ca_shang" else "polygon") for d in placed
    ]
    document = document_for_image(name + image_suffix, name + ".json", shapes, HEIGHT, WIDTH)
    return DemoSample(name, _to_rgb8(surface), background, document, class_mask)


def _to_rgb8(grey: FloatImage) -> npt.NDArray[np.uint8]:
    return np.repeat(np.clip(np.rint(grey), 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


# ------------------------------------------------------------------------------------ writing


def generate_demo_set(
    out_dir: str | Path, count: int = 12, seed: int = 7, *, image_format: str = "png", jpeg_quality: int = 92
) -> list[Path]:
    """Write ``count`` samples (``<name>.<image_format>`` + ``<name>.json``) and ``classes.yaml``.

    ``image_format`` is ``png`` (lossless) or ``jpg`` (quality ``jpeg_quality``; the real set is
    JPEG too). Returns the JSON paths. Existing files of the same names are replaced.
    """
    if image_format not in ("png", "jpg"):
        raise ValueError(f"image_format must be 'png' or 'jpg', not {image_format!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    demo_class_table().save(out / "classes.yaml")
    params = (
        [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
        if image_format == "jpg"
        else [cv2.IMWRITE_PNG_COMPRESSION, 6]
    )
    written = []
    for index in range(count):
        sample = generate_sample(seed, index, image_suffix="." + image_format)
        ok, data = cv2.imencode("." + image_format, cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR), params)
        if not ok:  # pragma: no cover - encoding a uint8 image does not fail
            raise RuntimeError(f"could not encode {sample.name}")
        atomic_write_bytes(out / f"{sample.name}.{image_format}", data.tobytes())
        json_path = out / f"{sample.name}.json"
        save_document(sample.document, json_path, overwrite_unreadable=True)
        written.append(json_path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m inspector_app.core.demo OUT_DIR [--count N] [--seed S] [--format jpg]``."""
    parser = argparse.ArgumentParser(
        prog="python -m inspector_app.core.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--format",
        choices=("png", "jpg"),
        default="png",
        help="image format (default png; jpg is written at quality 92)",
    )
    args = parser.parse_args(argv)
    paths = generate_demo_set(args.out_dir, args.count, args.seed, image_format=args.format)
    print(f"wrote {len(paths)} images with LabelMe annotations and classes.yaml to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
