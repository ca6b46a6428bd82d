"""Audio data: mu-law against the formula by hand, the resampler against sines, and the
bundled speech windows."""

import hashlib
import io
import math
import shutil

import numpy as np
import pytest
import torch

from cnnkit import ArgumentError
from cnnkit.data import DataFileError, dataset_info, load_dataset
from cnnkit.data import audio as audio_module
from cnnkit.data import datasets as registry
from cnnkit.data.audio import load_speech, mu_law_decode, mu_law_encode, resample, speech_clips

# ----------------------------------------------------------------------------- mu-law
#
# F(x) = sign(x) ln(1 + 255 |x|) / ln(256), q = floor((F + 1) / 2 * 255 + 1/2), worked by
# hand with ln(256) = 5.545177:
#   x = 0.5:   ln(128.5) = 4.855929, F = 0.875703, (1.875703 / 2) * 255 = 239.152 -> 239
#   x = -0.5:  F = -0.875703, (0.124297 / 2) * 255 = 15.848 -> 16
#   x = 0.01:  ln(3.55) = 1.266948, F = 0.228477, (1.228477 / 2) * 255 = 156.631 -> 157
#   x = 0.1:   ln(26.5) = 3.277145, F = 0.590987, (1.590987 / 2) * 255 = 202.851 -> 203
#   x = 1/255: ln(2) = 0.693147, F = 0.125, (1.125 / 2) * 255 = 143.4375 -> 143
#   x = 0:     F = 0, 127.5 + 0.5 = 128 -> 128;  x = +-1: F = +-1 -> 255 and 0.
HAND = [(-1.0, 0), (-0.5, 16), (0.0, 128), (1 / 255, 143), (0.01, 157), (0.1, 203),
        (0.5, 239), (1.0, 255)]


def test_mu_law_encode_matches_hand_computed_values():
    x, q = zip(*HAND)
    assert mu_law_encode(list(x)).tolist() == list(q)
    assert mu_law_encode(torch.tensor(x, dtype=torch.float32)).tolist() == list(q)
    assert mu_law_encode(np.array(x)).dtype == torch.int64


def test_mu_law_decode_matches_hand_computed_values():
    # y = 2 q / 255 - 1, x = sign(y) (256 ** |y| - 1) / 255:
    #   q = 255: y = 1, x = 255 / 255 = 1;  q = 0: x = -1
    #   q = 128: y = 1/255, 256 ** (1/255) = exp(5.545177 / 255) = 1.021984, x = 8.621e-5
    #   q = 239: y = 223/255 = 0.874510, 256 ** y = exp(4.849311) = 127.6525, x = 0.496677
    #   q = 16:  y = -0.874510, x = -0.496677
    got = mu_law_decode([255, 0, 128, 239, 16]).tolist()
    assert got == pytest.approx([1.0, -1.0, 8.621e-5, 0.496677, -0.496677], abs=2e-6)
    assert mu_law_decode(np.array([[128]])).shape == (1, 1)


def test_mu_law_round_trip_and_monotone():
    q = torch.arange(256)
    assert torch.equal(mu_law_encode(mu_law_decode(q)), q)
    x = torch.linspace(-1, 1, 400001, dtype=torch.float64)
    codes = mu_law_encode(x)
    assert bool((codes[1:] >= codes[:-1]).all()) and codes.unique().numel() == 256
    # Finer steps near zero: the companding is the point of mu-law.
    levels = mu_law_decode(q)
    steps = levels[1:] - levels[:-1]
    assert steps[127] < steps[0] / 100
    # Decoding is within half a step of the input everywhere.
    err = (mu_law_decode(codes) - x).abs()
    assert float(err.max()) < float(steps.max())
    # Other mu: 16 classes for mu = 15; the formula with ln(16) by hand at x = 0.5:
    # ln(8.5) / ln(16) = 2.140066 / 2.772589 = 0.771866, (1.771866 / 2) * 15 = 13.289 -> 13.
    assert mu_law_encode([0.5, -1.0, 1.0], mu=15).tolist() == [13, 0, 15]


def test_mu_law_errors():
    with pytest.raises(ArgumentError, match=r"x must lie in \[-1, 1\]. Received: a sample of "
                                            r"1.5. Divide the signal by its peak"):
        mu_law_encode([0.0, 1.5])
    with pytest.raises(ArgumentError, match=r"Received: a sample of nan"):
        mu_law_encode([float("nan")])
    with pytest.raises(ArgumentError, match=r"x must lie in \[-1, 1\].*32768"):
        mu_law_encode(np.array([1000], np.int16))
    with pytest.raises(ArgumentError, match=r"q must hold classes 0..255. Received: the "
                                            r"class 256"):
        mu_law_decode([0, 256])
    with pytest.raises(TypeError, match=r"q must hold integer classes 0..255. Received: q "
                                        r"of dtype torch.float64"):
        mu_law_decode(np.array([0.5]))
    with pytest.raises(ArgumentError, match=r"mu must be at least 2"):
        mu_law_encode([0.0], mu=1)


# ----------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("orig, new, freq", [(48000, 16000, 1000), (48000, 16000, 6000),
                                             (44100, 16000, 3000), (8000, 16000, 1500),
                                             (22050, 16000, 440)])
