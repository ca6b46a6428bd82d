"""DQN's hot path against plain PyTorch doing the same work, interleaved in one process.

1. Minibatch: :class:`cnnkit.rl.ReplayBuffer` (preallocated tensors, one index per field)
   against a list of per-transition tuples sampled with ``random.sample`` and joined with
   ``torch.cat``, as MinAtar's ``examples/dqn.py`` does.
2. Update: one DQN step (forward of both networks, Huber loss, backward, centred RMSProp)
   with cnnkit's ``minatar_dqn`` against the same network in ``torch.nn`` modules with the
   same weights.

Targets: replay ratio (list time / cnnkit time) well above 1; update ratio (plain / cnnkit)
at least 0.95.

Run: ``.venv/bin/python bench/rl_dqn.py [--batch 32] [--stored 50000]``
"""

from __future__ import annotations

import argparse
import os
import random
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved_medians  # noqa: E402

from cnnkit.rl import Batch, DQNAgent, ReplayBuffer, minatar_dqn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--stored", type=int, default=50_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    shape = (4, 10, 10)

    # 1. replay
    buffer = ReplayBuffer(args.stored, shape)
    listed = []
    for i in range(args.stored):
        obs = torch.rand(shape) < 0.1
        nxt = torch.rand(shape) < 0.1
        buffer.add(obs, i % 3, float(i % 2), nxt, i % 50 == 0)
        listed.append((obs.float().unsqueeze(0), nxt.float().unsqueeze(0),
                       torch.tensor([[i % 3]]), torch.tensor([[float(i % 2)]]),
                       torch.tensor([[i % 50 == 0]])))
    generator = torch.Generator().manual_seed(0)
    rng = random.Random(0)

    def from_list():
        sample = rng.sample(listed, args.batch)
        return [torch.cat(column) for column in zip(*sample)]

    times = interleaved_medians({"cnnkit": lambda: buffer.sample(args.batch, generator),
                                 "list": from_list}, rounds=30, inner=20)
    print(f"minibatch of {args.batch} from {args.stored:,} stored: cnnkit "
          f"{times['cnnkit'] * 1e6:.0f} us, list of tuples {times['list'] * 1e6:.0f} us, "
          f"ratio {times['list'] / times['cnnkit']:.2f}")

    # 2. update
    net = minatar_dqn()
    plain = nn.Sequential(nn.Conv2d(4, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(1024, 128),
                          nn.ReLU(), nn.Linear(128, 3))
    plain.load_state_dict({k.replace("layers.", ""): v for k, v in net.state_dict().items()})
    x = torch.rand(2, *shape)
    torch.testing.assert_close(net(x), plain(x))
    cnnkit_agent, plain_agent = DQNAgent(net), DQNAgent(plain)
    batch = buffer.sample(args.batch, generator)
    batch = Batch(*batch)
    times = interleaved_medians({"cnnkit": lambda: cnnkit_agent.update(batch),
                                 "plain": lambda: plain_agent.update(batch)}, rounds=30, inner=10)
    print(f"DQN update, batch {args.batch}: cnnkit {times['cnnkit'] * 1e3:.2f} ms, plain torch.nn "
          f"{times['plain'] * 1e3:.2f} ms, ratio {times['plain'] / times['cnnkit']:.2f}")


if __name__ == "__main__":
    main()
