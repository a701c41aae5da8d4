"""Predictor on real ONNX models from tests/onnx_factory.py, with hand-computed expected masks.

The factory's rgb4 model: background logit 0.5, class 1/2/3 logit = normalised R/G/B; so with the
identity normalisation a pixel is ``1 + argmax(RGB)`` (ties -> lower index) where that channel's
value / 255 exceeds 0.5, else background. The colours below sit on both sides of 0.5 so that a
wrong scale (forgetting /255, /255 on 16-bit data, ...) changes the answer.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from inspector_app.core.classes import ClassTable
from inspector_app.core.modelcard import ModelError
from inspector_app.core.predictor import Prediction, Predictor, postprocess, preprocess
from tests import onnx_factory as factory

#: (R, G, B) -> expected class of the rgb4 model with identity normalisation (worked out by hand).
RGB_CASES = {
    (150, 0, 0): 1,  # 0.588 > 0.5
    (100, 0, 0): 0,  # 0.392 < 0.5
    (0, 200, 0): 2,
    (0, 0, 140): 3,  # 0.549
    (0, 0, 120): 0,  # 0.471
    (200, 180, 0): 1,  # red largest
    (180, 200, 0): 2,  # green largest
    (10, 90, 230): 3,
    (140, 140, 140): 1,  # tie -> lowest index
    (0, 0, 0): 0,
    (255, 255, 255): 1,
}
SIZES = [(203, 517), (31, 33), (1, 1), (64, 32), (5, 200)]
RNG = np.random.default_rng(1234)


def _random_case_image(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Random per-pixel choice of the colours above, and the expected mask."""
    colours = np.array(list(RGB_CASES), dtype=np.uint8)
    classes = np.array(list(RGB_CASES.values()), dtype=np.uint8)
    pick = RNG.integers(0, len(colours), size=(h, w))
    return colours[pick], classes[pick]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def rgb4(models: Path) -> Predictor:
    return Predictor(factory.rgb4(models / "rgb4.onnx"), threads=1)


