"""Shared test settings: deterministic seeds, float64 by default for oracle comparisons."""

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
