"""DQN on MinAtar: replay buffer, epsilon schedule, TD loss against loops, the game wrapper,
lockstep evaluation against one-game-at-a-time play, exact resume, a short run that beats a
random policy on Breakout for several seeds, the command line and the pinned errors.

The game tests need the optional minatar package (``make setup`` installs it with
``pip install --no-deps minatar==1.0.15``) and skip without it.
"""

import importlib.util
import json
import logging
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

import cnnkit
from cnnkit._validation import ArgumentError, ArgumentTypeError, ShapeError, SpecError
from cnnkit.cli.main import main
from cnnkit.rl import (Batch, DQNAgent, DQNConfig, EpsilonSchedule, MinAtarGame,
                       MinAtarMissingError, RandomPolicy, ReplayBuffer, evaluate_policy,
                       greedy_policy, load_run, minatar_dqn, resume_dqn, td_loss, td_target,
                       train_dqn)
from cnnkit.rl.env import import_minatar

needs_minatar = pytest.mark.skipif(importlib.util.find_spec("minatar") is None,
                                   reason="needs minatar: pip install --no-deps minatar==1.0.15")

# A short run that learns Breakout in a few thousand steps: faster than MinAtar's settings
# (Adam 1e-3, a target sync every 200 steps, epsilon down to 0.05 within 1,500 steps).
SHORT = dict(steps=3000, learning_starts=500, epsilon_decay_steps=1500, epsilon_end=0.05,
             target_every=200, optimizer="adam", lr=1e-3, buffer_size=3000, eval_every=0,
             final_eval_episodes=50)


# ---- replay buffer ----------------------------------------------------------------------------

def _obs(value, shape=(2, 3, 3)):
    return torch.full(shape, bool(value % 2))


def test_replay_buffer_is_a_ring_of_the_last_transitions():
    buffer = ReplayBuffer(4, (2, 3, 3))
    for step in range(6):
        buffer.add(_obs(step), step, float(10 * step), _obs(step + 1), step == 5)
    assert len(buffer) == 4 and buffer.position == 2
    # Slots 0 and 1 were overwritten by steps 4 and 5; slots 2 and 3 hold steps 2 and 3.
    assert buffer.action.tolist() == [4, 5, 2, 3]
    assert buffer.reward.tolist() == [40.0, 50.0, 20.0, 30.0]
    assert buffer.done.tolist() == [False, True, False, False]
    assert buffer.obs.dtype == torch.bool
    assert [bool(buffer.obs[i].all()) for i in range(4)] == [False, True, False, True]
    assert [bool(buffer.next_obs[i].all()) for i in range(4)] == [True, False, True, False]


def test_replay_sample_draws_stored_transitions_uniformly():
    buffer = ReplayBuffer(8, (2, 3, 3))
    for step in range(5):
        buffer.add(_obs(step), step, float(step), _obs(step + 1), False)
    batch = buffer.sample(4000, torch.Generator().manual_seed(0))
    assert batch.obs.shape == (4000, 2, 3, 3) and batch.obs.dtype == torch.float32
    # Each row is one whole transition: reward and observations belong to its action.
    assert torch.equal(batch.reward, batch.action.float())
    assert torch.equal(batch.obs[:, 0, 0, 0], (batch.action % 2).float())
    assert torch.equal(batch.next_obs[:, 0, 0, 0], ((batch.action + 1) % 2).float())
    counts = torch.bincount(batch.action, minlength=8)
    assert counts[5:].sum() == 0                      # only the 5 stored slots
    assert counts[:5].min() > 700 and counts[:5].max() < 900   # 800 expected each


