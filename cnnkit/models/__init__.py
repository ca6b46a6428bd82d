"""The model zoo: networks by name, one family per file, in a registry.

Every model takes ``num_classes`` and ``input_shape`` (channels first);
:func:`for_data` builds one for a data set's shape and classes, or says why it cannot
(docs/zoo.md lists each model's source, its smallest input and what is simplified).

Example:
    >>> from cnnkit.models import create_model, for_data, list_models
    >>> list_models("lenet*")
    ['lenet5', 'lenet5_1998']
    >>> create_model("lenet5", num_classes=3).output_shape
    (3,)
    >>> for_data("resnet18", (3, 32, 32), 10).output_shape
    (10,)
"""

from ._registry import (create_model, list_models, model_dims, model_entrypoint, register_model,
                        register_variant)
from ._sizing import for_data, smallest_input
from .alexnet import alexnet, alexnet_lrn, alexnet_spec
from .allconv import allconv, allconv_spec
from .autoencoder import conv_autoencoder, conv_autoencoder_spec
from .c3d import c3d, c3d_spec
from .detectors import fast_rcnn, fast_rcnn_backbone_spec, yolo_v1, yolo_v1_spec
from .dqn import minatar_dqn, minatar_dqn_spec
from .go_policy import go_policy, go_policy_spec
from .googlenet import googlenet, googlenet_spec
from .lenet import lenet5, lenet5_1998, lenet5_1998_spec, lenet5_spec
from .neocognitron import neocognitron, neocognitron_spec
from .recurrent_conv import RecurrentConvNet, recurrent_conv, recurrent_conv_step_spec
from .resnet import resnet18, resnet34, resnet50, resnet_spec
from .tdnn import tdnn, tdnn_spec
from .text_cnn import text_cnn, text_cnn_spec
from .unet import fcn, fcn_spec, unet, unet_spec
from .vgg import vgg11, vgg16, vgg_spec
from .wavenet import WaveNet, mu_law_decode, mu_law_encode, next_sample_pairs, wavenet

__all__ = [
    "RecurrentConvNet", "WaveNet", "alexnet", "alexnet_lrn", "alexnet_spec", "allconv",
    "allconv_spec", "c3d", "c3d_spec", "conv_autoencoder", "conv_autoencoder_spec",
    "create_model", "fast_rcnn", "fast_rcnn_backbone_spec", "fcn", "fcn_spec", "for_data",
    "go_policy", "go_policy_spec", "googlenet", "googlenet_spec", "lenet5", "lenet5_1998",
    "lenet5_1998_spec", "lenet5_spec", "list_models", "minatar_dqn", "minatar_dqn_spec",
    "model_dims", "model_entrypoint", "mu_law_decode", "mu_law_encode", "neocognitron",
    "neocognitron_spec", "next_sample_pairs", "recurrent_conv", "recurrent_conv_step_spec",
    "register_model", "register_variant", "resnet18", "resnet34", "resnet50", "resnet_spec",
    "smallest_input", "tdnn", "tdnn_spec", "text_cnn", "text_cnn_spec", "unet", "unet_spec",
    "vgg11", "vgg16", "vgg_spec", "wavenet", "yolo_v1", "yolo_v1_spec",
]
