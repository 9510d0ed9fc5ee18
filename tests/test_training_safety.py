"""Training never loses its result: folders checked before the first step, failed writes kept
beside last.pt, NaN stops with the last good checkpoint kept, leftovers of killed saves removed;
weights files with code in them refused without torch's advice to load them anyway."""
from __future__ import annotations

import math
import pickle

import pytest
import torch

from colorizer import checkpoint as ckpt
from colorizer.checkpoint import SaveError, WeightsError, load_checkpoint, load_weights
from colorizer.training import TrainConfig, Trainer, TrainingError, train
from colorizer.training.parsers import pretrain_main
from colorizer.training.runs import checkpoint_bytes

QUIET = dict(progress=False, log=lambda s: None)


@pytest.fixture(autouse=True)
def small_generator(monkeypatch):
    """A three-layer conv net in place of the U-Net: what is tested here is what happens to files,
    and the real one makes each save 370 MB."""
    def build(backbone, backbone_weights, size, n_in=1, n_out=2):
        return torch.nn.Sequential(torch.nn.Conv2d(n_in, 64, 3, padding=1), torch.nn.ReLU(),
                                   torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(),
                                   torch.nn.Conv2d(64, n_out, 3, padding=1))
    monkeypatch.setattr("colorizer.training.tasks.build_generator", build)  # what Colorization builds


def _cfg(tmp_path, photo_dir, **kw):
    base = dict(stage="pretrain", data=str(photo_dir), val_fraction=0.25, out=tmp_path / "weights" / "g.pt",
                run_dir=tmp_path / "runs" / "pre", size=64, epochs=1, batch_size=4, lr=1e-3, workers=0,
                backbone_weights="none", samples=2)
    base.update(kw)
    return TrainConfig(**base)


def _finite(state: dict) -> bool:
    return all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