def test_resample_keeps_a_sine_below_the_new_nyquist(orig, new, freq):
    x = np.sin(2 * np.pi * freq * np.arange(orig // 2) / orig + 0.3)
    y = resample(x, orig, new)
    assert len(y) == math.ceil(len(x) * new / orig)
    ref = np.sin(2 * np.pi * freq * np.arange(len(y)) / new + 0.3)
    inner = slice(100, len(y) - 100)  # the ends see the zeros outside the signal
    assert np.abs(y[inner] - ref[inner]).max() < 1e-3


@pytest.mark.parametrize("orig, new, freq", [(48000, 16000, 9000), (48000, 16000, 15000),
                                             (44100, 16000, 12000)])
def test_resample_removes_what_would_alias(orig, new, freq):
    # A tone above the new Nyquist frequency (8 kHz) would fold back to |new - freq|;
    # the filter must take it out (about -90 dB), where plain decimation keeps it whole.
    x = np.sin(2 * np.pi * freq * np.arange(orig // 2) / orig)
    y = resample(x, orig, new)
    assert np.abs(y[100:-100]).max() < 1e-3
    if orig % new == 0:
        assert np.abs(x[::orig // new]).max() > 0.5


def test_resample_identity_and_errors():
    x = np.random.default_rng(0).standard_normal(100)
    assert np.array_equal(resample(x, 16000, 16000), x)
    with pytest.raises(ValueError, match=r"x must be one channel, 1-D. Received: x of shape "
                                         r"\(2, 50\)"):
        resample(x.reshape(2, 50), 48000, 16000)
    with pytest.raises(ArgumentError, match=r"new_rate must be positive"):
        resample(x, 48000, 0)
    with pytest.raises(ArgumentError, match=r"rolloff must be in \(0, 1\]. Received: "
                                            r"rolloff=1.5"):
        resample(x, 48000, 16000, rolloff=1.5)


# ----------------------------------------------------------------------------- bundled set


def test_shipped_speech_file():
    info = dataset_info("alsa_speech")
    raw = (registry._FILES_DIR / info.file).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == info.sha256
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        assert int(archive["sample_rate"]) == 16000 and archive["audio"].dtype == np.uint8
        offsets = archive["offsets"]
    clips = speech_clips("all")
    assert len(clips) == 8 and sum(len(c) for c in clips.values()) == offsets[-1]
    seconds = offsets[-1] / 16000
    assert 10 < seconds < 13
    for name, clip in clips.items():
        # Real speech: silence (class ~128) around words, and loud parts up to about
        # half of full scale (peaks ~0.5 -> classes ~240 / ~16).
        assert 1.2 < len(clip) / 16000 < 1.6, name
        assert int(clip.max()) > 225 and int(clip.min()) < 30, name
        assert float((clip.long() - 128).abs().le(2).float().mean()) > 0.1, name
    assert sorted(speech_clips("test")) == ["Rear_Center", "Side_Right"]
    assert not set(speech_clips("train")) & set(speech_clips("test"))


def test_load_speech_windows_and_targets():
    train, test = load_speech("train"), load_dataset("alsa_speech", "test")
    info = dataset_info("alsa_speech")
    assert (len(train), len(test)) == (info.sizes["train"], info.sizes["test"])
    assert train.x.shape[1:] == (2048,) == info.input_shape and train.y.shape == train.x.shape
    assert train.x.dtype == torch.int64 and train.num_classes == 256
    assert bool((train.x[:, 1:] == train.y[:, :-1]).all())  # y is x one step ahead
    # Window k of a recording starts at k * hop: rebuild them from the clip.
    clip = speech_clips("train")["Front_Center"].long()
    starts = range(0, len(clip) - 2048, 1024)
    expected = torch.stack([clip[s:s + 2049] for s in starts])
    assert torch.equal(train.x[:len(starts)], expected[:, :-1])
    assert torch.equal(train.y[:len(starts)], expected[:, 1:])
    other = load_speech("all", window=500, hop=250)
    assert other.x.shape[1] == 500 and len(other) > len(train)
    assert other.info["files"][:2] == ("Front_Center", "Front_Left")


def test_load_speech_errors():
    with pytest.raises(ArgumentError, match=r"window=40000 is longer than every recording of "
                                            r"the 'test' split \(the longest has 21676 "
                                            r"samples"):
        load_speech("test", window=40000)
    with pytest.raises(ArgumentError, match=r"hop must be positive. Received: hop=0"):
        load_speech(hop=0)
    with pytest.raises(ArgumentError, match=r"split must be one of 'train', 'test', 'all'"):
        speech_clips("both")


def test_corrupt_speech_file_is_reported(tmp_path, monkeypatch):
    name = dataset_info("alsa_speech").file
    shutil.copy(registry._FILES_DIR / name, tmp_path / name)
    monkeypatch.setattr(registry, "_FILES_DIR", tmp_path)
    monkeypatch.setattr(audio_module, "_CLIPS", {})
    raw = bytearray((tmp_path / name).read_bytes())
    raw[-200] ^= 0x01
    (tmp_path / name).write_bytes(bytes(raw))
    with pytest.raises(DataFileError, match=r"data file of 'alsa_speech' is corrupt"):
        load_speech()
