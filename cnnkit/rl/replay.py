"""Experience replay (Mnih et al. 2015): a ring of the last transitions, preallocated.

Every field is one tensor allocated up front, so storing a transition is a copy into a
slot and drawing a minibatch is one index per field: no Python object per transition and
no Python loop per sample. MinAtar observations are binary, so they are kept as ``bool``
(one byte a cell; 100,000 Breakout transitions hold 2 x 40 MB) and turned into float only
for the drawn minibatch.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import ArgumentError, ShapeError, positive_int

__all__ = ["Batch", "ReplayBuffer"]


class Batch(NamedTuple):
    """A minibatch of transitions ``(s, a, r, s', done)``, float observations."""

    obs: torch.Tensor        # (B, C, H, W) float32
    action: torch.Tensor     # (B,) int64
    reward: torch.Tensor     # (B,) float32
    next_obs: torch.Tensor   # (B, C, H, W) float32
    done: torch.Tensor       # (B,) float32: 1 where s' is terminal (no bootstrap from it)


class ReplayBuffer:
    """The last ``capacity`` transitions in preallocated tensors; uniform minibatches.

    Args:
        capacity: transitions kept; the oldest is overwritten when it is full.
        observation_shape: ``(C, H, W)`` of one observation.
        dtype: storage type of observations (``torch.bool`` for MinAtar's binary cells).
        device: where the tensors live (minibatches come out there).

    Shape:
        :meth:`add`: ``obs`` and ``next_obs`` of ``observation_shape``.
        :meth:`sample`: a :class:`Batch` of ``batch_size`` transitions.

    Raises:
        ArgumentError: a non-positive capacity, or sampling more than is stored.
        ShapeError: an observation of the wrong shape.

    Example:
        >>> buffer = ReplayBuffer(3, (1, 2, 2))
        >>> for step in range(5):
        ...     buffer.add(torch.full((1, 2, 2), step % 2 == 1), step, float(step),
        ...                torch.zeros(1, 2, 2, dtype=torch.bool), step == 4)
        >>> len(buffer), buffer.action.tolist()       # steps 3 and 4 overwrote 0 and 1
        (3, [3, 4, 2])
        >>> batch = buffer.sample(2, torch.Generator().manual_seed(0))
        >>> batch.obs.shape, batch.obs.dtype
        (torch.Size([2, 1, 2, 2]), torch.float32)
    """

    def __init__(self, capacity: int, observation_shape, dtype: torch.dtype = torch.bool,
                 device: str | torch.device = "cpu"):
        self.capacity = positive_int(capacity, "capacity")
        self.observation_shape = tuple(int(n) for n in observation_shape)
        shape = (self.capacity, *self.observation_shape)
        self.obs = torch.zeros(shape, dtype=dtype, device=device)
        self.next_obs = torch.zeros(shape, dtype=dtype, device=device)
        self.action = torch.zeros(self.capacity, dtype=torch.int64, device=device)
        self.reward = torch.zeros(self.capacity, dtype=torch.float32, device=device)
        self.done = torch.zeros(self.capacity, dtype=torch.bool, device=device)
        self.position = 0   # the slot the next transition goes into
        self.size = 0       # transitions stored (at most capacity)

    def __len__(self) -> int:
        return self.size

    def add(self, obs: torch.Tensor, action: int, reward: float, next_obs: torch.Tensor,
            done: bool) -> None:
        """Store one transition, overwriting the oldest when the buffer is full."""
        if tuple(obs.shape) != self.observation_shape or \
                tuple(next_obs.shape) != self.observation_shape:
            raise ShapeError(
                f"obs and next_obs must have the buffer's observation shape "
                f"{self.observation_shape}. Received: obs {tuple(obs.shape)}, next_obs "
                f"{tuple(next_obs.shape)}.", argument="obs")
        i = self.position
        self.obs[i].copy_(obs)
        self.next_obs[i].copy_(next_obs)
        self.action[i] = action
        self.reward[i] = reward
        self.done[i] = done
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement (as Mnih et al. 2015)."""
        positive_int(batch_size, "batch_size")
        if self.size == 0:
            raise ArgumentError("cannot sample from an empty replay buffer. Received: 0 "
                                "transitions stored. Add transitions first.", argument="batch_size")
        index = torch.randint(self.size, (batch_size,), generator=generator)
        index = index.to(self.obs.device)
        return Batch(self.obs[index].float(), self.action[index], self.reward[index],
                     self.next_obs[index].float(), self.done[index].float())

    # Checkpoints: the filled part of each tensor plus the two counters.
    def state_dict(self) -> dict:
        """The stored transitions (``size`` rows of each field) and ``position``."""
        n = self.size
        return {"obs": self.obs[:n], "next_obs": self.next_obs[:n], "action": self.action[:n],
                "reward": self.reward[:n], "done": self.done[:n],
                "position": self.position, "size": n}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (into a buffer of the same capacity)."""
        n = int(state["size"])
        if n > self.capacity or tuple(state["obs"].shape[1:]) != self.observation_shape:
            raise ArgumentError(
                f"the saved replay buffer does not fit this one. Received: {n} transitions of "
                f"shape {tuple(state['obs'].shape[1:])} for capacity {self.capacity} and shape "
                f"{self.observation_shape}. Use the run's own settings.", argument="state")
        for name in ("obs", "next_obs", "action", "reward", "done"):
            getattr(self, name)[:n].copy_(state[name])
        self.size = n
        self.position = int(state["position"])
