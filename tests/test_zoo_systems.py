"""The historic systems of the zoo train: each builds for real data and a few optimiser steps
on a tiny batch of it lower the loss (measured in evaluation mode, before and after, on the
same batch). Plus what makes each system itself: LeNet-5's 60,000 parameters and layer
sizes, the neocognitron's S-cells learned without labels and frozen, the TDNN's shift
invariance, the all-convolutional net's lack of pooling and dense layers, WaveNet's
causality and mu-law codes, the text CNN's max over time, C3D's pooling over time."""

from __future__ import annotations

import inspect
import math
import os
import re

import pytest
import torch

import cnnkit
from cnnkit import layers as L
from cnnkit import models
from cnnkit.data import load_dataset
from cnnkit.features.neocognitron import learn_s_cells
from cnnkit.functional.losses import softmax_cross_entropy

SEED = int(os.environ.get("CNNKIT_TEST_SEED", "0"))


def eval_loss(model, x, y):
    model.eval()
    with torch.no_grad():
        return float(softmax_cross_entropy(model(x), y))


def fit(model, x, y, steps, lr):
    """Adam on the trainable parameters for ``steps`` full-batch steps; the loss in
    evaluation mode before and after."""
    before = eval_loss(model, x, y)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for _ in range(steps):
        loss = softmax_cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return before, eval_loss(model, x, y)


@pytest.fixture(scope="module")
def digits():
    torch.manual_seed(SEED)
    data = load_dataset("mnist5k")
    pick = torch.randperm(len(data.y), generator=torch.Generator().manual_seed(SEED))[:64]
    return data.x[pick], data.y[pick]


# ---- LeNet-5 as published ----------------------------------------------------------------

def test_lenet5_1998_has_the_papers_60000_parameters_and_layer_sizes():
    net = models.for_data("lenet5_1998", (1, 28, 28), 10)
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 60_000
    rows = {row["type"]: [] for row in cnnkit.summary(net).rows}
    for row in cnnkit.summary(net).rows:
        rows[row["type"]].append((row["output_shape"], row["params"]))
    assert rows["conv"] == [((6, 28, 28), 156), ((120, 1, 1), 48_120)]             # C1, C5
    assert rows["subsample"] == [((6, 14, 14), 12), ((16, 5, 5), 32)]              # S2, S4
    assert rows["table_conv"] == [((16, 10, 10), 1_516)]                            # C3
    assert rows["dense"] == [((84,), 10_164)]                                        # F6
    assert rows["rbf"] == [((10,), 0)]                                               # output
    assert len(rows["scaled_tanh"]) == 6
    learned = models.for_data("lenet5_1998", (1, 28, 28), 10, codes="learned")
    assert sum(p.numel() for p in learned.parameters()) == 60_000 + 840


def test_lenet5_1998_trains(digits):
    torch.manual_seed(SEED)
    x, y = digits
    before, after = fit(models.for_data("lenet5_1998", (1, 28, 28), 10), x, y, 30, 1e-3)
    assert after < 0.6 * before


# ---- neocognitron ----------------------------------------------------------------------

def test_neocognitron_learns_s_cells_without_labels_then_only_its_read_out(digits):
    torch.manual_seed(SEED)
    net = models.for_data("neocognitron", (1, 28, 28), 10, planes=(8, 16))
    start = [cell.weight.detach().clone() for cell in net.layers if isinstance(cell, L.SCell)]
    train = load_dataset("mnist5k").x[:300]
    cells = learn_s_cells(net, train, seed=SEED)
    for cell, first in zip(cells, start):
        weight = cell.weight.detach().flatten(1)
        assert not cell.weight.requires_grad
        assert torch.allclose(weight.norm(dim=1), torch.ones(len(weight)), atol=1e-5)
        assert (weight >= 0).all()                   # Hebbian sums of non-negative windows
        assert not torch.equal(cell.weight, first)
        cosines = weight @ weight.T - torch.eye(len(weight))
        assert cosines.max() < 0.999                 # competition: one plane, one feature
    learned = [cell.weight.detach().clone() for cell in cells]
    x, y = digits
    before, after = fit(net, x, y, 25, 1e-2)
    assert after < 0.5 * before
    assert all(torch.equal(cell.weight, w) for cell, w in zip(cells, learned))
    trainable = [name for name, p in net.named_parameters() if p.requires_grad]
    assert trainable == ["layers.5.weight", "layers.5.bias"]      # the read-out only


