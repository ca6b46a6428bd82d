"""Zoo models sized for the data: ``for_data`` takes the data's shape and classes, each
family picks its stem from the input size, and an input too small is an error that names
the smallest size and ``--resize``. Nothing is resized, and no head is wider than the
classes."""

import pytest
import torch

import cnnkit
from cnnkit import models
from cnnkit._validation import ArgumentError, ShapeError, SpecError


def on_meta(name, **settings):
    with torch.device("meta"):
        return cnnkit.create_model(name, **settings)


def count(net):
    return sum(p.numel() for p in net.parameters())


def kinds(net):
    return [layer if isinstance(layer, str) else next(iter(layer))
            for layer in net.spec()["layers"]]


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "googlenet", "resnet18"])
def test_for_data_gives_the_data_s_classes_and_input_and_never_a_wider_head(name):
    with torch.device("meta"):
        net = models.for_data(name, (3, 32, 32), 3)
    assert net.input_shape == (3, 32, 32) and net.output_shape == (3,)
    assert net.layers[-1].units == 3
    with torch.device("meta"):
        grey = models.for_data(name, (1, 64, 64), 7)
    assert grey.layers[0].in_channels == 1 and grey.output_shape == (7,)


def test_auto_stem_is_imagenet_from_128_pixels_and_cifar_below():
    assert on_meta("resnet18", input_shape=(3, 224, 224)).layers[0].kernel == (7, 7)
    assert on_meta("resnet18", input_shape=(3, 128, 128)).layers[0].kernel == (7, 7)
    small = on_meta("resnet18", input_shape=(3, 127, 127))
    assert small.layers[0].kernel == (3, 3) and small.layers[0].stride == (1, 1)
    assert "maxpool" not in kinds(small)[:4]
    with pytest.raises(ArgumentError, match=r"stem must be one of 'auto', 'imagenet', 'cifar'\. "
                                            r"Received: stem='small'"):
        models.resnet_spec(18, stem="small")


def test_resnet18_cifar_stem_keeps_the_last_stage_at_4x4_and_its_count():
    net = on_meta("resnet18", num_classes=10, input_shape=(3, 32, 32))
    # the 3x3-stem ResNet-18 that CIFAR-10 code commonly trains (e.g. kuangliu/pytorch-cifar)
    assert count(net) == 11_173_962
    rows = [r for r in cnnkit.summary(net).rows if r["depth"] == 0 and r["type"] == "residual"]
    assert [r["output_shape"][1:] for r in rows][::2] == [(32, 32), (16, 16), (8, 8), (4, 4)]
    imagenet = on_meta("resnet18", num_classes=10, input_shape=(3, 32, 32), stem="imagenet")
    assert count(imagenet) - count(net) == 64 * 3 * (49 - 9)     # only the stem's kernel differs


def test_alexnet_cifar_stem_reads_the_last_pooling_without_adaptive_resizing():
    net = on_meta("alexnet", num_classes=10, input_shape=(3, 32, 32))
    assert net.layers[0].kernel == (3, 3) and net.layers[0].stride == (1, 1)
    assert "adaptive_avgpool" not in kinds(net)
    dense = [m for m in net.layers if isinstance(m, cnnkit.layers.Dense)]
    assert dense[0].in_features == 256 * 3 * 3
    assert "adaptive_avgpool" in kinds(on_meta("alexnet", input_shape=(3, 224, 224)))


def test_vgg_cifar_head_has_512_units_and_no_7x7_copying():
    net = on_meta("vgg16", num_classes=10, input_shape=(3, 32, 32))
    dense = [m for m in net.layers if isinstance(m, cnnkit.layers.Dense)]
    assert [(d.in_features, d.units) for d in dense] == [(512, 512), (512, 512), (512, 10)]
    assert count(net) == 14_714_688 + 512 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10


def test_googlenet_cifar_stem_keeps_32x32_for_the_first_inception_blocks():
    net = on_meta("googlenet", num_classes=10, input_shape=(3, 32, 32))
    rows = [r for r in cnnkit.summary(net).rows if r["depth"] == 0 and r["type"] == "parallel"]
    assert [r["output_shape"][1:] for r in rows] == [(32, 32)] * 2 + [(16, 16)] * 5 + [(8, 8)] * 2
    assert models.smallest_input("googlenet", (3, 1, 1)) == (3, 4, 4)


