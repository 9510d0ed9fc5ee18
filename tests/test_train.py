"""Both training stages for a few steps on real photos at 64 px."""
import csv

import pytest
import torch
from PIL import Image

from colorizer.training.callbacks import Callback
from colorizer.checkpoint import load_checkpoint, load_weights, read_meta
from colorizer.training import TrainConfig
from colorizer.infer import Colorizer
from colorizer.models import PatchDiscriminator, build_generator
from colorizer.training import Trainer, TrainingError, train


def _cfg(tmp_path, photo_dir, **kw):
    base = dict(stage="pretrain", data=str(photo_dir), val_fraction=0.25, out=tmp_path / "weights" / "g.pt",
                run_dir=tmp_path / "runs" / "pre", size=64, epochs=1, batch_size=4, lr=1e-3, workers=0,
                backbone_weights="none", samples=3)
    base.update(kw)
    return TrainConfig(**base)


def test_generator_and_discriminator_shapes():
    g = build_generator("resnet18", "none", 64)
    x = torch.randn(2, 1, 64, 64)
    y = g(x)
    assert type(y) is torch.Tensor and y.shape == (2, 2, 64, 64)
    d = PatchDiscriminator()
    assert d(torch.randn(1, 1, 256, 256), torch.randn(1, 2, 256, 256)).shape == (1, 1, 30, 30)


def test_each_training_task_plugs_in_by_one_registry_line():
    """TASKS names each task's class by import path (hints and paired live in their packages); every task
    the command line offers (config.TASK_DEFAULTS) is one, and an unknown name is one clear error."""
    from colorizer.training.config import TASK_DEFAULTS
    from colorizer.training.tasks import TASKS, task_class

    assert set(TASKS) == set(TASK_DEFAULTS)
    for name, where in TASKS.items():
        cls = task_class(name)
        assert cls.name == name and f"{cls.__module__}:{cls.__name__}" == where
    assert task_class("hints").__module__ == "colorizer.hints.task"
    with pytest.raises(ValueError, match="Unknown task 'nope'"):
        task_class("nope")


def test_pretrain_l1_falls_on_a_fixed_batch(tmp_path, photo_dir):
    t = Trainer(_cfg(tmp_path, photo_dir), progress=False, log=lambda s: None)
    L, ab = t.task.split(next(iter(t.data.train)), t.device)
    losses = [t.stage.step(L, ab)["train_l1"] for _ in range(25)]
    assert losses[-1] < 0.5 * losses[0], losses


def test_pretrain_run_writes_everything(tmp_path, photo_dir):
    cfg = _cfg(tmp_path, photo_dir, epochs=2)
    history = train(cfg, progress=False, log=lambda s: None)
    assert [r["epoch"] for r in history] == [1, 2]
    run = cfg.run_dir
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert len(rows) == 2 and float(rows[-1]["val_l1"]) > 0
    assert Image.open(run / "samples" / "epoch_002.png").size[0] > 64 * 3
    assert (run / "loss_curve.png").stat().st_size > 1000
    state, meta = load_weights(cfg.out)
    assert meta["stage"] == "pretrain" and meta["epoch"] == 2 and meta["size"] == 64
    assert meta["images_seen"] == 2 * 8  # 9 training photos, batches of 4, drop_last
    g = build_generator(meta["backbone"], "none", 64)
    g.load_state_dict(state)  # loads back into a fresh generator


def test_gan_run_writes_and_reloads(tmp_path, photo_dir):
    pre = _cfg(tmp_path, photo_dir, max_steps=2)
    train(pre, progress=False, log=lambda s: None)
    gan = _cfg(tmp_path, photo_dir, stage="gan", init=pre.out, out=tmp_path / "weights" / "gan.pt",
               run_dir=tmp_path / "runs" / "gan", lr=2e-4, betas=(0.5, 0.999), max_steps=2)
    history = train(gan, progress=False, log=lambda s: None)
    assert {"train_d", "train_g_gan", "train_l1", "val_l1"} <= set(history[-1])
    meta = read_meta(gan.out)
    assert meta["stage"] == "gan" and meta["init"]["stage"] == "pretrain"
    assert meta["images_seen"] == read_meta(pre.out)["images_seen"] + 2 * 4
    ck = load_checkpoint(gan.run_dir / "last.pt")
    assert "discriminator" in ck and "opt_d" in ck
    # and the weights colorize a photo at its own size
    model = Colorizer.load(gan.out, render_size=64)
    out = model.colorize(Image.open(photo_dir / "a" / sorted(p.name for p in (photo_dir / "a").iterdir())[0]))
    assert out.mode == "RGB"


