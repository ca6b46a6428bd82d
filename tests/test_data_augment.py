"""Batch augmentation: determinism, identities, exact geometry, elastic field statistics."""

import math

import pytest
import torch

from cnnkit import ArgumentError, ArgumentTypeError, ShapeError
from cnnkit.data import (Compose, ElasticDeform, RandomAffine, RandomCrop, RandomFlip,
                         RandomTranslate, load_dataset)
from cnnkit.data.augment import gaussian_smooth, translate

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def gen(seed=0, device="cpu"):
    return torch.Generator(device=device).manual_seed(seed)


def digits(n=16, device="cpu"):
    return load_dataset("mnist5k", "test").x[:n].to(device)


ALL = [
    lambda: RandomTranslate(3),
    lambda: RandomCrop(24, padding=2),
    lambda: RandomFlip("horizontal"),
    lambda: RandomFlip("vertical", p=0.3),
    lambda: RandomAffine(10, scale=0.1, translate=0.05),
    lambda: ElasticDeform(34.0, 4.0),
    lambda: Compose([RandomTranslate(2), RandomFlip(), ElasticDeform(20.0, 3.0)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("make", ALL)
def test_same_seed_same_result_other_seed_other_result(make, device):
    x = digits(device=device)
    t = make()
    a, b, c = t(x, generator=gen(1, device)), t(x, generator=gen(1, device)), t(x, gen(2, device))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert a.device == x.device and a.dtype == x.dtype


def test_call_is_apply_of_sample_params():
    x = digits()
    for t in (RandomTranslate(2), RandomCrop(20), RandomFlip(), RandomAffine(5),
              ElasticDeform(10.0, 3.0)):
        params = t.sample_params(x, gen(4))
        assert torch.equal(t.apply(x, params), t(x, generator=gen(4)))


def test_float64_batches_get_the_same_draws():
    x = digits()
    field_a, _ = ElasticDeform(5.0, 2.0).sample_params(x, gen(0))
    field_b, _ = ElasticDeform(5.0, 2.0).sample_params(x.double(), gen(0))
    assert field_b.dtype == torch.float64
    assert torch.allclose(field_a.double(), field_b, atol=1e-6)
    out = ElasticDeform(5.0, 2.0)(x.double(), generator=gen(0))
    assert out.dtype == torch.float64
    assert torch.allclose(out.float(), ElasticDeform(5.0, 2.0)(x, generator=gen(0)), atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cpu_generator_with_a_batch_on_the_gpu_draws_the_cpu_numbers():
    x = digits()
    t = ElasticDeform(5.0, 2.0)
    on_gpu = t(x.cuda(), generator=gen(0))
    assert on_gpu.device.type == "cuda"
    assert torch.allclose(on_gpu.cpu(), t(x, generator=gen(0)), atol=1e-5)


# ----------------------------------------------------------------------------- identities


@pytest.mark.parametrize("t", [
    RandomTranslate(0), RandomCrop(), RandomCrop(padding=0), RandomFlip(p=0.0),
    RandomAffine(0), RandomAffine(30, scale=0.2, p=0.0), ElasticDeform(alpha=0.0, sigma=4.0),
    ElasticDeform(alpha=34.0, sigma=4.0, p=0.0),
])
def test_zero_strength_is_identity(t):
    x = digits(8)
    assert torch.equal(t(x, generator=gen()), x)


def test_zero_field_through_the_sampler_is_identity():
    # A field of zeros runs the full grid_sample path: it must reproduce the pixels.
    x = digits(4)
    t = ElasticDeform(alpha=1.0, sigma=1.0)
    out = t.apply(x, (torch.zeros(4, 2, 28, 28), torch.ones(4, dtype=torch.bool)))
    assert torch.allclose(out, x, atol=1e-6)
    signal = torch.rand(3, 2, 40)
    out1d = t.apply(signal, (torch.zeros(3, 1, 40), torch.ones(3, dtype=torch.bool)))
    assert torch.allclose(out1d, signal, atol=1e-6)


# ----------------------------------------------------------------------------- shifts


def test_translation_moves_a_planted_dot_by_the_sampled_amount():
    n = 32
    x = torch.zeros(n, 1, 15, 17)
    x[:, :, 7, 8] = 1.0
    t = RandomTranslate((4, 5))
    shifts = t.sample_params(x, gen(3))
    assert shifts[:, 0].abs().max() <= 4 and shifts[:, 1].abs().max() <= 5
    assert len({tuple(s) for s in shifts.tolist()}) > 10  # one draw per image
    out = t.apply(x, shifts)
    assert torch.equal(out, t(x, generator=gen(3)))
    flat = out.view(n, -1).argmax(1)
    rows, cols = flat // 17, flat % 17
    assert torch.equal(rows, 7 + shifts[:, 0]) and torch.equal(cols, 8 + shifts[:, 1])
    assert torch.equal(out.sum((1, 2, 3)), torch.ones(n))  # nothing else appeared


def test_translation_covers_every_shift_uniformly():
    shifts = RandomTranslate(2).sample_params(torch.zeros(5000, 1, 4, 4), gen(0))
    counts = torch.bincount(shifts[:, 0] + 2)
    assert len(counts) == 5 and counts.min() > 850 and counts.max() < 1150


def test_translation_3d_moves_the_dot():
    x = torch.zeros(6, 1, 9, 9, 9)
    x[:, :, 4, 4, 4] = 1.0
    t = RandomTranslate(3)
    shifts = t.sample_params(x, gen(2))
    flat = t.apply(x, shifts).view(6, -1).argmax(1)
    where = torch.stack([flat // 81, flat // 9 % 9, flat % 9], 1)
    assert torch.equal(where, 4 + shifts)


def test_translation_1d_moves_the_dot():
    x = torch.zeros(20, 3, 40)
    x[:, :, 20] = 1.0
    t = RandomTranslate(6)
    shifts = t.sample_params(x, gen(1))
    out = t.apply(x, shifts)
    assert torch.equal(out[:, 0].argmax(1), 20 + shifts[:, 0])


def test_translate_function_fill_and_padding_modes():
    x = torch.arange(1.0, 6.0).view(1, 1, 5)
    assert translate(x, torch.tensor([[-2]]), fill=-1.0).tolist() == [[[3, 4, 5, -1, -1]]]
    assert translate(x, torch.tensor([[2]]), padding_mode="replicate").tolist() == \
        [[[1, 1, 1, 2, 3]]]
    assert translate(x, torch.tensor([[1]]), padding_mode="circular").tolist() == \
        [[[5, 1, 2, 3, 4]]]
    with pytest.raises(ShapeError, match=r"shifts must be an int tensor of shape \(N, 1\) = "
                                         r"\(1, 1\).*Received: shifts of shape \(1, 2\)"):
        translate(x, torch.tensor([[1, 2]]))
    with pytest.raises(ArgumentError, match=r"padding_mode='reflect' needs a padding smaller "
                                            r"than the image"):
        translate(x, torch.tensor([[5]]), padding_mode="reflect")


def test_crop_windows_are_slices_of_the_padded_image():
    x = torch.rand(6, 2, 10, 12)
    t = RandomCrop((6, 7), padding=1)
    starts = t.sample_params(x, gen(2))
    out = t.apply(x, starts)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for k in range(6):  # reference by plain slicing, image by image
        r, c = starts[k].tolist()
        assert torch.equal(out[k], padded[k, :, r:r + 6, c:c + 7])
    with pytest.raises(ShapeError, match=r"RandomCrop size=\(30, 30\) is larger than the "
                                         r"padded input \(14, 16\)"):
        RandomCrop(30, padding=2)(x)


# ----------------------------------------------------------------------------- flips


def test_flips_are_exact_permutations():
    x = digits(64)
    t = RandomFlip("horizontal", p=0.5)
    mask = t.sample_params(x, gen(5))
    assert 10 < int(mask.sum()) < 54
    out = t.apply(x, mask)
    assert torch.equal(out[mask], x[mask].flip(-1))
    assert torch.equal(out[~mask], x[~mask])
    # Each image's pixels are the same multiset: a permutation, no interpolation.
    assert torch.equal(out.flatten(1).sort(1).values, x.flatten(1).sort(1).values)
    assert torch.equal(t.apply(out, mask), x)  # flipping twice restores the batch
    vertical = RandomFlip("vertical", p=1.0)(x)
    assert torch.equal(vertical, x.flip(-2))
    assert torch.equal(RandomFlip(0, p=1.0)(x), x.flip(2))


def test_flip_errors():
    with pytest.raises(ShapeError, match=r"axis='vertical' needs images with at least 2 "
                                         r"spatial dimensions.*Use axis='horizontal'"):
        RandomFlip("vertical")(torch.zeros(2, 1, 10))
    with pytest.raises(ArgumentError, match=r"axis must be one of 'horizontal', 'vertical'. "
                                            r"Received: axis='horizontl'. Did you mean"):
        RandomFlip("horizontl")
    with pytest.raises(ArgumentError, match=r"p must be a probability in \[0, 1\]. "
                                            r"Received: p=1.5"):
        RandomFlip(p=1.5)


# ----------------------------------------------------------------------------- affine


def test_rotation_by_90_degrees_matches_rot90():
    x = torch.rand(3, 2, 9, 9)
    out = RandomAffine((90, 90))(x, generator=gen())
    # Counter-clockwise as displayed, the direction of torch.rot90 (and numpy.rot90).
    assert torch.allclose(out, torch.rot90(x, 1, dims=(2, 3)), atol=1e-5)
    back = RandomAffine((-90, -90))(x, generator=gen())
    assert torch.allclose(back, torch.rot90(x, -1, dims=(2, 3)), atol=1e-5)


def test_rotation_by_180_on_a_non_square_image_flips_both_axes():
    x = torch.rand(2, 1, 6, 10)
    out = RandomAffine((180, 180))(x, generator=gen())
    assert torch.allclose(out, x.flip(-1).flip(-2), atol=1e-5)


def test_scale_moves_an_off_centre_dot_outwards_in_1d():
    x = torch.zeros(1, 1, 41)
    x[0, 0, 25] = 1.0  # 5 pixels right of the centre, which is at 20.5 - 0.5 = 20
    out = RandomAffine(scale=(2.0, 2.0))(x, generator=gen())
    centre_of_mass = float((out[0, 0] * torch.arange(41.0)).sum() / out.sum())
    assert centre_of_mass == pytest.approx(30.0, abs=0.3)


def test_affine_draws_per_image_and_errors():
    theta, mask = RandomAffine(20, scale=0.2).sample_params(torch.zeros(50, 1, 8, 8), gen())
    angles = torch.atan2(-theta[:, 0, 1], theta[:, 0, 0]) * 180 / math.pi
    assert angles.abs().max() <= 20.01 and angles.std() > 5 and bool(mask.all())
    with pytest.raises(ShapeError, match=r"RandomAffine cannot rotate 1-D signals.*Use "
                                         r"degrees=0"):
        RandomAffine(10)(torch.zeros(2, 1, 40))
    with pytest.raises(ShapeError, match=r"RandomAffine expects a batch \(N, C, \*spatial\) "
                                         r"with 1 or 2 spatial dimensions"):
        RandomAffine(10)(torch.zeros(2, 1, 4, 4, 4))
    with pytest.raises(ArgumentError, match=r"scale must stay above 0. Received: scale=1.5"):
        RandomAffine(scale=1.5)
    with pytest.raises(ArgumentTypeError, match=r"works on floating-point batches. Received: "
                                                r"dtype torch.uint8"):
        RandomAffine(10)(torch.zeros(2, 1, 4, 4, dtype=torch.uint8))


# ----------------------------------------------------------------------------- elastic


def test_elastic_displacement_scales_linearly_with_alpha():
    x = torch.zeros(8, 1, 28, 28)
    small, _ = ElasticDeform(alpha=5.0, sigma=4.0).sample_params(x, gen(9))
    large, _ = ElasticDeform(alpha=20.0, sigma=4.0).sample_params(x, gen(9))
    assert torch.allclose(large, 4.0 * small, atol=1e-5)
    assert float(large.abs().mean()) == pytest.approx(4 * float(small.abs().mean()), rel=1e-5)


def _roughness(field):
    """Mean squared neighbour difference over the field's variance: about 2 for white
    noise, near 0 for a smooth field."""
    dy = (field[..., 1:, :] - field[..., :-1, :]).pow(2).mean()
    dx = (field[..., :, 1:] - field[..., :, :-1]).pow(2).mean()
    return float((dx + dy) / 2 / field.var())


def test_elastic_field_is_smoother_for_larger_sigma():
    x = torch.zeros(16, 1, 32, 32)
    rough = [_roughness(ElasticDeform(10.0, s).sample_params(x, gen(0))[0])
             for s in (0.0, 1.0, 2.0, 4.0, 8.0)]
    assert rough[0] == pytest.approx(2.0, abs=0.1)  # sigma=0: unsmoothed uniform noise
    assert all(a > b for a, b in zip(rough, rough[1:]))
    assert rough[-1] < 0.05


def test_elastic_raw_field_is_uniform_in_minus_one_one():
    field, _ = ElasticDeform(alpha=1.0, sigma=0.0).sample_params(torch.zeros(4, 1, 64, 64),
                                                                  gen(0))
    assert -1.0 <= float(field.min()) < -0.99 and 0.99 < float(field.max()) <= 1.0
    assert abs(float(field.mean())) < 0.01


def test_elastic_samples_the_input_at_p_plus_displacement():
    # A constant displacement of +2 columns reads the pixel 2 to the right: a shift left.
    x = torch.rand(2, 3, 10, 12)
    t = ElasticDeform(alpha=1.0, sigma=1.0)
    field = torch.zeros(2, 2, 10, 12)
    field[:, 1] = 2.0
    out = t.apply(x, (field, torch.ones(2, dtype=torch.bool)))
    assert torch.allclose(out, translate(x, torch.tensor([[0, -2], [0, -2]])), atol=1e-6)
    field = torch.zeros(2, 2, 10, 12)
    field[:, 0] = -0.5  # half a row up: the mean of two rows, bilinear
    out = t.apply(x, (field, torch.ones(2, dtype=torch.bool)))
    expected = 0.5 * (x[:, :, 1:] + x[:, :, :-1])
    assert torch.allclose(out[:, :, 1:], expected, atol=1e-6)
    signal = torch.rand(2, 1, 30)
    shift = torch.full((2, 1, 30), 3.0)
    out1d = t.apply(signal, (shift, torch.ones(2, dtype=torch.bool)))
    assert torch.allclose(out1d[..., :27], signal[..., 3:], atol=1e-6)


def test_elastic_keeps_digits_recognisable_in_mass():
    x = digits(32)
    out = ElasticDeform(34.0, 4.0)(x, generator=gen(1))
    changed = (out - x).abs().mean((1, 2, 3))
    assert bool((changed > 0.01).all())
    # Local stretching changes each digit's ink, but not by much and not on average.
    ratio = out.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert 0.9 < float(ratio.mean()) < 1.1
    assert 0.6 < float(ratio.min()) and float(ratio.max()) < 1.7


def test_gaussian_smooth_matches_a_dense_reference():
    field = torch.rand(2, 1, 11, 13, dtype=torch.float64)
    sigma = 1.5
    radius = int(4 * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k1 = torch.exp(-0.5 * (t / sigma) ** 2)
    k1 = k1 / k1.sum()
    dense = torch.outer(k1, k1).view(1, 1, *([2 * radius + 1] * 2))
    ref = torch.nn.functional.conv2d(field.view(2, 1, 11, 13), dense, padding=radius)
    assert torch.allclose(gaussian_smooth(field, sigma), ref, atol=1e-12)


def test_elastic_errors():
    with pytest.raises(ArgumentError, match=r"alpha must be a number >= 0. Received: "
                                            r"alpha=-1"):
        ElasticDeform(alpha=-1)
    with pytest.raises(ArgumentError, match=r"padding_mode must be one of 'zeros', 'border', "
                                            r"'reflection'. Received: padding_mode='wrap'"):
        ElasticDeform(padding_mode="wrap")
    with pytest.raises(ArgumentTypeError, match=r"ElasticDeform takes a batch tensor"):
        ElasticDeform()([1, 2, 3])


def test_compose_runs_in_order_and_checks_input():
    x = torch.zeros(1, 1, 1, 5)
    x[..., 0] = 1.0
    chain = Compose([RandomTranslate(0), RandomFlip(p=1.0), lambda t: t * 2])
    assert chain(x, generator=gen()).tolist() == [[[[0, 0, 0, 0, 2]]]]
    with pytest.raises(ArgumentTypeError, match=r"Wrap a single one in a list"):
        Compose(RandomFlip())
    with pytest.raises(ArgumentTypeError, match=r"transforms\[1\] must be callable"):
        Compose([RandomFlip(), 3])
