"""More than one machine: two torchrun invocations on this host (two "nodes" meeting at a
c10d rendezvous) train to the same weights as one node running both processes, on shards
that do not split evenly between them."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from cnnkit.data.pack import pack

SPEC = """name: tiny
input: [1, 8, 8]
layers:
  - conv: {filters: 6, kernel: 3, activation: relu}
  - flatten
  - dense: 10
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*launch, spec, data, run_dir):
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1]),
                                           os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", *launch, "-m", "cnnkit", "train",
         str(spec), "--data", str(data), "--run-dir", str(run_dir), "--epochs", "2",
         "--batch-size", "32", "--lr", "0.1", "--set", "progress=false", "--set",
         "report=false", "--set", "threads=1", "--set", "val_fraction=0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _weights(run_dir: Path) -> dict:
    (last,) = sorted((run_dir / "checkpoints").glob("step-*.safetensors"))[-1:]
    return {k: v for k, v in load_file(last).items() if k.startswith("model.")}


def test_two_nodes_equal_one_node_with_the_same_global_batch(tmp_path):
    data = tmp_path / "shards"
    # 5 train shards (4 of 300, one of 238) over 2 processes: uneven shares, equal steps.
    pack("digits", data, shard_size=300)
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    port = _free_port()
    nodes = [_torchrun("--nnodes", "2", "--nproc-per-node", "1", "--rdzv-backend", "c10d",
                       "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "cnnkit-test",
                       spec=spec, data=data, run_dir=tmp_path / "two-nodes")
             for _ in range(2)]
    single = _torchrun("--standalone", "--nproc-per-node", "2", spec=spec, data=data,
                       run_dir=tmp_path / "one-node")
    for process in (*nodes, single):
        out, _ = process.communicate(timeout=240)
        assert process.returncode == 0, out[-3000:]
    two, one = _weights(tmp_path / "two-nodes"), _weights(tmp_path / "one-node")
    assert two.keys() == one.keys() and len(two) == 4
    for name in two:
        assert torch.equal(two[name], one[name]), name
    results = [json.loads((tmp_path / r / "results.json").read_text())
               for r in ("two-nodes", "one-node")]
    assert results[0]["test"] == results[1]["test"] and results[0]["steps"] == 2 * 33