def test_gan_without_stage1_names_file_and_command(tmp_path, photo_dir):
    gan = _cfg(tmp_path, photo_dir, stage="gan", init=tmp_path / "weights" / "missing.pt")
    with pytest.raises(TrainingError, match=r"(?s)missing\.pt does not exist.*python pretrain\.py"):
        Trainer(gan, progress=False, log=lambda s: None)


class _StopAt(Callback):
    def __init__(self, epoch, step):
        self.epoch, self.step, self.count = epoch, step, 0

    def on_epoch_begin(self, trainer, epoch, steps):
        self.current, self.count = epoch, 0

    def on_step_end(self, trainer, losses):
        self.count += 1
        if self.current == self.epoch and self.count == self.step:
            raise KeyboardInterrupt


def test_resume_after_a_stop_continues_with_optimizer_state(tmp_path, photo_dir):
    cfg = _cfg(tmp_path, photo_dir, epochs=3)
    t = Trainer(cfg, progress=False, log=lambda s: None)
    t.callbacks.append(_StopAt(epoch=2, step=1))
    with pytest.raises(KeyboardInterrupt):
        t.fit()
    ck = load_checkpoint(cfg.run_dir / "last.pt")
    assert ck["epoch"] == 1 and ck["opt_g"]["state"]  # Adam moments were saved
    cfg.resume = True
    t2 = Trainer(cfg, progress=False, log=lambda s: None)
    assert t2.start_epoch == 2
    saved = ck["opt_g"]["state"][0]["exp_avg"]
    assert torch.equal(t2.stage.opt_g.state_dict()["state"][0]["exp_avg"], saved)
    history = t2.fit()
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert len(list(csv.DictReader((cfg.run_dir / "log.csv").open()))) == 3


def test_resume_without_checkpoint_is_clear(tmp_path, photo_dir):
    with pytest.raises(TrainingError, match="no checkpoint"):
        Trainer(_cfg(tmp_path, photo_dir, resume=True), progress=False, log=lambda s: None)


def test_existing_weights_are_kept_not_overwritten(tmp_path, photo_dir):
    cfg = _cfg(tmp_path, photo_dir, max_steps=1)
    cfg.out.parent.mkdir(parents=True)
    cfg.out.write_bytes(b"precious")
    train(cfg, progress=False, log=lambda s: None)
    kept = [p for p in cfg.out.parent.iterdir() if p.name != cfg.out.name]
    assert len(kept) == 1 and kept[0].read_bytes() == b"precious"
    assert read_meta(cfg.out)["stage"] == "pretrain"


def test_cosine_schedule_decays(tmp_path, photo_dir):
    cfg = _cfg(tmp_path, photo_dir, epochs=2, lr_schedule="cosine")
    history = train(cfg, progress=False, log=lambda s: None)
    assert history[-1]["lr"] < 0.5 * cfg.lr


def test_a_fresh_run_keeps_the_earlier_run_folder(tmp_path, photo_dir):
    cfg = _cfg(tmp_path, photo_dir, max_steps=1)
    train(cfg, progress=False, log=lambda s: None)
    train(cfg, progress=False, log=lambda s: None)
    kept = [p for p in cfg.run_dir.parent.iterdir() if p.name.startswith("pre.")]
    assert len(kept) == 1 and (kept[0] / "last.pt").is_file() and (kept[0] / "log.csv").is_file()
    assert len(list(csv.DictReader((cfg.run_dir / "log.csv").open()))) == 1


@pytest.mark.parametrize("stage", ["pretrain", "gan"])
def test_scripts_with_no_flags_train_like_the_config_defaults(stage):
    from colorizer.training.parsers import config_from_args, gan_parser, pretrain_parser

    parser = pretrain_parser() if stage == "pretrain" else gan_parser()
    assert config_from_args(parser.parse_args([]), stage) == TrainConfig(stage=stage)
    flags = config_from_args(parser.parse_args(["--data", "photos", "--lr", "3e-5"]), stage)
    assert flags == TrainConfig(stage=stage, data="photos", lr=3e-5)
    assert flags.epochs == 20 and TrainConfig(stage=stage).epochs == 3  # the examples: a smoke test


