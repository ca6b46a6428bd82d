"""The embedding layer: lookup against the loop oracle, gradients, and its errors."""

import numpy as np
import pytest
import torch

from cnnkit import layers as L
from cnnkit import spec as S
from cnnkit._validation import ArgumentTypeError, ShapeError, SpecError
from cnnkit.functional.embedding import embedding
from cnnkit.reference import embedding as ref


@pytest.mark.parametrize("shape", [(2, 1, 7), (3, 1, 4, 5), (1, 1, 2, 3, 4)])
def test_lookup_matches_the_oracle_in_every_rank(shape):
    table = torch.randn(11, 4, dtype=torch.float64)
    ids = torch.randint(0, 11, shape)
    np.testing.assert_array_equal(embedding(ids, table).numpy(), ref.embedding(ids.numpy(),
                                                                               table.numpy()))


def test_gradient_sums_over_the_positions_of_each_id():
    table = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    ids = torch.tensor([[[1, 4, 1, 0]]])
    assert torch.autograd.gradcheck(lambda w: embedding(ids, w), (table,))
    upstream = torch.randn(1, 3, 4, dtype=torch.float64)
    embedding(ids, table).backward(upstream)
    expected = np.zeros((5, 3))
    for position, row in enumerate(ids[0, 0].tolist()):
        expected[row] += upstream[0, :, position].numpy()
    np.testing.assert_allclose(table.grad.numpy(), expected)


def test_text_cnn_front_in_a_spec():
    net = S.build({"input": [1, 12], "layers": [{"embedding": {"vocab": 30, "dim": 8}},
                                                {"conv": {"filters": 4, "kernel": 3}},
                                                "global_maxpool", {"dense": 2}]})
    assert net(torch.randint(0, 30, (5, 1, 12))).shape == (5, 2)
    assert net.layers[0].weight.shape == (30, 8)


def test_errors():
    layer = L.Embedding(10, 4)
    with pytest.raises(ArgumentTypeError, match=r"embedding takes integer token ids\. Received: "
                                                 r"ids of dtype torch\.float32"):
        layer(torch.zeros(2, 1, 5))
    with pytest.raises(ShapeError, match=r"embedding has 10 rows \(ids 0 to 9\)\. Received: id "
                                         r"12\. Build the layer with vocab at least 13"):
        layer(torch.tensor([[[1, 12]]]))
    with pytest.raises(ShapeError, match=r"ids of shape \(N, 1, \*S\).*Received: ids of shape "
                                         r"\(2, 5\)\. Add the channel with ids\.unsqueeze\(1\)"):
        layer(torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(SpecError,
                       match=r"layers\[0\]\.embedding\.dim: dim must be positive"):
        S.load({"input": [1, 8], "layers": [{"embedding": {"vocab": 5, "dim": 0}}]})
