"""Every task trains: a small network, a few hundred Adam steps on a problem it can solve,
and the task's own metric over the whole set says it learned (thresholds with margin over
seeds 0-2 and with ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2)."""

import pytest
import torch

from cnnkit import build
from cnnkit import tasks as T


def fit(task, net, x, y, steps, lr, batch=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        index = torch.randint(0, x.shape[0], (batch,), generator=gen)
        inputs, targets = task.prepare(x[index], y[index], generator=gen)
        loss = task.loss(net(inputs), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return evaluate(task, net, x, y)


def evaluate(task, net, x, y):
    net.eval()
    meter = task.meter()
    with torch.no_grad():
        for part in torch.split(torch.arange(x.shape[0]), 64):
            inputs, targets = task.prepare(x[part], y[part], generator=torch.Generator().manual_seed(1))
            meter.update(net(inputs), targets)
    net.train()
    return meter.compute()


def _dense(inputs, units):
    return build({"input": [1, inputs], "layers": ["flatten", {"dense": units}]})


@pytest.mark.parametrize("seed", [0, 1])
def test_classify_multilabel_regress(seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 1, 8, generator=gen)
    cases = [
        ("classify", x[:, 0, :3].argmax(1), 3, "accuracy", 0.9),
        ("multilabel", (x[:, 0, :3] > 0).float(), 3, "mAP", 0.95),
        ("regress", x[:, 0] @ torch.randn(8, 2, generator=gen), 2, "r2", 0.95),
    ]
    for name, y, units, metric, threshold in cases:
        task = T.resolve_task(None, None, y)
        assert task.name == name
        net = _dense(8, units)
        task.check(net.output_shape, y)
        assert fit(task, net, x, y, steps=150, lr=0.05)[metric] > threshold, name


@pytest.mark.parametrize("seed", [0, 1])
def test_segment_1d(seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 1, 32, generator=gen)
    y = (x[:, 0] > 0).long()
    y[:, :2] = 255  # unlabelled
    task = T.resolve_task("segment", None, y)
    net = build({"input": [1, 32], "layers": [
        {"conv": {"filters": 8, "kernel": 3, "padding": "same", "activation": "relu"}},
        {"conv": {"filters": 2, "kernel": 1}}]})
    task.check(net.output_shape, y)
    result = fit(task, net, x, y, steps=100, lr=0.01)
    assert result["mean_iou"] > 0.9 and result["count"] == 256 * 30


def test_denoising_autoencoder_raises_psnr():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    codes = torch.randn(256, 2, generator=gen)
    x = (codes @ torch.randn(2, 16, generator=gen)).view(256, 1, 16) * 0.2 + 0.5
    task = T.resolve_task("reconstruct", None, torch.zeros(256), noise=0.05)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 4), torch.nn.Linear(4, 16),
                              torch.nn.Unflatten(1, (1, 16)))
    task.check((1, 16), x)
    before = evaluate(task, net, x, torch.zeros(256))["psnr"]
    after = fit(task, net, x, torch.zeros(256), steps=200, lr=0.02)["psnr"]
    # the noise alone is 26 dB; the bottleneck removes most of it (about 34 dB)
    assert after > 30 and after > before + 10


def squares(n, size, gen):
    """Images with one or two squares (bright: class 0, grey: class 1) and their boxes."""
    x = torch.zeros(n, 1, size, size)
    y = torch.full((n, 2, 5), -1.0)
    y[..., 1:] = 0
    for i in range(n):
        for j in range(1 + i % 2):
            w = int(torch.randint(4, 8, (1,), generator=gen))
            x0, y0 = (int(v) for v in torch.randint(0, size - w + 1, (2,), generator=gen))
            k = int(torch.randint(0, 2, (1,), generator=gen))
            x[i, 0, y0:y0 + w, x0:x0 + w] = 1.0 if k == 0 else 0.5
            y[i, j] = torch.tensor([k, (x0 + w / 2) / size, (y0 + w / 2) / size, w / size, w / size])
    return x, y


def test_detect_yolo_grid():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x, y = squares(128, 16, gen)
    task = T.resolve_task(None, "yolo", y, num_classes=2)
    net = build({"input": [1, 16, 16], "layers": [
        {"conv": {"filters": 16, "kernel": 3, "padding": "same", "activation": "relu"}}, {"maxpool": 2},
        {"conv": {"filters": 32, "kernel": 3, "padding": "same", "activation": "relu"}}, {"maxpool": 2},
        {"conv": {"filters": 12, "kernel": 3, "padding": "same"}}]})
    task.check(net.output_shape, y)
    assert task.boxes_per_cell == 2
    result = fit(task, net, x, y, steps=150, lr=5e-3, batch=16)
    assert result["mAP"] > 0.6, result  # 0.94 / 0.82 / 0.88 over seeds 0-2
    assert result["objects"] == 192


def test_detect_fast_rcnn_head():
    # 16 images, full batches: the head fits them (mAP 0.76 / 0.77 / 0.69 over seeds 0-2,
    # from about 0.01 untrained)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x, y = squares(16, 16, gen)
    backbone = build({"input": [1, 16, 16], "layers": [
        {"conv": {"filters": 16, "kernel": 3, "padding": "same", "activation": "relu"}},
        {"conv": {"filters": 16, "kernel": 3, "padding": "same", "activation": "relu"}}]})
    net = T.RoIDetector(backbone, (1, 16, 16), 2, pool=3, hidden=64,
                        proposals=T.grid_proposals(sizes=(0.3, 0.45), ratios=(1.0,)))
    task = T.resolve_task("detect", "fast_rcnn", y)
    task.check(net.output_shape, y)
    assert task.num_classes == 2
    before = evaluate(task, net, x, y)["mAP"]
    after = fit(task, net, x, y, steps=120, lr=1e-2, batch=16)["mAP"]
    assert before < 0.1 and after > 0.45, (before, after)