# ---- before the first step -----------------------------------------------------------------------
def test_unwritable_out_is_one_line_before_any_training(tmp_path, photo_dir, capsys, monkeypatch):
    (tmp_path / "afile").write_text("a file where a folder should be")
    steps = []
    monkeypatch.setattr("colorizer.training.stages.L1Stage.step", lambda *a: steps.append(1) or {"train_l1": 0.1})
    rc = pretrain_main(["--data", str(photo_dir), "--out", str(tmp_path / "afile" / "x.pt"), "--size", "64",
                        "--epochs", "1", "--backbone-weights", "none", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and steps == []
    assert err.strip().splitlines() == [f"error: Cannot write to {tmp_path / 'afile'}: a file stands where that "
                                        f"folder should be"]
    assert "Traceback" not in err


def test_no_room_for_checkpoints_stops_before_training(tmp_path, photo_dir, monkeypatch):
    cfg = _cfg(tmp_path, photo_dir)
    usage = ckpt.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(ckpt.shutil, "disk_usage", lambda p: usage._replace(free=50_000_000))  # 50 MB free
    with pytest.raises(TrainingError, match=r"Not enough disk space: .*GB in .*runs.*GB in .*weights.* 0\.05 GB free"):
        Trainer(cfg, **QUIET)
    assert not (cfg.run_dir / "last.pt").exists() and not cfg.out.exists()


def test_leftovers_of_a_killed_save_are_removed_at_the_next_start(tmp_path, photo_dir):
    cfg = _cfg(tmp_path, photo_dir, max_steps=1)
    t = Trainer(cfg, **QUIET)
    estimate = checkpoint_bytes(t.stage.parts())  # the optimizer has not stepped: its state is estimated
    t.fit()
    written = (cfg.run_dir / "last.pt").stat().st_size
    # tensors are counted exactly; the rest (metadata, history, the zip's own) is small and left to
    # runs.LOG_BYTES. With the real U-Net: 373.24 MB estimated, 373.40 MB written.
    assert 0 <= written - estimate < 100_000, (estimate, written)
    stale = [cfg.run_dir / ".last.pt.k9x2_a.tmp", cfg.out.parent / ".g.pt.77abc.tmp"]
    for f in stale:
        f.write_bytes(b"\0" * 1000)
    other = cfg.out.parent / ".other.pt.abc.tmp"  # another run's save in progress: not ours to remove
    other.write_bytes(b"x")
    said = []
    Trainer(_cfg(tmp_path, photo_dir, max_steps=1, resume=True), progress=False, log=said.append)
    assert not any(f.exists() for f in stale) and other.exists()
    assert sum("left by an interrupted save" in s for s in said) == 2


# ---- a write that fails anyway ---------------------------------------------------------------------
def test_weights_go_beside_last_pt_when_out_cannot_be_written(tmp_path, photo_dir, capsys):
    cfg = _cfg(tmp_path, photo_dir, max_steps=2)
    t = Trainer(cfg, **QUIET)
    cfg.out.parent.rmdir()  # the folder passed the check at the start, then went away:
    cfg.out.parent.write_text("now a file")  # a file stands in its way
    with pytest.raises(TrainingError) as err:
        t.fit()
    aside = cfg.run_dir / "g.pt"
    assert str(err.value) == (f"{cfg.out}: its folder cannot be made (a file stands in the way); "
                              f"the weights were written to {aside} instead")
    state, meta = load_weights(aside)
    assert meta["epoch"] == 1 and _finite(state)
    assert load_checkpoint(cfg.run_dir / "last.pt")["epoch"] == 1


def test_atomic_save_failure_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "w.pt"
    ckpt.atomic_save({"old": torch.ones(2)}, path)

    def disk_full(obj, f):
        open(f, "wb").write(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")

    monkeypatch.setattr(torch, "save", disk_full)  # checkpoint imports torch when it saves
    with pytest.raises(SaveError, match=r"w\.pt: could not be written \(the write failed with \d+ MB free"):
        ckpt.atomic_save({"new": torch.zeros(2)}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["old"], torch.ones(2))
    assert ckpt.temp_files(path) == []


# ---- NaN and inf ------------------------------------------------------------------------------------
def _poison_after(monkeypatch, t: Trainer, good_steps: int, loss: float):
    """After good_steps real steps, every step fills the generator with NaN and reports `loss`."""
    real, calls = t.stage.step, []

    def step(x, y):
        calls.append(1)
        if len(calls) <= good_steps:
            return real(x, y)
        with torch.no_grad():
            for p in t.stage.generator.parameters():
                p.fill_(math.nan)
        return {"train_l1": loss}

    monkeypatch.setattr(t.stage, "step", step)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, photo_dir, monkeypatch):
    cfg = _cfg(tmp_path, photo_dir, epochs=3)
    t = Trainer(cfg, **QUIET)
    _poison_after(monkeypatch, t, good_steps=len(t.data.train), loss=math.nan)  # epoch 1 is good
    with pytest.raises(TrainingError) as err:
        t.fit()
    msg = str(err.value)
    assert msg.startswith("Training stopped: train_l1 became nan in epoch 2")
    assert f"the last good checkpoint, {cfg.run_dir / 'last.pt'} (epoch 1), is kept" in msg
    assert "weights_only" not in msg and "\n" not in msg
    last = load_checkpoint(cfg.run_dir / "last.pt")
    assert last["epoch"] == 1 and _finite(last["generator"])
    state, meta = load_weights(cfg.out)
    assert meta["epoch"] == 1 and _finite(state)


def test_weights_gone_inf_are_never_saved(tmp_path, photo_dir, monkeypatch):
    # the loss of the epoch's last step was still finite, the update after it was not
    cfg = _cfg(tmp_path, photo_dir, epochs=2)
    t = Trainer(cfg, **QUIET)
    _poison_after(monkeypatch, t, good_steps=len(t.data.train) - 1, loss=0.2)
    with pytest.raises(TrainingError, match="the weights became NaN or inf in epoch 1; nothing had been saved yet"):
        t.fit()
    assert not (cfg.run_dir / "last.pt").exists() and not cfg.out.exists()


# ---- refused weights -----------------------------------------------------------------------------------
class Payload:  # what a pickled model or a booby-trapped file carries
    pass


def test_pickled_weights_are_refused_without_the_advice_to_load_them_anyway(tmp_path):
    torch.save({"model": Payload()}, tmp_path / "pickled.pt")
    with open(tmp_path / "raw.pt", "wb") as f:
        pickle.dump({"x": Payload}, f, protocol=4)
    for name in ("pickled.pt", "raw.pt"):
        with pytest.raises(WeightsError) as err:
            load_weights(tmp_path / name)
        msg = str(err.value)
        assert msg.startswith(f"{tmp_path / name}: refused: it holds Python objects")
        assert "weights_only" not in msg and "False" not in msg and "\n" not in msg
    (tmp_path / "cut.pt").write_bytes((tmp_path / "pickled.pt").read_bytes()[:100])
    with pytest.raises(WeightsError, match=r"cut\.pt: could not be read as a weights file \(RuntimeError: "
                                           r"PytorchStreamReader failed reading zip archive: failed finding central "
                                           r"directory\)$"):
        load_weights(tmp_path / "cut.pt")


@pytest.mark.slow
def test_metadata_is_read_without_torch_as_torch_reads_it(tmp_path):
    """checkpoint.read_meta unpickles a file with its tensors left out (no torch import at the CLI's
    start): the same metadata as torch.load, for weights and resume checkpoints; a file that names
    anything but torch's own types is still refused, by torch.load's check."""
    import subprocess
    import sys
    from pathlib import Path

    from colorizer.checkpoint import make_meta, read_meta, save_checkpoint, save_weights

    net = torch.nn.Linear(3, 2)
    meta = make_meta(stage="pretrain", backbone="resnet18", size=64, images_seen=7, init={"date": "x", "n": [1, 2]})
    weights = save_weights(tmp_path / "w.pt", net.state_dict(), meta, half=True)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    resume = save_checkpoint(tmp_path / "last.pt", meta=meta, epoch=2, history=[{"a": 1.0}],
                             parts={"generator": net, "opt_g": opt})
    for path in (weights, resume):
        assert read_meta(path) == torch.load(path, weights_only=True)["meta"]
    code = (f"import sys; from colorizer.checkpoint import read_meta; m = read_meta({str(weights)!r}); "
            f"assert 'torch' not in sys.modules and m['images_seen'] == 7")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-1000:]

    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    bad = tmp_path / "bad.pt"
    torch.save({"format": "colorizer-weights", "meta": {"x": Evil()}, "generator": {}}, bad)
    with pytest.raises(WeightsError, match="refused"):
        read_meta(bad)