def test_stage_defaults_live_in_the_config():
    gan, pre = TrainConfig(stage="gan"), TrainConfig(stage="pretrain")
    assert gan.betas == (0.5, 0.999) and pre.betas == (0.9, 0.999)  # pix2pix's Adam for the GAN
    assert gan.init is not None and pre.init is None
    assert TrainConfig(stage="gan", lr=1e-5, betas=[0.9, 0.99]).betas == (0.9, 0.99)
    with pytest.raises(ValueError, match="stage"):
        TrainConfig(stage="stage3")


def test_stage1_can_continue_from_weights(tmp_path, photo_dir):
    first = _cfg(tmp_path, photo_dir, max_steps=2)
    train(first, progress=False, log=lambda s: None)
    more = _cfg(tmp_path, photo_dir, init=first.out, out=tmp_path / "weights" / "more.pt",
                run_dir=tmp_path / "runs" / "more", max_steps=1)
    t = Trainer(more, progress=False, log=lambda s: None)
    start, _ = load_weights(first.out)
    assert all(torch.equal(v.float(), start[k]) for k, v in t.generator.state_dict().items())
    t.fit()
    meta = read_meta(more.out)
    assert meta["images_seen"] == read_meta(first.out)["images_seen"] + 4 and meta["init"]["stage"] == "pretrain"


def test_moving_average_forgets_the_start_weights_within_a_hundred_steps():
    from torch.optim.swa_utils import AveragedModel
    from colorizer.training.stages import warmed_ema

    net = torch.nn.Linear(3, 2)
    torch.nn.init.zeros_(net.weight)
    avg = AveragedModel(net, multi_avg_fn=warmed_ema(0.999), use_buffers=True)
    avg.update_parameters(net)  # the first update copies the start (a new, untrained layer)
    torch.nn.init.ones_(net.weight)
    for _ in range(100):
        avg.update_parameters(net)
    # a plain 0.999 average would still be 90% the start (0.999 ** 100); the warmed one has left it
    assert avg.module.weight.min() > 0.9
    for _ in range(2000):
        avg.update_parameters(net)
    assert avg.module.weight.max() <= 1.0


def test_gan_with_moving_average_and_spectral_norm_saves_the_average(tmp_path, photo_dir, monkeypatch):
    from colorizer.training.tasks import Colorization

    summary, calls = Colorization.val_summary, []
    monkeypatch.setattr(Colorization, "val_summary",  # the real metrics, and a score rising each epoch
                        lambda self, means: dict(summary(self, means), score=len(calls.append(1) or calls)))
    pre = _cfg(tmp_path, photo_dir, max_steps=1)
    train(pre, progress=False, log=lambda s: None)
    gan = _cfg(tmp_path, photo_dir, stage="gan", init=pre.out, out=tmp_path / "weights" / "gan.pt",
               run_dir=tmp_path / "runs" / "gan", epochs=2, ema=0.5, d_spectral_norm=True)
    t = Trainer(gan, progress=False, log=lambda s: None)
    history = t.fit()
    assert {"val_psnr_gain", "val_colorful_share", "val_false_color"} <= set(history[-1])
    assert 0 <= history[-1]["val_false_color"] <= 1 and history[-1]["val_colorful_share"] > 0
    state, meta = load_weights(gan.out)
    assert meta["epoch"] == 2 and meta["kept"].startswith("best")
    avg = {k: v.float() for k, v in t.stage.ema.module.state_dict().items()}
    raw = t.generator.state_dict()  # the file holds the average, not the raw generator
    assert all(torch.equal(state[k], avg[k]) for k in state)
    assert any(not torch.equal(state[k], raw[k].float()) for k in state if raw[k].is_floating_point())
    ck = load_checkpoint(gan.run_dir / "last.pt")
    assert "ema" in ck and any("parametrizations" in k for k in ck["discriminator"])
    gan.resume, gan.epochs = True, 3  # the average and the critic's spectral norm come back
    t2 = Trainer(gan, progress=False, log=lambda s: None)
    assert all(torch.equal(a, b) for a, b in zip(t2.stage.ema.state_dict().values(), ck["ema"].values()))


def test_best_epoch_by_validation_score_is_kept(tmp_path, photo_dir, monkeypatch):
    from colorizer.training.tasks import Colorization

    scores = iter([1.0, 3.0, 2.0])  # epoch 2 is the best
    monkeypatch.setattr(Colorization, "val_summary", lambda self, means: dict(means, score=next(scores)))
    cfg = _cfg(tmp_path, photo_dir, epochs=3, keep="best")
    train(cfg, progress=False, log=lambda s: None)
    assert read_meta(cfg.out)["epoch"] == 2
    assert load_checkpoint(cfg.run_dir / "last.pt")["epoch"] == 3