def test_learn_s_cells_errors():
    with pytest.raises(cnnkit.ArgumentError, match=r"learn_s_cells needs a network with S-cell "
                                                   r"layers \(s_cell in a spec\)\. Received: a "
                                                   r"Network without any"):
        learn_s_cells(models.lenet5(), torch.zeros(4, 1, 28, 28))
    with pytest.raises(cnnkit.ShapeError, match=r"learn_s_cells found 0 input windows with energy "
                                                r"for 16 S-planes"):
        learn_s_cells(models.neocognitron(), torch.zeros(4, 1, 28, 28))


# ---- TDNN ------------------------------------------------------------------------------

def test_tdnn_trains_on_mnist1d():
    torch.manual_seed(SEED)
    data = load_dataset("mnist1d")
    x, y = data.x[:256], data.y[:256]
    before, after = fit(models.for_data("tdnn", (1, 40), 10), x, y, 300, 0.1)
    assert after < 0.85 * before


def test_tdnn_tells_the_speakers_of_japanese_vowels_apart():
    # The TDNN's own kind of data: frames of spectral coefficients (12 LPC cepstra here, 16
    # in Waibel et al.), one channel each. The paper's 8 sigmoid units, 150 full-batch Adam
    # steps on the 270 training utterances: 94.6 % to 96.8 % of the 370 test utterances
    # over seeds 0-3 (9 speakers; chance 11 %, the largest speaker 24 %).
    torch.manual_seed(SEED)
    train, test = load_dataset("japanese_vowels"), load_dataset("japanese_vowels", "test")
    mean, std = train.x.mean((0, 2), keepdim=True), train.x.std((0, 2), keepdim=True)
    net = models.for_data("tdnn", (12, 29), 9)
    assert sum(p.numel() for p in net.parameters()) == 8 * 12 * 3 + 8 + 9 * 8 * 5 + 9
    optimiser = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(150):
        optimiser.zero_grad()
        softmax_cross_entropy(net((train.x - mean) / std), train.y).backward()
        optimiser.step()
    with torch.no_grad():
        accuracy = (net((test.x - mean) / std).argmax(1) == test.y).float().mean()
    assert float(accuracy) > 0.85


def test_tdnn_recognises_a_pattern_wherever_it_starts():
    torch.manual_seed(SEED)
    net = models.for_data("tdnn", (1, 40), 3).double().eval()
    pattern = torch.rand(9, dtype=torch.float64)
    early, late = torch.zeros(1, 1, 40, dtype=torch.float64), torch.zeros(1, 1, 40,
                                                                          dtype=torch.float64)
    early[0, 0, 6:15], late[0, 0, 25:34] = pattern, pattern
    with torch.no_grad():
        assert torch.allclose(net(early), net(late), rtol=1e-12, atol=1e-12)
        assert not torch.allclose(net(early), net(torch.zeros_like(early)))


# ---- all-convolutional net -------------------------------------------------------------

def test_allconv_has_no_pooling_and_no_dense_layer_and_the_papers_count():
    net = models.for_data("allconv", (3, 32, 32), 10)
    assert sum(p.numel() for p in net.parameters()) == 1_369_738
    types = {type(m) for m in net.modules()}
    assert not types & {L.MaxPool, L.AvgPool, L.Dense}
    strided = [m.stride for m in net.layers if isinstance(m, L.Conv) and m.stride != (1, 1)]
    assert strided == [(2, 2), (2, 2)]
    rows = cnnkit.summary(net).rows
    assert rows[-2]["output_shape"] == (10, 6, 6)          # averaged over 6x6, as the paper


def test_allconv_trains_on_grey_digits(digits):
    torch.manual_seed(SEED)
    x, y = digits
    # narrow and without dropout: a few seconds; deep ReLU stacks without normalisation
    # start slowly, so it takes more steps than the others
    net = models.for_data("allconv", (1, 28, 28), 10, widths=(8, 16), dropout=False)
    before, after = fit(net, x, y, 150, 2e-3)
    assert after < 0.8 * before


# ---- WaveNet ---------------------------------------------------------------------------

def sines(length: int, offsets) -> torch.Tensor:
    """Sums of three sines (a chord), one row per start offset, in [-1, 1]."""
    t = torch.arange(length, dtype=torch.float64).unsqueeze(0) + torch.tensor(offsets).unsqueeze(1)
    wave = sum(amp * torch.sin(2 * math.pi * t / period)
               for amp, period in ((0.5, 25.0), (0.3, 9.0), (0.15, 4.3)))
    return wave.float()