def test_replay_state_dict_round_trip():
    buffer = ReplayBuffer(5, (1, 2, 2))
    for step in range(7):
        buffer.add(_obs(step, (1, 2, 2)), step, step * 0.5, _obs(step, (1, 2, 2)), step % 3 == 0)
    copy = ReplayBuffer(5, (1, 2, 2))
    copy.load_state_dict(buffer.state_dict())
    for name in ("obs", "next_obs", "action", "reward", "done"):
        assert torch.equal(getattr(copy, name), getattr(buffer, name))
    assert (copy.position, copy.size) == (buffer.position, buffer.size)
    gen_a, gen_b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert all(torch.equal(a, b) for a, b in zip(buffer.sample(6, gen_a), copy.sample(6, gen_b)))


def test_replay_buffer_errors():
    buffer = ReplayBuffer(3, (2, 3, 3))
    with pytest.raises(ShapeError, match=r"obs and next_obs must have the buffer's observation "
                                         r"shape \(2, 3, 3\)\. Received: obs \(4, 3, 3\)"):
        buffer.add(torch.zeros(4, 3, 3), 0, 0.0, torch.zeros(2, 3, 3), False)
    with pytest.raises(ArgumentError, match=r"cannot sample from an empty replay buffer"):
        buffer.sample(2)
    with pytest.raises(ArgumentError, match=r"capacity must be positive\. Received: capacity=0"):
        ReplayBuffer(0, (1, 2, 2))
    with pytest.raises(ArgumentError, match=r"does not fit this one\. Received: 3 transitions "
                                            r"of shape \(2, 3, 3\) for capacity 2"):
        full = ReplayBuffer(3, (2, 3, 3))
        for step in range(3):
            full.add(_obs(step), 0, 0.0, _obs(step), False)
        ReplayBuffer(2, (2, 3, 3)).load_state_dict(full.state_dict())


# ---- epsilon schedule ---------------------------------------------------------------------------

def test_epsilon_schedule_holds_then_ramps_then_holds():
    schedule = EpsilonSchedule(1.0, 0.1, decay_steps=1000, delay=500)
    assert schedule(0) == schedule(500) == 1.0
    assert schedule(1000) == pytest.approx(0.55)
    assert schedule(750) == pytest.approx(1.0 - 0.9 * 0.25)
    assert schedule(1500) == schedule(10**9) == pytest.approx(0.1)
    values = [schedule(s) for s in range(0, 2000, 7)]
    assert all(a >= b for a, b in zip(values, values[1:]))   # never rises
    assert EpsilonSchedule(0.5, 0.0, decay_steps=0)(1) == 0.0
    # MinAtar's defaults: random while the buffer fills, 0.1 after 105,000 steps.
    minatar = EpsilonSchedule(1.0, 0.1, 100_000, 5_000)
    assert minatar(5_000) == 1.0 and minatar(55_000) == pytest.approx(0.55)
    assert minatar(105_000) == pytest.approx(0.1)


def test_epsilon_schedule_errors():
    with pytest.raises(ArgumentError, match=r"epsilon start must be a number in \[0, 1\]\. "
                                            r"Received: start=1\.5"):
        EpsilonSchedule(1.5, 0.1)
    with pytest.raises(ArgumentError, match=r"decay_steps must be a non-negative int \(steps\)\. "
                                            r"Received: decay_steps=-1"):
        EpsilonSchedule(1.0, 0.1, decay_steps=-1)


# ---- the TD loss against loops ----------------------------------------------------------------