@pytest.mark.parametrize("name, shape, smallest", [
    ("vgg16", (1, 28, 28), "32x32"), ("alexnet", (1, 8, 8), "15x15"),
    ("lenet5", (1, 8, 8), "12x12"), ("allconv", (3, 8, 8), "9x9")])
def test_too_small_data_is_an_error_naming_the_smallest_size_and_the_resize_flag(name, shape,
                                                                                 smallest):
    side = smallest.split("x")[0]
    with pytest.raises(ShapeError, match=rf"model '{name}' needs inputs of at least {smallest}; "
                                         rf"the data gives {shape[1]}x{shape[2]} \(input_shape="
                                         rf"\({shape[0]}, {shape[1]}, {shape[2]}\)\)\. Models never "
                                         rf"resize data: resize it to {smallest} \(--resize {side} "
                                         rf"{side} on the command line\)"):
        models.for_data(name, shape, 10)


def test_too_short_signals_and_texts_name_their_smallest_length():
    with pytest.raises(ShapeError, match=r"model 'tdnn' needs inputs of at least 7; the data gives "
                                         r"5 .* \(--resize 7 on the command line\)"):
        models.for_data("tdnn", (1, 5), 10)
    with pytest.raises(ShapeError, match=r"model 'text_cnn' needs inputs of at least 5; "):
        models.for_data("text_cnn", (1, 4), 2)


def test_imagenet_stem_chosen_explicitly_names_its_own_smallest_input():
    with pytest.raises(ShapeError, match=r"model 'alexnet' needs inputs of at least 63x63; the "
                                         r"data gives 32x32"):
        models.for_data("alexnet", (3, 32, 32), 10, stem="imagenet")
    assert models.smallest_input("alexnet", (3, 8, 8), stem="imagenet") == (3, 63, 63)
    # sizes grow only where they are below the common side
    assert models.smallest_input("vgg11", (3, 8, 40)) == (3, 32, 40)


def test_data_of_another_rank_names_the_models_for_it():
    with pytest.raises(ArgumentError, match=r"model 'resnet18' takes 2-D inputs \(channels, height, "
                                            r"width\); the data gives 1-D samples of shape "
                                            r"\(1, 40\)\. Models for 1-D data: tdnn, text_cnn, "
                                            r"wavenet\."):
        models.for_data("resnet18", (1, 40), 10)
    with pytest.raises(ArgumentError, match=r"model 'tdnn' takes 1-D inputs .* Models for 2-D data: "
                                            r"alexnet, "):
        models.for_data("tdnn", (1, 28, 28), 10)
    with pytest.raises(ArgumentError, match=r"resnet18 takes 2-D inputs \(channels, height, width\)"
                                            r"\. Received: input_shape=\(1, 40\), which is 1-D"):
        cnnkit.create_model("resnet18", input_shape=(1, 40))


def test_for_data_argument_errors():
    with pytest.raises(ArgumentError, match=r"unknown model 'resnet19'\. Did you mean"):
        models.for_data("resnet19", (3, 32, 32), 10)
    with pytest.raises(ArgumentError, match=r"input_shape must hold the channels, then 1 to 3 "
                                            r"positive spatial sizes, e\.g\. \(3, 32, 32\)\. "
                                            r"Received: input_shape=\(3, 0, 32\)"):
        models.for_data("resnet18", (3, 0, 32), 10)
    with pytest.raises(ArgumentError, match=r"num_classes must be positive\. Received: "
                                            r"num_classes=0"):
        models.for_data("resnet18", (3, 32, 32), 0)
    with pytest.raises(ArgumentError, match=r"model 'resnet18' does not take 'dropout'"):
        models.for_data("resnet18", (3, 32, 32), 10, dropout=0.1)
    # an error that is not about size passes through as the model raised it
    with pytest.raises(SpecError, match=r"codes='bitmap' holds the bitmaps of the ten digits"):
        models.for_data("lenet5_1998", (1, 28, 28), 26)


def test_lenet5_1998_pads_small_inputs_into_its_32x32_field_and_never_resizes():
    net = models.for_data("lenet5_1998", (1, 28, 28), 10)
    assert net.layers[0].padding == ((2, 2), (2, 2))
    assert cnnkit.summary(net).rows[0]["output_shape"] == (6, 28, 28)
    digits = models.for_data("lenet5_1998", (1, 8, 8), 10)
    assert digits.layers[0].padding == ((12, 12), (12, 12))
    assert models.for_data("lenet5_1998", (1, 32, 32), 10).layers[0].padding == ((0, 0), (0, 0))
