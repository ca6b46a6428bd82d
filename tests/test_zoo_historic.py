"""The historic networks of the zoo: AlexNet, VGG, GoogLeNet, ResNet."""

import pytest
import torch

import cnnkit
from cnnkit import models
from cnnkit._validation import ArgumentError
from cnnkit.models.googlenet import INCEPTION_BLOCKS
from cnnkit.spec import build

# name -> (parameters for 1000 classes on 3x224x224 (torchvision's figure), features
# into the last dense layer, a small input the architecture accepts for a forward pass)
PUBLISHED = {
    "alexnet": (61_100_840, 4096, (3, 63, 63)),
    "alexnet_lrn": (61_100_840, 4096, (3, 63, 63)),
    "vgg11": (132_863_336, 4096, (3, 32, 32)),
    "vgg16": (138_357_544, 4096, (3, 32, 32)),
    "googlenet": (6_624_904, 1024, (3, 64, 64)),
    "resnet18": (11_689_512, 512, (3, 64, 64)),
    "resnet34": (21_797_672, 512, (3, 64, 64)),
    "resnet50": (25_557_032, 2048, (3, 64, 64)),
}


def count(net):
    return sum(p.numel() for p in net.parameters())


def on_meta(name, **settings):
    """Build a model with its parameters on the meta device: shapes without the cost of
    initialising a hundred million weights (counts and specs need no values)."""
    with torch.device("meta"):
        return cnnkit.create_model(name, **settings)


