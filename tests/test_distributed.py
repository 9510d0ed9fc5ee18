"""Both stages under torchrun with 2 CPU processes (gloo): what several GPUs do, on the CPU."""
import csv
import os
import subprocess
import sys

import pytest
import torch

from colorizer.checkpoint import load_checkpoint, read_meta
from helpers import ROOT


def _torchrun(script, *args, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(ROOT / script), "--device", "cpu", "--size", "64", "--batch-size", "2", "--workers", "0",
           "--val-fraction", "0.25", "--quiet", *args]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


@pytest.mark.slow
def test_two_processes_train_both_stages(tmp_path, photo_dir):
    log = _torchrun("pretrain.py", "--data", str(photo_dir), "--epochs", "2", "--backbone-weights", "none",
                    "--out", "w/pre.pt", "--run-name", "pre", tmp_path=tmp_path)
    assert "2 processes on cpu" in log and log.count("epoch 2:") == 1  # rank 0 alone reports
    meta = read_meta(tmp_path / "w" / "pre.pt")
    # 9 training photos: each of the 2 processes takes 4 per epoch, in 2 steps of 2
    assert meta["images_seen"] == 2 * 2 * 2 * 2
    rows = list(csv.DictReader((tmp_path / "runs" / "pre" / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"] and float(rows[-1]["val_l1"]) > 0
    state = load_checkpoint(tmp_path / "runs" / "pre" / "last.pt")
    assert not any(k.startswith("module.") for k in state["generator"])  # saved unwrapped

    _torchrun("train_gan.py", "--data", str(photo_dir), "--epochs", "1", "--init", "w/pre.pt",
              "--out", "w/gan.pt", "--run-name", "gan", "--max-steps", "1", tmp_path=tmp_path)
    gan = load_checkpoint(tmp_path / "runs" / "gan" / "last.pt")
    assert gan["meta"]["images_seen"] == meta["images_seen"] + 2 * 2
    assert all(torch.isfinite(v).all() for v in gan["discriminator"].values() if v.is_floating_point())
