"""The procedural demo generator and the bundled demo set in resources/demo."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import load_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.demo import (
    HEIGHT,
    LABELS,
    SCRATCH_WIDTH,
    WIDTH,
    DemoSample,
    demo_class_table,
    generate_demo_set,
    generate_sample,
    main,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED = REPO_ROOT / "resources" / "demo"
BUNDLED_COUNT, BUNDLED_SEED = 12, 7


@pytest.fixture(scope="module")
def samples() -> list[DemoSample]:
    return [generate_sample(BUNDLED_SEED, i) for i in range(8)]


def _shape_mask(points: tuple[tuple[float, float], ...], shape_type: str) -> np.ndarray:
    """The aluminium set's drawing rule, independently: cv2, int32 coordinates."""
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    pts = np.array(points, np.int32)
    if shape_type == "polygon":
        cv2.fillPoly(mask, [pts], 1)
    else:
        cv2.polylines(mask, [pts], False, 1, thickness=SCRATCH_WIDTH)
    return mask.astype(bool)


def test_deterministic_for_a_seed() -> None:
    a, b = generate_sample(3, 5), generate_sample(3, 5)
    assert np.array_equal(a.image, b.image) and a.document == b.document
    assert np.array_equal(a.class_mask, b.class_mask)
    c = generate_sample(4, 5)
    assert not np.array_equal(a.image, c.image) and a.document != c.document


def test_images_look_like_the_aluminium_set(samples: list[DemoSample]) -> None:
    for sample in samples:
        assert sample.image.shape == (HEIGHT, WIDTH, 3) and sample.image.dtype == np.uint8
        grey = sample.image[:, :, 0]
        assert np.array_equal(grey, sample.image[:, :, 2])  # grey content, like the real images
        # A bright port in a dark surround: corners dark, centre region bright and textured.
        assert grey[:40, :40].mean() < 50 and grey[200:280, 100:540].std() > 5
        assert grey[HEIGHT // 2 - 150 : HEIGHT // 2 + 150, WIDTH // 2 - 150 : WIDTH // 2 + 150].mean() > 90


def test_every_image_has_defects_and_every_class_appears(samples: list[DemoSample]) -> None:
    for index, sample in enumerate(samples):
        labels = [s.label for s in sample.document.shapes]
        assert labels and LABELS[index % 4] in labels
        assert set(np.unique(sample.class_mask)) - {0}
    assert {s.label for sample in samples for s in sample.document.shapes} == set(LABELS)


def test_annotations_are_exact(samples: list[DemoSample]) -> None:
    """Shapes in bounds; paint only inside the annotations; every shape visibly painted."""
    for sample in samples:
        changed = np.any(sample.image != sample.background, axis=2)
        union = np.zeros((HEIGHT, WIDTH), bool)
        expected = np.zeros((HEIGHT, WIDTH), np.uint8)
        for shape in sample.document.shapes:
            assert shape.shape_type == ("linestrip" if shape.label == "ca_shang" else "polygon")
            for x, y in shape.points:
                assert 0 <= x <= WIDTH - 1 and 0 <= y <= HEIGHT - 1
            mask = _shape_mask(shape.points, shape.shape_type)
            assert not (mask & union).any(), "defects must not overlap"
            union |= mask
            expected[mask] = LABELS.index(shape.label) + 1
            difference = np.abs(sample.image[:, :, 0].astype(int) - sample.background[:, :, 0])[mask]
            assert np.percentile(difference, 95) >= 12, f"{sample.name}: {shape.label} is not visible"
        assert not (changed & ~union).any(), f"{sample.name}: paint outside the annotations"
        assert np.array_equal(sample.class_mask, expected)


def test_class_mask_matches_the_project_rasteriser(samples: list[DemoSample]) -> None:
    masks = pytest.importorskip("inspector_app.core.masks")
    table = demo_class_table()
    for sample in samples:
        ours = masks.rasterize(sample.document, table, (HEIGHT, WIDTH))
        for index in range(1, len(table)):
            a, b = ours == index, sample.class_mask == index
            if a.any() or b.any():
                iou = (a & b).sum() / (a | b).sum()
                assert iou >= 0.9, f"{sample.name} class {index}: IoU {iou:.3f}"


def test_class_table_is_the_aluminium_one(aluminum_dir: Path) -> None:
    assert demo_class_table() == ClassTable.load(aluminum_dir / "classes.yaml")


def test_generate_demo_set_writes_loadable_files(tmp_path: Path) -> None:
    paths = generate_demo_set(tmp_path / "png", 3, 11)
    assert [p.name for p in paths] == ["demo_000.json", "demo_001.json", "demo_002.json"]
    assert ClassTable.load(tmp_path / "png" / "classes.yaml") == demo_class_table()
    for index, path in enumerate(paths):
        document = load_document(path, check_image=True)
        sample = generate_sample(11, index)
        assert document == sample.document
        image = cv2.imread(str(document.image_file(path)), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
        assert np.array_equal(image, sample.image)  # PNG is lossless
    # JPEG variant through the command line.
    assert main([str(tmp_path / "jpg"), "--count", "1", "--seed", "11", "--format", "jpg"]) == 0
    document = load_document(tmp_path / "jpg" / "demo_000.json", check_image=True)
    assert document.image_path == "demo_000.jpg"
    assert [s.points for s in document.shapes] == [s.points for s in generate_sample(11, 0).document.shapes]


def test_bundled_demo_set_is_what_the_generator_makes() -> None:
    """resources/demo must be regenerated (see its README) whenever the generator changes."""
    jsons = sorted(BUNDLED.glob("*.json"))
    assert len(jsons) == BUNDLED_COUNT
    assert sum(p.stat().st_size for p in BUNDLED.iterdir()) < 3 * 2**20
    assert ClassTable.load(BUNDLED / "classes.yaml") == demo_class_table()
    for index, path in enumerate(jsons):
        sample = generate_sample(BUNDLED_SEED, index)
        assert load_document(path, check_image=True) == sample.document
        assert json.loads(path.read_text(encoding="utf-8"))["imageData"] is None
        image = cv2.imread(str(BUNDLED / f"{sample.name}.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
        # Floating-point blurs may differ in the last bit between CPUs: allow tiny differences.
        difference = np.abs(image.astype(int) - sample.image)
        assert difference.max() <= 3 and (difference > 0).mean() < 0.01
