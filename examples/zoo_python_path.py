"""The zoo's systems that `cnnkit train` does not train (yet), trained by name from Python
on their bundled data, and the figures docs/zoo.md quotes; also the task metrics of runs that
`cnnkit train` made (mean IoU, mAP) where its summary line prints pixel accuracy or nothing.

    python examples/zoo_python_path.py autoencoder      # denoising, PSNR on mnist5k
    python examples/zoo_python_path.py fast_rcnn        # mAP@0.5 on scenes_detect
    python examples/zoo_python_path.py recurrent_conv   # mean IoU after each step
    python examples/zoo_python_path.py wavenet [PNG]    # NLL against baselines, samples
    python examples/zoo_python_path.py miou RUN         # a segmentation run's mean IoU
    python examples/zoo_python_path.py map RUN          # a YOLO run's mAP@0.5

Each trains with Adam on the training split and scores the test split; seed 0.
"""

from __future__ import annotations

import math
import sys
import time

import torch

from cnnkit import models
from cnnkit import tasks as T
from cnnkit.data import load_dataset


def fit(task, net, x, y, *, epochs, lr, batch=64, loss=None, seed=0):
    """Adam over shuffled batches; the seconds it took."""
    gen = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
    start = time.perf_counter()
    net.train()
    for _ in range(epochs):
        for index in torch.randperm(len(x), generator=gen).split(batch):
            inputs, targets = task.prepare(x[index], y[index], generator=gen)
            value = loss(inputs, targets) if loss else task.loss(net(inputs), targets)
            optimiser.zero_grad()
            value.backward()
            optimiser.step()
    net.eval()
    return time.perf_counter() - start


def score(task, net, x, y, batch=100):
    meter = task.meter()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for index in torch.arange(len(x)).split(batch):
            inputs, targets = task.prepare(x[index], y[index], generator=gen)
            meter.update(net(inputs), targets)
    return meter.compute()


def autoencoder():
    torch.manual_seed(0)
    train, test = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    net = models.for_data("conv_autoencoder", (1, 28, 28), 10)
    task = T.resolve_task("reconstruct", "mse", train.y, noise=0.3)
    seconds = fit(task, net, train.x, train.y, epochs=2, lr=1e-3)
    noisy = score(task, lambda v: v, test.x, test.y)["psnr"]
    print(f"conv_autoencoder: test PSNR {score(task, net, test.x, test.y)['psnr']:.1f} dB from "
          f"inputs with Gaussian noise (std 0.3) at {noisy:.1f} dB; 2 epochs, {seconds:.0f} s")


def fast_rcnn():
    torch.manual_seed(0)
    train, test = load_dataset("scenes_detect", "train"), load_dataset("scenes_detect", "test")
    net = models.for_data("fast_rcnn", (1, 48, 48), 10, width=16, hidden=128)
    task = T.resolve_task("detect", "fast_rcnn", train.y, num_classes=10)
    seconds = fit(task, net, train.x, train.y, epochs=2, lr=1e-3, batch=32)
    print(f"fast_rcnn: test mAP@0.5 {score(task, net, test.x, test.y)['mAP']:.3f}; 2 epochs, "
          f"{seconds:.0f} s")


def recurrent_conv():
    torch.manual_seed(0)
    train, test = load_dataset("scenes_segment", "train"), load_dataset("scenes_segment", "test")
    net = models.for_data("recurrent_conv", (1, 48, 48), 11, steps=3, width=16)
    task = T.resolve_task("segment", None, train.y, num_classes=11)
    seconds = fit(task, net, train.x, train.y, epochs=1, lr=3e-3, batch=32, loss=net.loss)
    ious = []
    for step in range(net.steps):
        ious.append(score(task, lambda v, s=step: net.step_outputs(v)[s], test.x, test.y)
                    ["mean_iou"])
    print(f"recurrent_conv: test mean IoU after steps 1, 2, 3: "
          f"{', '.join(f'{v:.3f}' for v in ious)}; 1 epoch, {seconds:.0f} s")


