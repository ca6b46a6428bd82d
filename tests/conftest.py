"""Shared test settings: deterministic seeds, float64 by default for oracle comparisons."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

# Test helper modules (layer_oracles.py) import by name under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
