"""Training: flags -> TrainConfig -> Trainer, for both stages and every task.

    config.py      TrainConfig, every default (per stage where they differ)
    tasks.py       what is learned: data -> (input, target), channels, loss, images, metrics
    stages.py      how: stage 1 (reconstruction loss) and stage 2 (pix2pix GAN) steps
    loop.py        Trainer: the loop both stages share; train()
    runs.py        run folders, budgets, learning-rate schedule
    callbacks.py   progress, CSV log, sample grids, checkpoints, loss curve
    distributed.py several GPUs under torchrun
    parsers.py     pretrain.py / train_gan.py command lines
"""
from .config import TrainConfig
from .loop import Trainer, TrainingError, train

__all__ = ["TrainConfig", "Trainer", "TrainingError", "train"]