def test_classes_loss_continues_an_l1_model_and_decodes_to_colors(tmp_path, photo_dir):
    from colorizer import color_classes

    first = _cfg(tmp_path, photo_dir, max_steps=1)
    train(first, progress=False, log=lambda s: None)
    cls = _cfg(tmp_path, photo_dir, init=first.out, out=tmp_path / "weights" / "cls.pt", loss="classes",
               run_dir=tmp_path / "runs" / "cls", augment="print")
    lines = []
    t = Trainer(cls, progress=False, log=lines.append)
    assert any("new output layer" in s for s in lines) and t.task.weights is not None
    L, ab = t.task.split(next(iter(t.data.train)), t.device, train=True)
    assert L.min() >= -1 and L.max() <= 1
    losses = [t.stage.step(L, ab)["train_classes"] for _ in range(20)]
    assert losses[-1] < 0.7 * losses[0], losses
    t.fit()
    state, meta = load_weights(cls.out)
    assert meta["head"] == "classes" and meta["temperature"] == cls.temperature
    assert state["unet.layers.12.0.weight"].shape[0] == len(color_classes.bin_centers())
    rgb = t.sample_images()[1]
    assert rgb.shape[1] == 3 and 0 <= rgb.min() and rgb.max() <= 1


def test_teachers_make_the_target_their_mean_colors_and_the_student_learns_it(tmp_path, photo_dir):
    import numpy as np

    from colorizer.color import rgb_to_lab_norm

    teachers = []
    for seed in (1, 2):
        cfg = _cfg(tmp_path, photo_dir, max_steps=2, seed=seed, out=tmp_path / "weights" / f"t{seed}.pt",
                   run_dir=tmp_path / "runs" / f"t{seed}")
        train(cfg, progress=False, log=lambda s: None)
        teachers.append(cfg.out)
    student = _cfg(tmp_path, photo_dir, teachers=teachers, teacher_saturation=1.5,
                   out=tmp_path / "weights" / "student.pt", run_dir=tmp_path / "runs" / "student")
    lines = []
    t = Trainer(student, progress=False, log=lines.append)
    assert any("distilling" in s and "x 1.5" in s for s in lines)
    batch = next(iter(t.data.train))
    L, ab = t.task.split(batch, t.device, train=True)
    each = [Colorizer.load(p, device="cpu").predict_ab(L.numpy()) for p in teachers]  # in the same precision
    expected = np.clip((each[0] + each[1]) / 2 * 1.5, -1, 1)
    assert np.allclose(ab.numpy(), expected, atol=1e-3) and not np.allclose(each[0], each[1], atol=1e-2)
    _, truth = t.task.split(batch, t.device)  # validation: the photo's own colors
    assert torch.allclose(truth, rgb_to_lab_norm(batch.float() / 255)[1], atol=1e-4)
    losses = [t.stage.step(L, ab)["train_l1"] for _ in range(15)]
    assert losses[-1] < 0.7 * losses[0], losses
    t.fit()
    meta = read_meta(student.out)
    assert meta["config"]["teachers"] == [str(p) for p in teachers]
    assert meta["images_seen"] == max(read_meta(p)["images_seen"] for p in teachers) + t.images_seen
    with pytest.raises(ValueError, match="teachers"):
        TrainConfig(stage="gan", teachers=teachers)


def test_annealed_mean_and_soft_encoding():
    from colorizer import color_classes as cc

    centers = cc.bin_centers()
    assert 150 < len(centers) < 400 and torch.equal(centers, centers.round())
    logits = torch.full((1, len(centers), 1, 1), -30.0)
    logits[0, 3], logits[0, 9] = 2.0, 1.0
    sharp, mean = cc.annealed_mean(logits, centers, 0.01), cc.annealed_mean(logits, centers, 1.0)
    assert torch.allclose(sharp[0, :, 0, 0], centers[3], atol=1e-3)  # T -> 0: the mode
    p = torch.softmax(torch.tensor([2.0, 1.0]), 0)
    assert torch.allclose(mean[0, :, 0, 0], p[0] * centers[3] + p[1] * centers[9], atol=1e-3)  # T = 1: the mean
    target, nearest = cc.soft_encode(centers[[5]] + 1.0, centers)
    assert nearest.item() == 5 and abs(target.sum().item() - 1) < 1e-6 and target[0, 5] == target.max()
