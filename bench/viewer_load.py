"""The web viewer under load: many concurrent clients against a real `cnnkit serve`.

Trains LeNet-5 (the zoo's) on mnist5k for one epoch (or takes ``--run RUN``), starts the
real server in its own process on 127.0.0.1, and runs phases of concurrent clients, each a
thread with its own kept-alive HTTP connection sending its next request as soon as the last
is answered (as the page does while a person draws):

- ``predict``: N clients, POST /api/predict with the image as JSON (all layers' maps).
- ``mixed``: N clients, 70 % predictions, 15 % gradient saliency, 10 % 28x28 PNG uploads,
  5 % 1500x1500 PNG uploads (a large photo-sized image that must be decoded and resized).
- ``bombs``: 16 clients uploading a 65 KB PNG of 4096x4096 zeros (a decompression bomb:
  ~16 M pixels that would cost hundreds of MB to decode) over and over.
- ``flood``: many more clients than the server takes at once (``--flood``): the excess must
  be answered 503 with Retry-After, never with a reset connection.

Each phase reports the answers by status, the errors (exceptions: reset, refused, timed
out), the latency percentiles of all answers and the server's peak resident memory
(``VmHWM``, reset before each phase through /proc/PID/clear_refs where allowed, else the
highest sampled ``VmRSS``), the server's CPU time per answer (steadier than latency on a
machine shared with other work) and the load average while it ran. Targets (2 CPU cores): no errors in any phase, p95 under 100 ms
at 50 prediction clients, memory bounded by the server's budget, 503 + Retry-After for
the excess.

Run: ``.venv/bin/python bench/viewer_load.py [--clients 50] [--seconds 8] [--flood 300]
[--run RUN] [--server-args "--memory-budget 256"]``
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import random
import re
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

import numpy as np
from PIL import Image


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


class Memory:
    """The server's resident memory: peak since the last reset (VmHWM) and sampled VmRSS."""

    def __init__(self, pid: int):
        self.pid = pid
        self.sampled = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _read(self, key: str) -> int:
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _sample(self):
        while not self.stop.wait(0.01):
            self.sampled = max(self.sampled, self._read("VmRSS:"))

    def reset(self) -> None:
        self.sampled = self._read("VmRSS:")
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
        except OSError:
            pass

    def peak(self) -> int:
        return max(self.sampled, self._read("VmHWM:"))

    def now(self) -> int:
        return self._read("VmRSS:")

    def cpu(self) -> float:
        """CPU seconds the server has used (user + system)."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")


class Client(threading.Thread):
    """One client: a kept-alive connection, the next request as soon as the last is answered."""

    def __init__(self, port, pick, until, start, seed, honour_retry=True):
        super().__init__(daemon=True)
        self.port, self.pick, self.until, self.start_gate = port, pick, until, start
        self.random = random.Random(seed)
        self.honour_retry = honour_retry
        self.times: list[float] = []
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()
        self.retry_after_missing = 0

    def run(self):
        conn = None
        self.start_gate.wait()
        while time.perf_counter() < self.until[0]:
            method, path, body, kind = self.pick(self.random)
            begin = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request(method, path, body=body, headers={"Content-Type": kind} if kind else {})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                self.errors[type(error).__name__] += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)
                continue
            self.times.append((time.perf_counter() - begin) * 1000)
            self.statuses[response.status] += 1
            if response.status == 503:
                retry = response.getheader("Retry-After")
                if retry is None:
                    self.retry_after_missing += 1
                if self.honour_retry:
                    # a polite client waits as told (capped: the phase is short)
                    time.sleep(min(float(retry or 1), 0.5) * self.random.uniform(0.5, 1.0))
        if conn is not None:
            conn.close()


def phase(name, port, memory, clients, seconds, pick, honour_retry=True):
    memory.reset()
    cpu_before, load_before = memory.cpu(), os.getloadavg()[0]
    start = threading.Event()
    until = [0.0]
    threads = [Client(port, pick, until, start, seed=k, honour_retry=honour_retry)
               for k in range(clients)]
    for t in threads:
        t.start()
    until[0] = time.perf_counter() + seconds
    start.set()
    for t in threads:
        t.join(seconds + 120)
    cpu = memory.cpu() - cpu_before
    times = [v for t in threads for v in t.times]
    statuses = sum((t.statuses for t in threads), Counter())
    errors = sum((t.errors for t in threads), Counter())
    missing = sum(t.retry_after_missing for t in threads)
    answered = sum(statuses.values())
    row = {"phase": name, "clients": clients, "answers": answered,
           "per_s": answered / seconds, "statuses": dict(sorted(statuses.items())),
           "errors": dict(errors), "p50": percentile(times, 50), "p95": percentile(times, 95),
           "p99": percentile(times, 99), "peak_mb": memory.peak() / 2 ** 20,
           "retry_after_missing": missing, "server_cpu_ms": 1000 * cpu / max(1, answered),
           "load": (load_before + os.getloadavg()[0]) / 2}
    status_text = " ".join(f"{k}:{v}" for k, v in row["statuses"].items())
    error_text = " ".join(f"{k}:{v}" for k, v in row["errors"].items()) or "0"
    print(f"{name:8s} {clients:4d} {answered:7d} {row['per_s']:7.0f} {row['p50']:8.1f} "
          f"{row['p95']:8.1f} {row['p99']:8.1f} {row['peak_mb']:8.0f} "
          f"{row['server_cpu_ms']:7.2f} {row['load']:5.1f}  {status_text}  "
          f"errors {error_text}" + (f"  503 without Retry-After: {missing}" if missing else ""),
          flush=True)
    return row


def train_run() -> str:
    import torch

    from cnnkit.models import create_model
    from cnnkit.train.api import train

    torch.manual_seed(0)
    tmp = tempfile.mkdtemp(prefix="viewer-load-")
    return str(train(create_model("lenet5"), "mnist5k", dict(epochs=1, progress=False,
                                                             report=False), runs_root=tmp).run_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a trained 28x28 grey run (default: train LeNet-5 now)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    parser.add_argument("--flood", type=int, default=300, help="clients in the flood phase")
    parser.add_argument("--phases", default="predict,mixed,bombs,flood")
    parser.add_argument("--server-args", default="", help="more `cnnkit serve` arguments")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()

    run = args.run or train_run()
    proc = subprocess.Popen([sys.executable, "-m", "cnnkit", "serve", run, "--port", "0",
                             "--quiet", *shlex.split(args.server_args)],
                            stdout=subprocess.PIPE, text=True)
    rows = []
    try:
        line = proc.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)/", line)
        if not match:
            raise SystemExit(f"cnnkit serve did not start: {line!r}")
        port = int(match[1])
        memory = Memory(proc.pid)
        g = np.random.default_rng(0)
        digit = (g.random((28, 28)) * 255).astype(np.uint8)
        as_json = json.dumps({"data": base64.b64encode(digit.tobytes()).decode()}).encode()
        saliency = json.dumps({"data": base64.b64encode(digit.tobytes()).decode(),
                               "method": "gradient"}).encode()
        small_png = png(digit)
        yy, xx = np.mgrid[0:1500, 0:1500]
        large_png = png(((xx + yy) % 256).astype(np.uint8))   # 1500x1500, smooth: small file
        bomb_png = png(np.zeros((4096, 4096, 4), np.uint8))  # RGBA
        J = "application/json"

        def predict(r):
            return "POST", "/api/predict", as_json, J

        def mixed(r):
            u = r.random()
            if u < 0.70:
                return "POST", "/api/predict", as_json, J
            if u < 0.85:
                return "POST", "/api/saliency", saliency, J
            if u < 0.95:
                return "POST", "/api/predict", small_png, "image/png"
            return "POST", "/api/predict", large_png, "image/png"

        def bombs(r):
            return "POST", "/api/predict", bomb_png, "image/png"

        # warm up: one of each
        for make in (predict, mixed, bombs):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            method, path, body, kind = make(random.Random(0))
            conn.request(method, path, body=body, headers={"Content-Type": kind})
            conn.getresponse().read()
            conn.close()
        print(f"LeNet-5 28x28, {os.cpu_count()} CPUs; server pid {proc.pid}, idle RSS "
              f"{memory.now() / 2 ** 20:.0f} MB; bomb PNG {len(bomb_png):,} bytes, large PNG "
              f"{len(large_png):,} bytes; {args.seconds:g} s per phase")
        print(f"{'phase':8s} {'cli':>4s} {'answers':>7s} {'per s':>7s} {'p50 ms':>8s} "
              f"{'p95 ms':>8s} {'p99 ms':>8s} {'peak MB':>8s} {'cpu ms':>7s} {'load':>5s}  "
              f"statuses  errors")
        plan = {"predict": (args.clients, predict), "mixed": (args.clients, mixed),
                "bombs": (16, bombs), "flood": (args.flood, predict)}
        for name in args.phases.split(","):
            clients, pick = plan[name]
            rows.append(phase(name, port, memory, clients, args.seconds, pick))
            time.sleep(1.0)
        alive = proc.poll() is None
        print(f"server still running: {alive}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rows": rows, "server_alive": alive}, f, indent=1)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    socket.setdefaulttimeout(60)
    main()