def _random_batch(n=6, actions=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Batch(torch.rand(n, 4, 10, 10, generator=g).round(),
                 torch.randint(actions, (n,), generator=g),
                 torch.randn(n, generator=g),
                 torch.rand(n, 4, 10, 10, generator=g).round(),
                 (torch.rand(n, generator=g) < 0.3).float())


def _loop_loss(online, target, batch, gamma, double):
    """Mnih et al. (2015) written out per transition: y, the error, the Huber loss."""
    total = 0.0
    with torch.no_grad():
        q_next_target = target(batch.next_obs).tolist()
        q_next_online = online(batch.next_obs).tolist()
        q = online(batch.obs).tolist()
    targets = []
    for i in range(len(batch.action)):
        if batch.done[i] == 1:
            y = float(batch.reward[i])
        elif double:
            row = q_next_online[i]
            best = max(range(len(row)), key=lambda a: row[a])
            y = float(batch.reward[i]) + gamma * q_next_target[i][best]
        else:
            y = float(batch.reward[i]) + gamma * max(q_next_target[i])
        targets.append(y)
        error = q[i][int(batch.action[i])] - y
        total += 0.5 * error ** 2 if abs(error) < 1 else abs(error) - 0.5
    return total / len(batch.action), targets


@pytest.mark.parametrize("double", [False, True])
def test_td_loss_matches_the_loop_definition(double):
    torch.manual_seed(1)
    online, target = minatar_dqn(), minatar_dqn()
    with torch.no_grad():   # make some errors exceed 1 so both branches of Huber are used
        online.layers[5].bias.add_(torch.tensor([2.0, -1.5, 0.0]))
    batch = _random_batch()
    expected, targets = _loop_loss(online, target, batch, 0.9, double)
    got_targets = td_target(target, batch, 0.9, online if double else None)
    assert got_targets.tolist() == pytest.approx(targets, abs=1e-5)
    assert float(td_loss(online, target, batch, 0.9, double).detach()) == pytest.approx(expected, abs=1e-6)


def test_double_dqn_picks_the_action_with_the_online_network():
    # Online prefers action 0, the target values action 1 higher: the two targets differ.
    online = lambda x: torch.tensor([[5.0, 1.0]]).expand(len(x), 2)     # noqa: E731
    target = lambda x: torch.tensor([[2.0, 7.0]]).expand(len(x), 2)     # noqa: E731
    batch = Batch(None, None, torch.zeros(1), torch.zeros(1, 1), torch.zeros(1))
    assert td_target(target, batch, 1.0).item() == 7.0
    assert td_target(target, batch, 1.0, online_net=online).item() == 2.0


def test_no_gradient_flows_into_the_target():
    torch.manual_seed(0)
    agent = DQNAgent(minatar_dqn(), "rmsprop", 2.5e-4)
    before = [p.clone() for p in agent.target.parameters()]
    agent.update(_random_batch(32))
    assert all(p.grad is None for p in agent.target.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, agent.target.parameters()))
    changed = [not torch.equal(a, b) for a, b in zip(agent.online.parameters(),
                                                    agent.target.parameters())]
    assert all(changed)
    agent.sync_target()
    assert all(torch.equal(a, b) for a, b in zip(agent.online.parameters(),
                                                 agent.target.parameters()))


@pytest.mark.parametrize("optimizer, lr", [("rmsprop", 2.5e-4), ("adam", 1e-3)])
def test_loss_falls_on_a_fixed_batch(optimizer, lr):
    torch.manual_seed(0)
    agent = DQNAgent(minatar_dqn(), optimizer, lr)
    batch = _random_batch(32, seed=2)
    losses = [float(agent.update(batch)) for _ in range(150)]
    # The target network stays fixed, so this is regression onto fixed targets.
    assert losses[-1] < 0.1 * losses[0]
    assert np.mean(losses[-10:]) < np.mean(losses[:10])


# ---- the network ----------------------------------------------------------------------------

def test_minatar_dqn_is_registered_and_matches_minatar_architecture():
    assert "minatar_dqn" in cnnkit.list_models("minatar*")
    net = cnnkit.create_model("minatar_dqn", num_classes=4, input_shape=(6, 10, 10))
    assert net.output_shape == (4,)
    # MinAtar's QNetwork (examples/dqn.py) in plain torch, with the same weights.
    torch.manual_seed(0)
    conv, hidden, out = nn.Conv2d(6, 16, 3), nn.Linear(8 * 8 * 16, 128), nn.Linear(128, 4)
    state = net.state_dict()
    for layer, key in ((conv, "layers.0"), (hidden, "layers.3"), (out, "layers.5")):
        layer.weight.data.copy_(state[f"{key}.weight"])
        layer.bias.data.copy_(state[f"{key}.bias"])
    x = torch.rand(5, 6, 10, 10).round()
    plain = out(torch.relu(hidden(torch.relu(conv(x)).flatten(1))))
    torch.testing.assert_close(net(x), plain)
    assert sum(p.numel() for p in net.parameters()) == 6 * 16 * 9 + 16 + 1024 * 128 + 128 + 128 * 4 + 4