def test_factory_graph_really_needs_the_size_multiple(models: Path) -> None:
    # Guards the tests below: a predictor that forgot to pad would fail on odd sizes.
    path = factory.rgb4(models / "guard.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    assert session.run(None, {"image": np.zeros((1, 3, 64, 32), np.float32)})[0].shape == (1, 4, 64, 32)
    with pytest.raises(Exception, match=r"broadcast|Add"):
        session.run(None, {"image": np.zeros((1, 3, 33, 32), np.float32)})


@pytest.mark.parametrize(("h", "w"), SIZES)
def test_rgb_masks_match_hand_computed_classes(rgb4: Predictor, h: int, w: int) -> None:
    image, expected = _random_case_image(h, w)
    result = rgb4.predict(image)
    assert isinstance(result, Prediction)
    assert result.mask.shape == (h, w) and result.mask.dtype == np.uint8
    assert result.mask.flags.c_contiguous
    np.testing.assert_array_equal(result.mask, expected)
    assert result.probabilities is None
    assert result.model_id == "test-0001" == rgb4.model_id
    assert result.elapsed_ms > 0


def test_rgba_drops_alpha(rgb4: Predictor) -> None:
    image, expected = _random_case_image(40, 70)
    alpha = RNG.integers(0, 256, size=(40, 70, 1), dtype=np.uint8)
    np.testing.assert_array_equal(rgb4.predict(np.concatenate([image, alpha], axis=2)).mask, expected)


def test_sixteen_bit_rgb_is_scaled_by_65535(rgb4: Predictor) -> None:
    image, expected = _random_case_image(45, 50)
    np.testing.assert_array_equal(rgb4.predict(image.astype(np.uint16) * 257).mask, expected)
    near = np.array([[[32000, 0, 0], [33500, 0, 0], [0, 0, 40000]]], np.uint16)  # 0.488, 0.511, 0.610
    assert rgb4.predict(near).mask.tolist() == [[0, 1, 3]]


def test_grey_feeds_all_three_channels(rgb4: Predictor) -> None:
    grey = RNG.choice(np.array([0, 100, 120, 140, 200, 255], np.uint8), size=(33, 65))
    expected = (grey > 127).astype(np.uint8)  # equal channels tie -> class 1 above 0.5
    np.testing.assert_array_equal(rgb4.predict(grey).mask, expected)
    np.testing.assert_array_equal(rgb4.predict(grey[:, :, None]).mask, expected)  # HxWx1 too


def test_card_normalisation_is_applied(models: Path) -> None:
    # (v/255 - 0.2) / 0.5 > 0.5  <=>  v > 114.75
    same = Predictor(factory.rgb4(models / "norm.onnx", mean=(0.2, 0.2, 0.2), std=(0.5, 0.5, 0.5)))
    assert same.predict(np.array([[110, 120]], np.uint8)).mask.tolist() == [[0, 1]]
    # Green shifted down by 0.3: (0, 200, 0) -> 0.784 - 0.3 < 0.5 -> background; 230 -> 0.602 -> green.
    shifted = Predictor(factory.rgb4(models / "shift.onnx", mean=(0.0, 0.3, 0.0)))
    image = np.array([[[0, 200, 0], [0, 230, 0], [150, 0, 0]]], np.uint8)
    assert shifted.predict(image).mask.tolist() == [[0, 2, 1]]


def test_grey_model_takes_luminance_of_colour_images(models: Path) -> None:
    grey2 = Predictor(factory.grey2(models / "grey2.onnx"))
    assert grey2.card.input_channels == 1
    # BT.601: (0,255,0) -> 150 (class 1), (0,200,0) -> 117, (255,0,0) -> 76, white -> 255.
    rgb = np.array([[[0, 255, 0], [0, 200, 0], [255, 0, 0], [255, 255, 255]]], np.uint8)
    assert grey2.predict(rgb).mask.tolist() == [[1, 0, 0, 1]]
    rgba = np.concatenate([rgb, np.zeros((1, 4, 1), np.uint8)], axis=2)
    assert grey2.predict(rgba).mask.tolist() == [[1, 0, 0, 1]]
    grey16 = np.array([[30000, 36000]], np.uint16)
    assert grey2.predict(grey16).mask.tolist() == [[0, 1]]
    grey = RNG.integers(0, 256, size=(77, 91), dtype=np.uint8)
    np.testing.assert_array_equal(grey2.predict(grey).mask, (grey > 127).astype(np.uint8))


def test_one_logit_threshold(models: Path) -> None:
    # logit = 10 (x - 0.5); p > t  <=>  x > 0.5 + logit(t) / 10: t=0.5 -> 0.5, t=0.7 -> 0.585.
    row = np.array([[100, 140, 160]], np.uint8)  # x = 0.392, 0.549, 0.627
    default = Predictor(factory.one_logit(models / "sig.onnx"))
    assert default.predict(row).mask.tolist() == [[0, 1, 1]]
    assert default.predict(row, threshold=0.7).mask.tolist() == [[0, 0, 1]]
    strict = Predictor(factory.one_logit(models / "sig7.onnx", threshold=0.7))
    assert strict.predict(row).mask.tolist() == [[0, 0, 1]]
    with pytest.raises(ValueError, match="threshold"):
        default.predict(row, threshold=1.0)


def test_one_logit_probabilities_are_background_and_defect(models: Path) -> None:
    predictor = Predictor(factory.one_logit(models / "sigp.onnx"))
    grey = RNG.integers(0, 256, size=(19, 45), dtype=np.uint8)
    result = predictor.predict(grey, probabilities=True)
    probs = result.probabilities
    assert probs is not None and probs.shape == (2, 19, 45) and probs.dtype == np.float32
    expected_p = 1.0 / (1.0 + np.exp(-10.0 * (grey / 255.0 - 0.5)))
    np.testing.assert_allclose(probs[1], expected_p, atol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-6)
    np.testing.assert_array_equal(result.mask, (probs[1] > 0.5).astype(np.uint8))


def test_softmax_probabilities(rgb4: Predictor) -> None:
    image, expected = _random_case_image(31, 33)
    result = rgb4.predict(image, probabilities=True)
    probs = result.probabilities
    assert probs is not None and probs.shape == (4, 31, 33) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)
    x = image.astype(np.float64) / 255.0
    logits = np.concatenate([np.full((1, 31, 33), 0.5), x.transpose(2, 0, 1)])
    softmax = np.exp(logits) / np.exp(logits).sum(axis=0)
    np.testing.assert_allclose(probs, softmax, atol=1e-5)
    np.testing.assert_array_equal(result.mask, expected)


