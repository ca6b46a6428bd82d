"""The model zoo: networks by name, one family per file, in a registry.

Example:
    >>> from cnnkit.models import create_model, list_models
    >>> list_models("lenet*")
    ['lenet5']
    >>> create_model("lenet5", num_classes=3).output_shape
    (3,)
"""

from ._registry import create_model, list_models, model_entrypoint, register_model
from . import lenet  # noqa: F401  (registers its models)
from .alexnet import alexnet, alexnet_lrn, alexnet_spec
from .googlenet import googlenet, googlenet_spec
from .lenet import lenet5, lenet5_spec
from .resnet import resnet18, resnet34, resnet50, resnet_spec
from .vgg import vgg11, vgg16, vgg_spec

__all__ = ["alexnet", "alexnet_lrn", "alexnet_spec", "create_model", "googlenet", "googlenet_spec",
           "lenet5", "lenet5_spec",
           "list_models", "model_entrypoint", "register_model", "resnet18", "resnet34", "resnet50", "resnet_spec", "vgg11",
           "vgg16", "vgg_spec"]