# ---- config errors --------------------------------------------------------------------------

def test_unknown_game_names_the_closest():
    with pytest.raises(ArgumentError, match=r"game must be one of 'asterix', 'breakout', "
                                            r"'freeway', 'seaquest', 'space_invaders'\. Received: "
                                            r"game='breakot'\. Did you mean 'breakout'\?"):
        DQNConfig(game="breakot")
    with pytest.raises(ArgumentError, match=r"Received: game='spaceinvaders'\. Did you mean "
                                            r"'space_invaders'\?"):
        MinAtarGame("spaceinvaders")
    with pytest.raises(ArgumentTypeError, match=r"game must be a string such as 'breakout'\. "
                                                r"Received: game=3 \(int\)"):
        DQNConfig(game=3)


@pytest.mark.parametrize("settings, error, message", [
    ({"lr": 0}, ArgumentError, r"config\.lr must be a positive number\. Received: lr=0\. "
                               r"MinAtar's DQN uses 2\.5e-4"),
    ({"gamma": 1.5}, ArgumentError, r"config\.gamma must be a discount in \[0, 1\]\. "
                                    r"Received: gamma=1\.5"),
    ({"steps": 0}, ArgumentError, r"config\.steps must be at least 1\. Received: steps=0\."),
    ({"steps": 10.5}, ArgumentTypeError, r"config\.steps must be an int\. Received: steps=10\.5"),
    ({"batch_size": 64, "buffer_size": 10}, ArgumentError,
     r"config\.batch_size must not exceed buffer_size\. Received: batch_size=64, buffer_size=10"),
    ({"epsilon_end": 2}, ArgumentError, r"epsilon_end must be a number in \[0, 1\]\. "
                                        r"Received: epsilon_end=2"),
    ({"sticky_action_prob": -0.1}, ArgumentError, r"sticky_action_prob must be a number in "
                                                  r"\[0, 1\]\. Received: sticky_action_prob=-0\.1"),
    ({"optimizer": "rmsrop"}, ArgumentError, r"optimizer must be one of 'rmsprop', 'adam'\. "
                                             r"Received: optimizer='rmsrop'\. Did you mean "
                                             r"'rmsprop'\?"),
    ({"double": "yes"}, ArgumentTypeError, r"config\.double must be true or false\. "
                                           r"Received: double='yes'"),
    ({"target_every": 0}, ArgumentError, r"config\.target_every must be at least 1\."),
])
def test_bad_settings_are_named(settings, error, message):
    with pytest.raises(error, match=message):
        DQNConfig(**settings)


def test_unknown_setting_names_ours():
    with pytest.raises(SpecError, match=r"config\.replay_start_size: unknown setting\. Did you "
                                        r"mean 'learning_starts'\?"):
        DQNConfig.from_dict({"replay_start_size": 100})
    with pytest.raises(SpecError, match=r"config\.batch_sise: unknown setting\. Did you mean "
                                        r"'batch_size'\?"):
        train_dqn(batch_sise=3)


def test_minatar_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "minatar", None)   # what Python does for a missing module
    with pytest.raises(MinAtarMissingError, match=r"needs the minatar package .* Install it "
                                                  r"with: pip install --no-deps minatar==1\.0\.15"):
        import_minatar()


# ---- the games (real MinAtar) -----------------------------------------------------------------

