"""Training in several processes (`torchrun`): one process per GPU, or CPU processes with gloo.

Every process builds the same model from the same seed and walks the same shuffled batch order;
each takes its share of every batch (rows rank, rank + size, ...) and DistributedDataParallel
averages the gradients, so the global batch and the schedule stay those of one process. The
weights are still not bit-identical to one process (BatchNorm statistics are per process and
sums are reordered), so the number of processes is part of the trained weights' identity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from bench.contracts.errors import ConfigError


@dataclass(frozen=True)
class World:
    rank: int
    size: int

    @property
    def leads(self) -> bool:
        """Rank 0 writes files and reports progress."""
        return self.rank == 0


def launched_processes() -> int:
    """How many processes torchrun started for this job (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def join(device: torch.device) -> tuple[World | None, torch.device]:
    """Join torchrun's process group (NCCL on GPUs, gloo on CPUs) and pick this process's GPU."""
    if launched_processes() <= 1:
        return None, device
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size()), device


def leave(world: World | None, finished: bool) -> None:
    """Leave the process group `join` made. Processes that finished leave together: one that tore
    the group down while a peer still sent its last message, or while the training loop's
    DistributedDataParallel still held the group, could abort that peer at exit (gloo's
    "terminate called"). A process that failed leaves at once, since its peers may never
    reach the meeting point."""
    if world is not None:
        import gc

        import torch.distributed as dist

        if finished:
            gc.collect()  # frees DistributedDataParallel wrappers while the group still lives
            dist.barrier()
        dist.destroy_process_group()


def current() -> World | None:
    """The process group this process trains in, None when it trains alone."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return None
    return World(dist.get_rank(), dist.get_world_size())


def shard(index: torch.Tensor, world: World | None) -> torch.Tensor:
    """This process's rows of a global batch."""
    if world is None:
        return index
    if len(index) < world.size:
        raise ConfigError(
            f"A batch of {len(index)} cannot be shared by {world.size} processes: raise the"
            " batch size or start fewer processes."
        )
    return index[world.rank :: world.size]


def agree(world: World | None, value: Any) -> Any:
    """Rank 0's value, on every process."""
    if world is None:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap(module: torch.nn.Module, world: World | None, device: torch.device) -> torch.nn.Module:
    """The module under DistributedDataParallel when training in several processes."""
    if world is None:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)
