"""Deep Q-learning (Mnih et al. 2015): the temporal-difference loss and the agent.

The online network Q(s, a; theta) is trained towards the target

    y = r + gamma * (1 - done) * max_a' Q(s', a'; theta^-)

where theta^- is a copy of theta taken every ``target_every`` steps (the target network).
Double DQN (van Hasselt, Guez and Silver 2016) picks a' with the online network and
values it with the target network: ``y = r + gamma * (1 - done) * Q(s', argmax_a'
Q(s', a'; theta); theta^-)``. The loss is the Huber loss of ``Q(s, a; theta) - y``
(quadratic within 1, linear outside), which is Mnih et al.'s clipping of the error term to
[-1, 1] written as a loss.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import ArgumentError
from .replay import Batch

__all__ = ["DQNAgent", "td_loss", "td_target"]


@torch.no_grad()
def td_target(target_net: nn.Module, batch: Batch, gamma: float,
              online_net: nn.Module | None = None) -> torch.Tensor:
    """The bootstrapped targets y of a minibatch (no gradient flows through them).

    Args:
        target_net: the target network theta^-.
        batch: the transitions.
        gamma: the discount.
        online_net: for double DQN, the network that picks the next action; None for the
            plain max of the target network.

    Shape:
        ``(B,)``.

    Example:
        >>> fixed = lambda x: torch.tensor([[1.0, 3.0], [2.0, 0.0]])
        >>> batch = Batch(None, None, torch.tensor([1.0, 1.0]), torch.zeros(2, 1),
        ...               torch.tensor([0.0, 1.0]))
        >>> td_target(fixed, batch, gamma=0.5)            # 1 + 0.5 * 3 and 1 (terminal)
        tensor([2.5000, 1.0000])
    """
    next_values = target_net(batch.next_obs)
    if online_net is None:
        best = next_values.max(dim=1).values
    else:
        choice = online_net(batch.next_obs).argmax(dim=1, keepdim=True)
        best = next_values.gather(1, choice).squeeze(1)
    return batch.reward + gamma * (1.0 - batch.done) * best


def td_loss(online_net: nn.Module, target_net: nn.Module, batch: Batch, gamma: float,
            double: bool = False) -> torch.Tensor:
    """The mean Huber loss between Q(s, a) of the online network and :func:`td_target`.

    Shape:
        a 0-d tensor.

    Example:
        >>> net = nn.Linear(2, 3)
        >>> batch = Batch(torch.ones(4, 2), torch.tensor([0, 1, 2, 0]), torch.ones(4),
        ...               torch.zeros(4, 2), torch.zeros(4))
        >>> td_loss(net, net, batch, gamma=0.99).shape
        torch.Size([])
    """
    q = online_net(batch.obs).gather(1, batch.action.unsqueeze(1)).squeeze(1)
    target = td_target(target_net, batch, gamma, online_net if double else None)
    return F.smooth_l1_loss(q, target)


class DQNAgent:
    """An online Q-network, its target copy and their optimiser.

    Args:
        network: the online network, ``(N, C, H, W) -> (N, num_actions)``.
        optimizer: ``"rmsprop"`` (centred, alpha 0.95, eps 0.01: MinAtar's DQN) or ``"adam"``.
        lr: step size.
        gamma: discount.
        double: double DQN targets.
        grad_clip: clip the gradient norm to this (None: no clipping).

    Raises:
        ArgumentError: an unknown optimiser.

    Example:
        >>> agent = DQNAgent(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), "adam", lr=0.01)
        >>> batch = Batch(torch.ones(8, 1, 2, 2), torch.zeros(8, dtype=torch.long),
        ...               torch.ones(8), torch.zeros(8, 1, 2, 2), torch.ones(8))
        >>> losses = [float(agent.update(batch)) for _ in range(50)]
        >>> losses[-1] < losses[0] / 2                    # Q(s, 0) moves towards r = 1
        True
    """

    def __init__(self, network: nn.Module, optimizer: str = "rmsprop", lr: float = 2.5e-4,
                 gamma: float = 0.99, double: bool = False, grad_clip: float | None = None):
        self.online = network
        self.target = copy.deepcopy(network)
        self.target.requires_grad_(False)
        self.gamma = gamma
        self.double = double
        self.grad_clip = grad_clip
        params = list(self.online.parameters())
        if optimizer == "rmsprop":
            # Mnih et al. (2015) and MinAtar: centred RMSProp, squared-gradient momentum 0.95,
            # minimum squared gradient 0.01 (PyTorch adds eps outside the square root).
            self.optimizer = torch.optim.RMSprop(params, lr=lr, alpha=0.95, eps=0.01,
                                                 centered=True)
        elif optimizer == "adam":
            self.optimizer = torch.optim.Adam(params, lr=lr)
        else:
            raise ArgumentError(f"optimizer must be 'rmsprop' or 'adam'. Received: "
                                f"optimizer={optimizer!r}.", argument="optimizer")

    def update(self, batch: Batch) -> torch.Tensor:
        """One gradient step on ``batch``; returns the loss before the step (detached)."""
        loss = td_loss(self.online, self.target, batch, self.gamma, self.double)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.online.parameters(), self.grad_clip)
        self.optimizer.step()
        return loss.detach()

    def sync_target(self) -> None:
        """Copy the online weights into the target network."""
        self.target.load_state_dict(self.online.state_dict())

    @torch.no_grad()
    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        """The action of highest value for each observation of a batch, ``(N,)`` int64."""
        return self.online(obs).argmax(dim=1)

    # Checkpoints: tensors by name, and the JSON-able rest of the optimiser.
    def tensors(self) -> dict[str, torch.Tensor]:
        """Online and target weights and the optimiser's tensors, by name."""
        out = {f"online.{k}": v for k, v in self.online.state_dict().items()}
        out.update({f"target.{k}": v for k, v in self.target.state_dict().items()})
        for index, slots in self.optimizer.state_dict()["state"].items():
            for key, value in slots.items():
                out[f"optim.{index}.{key}"] = torch.as_tensor(value)
        return out

    def optimizer_groups(self) -> list[dict]:
        """The optimiser's hyper-parameters (its ``param_groups``), for the JSON state."""
        return copy.deepcopy(self.optimizer.state_dict()["param_groups"])

    def load(self, tensors: dict[str, torch.Tensor], groups: list[dict]) -> None:
        """Restore what :meth:`tensors` and :meth:`optimizer_groups` returned."""
        def prefixed(prefix):
            return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

        self.online.load_state_dict(prefixed("online."))
        self.target.load_state_dict(prefixed("target."))
        state: dict[int, dict] = {}
        for key, value in prefixed("optim.").items():
            index, slot = key.split(".", 1)
            state.setdefault(int(index), {})[slot] = value
        self.optimizer.load_state_dict({"state": state, "param_groups": groups})
