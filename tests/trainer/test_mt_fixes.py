"""Why nothing learned on the magnetic tile set, and the trainer features that fix it (issue 12).

* Grey tiles whose brightness and contrast vary from tile to tile (per-tile std 0.04-0.22 of full
  scale) were normalised with one dataset mean/std: ``image_norm`` standardises every image inside
  the network, so a tile at a quarter of the contrast gives the same logits.
* Batch Dice let the few images with huge defect areas decide the gradient: ``dice_per_image``
  gives a tiny defect the same say as a large one.
* ``val_from_train`` selects best.pt on a split carved from train.txt, never on test.txt, and
  ``negatives`` adds defect-free images to training (and a share to validation).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from trainer.config import ConfigError, TrainConfig, from_mapping, validate
from trainer.data import DataError, prepare_data
from trainer.losses import DiceLoss, build_loss
from trainer.models import create_model

Maker = Callable[..., Path]


@pytest.mark.parametrize("name", ["anet", "zhong", "unet"])
def test_image_norm_makes_the_network_blind_to_tile_brightness_and_contrast(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=1, image_norm=True).eval()
    tile = torch.randn(2, 3, 64, 64)  # as normalised input: unit variance
    dim = tile * torch.tensor([0.3, 3.0]).view(2, 1, 1, 1) + torch.tensor([0.4, -1.0]).view(2, 1, 1, 1)
    with torch.no_grad():
        # equal up to the eps (1e-4) added to the variance
        assert torch.allclose(model(tile), model(dim), atol=2e-3)


def test_image_standardize_works_per_image() -> None:
    from trainer.models.registry import ImageStandardize

    x = torch.randn(3, 3, 16, 16)
    x[1] = x[1] * 0.2 + 3.0  # one low-contrast bright tile in the batch (normalised input units)
    y = ImageStandardize()(x)
    assert torch.allclose(y.mean(dim=(1, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(y.std(dim=(1, 2, 3), unbiased=False), torch.ones(3), atol=1e-2)
    assert torch.allclose(y[0], ImageStandardize()(x[:1])[0])


def test_image_norm_adds_no_parameters_so_old_checkpoints_load() -> None:
    plain, normed = create_model("anet", num_classes=1), create_model("anet", num_classes=1, image_norm=True)
    assert plain.state_dict().keys() == normed.state_dict().keys()
    normed.load_state_dict(plain.state_dict())
    assert normed.options()["image_norm"] is True and plain.options()["image_norm"] is False


def _two_images() -> tuple[torch.Tensor, torch.Tensor]:
    """Image 0: a defect over half the image; image 1: a 2x2 speck. Logits all -3 (nothing found)."""
    target = torch.zeros(2, 32, 32, dtype=torch.uint8)
    target[0, :16] = 1
    target[1, 10:12, 10:12] = 1
    return torch.full((2, 1, 32, 32), -3.0, requires_grad=True), target


def test_per_image_dice_gives_a_small_defect_the_say_of_a_large_one() -> None:
    shares = {}
    for per_image in (False, True):
        logits, target = _two_images()
        DiceLoss(per_image)(logits, target).backward()
        assert logits.grad is not None
        grad = logits.grad[:, 0].abs()
        # gradient on the speck's pixels relative to the large defect's pixels
        shares[per_image] = float(grad[1, 10:12, 10:12].mean() / grad[0, :16].mean())
    assert shares[False] == pytest.approx(1.0, rel=0.05)  # batch Dice: every defect pixel alike
    assert shares[True] > 5.0  # per image: each speck pixel weighs ~10x more (4 px vs 512 px defects)


def test_per_image_dice_of_one_image_is_batch_dice_and_perfect_is_zero() -> None:
    logits, target = _two_images()
    one = (logits[:1].detach(), target[:1])
    assert float(DiceLoss(True)(*one)) == pytest.approx(float(DiceLoss(False)(*one)))
    perfect = (target.float().unsqueeze(1) * 40 - 20, target)
    loss = build_loss("dice_bce", dice_per_image=True)
    assert float(loss(*perfect)) < 1e-6


def _config(data: Path, **options: object) -> TrainConfig:
    return from_mapping({"data": str(data), "run_dir": str(data.parent / "run"), **options})


def test_val_from_train_never_touches_the_test_list(dataset_maker: Maker) -> None:
    data = dataset_maker(n=14, split=(10, 4), layout="masks")
    test = set((data / "test.txt").read_text().split())
    prepared = prepare_data(_config(data, val_from_train=0.3))
    stems = {s.stem for s in prepared.train} | {s.stem for s in prepared.val}
    assert not stems & test
    assert len(prepared.val) == 3 and len(prepared.train) == 7
    assert "val_from_train=0.3" in prepared.split.source
    assert prepare_data(_config(data, val_from_train=0.3)).split == prepared.split
    # without the option validation is still carved from train.txt; the test list is only scored
    # for the final report
    default = prepare_data(_config(data))
    assert not {s.stem for s in default.val} & test and set(default.split.test) == test


def test_negatives_join_training_and_a_share_goes_to_validation(dataset_maker: Maker) -> None:
    data = dataset_maker(n=20, split=(8, 2), layout="masks")
    free = [f"img_{i:03d}" for i in range(10, 20)]
    (data / "free.txt").write_text("\n".join(free) + "\n", encoding="utf-8")
    prepared = prepare_data(_config(data, val_from_train=0.25, negatives="free.txt", negatives_count=8))
    used = [s for s in (*prepared.split.train, *prepared.split.val) if s in free]
    assert len(used) == 8 and len(set(used)) == 8
    assert sum(1 for s in prepared.split.val if s in free) == 2  # the same 25 % share
    # count 0 = the whole list; without val_from_train the negatives join train.txt, from which the
    # default validation is carved, and never the test list
    plain = prepare_data(_config(data, negatives="free.txt"))
    assert set(free) <= set(plain.split.train) | set(plain.split.val)
    assert not set(free) & set(plain.split.test)
    with pytest.raises(DataError, match=r"nothing\.txt"):
        prepare_data(_config(data, negatives="nothing.txt"))


def test_new_options_are_validated() -> None:
    for bad in ({"val_from_train": 1.0}, {"val_from_train": -0.1}, {"negatives_count": -1}):
        config = TrainConfig(data="d", run_dir="r")
        config = from_mapping(bad, config)
        with pytest.raises(ConfigError, match=next(iter(bad))):
            validate(config)


def test_card_training_summary_holds_no_machine_paths(tmp_path: Path) -> None:
    from trainer.card import training_summary

    data, run = tmp_path / "datasets" / "magnetic_tile", tmp_path / "runs" / "mt_anet"
    checkpoint = {
        "model": "anet",
        "config": {"data": str(data), "run_dir": str(run), "classes": None, "init": str(run / "best.pt")},
        "data": str(data),
        "num_train": 3,
    }
    summary = training_summary(checkpoint)
    assert summary["data"] == "magnetic_tile" and summary["config"]["data"] == "magnetic_tile"
    assert summary["config"]["run_dir"] == "mt_anet" and summary["config"]["init"] == "mt_anet/best.pt"
    assert summary["config"]["classes"] is None
    assert str(tmp_path) not in repr(summary)
