"""What the zoo's spec families share: the spec's frame, the stem choice, conv + batch norm,
the fully connected head, and the input checks.

Each shape is written once here and used by every family that has it (AlexNet, VGG and C3D
share the dense head, GoogLeNet and ResNet the bias-free convolution with batch norm, the
image families the stem choice, every family the spec's frame and the input check).
"""

from __future__ import annotations

from .._validation import ArgumentError, ArgumentTypeError, one_of

__all__ = ["IMAGENET_SIDE", "STEMS", "check_image_shape", "classifier", "conv_bn", "conv_relu",
           "dense_head", "input_rank", "padding_to", "stem_for"]

STEMS = ("auto", "imagenet", "cifar")
# ``stem="auto"`` takes the ImageNet stem from this side up (224x224 and 128x128 images),
# the CIFAR stem below it (32x32, 64x64), where the ImageNet stem's early downsampling by
# 4 would leave a few pixels for the deep stages.
IMAGENET_SIDE = 128


def classifier(name: str, input_shape, layers: list,
               loss: str = "softmax_cross_entropy") -> dict:
    """The frame of a zoo spec: name, input, layers and loss.

    Example:
        >>> classifier("tiny", (1, 8, 8), ["flatten", {"dense": 2}])["input"]
        [1, 8, 8]
    """
    return {"name": name, "input": list(input_shape), "layers": layers, "loss": loss}


def input_rank(input_shape) -> int:
    """The number of spatial dimensions of an input shape (channels first): 1, 2 or 3.

    Raises:
        ArgumentTypeError: not a list or tuple of ints.
        ArgumentError: not a channel count and 1 to 3 positive sizes.

    Example:
        >>> input_rank((3, 32, 32))
        2
    """
    if not isinstance(input_shape, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in input_shape):
        raise ArgumentTypeError(
            f"input_shape must be a tuple of ints: channels, then 1 to 3 spatial sizes, e.g. "
            f"(3, 32, 32). Received: input_shape={input_shape!r}.", argument="input_shape")
    if not 2 <= len(input_shape) <= 4 or min(input_shape) < 1:
        raise ArgumentError(
            f"input_shape must hold the channels, then 1 to 3 positive spatial sizes, e.g. "
            f"(3, 32, 32). Received: input_shape={tuple(input_shape)!r}.",
            argument="input_shape")
    return len(input_shape) - 1


def check_image_shape(input_shape, model: str, dims: int = 2) -> tuple[int, ...]:
    """``input_shape`` as a tuple, checked to have ``dims`` spatial dimensions.

    Raises:
        ArgumentError: another rank, naming the model and what it takes.

    Example:
        >>> check_image_shape([1, 28, 28], "lenet5")
        (1, 28, 28)
    """
    rank = input_rank(input_shape)
    if rank != dims:
        axes = {1: "(channels, length)", 2: "(channels, height, width)",
                3: "(channels, frames, height, width)"}[dims]
        raise ArgumentError(
            f"{model} takes {dims}-D inputs {axes}. Received: input_shape="
            f"{tuple(input_shape)!r}, which is {rank}-D. Choose a model for {rank}-D data "
            f"(cnnkit.models.list_models(dims={rank})).", argument="input_shape")
    return tuple(input_shape)


def stem_for(stem: str, input_shape) -> str:
    """``"imagenet"`` or ``"cifar"``: ``stem`` itself, or for ``"auto"`` the one that suits the
    input size (the ImageNet stem from :data:`IMAGENET_SIDE` pixels a side up).

    Example:
        >>> stem_for("auto", (3, 224, 224)), stem_for("auto", (3, 32, 32))
        ('imagenet', 'cifar')
    """
    one_of(stem, STEMS, "stem")
    if stem != "auto":
        return stem
    return "imagenet" if min(input_shape[1:]) >= IMAGENET_SIDE else "cifar"


def conv_bn(filters: int, kernel: int, stride: int = 1, eps: float | None = None) -> list:
    """A convolution without bias (padding ``kernel // 2``) and its batch norm.

    Example:
        >>> conv_bn(64, 3, eps=0.001)
        [{'conv': {'filters': 64, 'kernel': 3, 'stride': 1, 'padding': 1, 'bias': 'none'}}, {'batchnorm': {'eps': 0.001}}]
    """
    norm = "batchnorm" if eps is None else {"batchnorm": {"eps": eps}}
    return [{"conv": {"filters": filters, "kernel": kernel, "stride": stride,
                      "padding": kernel // 2, "bias": "none"}}, norm]


def conv_relu(filters: int, kernel: int, *, stride: int | None = None, padding=0,
              batch_norm: bool = False, norm_bias: bool = True) -> list:
    """A ReLU convolution as AlexNet and VGG have it, or with ``batch_norm`` the variant
    that normalises it (Ioffe & Szegedy 2015), as torchvision's ``vgg11_bn`` has it: the
    convolution (its bias kept, as there, though batch norm's shift makes it redundant;
    ``norm_bias=False`` leaves it out), batch norm, then the ReLU.

    Example:
        >>> conv_relu(64, 3, padding=1)
        [{'conv': {'filters': 64, 'kernel': 3, 'padding': 1, 'activation': 'relu'}}]
        >>> conv_relu(64, 11, stride=4, padding=2, batch_norm=True)
        [{'conv': {'filters': 64, 'kernel': 11, 'stride': 4, 'padding': 2}}, 'batchnorm', 'relu']
    """
    conv = {"filters": filters, "kernel": kernel,
            **({} if stride is None else {"stride": stride}), "padding": padding}
    if not isinstance(batch_norm, bool):
        raise ArgumentTypeError(f"batch_norm must be true or false. Received: "
                                f"batch_norm={batch_norm!r}.", argument="batch_norm")
    if batch_norm:
        return [{"conv": conv if norm_bias else {**conv, "bias": False}}, "batchnorm", "relu"]
    return [{"conv": {**conv, "activation": "relu"}}]


def dense_head(num_classes: int, units: int, dropout: float, *, dropout_first: bool,
               adaptive: int | None = None) -> list:
    """The classifier of AlexNet, VGG and C3D: an adaptive average pooling to ``adaptive``
    (where the ImageNet stem wants a fixed feature size), flatten, two dense ReLU layers of
    ``units``, each with dropout before it (AlexNet) or after it (VGG, C3D), and the classes.

    Example:
        >>> dense_head(10, 64, 0.5, dropout_first=True)
        ['flatten', {'dropout': 0.5}, {'dense': {'units': 64, 'activation': 'relu'}}, {'dropout': 0.5}, {'dense': {'units': 64, 'activation': 'relu'}}, {'dense': 10}]
    """
    layers = [{"adaptive_avgpool": adaptive}] if adaptive else []
    layers.append("flatten")
    for _ in range(2):
        pair = [{"dropout": dropout}, {"dense": {"units": units, "activation": "relu"}}]
        layers += pair if dropout_first else pair[::-1]
    return [*layers, {"dense": num_classes}]


def padding_to(input_shape, field: int) -> list:
    """Zero padding that centres each spatial size in ``field`` pixels (none where the input
    is already that large); the extra pixel of an odd total goes on the high side.

    Example:
        >>> padding_to((1, 28, 28), 32), padding_to((1, 32, 31), 32)
        ([[2, 2], [2, 2]], [[0, 0], [0, 1]])
    """
    pairs = []
    for size in input_shape[1:]:
        total = max(field - size, 0)
        pairs.append([total // 2, total - total // 2])
    return pairs