def test_buffers_are_reused_without_stale_pixels(rgb4: Predictor) -> None:
    first, expected_first = _random_case_image(50, 60)
    second, expected_second = _random_case_image(50, 60)
    np.testing.assert_array_equal(rgb4.predict(first).mask, expected_first)
    np.testing.assert_array_equal(rgb4.predict(second).mask, expected_second)
    small, expected_small = _random_case_image(7, 9)
    np.testing.assert_array_equal(rgb4.predict(small).mask, expected_small)
    # A non-contiguous view (a crop of a larger frame) works too.
    np.testing.assert_array_equal(rgb4.predict(first[5:40:2, 3:50]).mask, expected_first[5:40:2, 3:50])


def test_sidecar_card_is_used_when_nothing_is_embedded(models: Path) -> None:
    path = factory.rgb4(models / "side.onnx", embed=False, sidecar=True, model_id="from-sidecar")
    predictor = Predictor(path)
    assert predictor.model_id == "from-sidecar"
    assert predictor.class_table.labels == ("_background_", "red", "green", "blue")


def test_model_without_card_needs_a_class_table(models: Path) -> None:
    path = factory.rgb4(models / "bare.onnx", card=False)
    with pytest.raises(ModelError, match=r"bare\.onnx.*no model card"):
        Predictor(path)
    table = ClassTable.from_labels(["a", "b", "c"])
    predictor = Predictor(path, class_table=table)
    assert predictor.class_table == table
    assert predictor.model_id.startswith("sha256:")
    assert predictor.model_id == Predictor(path, class_table=table).model_id  # stable
    image, expected = _random_case_image(21, 22)
    np.testing.assert_array_equal(predictor.predict(image).mask, expected)  # mean 0 / std 1


def test_class_table_replaces_the_cards_when_the_count_matches(models: Path) -> None:
    path = factory.rgb4(models / "override.onnx")
    table = ClassTable.from_labels(["x", "y", "z"])
    assert Predictor(path, class_table=table).class_table == table
    with pytest.raises(ModelError, match="2 classes"):
        Predictor(path, class_table=ClassTable.from_labels(["x"]))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"absent\.onnx.*no such file"):
        Predictor(tmp_path / "absent.onnx")


@pytest.mark.parametrize("content", [b"", b"\x00garbage bytes, not protobuf\xff" * 20])
def test_not_an_onnx_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=r"broken\.onnx.*(not an ONNX model|cannot load)"):
        Predictor(path, class_table=factory.RGB_TABLE)


def test_card_class_count_must_match_the_output_channels(tmp_path: Path) -> None:
    three = ClassTable.from_labels(["a", "b"])
    path = factory.rgb4(tmp_path / "m.onnx", card=factory.make_card(three, 3))
    with pytest.raises(ModelError, match=r"m\.onnx.*3 classes.*4 channels"):
        Predictor(path)
    sigmoid = factory.make_card(factory.BINARY_TABLE, 3, output="sigmoid")
    with pytest.raises(ModelError, match=r"one sigmoid logit.*4 channels"):
        Predictor(factory.rgb4(tmp_path / "s.onnx", card=sigmoid))
    with pytest.raises(ModelError, match="3 classes"):  # no card, wrong table
        Predictor(factory.rgb4(tmp_path / "b.onnx", card=False), class_table=three)


def test_card_input_channels_must_match_the_graph(tmp_path: Path) -> None:
    grey_card = factory.make_card(factory.RGB_TABLE, 1)
    with pytest.raises(ModelError, match=r"1 input channels.*takes 3"):
        Predictor(factory.rgb4(tmp_path / "c.onnx", card=grey_card))


