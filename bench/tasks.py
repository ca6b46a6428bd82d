"""Task machinery against the plain-PyTorch code a user would write instead: greedy NMS,
the YOLO v1 loss in a training step, and the metric accumulators.

Each case runs its contenders interleaved in one process (median seconds per call, see
``_timing.py``) and prints the ratio to the first contender, the baseline.

    python bench/tasks.py              # 1 thread
    python bench/tasks.py --threads 2 --rounds 10
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import interleaved_medians  # noqa: E402

from cnnkit.functional.boxes import batched_nms, box_iou  # noqa: E402
from cnnkit.functional.losses import yolo_v1_loss  # noqa: E402
from cnnkit.metrics import DetectionMeter, SegmentationMeter  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _boxes(n, r, gen):
    centre = torch.rand(n, r, 2, generator=gen)
    size = torch.rand(n, r, 2, generator=gen) * 0.3 + 0.02
    return torch.cat((centre - size / 2, centre + size / 2), -1).to(DEVICE)


def loop_nms(boxes, scores, threshold):
    """Greedy NMS as usually written: per image, take the best box, drop its overlaps."""
    keep = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)
    for i in range(boxes.shape[0]):
        order = scores[i].argsort(descending=True)
        while order.numel():
            best = order[0]
            keep[i, best] = True
            overlap = box_iou(boxes[i, best][None], boxes[i, order[1:]])[0]
            order = order[1:][overlap <= threshold]
    return keep


def case_nms(rounds):
    gen = torch.Generator().manual_seed(0)
    boxes, scores = _boxes(32, 200, gen), torch.rand(32, 200, generator=gen).to(DEVICE)
    assert torch.equal(loop_nms(boxes, scores, 0.5), batched_nms(boxes, scores, 0.5))
    return interleaved_medians({
        "greedy loop (plain PyTorch)": lambda: loop_nms(boxes, scores, 0.5),
        "batched_nms": lambda: batched_nms(boxes, scores, 0.5)}, rounds=rounds, inner=1)


def case_yolo(rounds):
    gen = torch.Generator().manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(4), torch.nn.Conv2d(32, 30, 3, padding=1)).to(DEVICE)
    x = torch.rand(32, 3, 56, 56, generator=gen).to(DEVICE)
    centre = torch.rand(32, 6, 2, generator=gen) * 0.6 + 0.2
    size = torch.rand(32, 6, 2, generator=gen) * 0.3 + 0.05
    targets = torch.cat((torch.randint(0, 20, (32, 6, 1), generator=gen).float(), centre, size),
                        -1).to(DEVICE)
    zeros = torch.zeros(32, 30, 14, 14, device=DEVICE)

    def step(loss):
        def run():
            net.zero_grad()
            loss(net(x)).backward()
        return run

    return interleaved_medians({
        "train step, MSE loss": step(lambda out: torch.nn.functional.mse_loss(out, zeros)),
        "train step, YOLO v1 loss": step(lambda out: yolo_v1_loss(out, targets))},
        rounds=rounds)


def case_meters(rounds):
    gen = torch.Generator().manual_seed(2)
    scores = torch.randn(16, 21, 64, 64, generator=gen).to(DEVICE)
    labels = torch.randint(0, 21, (16, 64, 64), generator=gen).to(DEVICE)
    meter = SegmentationMeter(21)

    def plain():
        keep = labels != 255
        torch.bincount(labels[keep] * 21 + scores.argmax(1)[keep], minlength=441)

    seg = interleaved_medians({"bincount confusion (plain PyTorch)": plain,
                               "SegmentationMeter.update": lambda: meter.update(scores, labels)},
                              rounds=rounds)
    boxes = _boxes(64, 100, gen)
    det_scores = torch.rand(64, 100, generator=gen).to(DEVICE)
    classes = torch.randint(0, 5, (64, 100), generator=gen).to(DEVICE)
    valid = torch.ones(64, 100, dtype=torch.bool, device=DEVICE)
    centre = torch.rand(64, 8, 2, generator=gen)
    targets = torch.cat((torch.randint(0, 5, (64, 8, 1), generator=gen).float(), centre,
                         torch.full((64, 8, 2), 0.2)), -1).to(DEVICE)
    det = DetectionMeter(5)

    def loop_match():  # the VOC devkit's loop, per image and detection
        from cnnkit.functional.boxes import cxcywh_to_xyxy
        truth = cxcywh_to_xyxy(targets[..., 1:])
        for i in range(64):
            iou = box_iou(boxes[i], truth[i])
            same = classes[i][:, None] == targets[i, :, 0].long()[None]
            iou = torch.where(same, iou, torch.full_like(iou, -1))
            taken = set()
            for j in det_scores[i].argsort(descending=True).tolist():
                best, k = iou[j].max(0)
                if float(best) >= 0.5 and int(k) not in taken:
                    taken.add(int(k))

    detection = interleaved_medians({
        "VOC matching loop (plain PyTorch)": loop_match,
        "DetectionMeter.update": lambda: det.update(boxes, det_scores, classes, valid, targets)},
        rounds=max(rounds // 3, 3), inner=1)
    return {**seg, **detection}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"device {DEVICE}, {args.threads} thread(s), median of {args.rounds} rounds")
    for name, case in (("NMS, 32 images x 200 boxes", case_nms),
                       ("YOLO v1 loss, 32 images 56x56, 14x14 grid", case_yolo),
                       ("metric accumulators", case_meters)):
        times = case(args.rounds)
        names = list(times)
        print(f"\n{name}")
        for i, key in enumerate(names):
            base = times[names[0] if i < 2 or len(names) < 4 else names[2]]
            print(f"  {key:38s} {times[key] * 1e3:9.2f} ms   x{times[key] / base:.2f}")


if __name__ == "__main__":
    main()