@pytest.fixture(scope="module")
def full():
    """Each model built once (on the meta device) for 1000 classes on 3x224x224."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = on_meta(name)
        return cache[name]
    return get


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_equals_the_published_figure(name, full):
    net = full(name)
    assert net.input_shape == (3, 224, 224) and net.output_shape == (1000,)
    assert count(net) == PUBLISHED[name][0]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_summary_total_equals_the_count(name, full):
    net = full(name)
    table = cnnkit.summary(net)
    assert table.total_params == PUBLISHED[name][0]
    assert table.rows[-1]["output_shape"] == (1000,)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_spec_round_trip(name, full):
    spec = full(name).spec()
    with torch.device("meta"):
        assert build(spec).spec() == spec
    assert spec["name"] == name and spec["input"] == [3, 224, 224]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_forward_gives_one_row_of_class_scores(name):
    net = cnnkit.create_model(name, num_classes=7, input_shape=PUBLISHED[name][2]).eval()
    with torch.no_grad():
        out = net(torch.randn(1, *PUBLISHED[name][2]))
    assert out.shape == (1, 7)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_num_classes_changes_only_the_head(name):
    total, features, small = PUBLISHED[name]
    net = on_meta(name, num_classes=10, input_shape=small, stem="imagenet")
    base = on_meta(name, num_classes=1000, input_shape=small, stem="imagenet")
    assert count(net) == total - 990 * (features + 1) == count(base) - 990 * (features + 1)
    assert net.output_shape == (10,)
    assert [type(m) for m in net.layers] == [type(m) for m in base.layers]


def test_alexnet_at_224_matches_the_published_feature_sizes():
    rows = cnnkit.summary(models.alexnet_spec()).rows
    shapes = [r["output_shape"] for r in rows if r["type"] in ("conv", "maxpool")]
    assert shapes == [(64, 55, 55), (64, 27, 27), (192, 27, 27), (192, 13, 13),
                      (384, 13, 13), (256, 13, 13), (256, 13, 13), (256, 6, 6)]


def test_alexnet_lrn_puts_the_papers_normalisation_after_the_first_two_convolutions():
    net = models.alexnet_lrn(num_classes=10, input_shape=(3, 63, 63))
    types = [next(iter(layer)) if isinstance(layer, dict) else layer
             for layer in net.spec()["layers"]]
    assert types[:8] == ["conv", "relu", "lrn", "maxpool", "conv", "relu", "lrn", "maxpool"]
    assert types.count("lrn") == 2
    lrn = net.spec()["layers"][2]["lrn"]
    assert (lrn["size"], lrn["alpha"], lrn["beta"], lrn["k"]) == (5, 1e-4, 0.75, 2.0)
    plain = models.alexnet(num_classes=10, input_shape=(3, 63, 63))
    assert "lrn" not in [next(iter(x)) if isinstance(x, dict) else x
                         for x in plain.spec()["layers"]]


def test_alexnet_imagenet_stem_rejects_an_input_too_small():
    with pytest.raises(cnnkit.SpecError, match=r"layers\[7\]\.maxpool\.size: size 3 does not "
                                               r"fit the 1x1 input volume"):
        models.alexnet(input_shape=(3, 32, 32), stem="imagenet")


def test_vgg_depth_counts_weight_layers():
    for name, depth in (("vgg11", 11), ("vgg16", 16)):
        spec = models.vgg_spec({"vgg11": "A", "vgg16": "D"}[name])
        kinds = [next(iter(x)) if isinstance(x, dict) else x for x in spec["layers"]]
        assert kinds.count("conv") + kinds.count("dense") == depth
        assert kinds.count("maxpool") == 5


def test_vgg_spec_rejects_an_unknown_config():
    with pytest.raises(ArgumentError, match=r"config must be one of 'A', 'D'. Received: config='E'"):
        models.vgg_spec("E")


def test_list_models_finds_the_three_resnets():
    assert cnnkit.list_models("resnet*") == ["resnet18", "resnet34", "resnet50"]
    assert cnnkit.list_models("vgg*") == ["vgg11", "vgg16"]
    assert cnnkit.list_models("alexnet*") == ["alexnet", "alexnet_lrn"]


def kind(layer):
    return layer if isinstance(layer, str) else next(iter(layer))


def _residuals(spec):
    return [layer["residual"] for layer in spec["layers"]
            if isinstance(layer, dict) and "residual" in layer]


@pytest.mark.parametrize("depth, blocks, convs, projections", [
    (18, 8, 2, 3), (34, 16, 2, 3), (50, 16, 3, 4)])
def test_resnet_blocks_and_projection_shortcuts(depth, blocks, convs, projections):
    net = on_meta(f"resnet{depth}")
    spec = net.spec()
    residuals = _residuals(spec)
    assert len(residuals) == blocks
    for block in residuals:
        kinds = [kind(x) for x in block["layers"]]
        assert kinds.count("conv") == convs and kinds.count("batchnorm") == convs
        assert all(x["conv"]["bias"] == "none" for x in block["layers"]
                   if isinstance(x, dict) and "conv" in x)
    shortcuts = [b["shortcut"] for b in residuals if b["shortcut"]]
    assert len(shortcuts) == projections
    for shortcut in shortcuts:
        assert shortcut[0]["conv"]["kernel"] == 1 and shortcut[0]["conv"]["bias"] == "none"
        assert [kind(x) for x in shortcut] == ["conv", "batchnorm"]
    # relu follows every addition
    layers = spec["layers"]
    after = [kind(layers[i + 1]) for i, x in enumerate(layers) if kind(x) == "residual"]
    assert after == ["relu"] * blocks
    stem = cnnkit.summary(net).rows
    assert [r["output_shape"] for r in stem[:4]] == [
        (64, 112, 112), (64, 112, 112), (64, 112, 112), (64, 56, 56)]
    assert net.layers[-1].in_features == (512 if depth < 50 else 2048)


def test_resnet_spec_rejects_an_unknown_depth():
    with pytest.raises(ArgumentError, match=r"depth must be 18, 34 or 50. Received: depth=101"):
        models.resnet_spec(101)


def test_googlenet_inception_blocks_and_stage_sizes():
    spec = on_meta("googlenet").spec()
    blocks = [layer["parallel"] for layer in spec["layers"] if kind(layer) == "parallel"]
    assert len(blocks) == 9
    for block, widths in zip(blocks, INCEPTION_BLOCKS.values()):
        assert block["merge"] == "concat" and len(block["branches"]) == 4
        one, three, second, pool = block["branches"]
        convs = [[x["conv"] for x in branch if kind(x) == "conv"] for branch in block["branches"]]
        assert [[c["filters"] for c in b] for b in convs] == [
            [widths[0]], [widths[1], widths[2]], [widths[3], widths[4]], [widths[5]]]
        assert [c["kernel"] for c in convs[2]] == [1, 3]          # torchvision's 3x3
        assert all(c["bias"] == "none" for b in convs for c in b)
        assert pool[0]["maxpool"]["size"] == 3 and pool[0]["maxpool"]["stride"] == 1
        assert pool[0]["maxpool"]["ceil_mode"] is True
    top = [kind(x) for x in spec["layers"]]
    assert top.count("batchnorm") == 3 and top[-3:] == ["global_avgpool", "dropout", "dense"]
    assert spec["layers"][-2]["dropout"]["rate"] == 0.2
    rows = [r for r in cnnkit.summary(spec).rows if r["depth"] == 0]
    assert [r["output_shape"] for r in rows if r["type"] in ("maxpool", "parallel")] == [
        (64, 56, 56), (192, 28, 28), (256, 28, 28), (480, 28, 28), (480, 14, 14),
        (512, 14, 14), (512, 14, 14), (512, 14, 14), (528, 14, 14), (832, 14, 14),
        (832, 7, 7), (832, 7, 7), (1024, 7, 7)]


def test_googlenet_rejects_an_input_the_poolings_cannot_take():
    assert models.googlenet(num_classes=3, input_shape=(3, 31, 31),
                            stem="imagenet").output_shape == (3,)
    with pytest.raises(cnnkit.SpecError, match=r"size 2 does not fit the 1x1 input"):
        cnnkit.build(models.googlenet_spec(input_shape=(3, 30, 30), stem="imagenet"))


# torchvision's vgg11_bn / vgg16_bn (batch norm after each convolution, biases kept)
BATCH_NORM_COUNTS = {"vgg11": 132_868_840, "vgg16": 138_365_992}


@pytest.mark.parametrize("name", sorted(BATCH_NORM_COUNTS))
def test_vgg_batch_norm_is_torchvisions_bn_variant(name):
    net = on_meta(name, batch_norm=True)
    assert count(net) == BATCH_NORM_COUNTS[name]
    kinds = [next(iter(x)) if isinstance(x, dict) else x for x in net.spec()["layers"]]
    convs = kinds.count("conv")
    assert kinds.count("batchnorm") == kinds.count("relu") - 2 == convs  # 2: the dense ReLUs
    for i, kind in enumerate(kinds):
        if kind == "conv":
            assert kinds[i + 1:i + 3] == ["batchnorm", "relu"]
            assert net.spec()["layers"][i]["conv"]["bias"] == "shared"       # kept, as there
    plain = [next(iter(x)) if isinstance(x, dict) else x for x in on_meta(name).spec()["layers"]]
    assert "batchnorm" not in plain and plain.count("conv") == convs    # the default: the paper


def test_alexnet_batch_norm_normalises_each_convolution_and_keeps_lrn():
    net = on_meta("alexnet_lrn", num_classes=10, input_shape=(3, 32, 32), batch_norm=True)
    kinds = [next(iter(x)) if isinstance(x, dict) else x for x in net.spec()["layers"]]
    assert kinds[:5] == ["conv", "batchnorm", "relu", "lrn", "maxpool"]
    assert kinds.count("batchnorm") == 5
    plain = on_meta("alexnet_lrn", num_classes=10, input_shape=(3, 32, 32))
    assert count(net) - count(plain) == 2 * (64 + 192 + 384 + 256 + 256)  # scale and shift


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vgg_batch_norm_keeps_the_signal_that_the_plain_stack_loses(seed):
    # Why the setting exists: from torch's default initialisation the plain VGG's features
    # shrink to below 1 % of the input's spread; batch norm keeps them near unit scale.
    x = torch.randn(32, 1, 32, 32, generator=torch.Generator().manual_seed(seed))
    spread = {}
    for batch_norm in (False, True):
        torch.manual_seed(seed)
        net = models.vgg11(num_classes=10, input_shape=(1, 32, 32), batch_norm=batch_norm)
        features = next(i for i, x in enumerate(net.spec()["layers"]) if x == "flatten")
        with torch.no_grad():
            h = x
            for layer in net.layers[:features]:
                h = layer(h)
        spread[batch_norm] = float(h.std())
    assert spread[False] < 0.02 and spread[True] > 0.3, spread


def test_batch_norm_must_be_a_bool():
    with pytest.raises(TypeError, match=r"batch_norm must be true or false. Received: "
                                        r"batch_norm='yes'"):
        models.vgg_spec("A", batch_norm="yes")
    with pytest.raises(TypeError, match=r"batch_norm must be true or false"):
        models.alexnet_spec(batch_norm=1)


def test_c3d_batch_norm_normalises_each_convolution_and_keeps_the_default_plain():
    spec = models.c3d_spec(10, (1, 8, 32, 32), width=4, hidden=32, batch_norm=True)
    kinds = [next(iter(x)) if isinstance(x, dict) else x for x in spec["layers"]]
    assert kinds.count("conv") == kinds.count("batchnorm") == 8
    assert all(kinds[i + 1:i + 3] == ["batchnorm", "relu"]
               for i, kind in enumerate(kinds) if kind == "conv")
    assert "batchnorm" not in str(models.c3d_spec(10, (1, 8, 32, 32), width=4, hidden=32))
    net = models.c3d(10, (1, 8, 32, 32), width=4, hidden=32, batch_norm=True)
    plain = models.c3d(10, (1, 8, 32, 32), width=4, hidden=32)
    assert count(net) - count(plain) == 2 * 4 * (1 + 2 + 4 + 4 + 8 + 8 + 8 + 8)
    assert net(torch.rand(2, 1, 8, 32, 32)).shape == (2, 10)