def wavenet(png: str | None = None):
    torch.manual_seed(0)
    train, test = load_dataset("alsa_speech", "train"), load_dataset("alsa_speech", "test")
    decode = models.mu_law_decode
    x, y = decode(train.x).unsqueeze(1), train.y
    tx, ty = decode(test.x).unsqueeze(1), test.y
    net = models.for_data("wavenet", (1, 2048), 256)
    task = T.resolve_task("segment", None, y, num_classes=256)
    seconds = fit(task, net, x, y, epochs=3, lr=2e-3, batch=8)
    with torch.no_grad():
        field = net.receptive_field
        logits = torch.cat([net(tx[i:i + 8]) for i in range(0, len(tx), 8)])
        nll = float(torch.nn.functional.cross_entropy(logits[..., field:], ty[..., field:]))
    counts = torch.bincount(train.y.flatten(), minlength=256).double() + 1
    marginal = float(-(counts / counts.sum()).log()[ty[..., field:]].mean())
    # Bigram: the next code given the current one (add-one counts on the training windows).
    pairs = torch.zeros(256, 256, dtype=torch.float64)
    pairs.index_put_((train.x.flatten(), train.y.flatten()), torch.ones(train.y.numel(),
                     dtype=torch.float64), accumulate=True)
    pairs += 1
    log_p = (pairs / pairs.sum(1, keepdim=True)).log()
    bigram = float(-log_p[test.x[:, field:], ty[:, field:]].mean())
    print(f"wavenet: test NLL {nll / math.log(2):.2f} bits per sample against "
          f"{marginal / math.log(2):.2f} (codes' frequencies) and {bigram / math.log(2):.2f} "
          f"(next code given the last, bigram), of at most 8; 3 epochs, {seconds:.0f} s")
    if png:
        generated = generate(net, test.x[0, :field], 2000)
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 1, figsize=(9, 4), sharey=True)
        axes[0].plot(decode(test.x[0, :field + 2000]).numpy(), lw=0.5)
        axes[0].set_title("test speech (alsa-utils), 16 kHz")
        axes[1].plot(decode(generated).numpy(), lw=0.5, color="C1")
        axes[1].set_title(f"WaveNet: {len(generated)} samples generated after the first "
                          f"{field} of it")
        fig.tight_layout()
        fig.savefig(png, dpi=100)
        print(f"wrote {png}")


def generate(net, seed_codes: torch.Tensor, count: int) -> torch.Tensor:
    """Sample ``count`` codes one at a time, each from the network's softmax given the
    receptive field before it."""
    field = net.receptive_field
    codes = seed_codes.clone()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(count):
            window = models.mu_law_decode(codes[-field:]).view(1, 1, -1)
            p = net(window)[0, :, -1].softmax(0)
            codes = torch.cat((codes, torch.multinomial(p, 1, generator=gen)))
    return codes[len(seed_codes):]


def run_metric(kind: str, run: str):
    from cnnkit.runs import load_run_model

    net = load_run_model(run)
    if kind == "miou":
        test = load_dataset("scenes_segment", "test")
        task = T.resolve_task("segment", None, test.y, num_classes=11)
        print(f"{run}: test mean IoU {score(task, net, test.x, test.y)['mean_iou']:.3f}")
    else:
        test = load_dataset("scenes_detect", "test")
        task = T.resolve_task("detect", "yolo", test.y, num_classes=10)
        print(f"{run}: test mAP@0.5 {score(task, net, test.x, test.y)['mAP']:.3f}")


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or ["help"]
    if command in ("miou", "map"):
        run_metric(command, *rest)
    elif command in ("autoencoder", "fast_rcnn", "recurrent_conv", "wavenet"):
        globals()[command](*rest)
    else:
        print(__doc__)
