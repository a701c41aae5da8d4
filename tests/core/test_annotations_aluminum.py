"""Every LabelMe file of the real aluminium set (labelme 5.4.1 output) loads and round-trips."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from inspector_app.core.annotations import load_document, save_document


def test_all_aluminum_files_load_and_round_trip(aluminum_dir: Path, tmp_path: Path) -> None:
    files = sorted((aluminum_dir / "labelme").glob("*.json"))
    assert len(files) == 400
    types: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    byte_identical = 0
    for path in files:
        # check_image: the declared 640x480 must match the JPEG beside it ("../images/<n>.jpg")
        document = load_document(path, check_image=True)
        assert document.image_file(path).is_file()
        assert (document.image_height, document.image_width) == (480, 640)
        assert document.shapes, f"{path.name} has no shapes"
        types.update(s.shape_type for s in document.shapes)
        labels.update(s.label for s in document.shapes)
        out = tmp_path / path.name
        save_document(document, out)
        assert load_document(out) == document, path.name
        byte_identical += out.read_bytes() == path.read_bytes()
    # The counts the dataset README documents.
    assert types == {"polygon": 800, "linestrip": 265}
    assert labels == {"zhe_zhou": 133, "ca_shang": 266, "zang_wu": 455, "zhen_kong": 211}
    # We write exactly what labelme wrote (same key order, indentation and number formatting).
    assert byte_identical == 400
