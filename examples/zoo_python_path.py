"""Figures of zoo runs that `cnnkit train`'s summary line does not print, and the denoising
autoencoder trained from Python (the task's own path, cnnkit.tasks).

Every zoo system trains by name (docs/zoo.md): `cnnkit train wavenet --data alsa_speech`,
`cnnkit train fast_rcnn --data scenes_detect`, `cnnkit train recurrent_conv --data
scenes_segment`; this script scores their run folders further:

    python examples/zoo_python_path.py autoencoder      # denoising, PSNR on mnist5k
    python examples/zoo_python_path.py wavenet RUN [PNG]  # bits per sample against
                                                        # baselines; PNG: generated samples
    python examples/zoo_python_path.py steps RUN        # a recurrent_conv run: mean IoU
                                                        # after each step
    python examples/zoo_python_path.py miou RUN         # a segmentation run's mean IoU
    python examples/zoo_python_path.py map RUN          # a detection run's mAP@0.5

Each scores the test split; seed 0.
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


def wavenet(run: str, png: str | None = None):
    """The next-code NLL of a WaveNet run in bits per sample (positions with a full
    receptive field), against the codes' frequencies and a bigram; PNG: 2,000 samples
    generated after a test recording's first receptive field."""
    from cnnkit.runs import load_run_model

    net = load_run_model(run)
    train, test = load_dataset("alsa_speech", "train"), load_dataset("alsa_speech", "test")
    field = net.model.receptive_field
    with torch.no_grad():
        logits = torch.cat([net(test.x[i:i + 8, None]) for i in range(0, len(test.x), 8)])
        nll = float(torch.nn.functional.cross_entropy(logits[..., field:], test.y[..., field:]))
    counts = torch.bincount(train.y.flatten(), minlength=256).double() + 1
    marginal = float(-(counts / counts.sum()).log()[test.y[..., field:]].mean())
    # Bigram: the next code given the current one (add-one counts on the training windows).
    pairs = torch.zeros(256, 256, dtype=torch.float64)
    pairs.index_put_((train.x.flatten(), train.y.flatten()), torch.ones(train.y.numel(),
                     dtype=torch.float64), accumulate=True)
    pairs += 1
    log_p = (pairs / pairs.sum(1, keepdim=True)).log()
    bigram = float(-log_p[test.x[:, field:], test.y[:, field:]].mean())
    print(f"{run}: test NLL {nll / math.log(2):.2f} bits per sample against "
          f"{marginal / math.log(2):.2f} (codes' frequencies) and {bigram / math.log(2):.2f} "
          f"(next code given the last, bigram), of at most 8")
    if png:
        start = time.perf_counter()
        generated = generate(net, test.x[0, :field], 2000)
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        decode = models.mu_law_decode
        fig, axes = plt.subplots(2, 1, figsize=(9, 4), sharey=True)
        axes[0].plot(decode(test.x[0, :field + 2000]).numpy(), lw=0.5)
        axes[0].set_title("test speech (alsa-utils), 16 kHz")
        axes[1].plot(decode(generated).numpy(), lw=0.5, color="C1")
        axes[1].set_title(f"WaveNet: {len(generated)} samples generated after the first "
                          f"{field} of it")
        fig.tight_layout()
        fig.savefig(png, dpi=100)
        print(f"wrote {png} ({time.perf_counter() - start:.0f} s of sampling)")


def steps(run: str):
    """The test mean IoU of a recurrent_conv run after each of its steps."""
    from cnnkit.runs import load_run_model

    net = load_run_model(run)
    test = load_dataset("scenes_segment", "test")
    task = T.resolve_task("segment", None, test.y, num_classes=net.output_shape[0])
    front = net.standardize if net.standardize is not None else (lambda v: v)
    ious = [score(task, lambda v, s=s: net.model.step_outputs(front(v))[s], test.x, test.y)
            ["mean_iou"] for s in range(net.model.steps)]
    print(f"{run}: test mean IoU after steps {', '.join(str(s + 1) for s in range(len(ious)))}: "
          f"{', '.join(f'{v:.3f}' for v in ious)}")


def generate(net, seed_codes: torch.Tensor, count: int) -> torch.Tensor:
    """Sample ``count`` codes one at a time, each from the network's softmax given the
    receptive field before it (the network takes the codes as they are)."""
    field = net.model.receptive_field
    codes = seed_codes.clone()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(count):
            p = net(codes[-field:].view(1, 1, -1))[0, :, -1].softmax(0)
            codes = torch.cat((codes, torch.multinomial(p, 1, generator=gen)))
    return codes[len(seed_codes):]


def run_metric(kind: str, run: str):
    from cnnkit.runs import RunFolder, load_run_model
    from cnnkit.tasks import task_from_dict

    net = load_run_model(run)
    task = task_from_dict(RunFolder(run).read_yaml("config.yaml")["task"])  # the run's own
    test = load_dataset("scenes_segment" if kind == "miou" else "scenes_detect", "test")
    if kind == "miou":
        print(f"{run}: test mean IoU {score(task, net, test.x, test.y)['mean_iou']:.3f}")
    else:
        print(f"{run}: test mAP@0.5 {score(task, net, test.x, test.y)['mAP']:.3f}")


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or ["help"]
    if command in ("miou", "map"):
        run_metric(command, *rest)
    elif command in ("autoencoder", "wavenet", "steps"):
        globals()[command](*rest)
    else:
        print(__doc__)
