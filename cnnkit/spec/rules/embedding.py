"""Spec rule of the embedding layer."""

from ...layers.embedding import Embedding
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "embedding", Embedding, description="token ids to learned vectors, as channels (Kim 2014)",
    example={"vocab": 20, "dim": 3}))