def test_wrong_input_rank(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "rank3",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "H", "W"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", factory.OPSET)])
    model.ir_version = factory.IR_VERSION
    path = tmp_path / "rank3.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ModelError, match=r"rank3\.onnx.*wrong input rank 3"):
        Predictor(path, class_table=factory.BINARY_TABLE)


def test_fixed_size_graph_is_fed_resized_images(tmp_path: Path) -> None:
    model = factory.segmentation_model([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], [0.5, 0, 0, 0],
                                       fixed_size=(64, 64))
    path = factory.save_model(model, tmp_path / "fixed.onnx", factory.make_card(factory.RGB_TABLE, 3))
    predictor = Predictor(path)
    assert predictor.card.input_size == (64, 64)
    image = np.zeros((100, 150, 3), np.uint8)
    image[:, :75] = (0, 200, 0)
    mask = predictor.predict(image).mask
    assert mask.shape == (100, 150)
    assert (mask[:, :70] == 2).all() and (mask[:, 80:] == 0).all()


def test_low_resolution_output_is_upsampled(tmp_path: Path) -> None:
    model = factory.segmentation_model([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], [0.5, 0, 0, 0],
                                       output_stride=4)
    path = factory.save_model(model, tmp_path / "stride.onnx", factory.make_card(factory.RGB_TABLE, 3))
    image = np.zeros((90, 120, 3), np.uint8)
    image[:, 60:] = (0, 0, 220)
    mask = Predictor(path).predict(image).mask
    assert mask.shape == (90, 120)
    assert (mask[:, :52] == 0).all() and (mask[:, 68:] == 3).all()


def test_bad_images_are_value_errors(rgb4: Predictor) -> None:
    with pytest.raises(ValueError, match="float32"):
        rgb4.predict(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        rgb4.predict(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        rgb4.predict(np.zeros((0, 4, 3), np.uint8))


def test_prediction_is_frozen(rgb4: Predictor) -> None:
    result = rgb4.predict(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.model_id = "other"  # type: ignore[misc]


def test_warmup_and_repr(rgb4: Predictor) -> None:
    rgb4.warmup()
    assert "rgb4.onnx" in repr(rgb4) and "CPUExecutionProvider" in rgb4.providers


@pytest.mark.gpu
def test_cuda_provider_gives_the_same_mask(models: Path) -> None:
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("this onnxruntime build has no CUDA provider")
    predictor = Predictor(factory.rgb4(models / "gpu.onnx"))
    assert predictor.providers[0] == "CUDAExecutionProvider"
    image, expected = _random_case_image(203, 517)
    np.testing.assert_array_equal(predictor.predict(image).mask, expected)


def test_non_float32_graph_is_refused(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT16)],
        "half_out",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["N", 3, "H", "W"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", factory.OPSET)])
    model.ir_version = factory.IR_VERSION
    path = tmp_path / "half.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ModelError, match=r"half\.onnx.*float16.*expected float32"):
        Predictor(path, class_table=ClassTable.from_labels(["a", "b"]))


def test_preprocess_pads_with_a_mirror_and_normalises() -> None:
    card = factory.make_card(factory.BINARY_TABLE, 1, size_multiple=4, mean=(0.5,), std=(0.25,))
    image = np.array([[0, 51, 102], [153, 204, 255]], np.uint8)
    tensor = preprocess(image, card)
    assert tensor.shape == (1, 1, 4, 4) and tensor.dtype == np.float32
    # Reflect-101 bottom/right: columns 0 1 2 | 1, rows 0 1 | 0 1.
    mirrored = np.array([[0, 51, 102, 51], [153, 204, 255, 204], [0, 51, 102, 51], [153, 204, 255, 204]])
    np.testing.assert_allclose(tensor[0, 0], (mirrored / 255.0 - 0.5) / 0.25, atol=1e-6)
    assert preprocess(image[::-1], card, out=tensor) is tensor  # buffer reused for the same size


def test_preprocess_repeats_grey_and_resizes_for_fixed_size_models() -> None:
    card = factory.make_card(factory.RGB_TABLE, 3, input_size=(8, 8), mean=(0.1, 0.2, 0.3))
    tensor = preprocess(np.full((20, 30), 255, np.uint8), card)
    assert tensor.shape == (1, 3, 8, 8)
    np.testing.assert_allclose(tensor[0, :, 0, 0], [0.9, 0.8, 0.7], atol=1e-6)


def test_postprocess_matches_numpy_argmax_with_ties() -> None:
    card = factory.make_card(ClassTable.from_labels("abcdef"), 3)
    logits = RNG.integers(-3, 4, size=(1, 7, 40, 50)).astype(np.float32)  # many exact ties
    mask, probs = postprocess(logits, card, (33, 41), (40, 50), probabilities=True)
    np.testing.assert_array_equal(mask, np.argmax(logits[0, :, :33, :41], axis=0))
    assert probs is not None and probs.shape == (7, 33, 41)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)
