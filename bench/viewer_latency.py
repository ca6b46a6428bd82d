"""Round trip of one prediction through the web viewer's HTTP API.

Trains LeNet-5 (the zoo's, 61,706 parameters) on mnist5k for one epoch, starts the real
server (`cnnkit serve RUN --port 0` in its own process), and times POST /api/predict for
one 28x28 image from a real HTTP client, as the page sends it while a person draws: JSON
with the image as base64 bytes, the answer holding the probabilities and every layer's
activation maps (12 layers; about 23 KB of JSON). Also: a PNG upload, the answer without
maps, a new TCP connection per request, and the forward pass alone in this process for
scale. Target: median and p95 under 50 ms on 2 CPU cores.

Run: ``.venv/bin/python bench/viewer_latency.py [--requests 300]``
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def timed(fn, count: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    from cnnkit.data import load_dataset
    from cnnkit.models import create_model
    from cnnkit.train.api import train

    tmp = tempfile.mkdtemp(prefix="viewer-latency-")
    torch.manual_seed(0)
    result = train(create_model("lenet5"), "mnist5k", dict(epochs=1, progress=False, report=False),
                   runs_root=tmp)
    run = result.run_dir
    image = load_dataset("mnist5k", "test").x[0, 0]
    model = create_model("lenet5").eval()

    def forward():
        with torch.no_grad():
            model(image[None, None])

    torch.set_num_threads(1)  # one small image: a second thread only adds hand-offs
    alone = timed(forward, args.requests)
    proc = subprocess.Popen([sys.executable, "-m", "cnnkit", "serve", str(run), "--port",
                             "0", "--quiet"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)/", line)[1])
        pixels = np.round(image.numpy() * 255).astype(np.uint8)
        as_json = json.dumps({"data": base64.b64encode(pixels.tobytes()).decode()}).encode()
        no_maps = json.dumps({"data": base64.b64encode(pixels.tobytes()).decode(),
                              "activations": False}).encode()
        png = io.BytesIO()
        Image.fromarray(pixels).save(png, format="PNG")
        png = png.getvalue()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def post(body, kind, connection=None):
            c = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", "/api/predict", body=body, headers={"Content-Type": kind})
            response = c.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200 and len(answer["probabilities"]) == 10
            if connection is None:
                c.close()
            return answer

        size = len(json.dumps(post(as_json, "application/json", conn)))
        cases = {
            "JSON pixels, all maps, keep-alive (the page)":
                lambda: post(as_json, "application/json", conn),
            "PNG upload, all maps, keep-alive":
                lambda: post(png, "image/png", conn),
            "JSON pixels, no maps, keep-alive":
                lambda: post(no_maps, "application/json", conn),
            "JSON pixels, all maps, new connection each":
                lambda: post(as_json, "application/json"),
        }
        print(f"LeNet-5, one 28x28 image, {args.requests} requests per case; answer "
              f"{size:,} bytes with maps; {os.cpu_count()} CPUs")
        print(f"{'case':48s} {'median ms':>10s} {'p95 ms':>8s}")
        for name, fn in cases.items():
            times = timed(fn, args.requests)
            print(f"{name:48s} {statistics.median(times):10.2f} {percentile(times, 95):8.2f}")
        print(f"{'forward pass alone, in process (before serving)':48s} "
              f"{statistics.median(alone):10.2f} {percentile(alone, 95):8.2f}")
        conn.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
