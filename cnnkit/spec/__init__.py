"""Networks as data: a spec in YAML, a dict or Python code builds the same Module.

Pipeline: **parse** (YAML text or file, with line and column for errors; or a dict) ->
**desugar** (shorthands, aliases, ``activation:`` split into its own layer) -> **check and
infer shapes** (no tensors: every error names the spec path and says the fix) -> **build**
(a :class:`Network`). A built Network turns back into the same canonical spec
(``build(net.spec()).spec() == net.spec()``).

Format (full reference in docs/spec.md)::

    name: lenet5
    input: [1, 28, 28]          # channels, then 1, 2 or 3 spatial sizes
    layers:
      - conv: {filters: 6, kernel: 5, padding: same, activation: tanh}
      - avgpool: 2              # shorthand: {size: 2}
      - conv: {filters: 16, kernel: 5, activation: tanh}
      - avgpool: 2
      - flatten                 # bare name: no settings
      - dense: {units: 120, activation: tanh}
      - dense: {units: 84, activation: tanh}
      - dense: 10
      - residual: {layers: [...], shortcut: [...]}   # shortcut optional: identity
      - parallel: {branches: [[...], [...]], merge: concat}
    loss: softmax_cross_entropy  # or sigmoid_cross_entropy, euclidean

The rank (1-D, 2-D, 3-D) comes from ``input``; ``in_channels`` / ``in_features`` are
inferred. New layer types plug in with :func:`register_layer`.

Example:
    >>> from cnnkit.spec import build, net, conv, maxpool, flatten, dense
    >>> model = build(net("tiny", [1, 12, 12], [conv(4, 3, activation="relu"), maxpool(2),
    ...                                         flatten(), dense(10)]))
    >>> model.layers[3]
    Flatten()
    >>> print(model.to_yaml().strip())
    name: tiny
    input: [1, 12, 12]
    layers:
    - conv: {filters: 4, kernel: 3}
    - relu
    - maxpool: {size: 2}
    - flatten
    - dense: {units: 10}
"""

from ._catalogue import (REQUIRED, At, LayerRule, Node, layer_rule, layer_types, register_layer,
                         rule_for_module, unregister_layer)
from . import rules  # noqa: F401  (registers the built-in layer types)
from ._engine import LayerRow
from ._load import TOP_LEVEL_KEYS, Spec, load
from ._python import (abs_tanh, adaptive_avgpool, adaptive_maxpool, avgpool, batchnorm, conv,
                      conv_transpose, deconv, dense, dropout, flatten, gelu, global_avgpool,
                      global_lppool, global_maxpool, layer, leaky_relu, lppool, lrn, maxpool, net,
                      parallel, relu, residual, separable_conv, sigmoid, tanh)
from .network import Network, build, from_module

__all__ = [
    "REQUIRED", "TOP_LEVEL_KEYS", "At", "LayerRow", "LayerRule", "Network", "Node", "Spec",
    "build", "from_module", "layer_rule", "layer_types", "load", "register_layer",
    "rule_for_module", "unregister_layer",
    # Python face
    "abs_tanh", "adaptive_avgpool", "adaptive_maxpool", "avgpool", "batchnorm", "conv",
    "conv_transpose", "deconv", "dense", "dropout", "flatten", "gelu", "global_avgpool",
    "global_lppool", "global_maxpool", "layer", "leaky_relu", "lppool", "lrn", "maxpool", "net",
    "parallel", "relu", "residual", "separable_conv", "sigmoid", "tanh",
]