def test_mu_law_codes_round_trip_and_favour_small_amplitudes():
    x = torch.linspace(-1, 1, 1001)
    codes = models.mu_law_encode(x)
    assert codes.min() == 0 and codes.max() == 255 and codes.dtype == torch.int64
    error = (models.mu_law_decode(codes) - x).abs()
    assert error.max() < 0.025 and error[x.abs() < 0.01].max() < 0.0005
    small = models.mu_law_encode(torch.tensor([-0.05, 0.05]))
    assert small[1] - small[0] > 60                  # a tenth of the range, a quarter of codes


def test_wavenet_output_at_t_never_sees_a_later_sample():
    net = models.for_data("wavenet", (1, 64), 256, layers=4, stacks=2).eval()
    x = torch.randn(1, 1, 64)
    later = x.clone()
    later[..., 40:] = torch.randn(1, 1, 24)
    with torch.no_grad():
        assert torch.equal(net(x)[..., :40], net(later)[..., :40])
    assert net.receptive_field == 2 * 15 + 2


def test_wavenet_learns_to_predict_the_next_mu_law_code():
    torch.manual_seed(SEED)
    codes = models.mu_law_encode(sines(257, [0, 37, 90, 151]))
    x, y = models.next_sample_pairs(codes)
    net = models.for_data("wavenet", tuple(x.shape[1:]), 256, layers=6, stacks=1,
                          residual_channels=16, skip_channels=32)
    assert net.output_shape == (256, 256)
    before, after = fit(net, x, y, 40, 1e-2)
    assert before > 0.9 * math.log(256) and after < 0.6 * before


# ---- text CNN --------------------------------------------------------------------------

