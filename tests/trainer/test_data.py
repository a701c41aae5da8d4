"""Dataset discovery, validation, decoding, split (trainer.data) on tiny real LabelMe datasets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector_app.core.annotations import load_document
from inspector_app.core.classes import ClassTable
from inspector_app.core.masks import rasterize
from trainer.config import TrainConfig
from trainer.data import DataError, find_samples, prepare_data, stratified_split
from trainer.data.decode import _MASK_MEMORY

Maker = Callable[..., Path]


def config_for(data: Path, **options: object) -> TrainConfig:
    config = TrainConfig(data=str(data), run_dir=str(data.parent / "run"))
    for key, value in options.items():
        setattr(config, key, value)
    return config


@pytest.mark.parametrize("layout", ["beside", "labelme", "masks"])
def test_layouts_give_the_same_masks(dataset_maker: Maker, layout: str) -> None:
    data = dataset_maker(layout, layout=layout)
    samples = find_samples(data)
    assert [s.stem for s in samples] == [f"img_{i:03d}" for i in range(6)]
    prepared = prepare_data(config_for(data))
    table = ClassTable.load(data / "classes.yaml")
    reference = dataset_maker(f"ref_{layout}", layout="beside")
    for sample in prepared.train + prepared.val:
        document = load_document(reference / f"{sample.stem}.json")
        expected = rasterize(document, table, (64, 96))
        np.testing.assert_array_equal(sample.mask, expected)
        assert sample.image.shape == (64, 96) and sample.image.dtype == np.uint8


def test_labelme_folder_resolves_parent_image_paths(dataset_maker: Maker) -> None:
    data = dataset_maker(layout="labelme")
    document = json.loads((data / "labelme" / "img_000.json").read_text())
    assert document["imagePath"] == "../images/img_000.png"
    sample = find_samples(data)[0]
    assert sample.image == data / "images" / "img_000.png"
    assert sample.annotation == data / "labelme" / "img_000.json"


def test_auto_prefers_mask_png_like_the_evaluator_and_json_can_be_forced(dataset_maker: Maker) -> None:
    data = dataset_maker(layout="labelme")
    (data / "masks").mkdir()
    cv2.imwrite(str(data / "masks" / "img_001.png"), np.zeros((64, 96), np.uint8))
    auto = {s.stem: s for s in find_samples(data)}
    assert auto["img_001"].mask is not None and auto["img_001"].annotation is None
    assert auto["img_000"].annotation is not None
    forced = {s.stem: s for s in find_samples(data, "json")}
    assert forced["img_001"].annotation is not None and forced["img_001"].mask is None


def test_class_table_sources(dataset_maker: Maker) -> None:
    with_yaml = prepare_data(config_for(dataset_maker("a")))
    assert with_yaml.table.labels == ("_background_", "scratch", "stain", "pit")
    assert with_yaml.table.by_label("scratch").line_width == 3
    from_labels = prepare_data(config_for(dataset_maker("b", classes_yaml=False)))
    assert from_labels.table.labels == ("_background_", "pit", "scratch", "stain")  # sorted
    txt = dataset_maker("c", classes_yaml=False, layout="masks")
    (txt / "classes.txt").write_text("background\nscratch\nstain\npit\n")
    from_txt = prepare_data(config_for(txt))
    assert from_txt.table.labels == ("_background_", "scratch", "stain", "pit")


def test_images_are_resized_to_multiples_of_32(dataset_maker: Maker) -> None:
    data = dataset_maker(size=(70, 100))
    prepared = prepare_data(config_for(data))
    assert prepared.size == (64, 96)
    assert all(s.image.shape[:2] == (64, 96) and s.mask.shape == (64, 96) for s in prepared.train)
    explicit = prepare_data(config_for(data, input_size=(32, 64)))
    assert explicit.train[0].mask.shape == (32, 64)
    assert set(np.unique(explicit.train[0].mask)) <= {0, 1, 2, 3}  # nearest: no blended class values


def test_rgb_and_grey_channels(dataset_maker: Maker) -> None:
    data = dataset_maker(rgb=True)
    rgb = prepare_data(config_for(data))
    assert rgb.train[0].image.shape == (64, 96, 3)
    grey = prepare_data(config_for(data, input_channels=1))
    assert grey.train[0].image.shape == (64, 96)


def test_unknown_labels_are_named_with_their_files(dataset_maker: Maker) -> None:
    data = dataset_maker(labels_of=lambda i: ["stain", "dent"] if i == 2 else ["stain"])
    with pytest.raises(DataError) as info:
        prepare_data(config_for(data))
    message = str(info.value)
    assert "'dent'" in message and "img_002.json" in message and "--add-unknown-classes" in message
    warnings: list[str] = []
    prepared = prepare_data(config_for(data, add_unknown_classes=True), warn=warnings.append)
    assert prepared.table.labels[-1] == "dent" and prepared.added_labels == ("dent",)
    assert any("dent" in w for w in warnings)
    dent = prepared.table.index_of("dent")
    assert any((s.mask == dent).any() for s in prepared.train + prepared.val)


def _break_size(data: Path, stem: str) -> None:
    path = data / f"{stem}.json"
    document = json.loads(path.read_text())
    document["imageHeight"] = 65
    path.write_text(json.dumps(document))


def test_size_mismatch_fails_naming_the_file(dataset_maker: Maker) -> None:
    data = dataset_maker()
    _break_size(data, "img_004")
    with pytest.raises(DataError) as info:
        prepare_data(config_for(data))
    assert "img_004.json" in str(info.value) and "size mismatch" in str(info.value)


def test_bad_fraction_threshold(dataset_maker: Maker) -> None:
    data = dataset_maker(n=8)
    _break_size(data, "img_004")
    (data / "img_005.png").write_bytes(b"not a png at all")
    # 2 of 8 bad = 25 %
    with pytest.raises(DataError, match="2 of 8 sample"):
        prepare_data(config_for(data, max_bad_fraction=0.2))
    warnings: list[str] = []
    prepared = prepare_data(config_for(data, max_bad_fraction=0.25), warn=warnings.append)
    stems = {s.stem for s in prepared.train + prepared.val}
    assert len(stems) == 6 and "img_004" not in stems and "img_005" not in stems
    assert any("img_005.png" in w for w in warnings) and any("img_004.json" in w for w in warnings)


def test_unreadable_json_is_named(dataset_maker: Maker) -> None:
    data = dataset_maker()
    (data / "img_001.json").write_text("{ broken")
    with pytest.raises(DataError, match=r"img_001\.json"):
        prepare_data(config_for(data))


def test_empty_dataset(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    cv2.imwrite(str(tmp_path / "empty" / "a.png"), np.zeros((32, 32), np.uint8))
    with pytest.raises(DataError, match="empty dataset"):
        prepare_data(config_for(tmp_path / "empty"))
    with pytest.raises(DataError, match="does not exist"):
        prepare_data(config_for(tmp_path / "nowhere"))


def test_split_files_are_used_and_unlisted_images_left_out(dataset_maker: Maker) -> None:
    data = dataset_maker(n=8, split=(4, 2))
    (data / "val.txt").write_text("img_006\n", encoding="utf-8")
    prepared = prepare_data(config_for(data))
    assert [s.stem for s in prepared.train] == [f"img_{i:03d}" for i in range(4)]
    assert [s.stem for s in prepared.val] == ["img_006"]
    assert [s.stem for s in prepared.test] == ["img_004", "img_005"]
    assert prepared.split.source == "train.txt+val.txt+test.txt"


def test_only_train_and_test_lists_carve_a_stable_validation_split_from_train(dataset_maker: Maker) -> None:
    """Model selection never sees test.txt: validation comes out of train.txt, stratified and stable."""
    data = dataset_maker(n=12, split=(10, 2))
    prepared = prepare_data(config_for(data, val_fraction=0.3))
    train_list = {f"img_{i:03d}" for i in range(10)}
    assert [s.stem for s in prepared.test] == ["img_010", "img_011"]
    assert {s.stem for s in prepared.val} <= train_list and len(prepared.val) == 3
    assert {s.stem for s in prepared.train} == train_list - {s.stem for s in prepared.val}
    assert "carved" in prepared.split.source
    assert prepare_data(config_for(data, val_fraction=0.3)).split == prepared.split


def test_split_naming_missing_files_fails(dataset_maker: Maker) -> None:
    data = dataset_maker(split=(4, 2))
    with (data / "test.txt").open("a") as fh:
        fh.write("ghost_1\nghost_2\n")
    with pytest.raises(DataError) as info:
        prepare_data(config_for(data))
    assert "ghost_1" in str(info.value) and "test.txt" in str(info.value)
    (data / "train.txt").unlink()
    with pytest.raises(DataError, match=r"train\.txt"):
        prepare_data(config_for(data))


def test_stratified_split_is_deterministic_and_stratified() -> None:
    dominant = {f"s{i:02d}": (1 if i < 20 else 2 if i < 30 else 3) for i in range(40)}
    a = stratified_split(dominant, 0.25, seed=3)
    b = stratified_split(dict(reversed(list(dominant.items()))), 0.25, seed=3)
    assert a == b
    assert len(a.val) == 10 and len(a.train) == 30
    val_classes = sorted(dominant[s] for s in a.val)
    assert val_classes.count(1) == 5 and val_classes.count(2) == 3 and val_classes.count(3) == 2
    assert stratified_split(dominant, 0.25, seed=4).val != a.val


def test_stratified_split_used_without_split_files(dataset_maker: Maker) -> None:
    data = dataset_maker(n=10)
    prepared = prepare_data(config_for(data, val_fraction=0.3))
    assert len(prepared.val) == 3 and len(prepared.train) == 7
    assert prepared.split.source.startswith("stratified")
    again = prepare_data(config_for(data, val_fraction=0.3))
    assert again.split == prepared.split


def test_on_disk_mask_cache(dataset_maker: Maker, tmp_path: Path) -> None:
    data = dataset_maker()
    cache = tmp_path / "cache"
    first = prepare_data(config_for(data, mask_cache=str(cache)))
    files = sorted(cache.glob("*.png"))
    assert len(files) == 6
    _MASK_MEMORY.clear()  # force the disk cache to be read
    second = prepare_data(config_for(data, mask_cache=str(cache)))
    for a, b in zip(first.train, second.train, strict=True):
        np.testing.assert_array_equal(a.mask, b.mask)
    # Editing a JSON changes its mtime/size: a new cache entry is made.
    path = data / "img_000.json"
    document = json.loads(path.read_text())
    document["shapes"] = document["shapes"][:1]
    path.write_text(json.dumps(document, indent=2))
    prepare_data(config_for(data, mask_cache=str(cache)))
    assert len(list(cache.glob("*.png"))) == 7


def test_dominant_class_and_class_pixels(dataset_maker: Maker) -> None:
    data = dataset_maker(labels_of=lambda i: ["stain"] if i % 2 else ["pit"])
    prepared = prepare_data(config_for(data))
    for sample in prepared.train + prepared.val:
        assert sample.class_pixels.sum() == 64 * 96
        assert sample.dominant_class == (2 if int(sample.stem[-1]) % 2 else 3)
        for cls, points in sample.focus.items():
            assert (sample.mask[points[:, 0], points[:, 1]] == cls).all()