@needs_minatar
def test_import_is_quiet_and_leaves_logging_alone(capsys):
    root = logging.getLogger()
    handlers = list(root.handlers)
    sys.modules.pop("minatar", None)
    sys.modules.pop("minatar.environment", None)
    import_minatar()
    assert root.handlers == handlers
    assert "seaborn" not in capsys.readouterr().err
    assert logging.root.manager.disable == logging.NOTSET


@needs_minatar
@pytest.mark.parametrize("game, channels, actions", [("breakout", 4, [0, 1, 3]),
                                                      ("space_invaders", 6, [0, 1, 3, 5])])
def test_game_observations_are_channels_first_views(game, channels, actions):
    env = MinAtarGame(game, seed=3)
    assert env.observation_shape == (channels, 10, 10)
    assert env.actions == actions and env.num_actions == len(actions)
    obs = env.reset()
    assert obs.dtype == torch.bool and obs.shape == (channels, 10, 10)
    state = env._env.state()
    assert np.array_equal(obs.numpy(), state.transpose(2, 0, 1))


@needs_minatar
def test_breakout_actions_move_the_paddle():
    env = MinAtarGame("breakout", seed=0, sticky_action_prob=0.0)
    paddle = lambda: int(env.observation()[0, 9].nonzero())    # noqa: E731  channel 0, row 9
    start = paddle()
    env.step(1)                        # index 1 of [no-op, left, right]
    assert paddle() == start - 1
    env.step(2)
    env.step(2)
    assert paddle() == start + 1
    env.step(0)
    assert paddle() == start + 1


@needs_minatar
def test_random_state_round_trip_replays_the_same_episode():
    env = MinAtarGame("space_invaders", seed=7)
    saved = env.random_state()
    first = [env.step(a % 4) for a in range(60)]
    env.set_random_state(saved)
    env.reset()
    other = MinAtarGame("space_invaders", seed=7)
    other.set_random_state(saved)
    other.reset()
    assert [other.step(a % 4) for a in range(60)] == [env.step(a % 4) for a in range(60)]
    assert len(first) == 60


@needs_minatar
def test_lockstep_evaluation_equals_playing_one_game_at_a_time():
    torch.manual_seed(0)
    net = minatar_dqn().eval()
    policy = greedy_policy(net)
    result = evaluate_policy(policy, "breakout", episodes=4, seed=11, max_episode_steps=500)
    for i in range(4):
        env = MinAtarGame("breakout", seed=11 + i)
        total, length, done = 0.0, 0, False
        while not done and length < 500:
            action = int(policy(env.observation().float().unsqueeze(0)))
            reward, done = env.step(action)
            total, length = total + reward, length + 1
        assert (result.returns[i], result.lengths[i]) == (total, length)


@needs_minatar
def test_random_policy_matches_minatar_figure():
    # MinAtar's README: a random policy averages 0.5 on Breakout (1000 episodes).
    result = evaluate_policy(RandomPolicy(3, seed=0), "breakout", episodes=300, seed=0)
    assert 0.35 < result.mean < 0.65


# ---- training ----------------------------------------------------------------------------------

@needs_minatar
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_short_run_beats_a_random_policy_on_breakout(seed):
    # Measured over seeds 0-8: greedy 1.6-2.7, random 0.3-0.5 (50 episodes each).
    result = train_dqn(seed=seed, **SHORT)
    assert result.greedy.mean > result.random.mean + 0.75, (result.greedy.mean,
                                                            result.random.mean)


@needs_minatar
def test_target_network_syncs_every_target_every_steps():
    common = dict(learning_starts=20, buffer_size=200, eval_every=0, final_eval_episodes=0,
                  target_every=50)
    synced = train_dqn(steps=150, **common).agent
    assert all(torch.equal(a, b) for a, b in zip(synced.online.parameters(),
                                                 synced.target.parameters()))
    apart = train_dqn(steps=160, **common).agent
    assert not all(torch.equal(a, b) for a, b in zip(apart.online.parameters(),
                                                     apart.target.parameters()))