def sentences(length: int = 12):
    """Windows of words from two real texts (the docstrings of Python's ``re`` and
    ``argparse`` modules), labelled by their source; ids from the joint vocabulary."""
    texts = [re.findall(r"[a-z]+", inspect.getdoc(module).lower()) for module in (re, __import__(
        "argparse"))]
    vocab = {word: i for i, word in enumerate(sorted(set(texts[0]) | set(texts[1])))}
    rows, labels = [], []
    for label, words in enumerate(texts):
        for start in range(0, len(words) - length, length // 2):
            rows.append([vocab[w] for w in words[start:start + length]])
            labels.append(label)
    return torch.tensor(rows).unsqueeze(1), torch.tensor(labels), len(vocab)


def test_text_cnn_trains_on_real_text_and_pools_the_max_over_time():
    torch.manual_seed(SEED)
    x, y, vocab = sentences()
    net = models.for_data("text_cnn", (1, 12), 2, vocab=vocab, dim=16, maps=8)
    pools = [m for m in net.modules() if isinstance(m, L.GlobalMaxPool)]
    assert len(pools) == 3 and net.layers[3].in_features == 3 * 8
    before, after = fit(net, x, y, 30, 1e-2)
    assert after < 0.5 * before


def test_text_cnn_default_size_is_kims():
    with torch.device("meta"):
        net = models.text_cnn()
    assert sum(p.numel() for p in net.parameters()) == (
        10_000 * 300 + sum(100 * 300 * w + 100 for w in (3, 4, 5)) + 300 * 2 + 2)


# ---- C3D -------------------------------------------------------------------------------

def moving_digits(digits, frames: int = 4, step: int = 2):
    """Clips of real digits moving right, left, down or up by ``step`` pixels a frame,
    labelled by the direction: only the order of the frames tells the classes apart."""
    x, _ = digits
    moves = [(0, step), (0, -step), (step, 0), (-step, 0)]
    clips, labels = [], []
    for i, image in enumerate(x[:32]):
        dy, dx = moves[i % 4]
        clips.append(torch.stack([image[0].roll((f * dy, f * dx), (0, 1)) for f in range(frames)]))
        labels.append(i % 4)
    return torch.stack(clips).unsqueeze(1), torch.tensor(labels)


def test_c3d_trains_on_moving_digits(digits):
    torch.manual_seed(SEED)
    x, y = moving_digits(digits)
    net = models.for_data("c3d", tuple(x.shape[1:]), 4, width=8, hidden=64, dropout=0.0)
    assert all(m.kernel == (3, 3, 3) for m in net.layers if isinstance(m, L.Conv))
    # no normalisation layers: a small step, or the logits run away
    before, after = fit(net, x, y, 50, 5e-4)
    assert after < 0.85 * before


def test_c3d_pools_time_only_after_the_first_stage_and_as_long_as_frames_remain():
    with torch.device("meta"):
        paper = models.c3d()
        short = models.for_data("c3d", (1, 4, 28, 28), 4, width=4, hidden=32)
    pools = [m.kernel for m in paper.layers if isinstance(m, L.MaxPool)]
    assert pools == [(1, 2, 2)] + [(2, 2, 2)] * 4
    pooled = [r["output_shape"] for r in cnnkit.summary(paper).rows if r["type"] == "maxpool"]
    assert pooled[-1] == (512, 1, 4, 4)
    assert [m.kernel[0] for m in short.layers if isinstance(m, L.MaxPool)] == [1, 2, 2, 1, 1]


def test_unet_has_the_papers_31_million_parameters_and_batch_norm_is_an_option():
    # Ronneberger et al. 2015, figure 1 with same padding: 1 channel in, 2 classes out.
    plain = models.create_model("unet", num_classes=2, input_shape=(1, 256, 256))
    assert sum(p.numel() for p in plain.parameters()) == 31_030_658
    assert not any(isinstance(m, L.BatchNorm) for m in plain.modules())
    normed = models.for_data("unet", (1, 48, 48), 11, width=8, depth=3, batch_norm=True)
    norms = [m for m in normed.modules() if isinstance(m, L.BatchNorm)]
    assert len(norms) == 2 * (2 * 3 + 1)       # two per level down, the bottom, and up
    convs = [m for m in normed.modules() if isinstance(m, L.Conv) and m.kernel == (3, 3)]
    assert len(convs) == len(norms) and all(m.bias is None for m in convs)
    assert normed.output_shape == (11, 48, 48)
    fcn = models.for_data("fcn", (1, 48, 48), 11, width=8, batch_norm=True)
    assert sum(isinstance(m, L.BatchNorm) for m in fcn.modules()) == 6


# ---- Go move prediction ----------------------------------------------------------------

@pytest.mark.parametrize("size, moves", [(9, 82), (19, 362)])
def test_go_policy_reads_the_board_from_any_start(size, moves):
    # With a ReLU on the 2-plane convolution, some starts (seed 0 at 32 maps, 4 layers among
    # them) give planes that are zero on every board: constant logits, and no gradient into
    # the network. The linear 2-plane convolution passes the board to every logit.
    boards = load_dataset(f"go{size}").x[:64]
    for seed in range(8):
        torch.manual_seed(seed)
        net = models.for_data("go_policy", (11, size, size), moves, filters=32, layers=4)
        logits = net(boards)
        assert float(logits.detach().std(dim=0).min()) > 0  # every logit depends on the board
        softmax_cross_entropy(logits, torch.zeros(64, dtype=torch.int64)).backward()
        assert float(net.layers[0].weight.grad.abs().sum()) > 0, seed  # and trains the stack


def test_go_policy_points_head_scores_each_point_with_shared_weights_and_a_bias_each():
    net = models.for_data("go_policy", (11, 19, 19), 362, filters=8, layers=2, head="points")
    dense = models.for_data("go_policy", (11, 19, 19), 362, filters=8, layers=2)
    stack = (11 * 25 + 1) * 8 + (8 * 9 + 1) * 8
    assert sum(p.numel() for p in net.parameters()) == stack + (8 + 361) + (8 + 1)
    assert sum(p.numel() for p in dense.parameters()) == stack + (8 * 2 + 2) + 722 * 362 + 362
    boards = load_dataset("go19").x[:4]
    logits = net(boards)
    assert logits.shape == (4, 362)
    # A point's logit is the 1x1 convolution of the last maps at that point (row by row,
    # as move_names numbers them) plus that point's own bias; pass is the last logit.
    point = net.layers[-1].branches[0][0]
    maps = boards
    for layer in list(net.layers)[:-1]:
        maps = layer(maps)
    expected = (torch.einsum("nchw,c->nhw", maps, point.weight[0, :, 0, 0])
                + point.bias[0]).flatten(1)
    assert torch.allclose(logits[:, :361], expected, atol=1e-5)


def test_go_policy_points_head_needs_the_points_and_pass():
    with pytest.raises(cnnkit.ArgumentError, match=r"head='points' scores each point of the "
                                                   r"board and pass: num_classes must be 9x9 \+ 1 "
                                                   r"= 82 for input_shape=\(11, 9, 9\)\. "
                                                   r"Received: num_classes=10"):
        models.go_policy(10, (11, 9, 9), head="points")
    with pytest.raises(cnnkit.ArgumentError, match=r"head must be one of 'dense', 'points'"):
        models.go_policy(82, (11, 9, 9), head="conv")
