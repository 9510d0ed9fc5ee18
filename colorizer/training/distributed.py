"""Training on several GPUs (or several CPU processes): `torchrun --nproc_per_node N pretrain.py ...`.

torchrun starts one process per device and sets RANK / WORLD_SIZE / LOCAL_RANK. Each process
trains on its own share of every epoch (DistributedSampler), DistributedDataParallel averages
the gradients, and only rank 0 validates, logs and writes files. Without torchrun, nothing
here does anything.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..device import pick_device


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init(device_name: str = "auto") -> tuple[Dist, torch.device]:
    """(Dist, this process's device); starts the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), pick_device(device_name)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if pick_device(device_name).type == "cuda":
        torch.cuda.set_device(local)
        device, backend = torch.device("cuda", local), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Dist(dist.get_rank(), dist.get_world_size()), device


def wrap(model: torch.nn.Module, d: Dist, device: torch.device) -> torch.nn.Module:
    """DDP around model when distributed (rank 0's weights are broadcast to all), else model."""
    if not d.enabled:
        return model
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def rank0_values(values: list[float], d: Dist, device: torch.device) -> list[float]:
    """Rank 0's values on every rank, for decisions all ranks must share (stop now, learning rate)."""
    if not d.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return t.tolist()


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()


def close(d: Dist) -> None:
    if d.enabled and dist.is_initialized():
        dist.destroy_process_group()