def _metrics(run):
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for line in lines:
        line.pop("steps_per_second", None)
    return lines


@needs_minatar
def test_a_stopped_run_resumes_exactly(tmp_path):
    settings = dict(learning_starts=100, buffer_size=1000, eval_every=300, eval_episodes=3,
                    final_eval_episodes=3, checkpoint_every=250, log_every=100, seed=4,
                    double=True)
    straight = train_dqn(steps=900, run_dir=tmp_path / "straight", **settings)
    stopped = train_dqn(steps=600, run_dir=tmp_path / "stopped", **settings)
    checkpoints = sorted(p.name for p in (tmp_path / "stopped" / "checkpoints").glob("step-*.json"))
    assert len(checkpoints) == 2                       # keep_checkpoints
    resumed = resume_dqn(tmp_path / "stopped", steps=900)
    assert resumed.steps == 900 and resumed.episodes == straight.episodes
    expected, got = straight.agent.tensors(), resumed.agent.tensors()
    assert sorted(expected) == sorted(got)
    assert all(torch.equal(expected[key], got[key]) for key in expected)
    assert _metrics(tmp_path / "straight") == _metrics(tmp_path / "stopped")
    assert resumed.greedy.returns == straight.greedy.returns
    assert stopped.steps == 600
    network, config = load_run(tmp_path / "stopped", "final")
    assert config.steps == 900
    torch.testing.assert_close(network(torch.zeros(1, 4, 10, 10)),
                               straight.agent.online(torch.zeros(1, 4, 10, 10)))
    assert (tmp_path / "stopped" / "report" / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    results = json.loads((tmp_path / "stopped" / "results.json").read_text())
    assert results["steps"] == 900 and results["greedy"]["episodes"] == 3


@needs_minatar
def test_run_folder_refuses_to_overwrite(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "x").write_text("")
    with pytest.raises(ArgumentError, match=r"run_dir '.*run' already exists and is not empty\."
                                            r" .* continue that run with resume_dqn"):
        train_dqn(steps=10, run_dir=tmp_path / "run")
    with pytest.raises(ArgumentError, match=r"is not a DQN run folder"):
        resume_dqn(tmp_path / "run")


# ---- command line ----------------------------------------------------------------------------

@needs_minatar
def test_cli_trains_prints_one_line_per_evaluation_and_evaluates(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["rl", "--game", "space_invaders", "--steps", "300", "--learning-starts", "100",
                 "--buffer-size", "500", "--eval-every", "100", "--eval-episodes", "3",
                 "--final-eval-episodes", "4", "--run-dir", str(run), "--seed", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    evals = [line for line in out if line.startswith("step ")]
    assert len(evals) == 3
    assert all("greedy return" in line and "random" in line for line in evals)
    assert any(line.startswith("final: greedy return") and "over 4 episodes" in line
               for line in out)
    assert f"run folder: {run}" in out
    assert main(["rl", "--evaluate", str(run), "--episodes", "5"]) == 0
    line = capsys.readouterr().out.strip()
    assert "space_invaders" in line and "over 5 episodes" in line


def test_cli_errors_name_the_flags(capsys):
    assert main(["rl", "--game", "breakot"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("cnnkit rl: error: --game must be one of 'asterix', 'breakout', 'freeway', "
                   "'seaquest', 'space_invaders'. Received: --game breakot. Did you mean "
                   "'breakout'?")
    assert main(["rl", "--lr", "-1"]) == 2
    assert "error: --lr must be a positive number. Received: --lr -1.0." in capsys.readouterr().err
    assert main(["rl", "--resume", "nowhere", "--lr", "0.1"]) == 2
    assert "only --steps may change. Received: --lr." in capsys.readouterr().err
    assert main(["rl", "--resume", "nowhere"]) == 2
    assert ("error: --resume 'nowhere' is not a DQN run folder"
            in capsys.readouterr().err)
