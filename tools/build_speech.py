"""Build ``cnnkit/data/files/alsa_speech.npz``, 16 kHz mu-law speech, from Debian's
``alsa-utils`` package (the spoken channel names of ``speaker-test``).

Run from the repository root with the project's environment (needs ``apt-get``, ``dpkg``)::

    python tools/build_speech.py                      # downloads alsa-utils 1.2.8-1
    python tools/build_speech.py --deb PATH.deb       # or uses a .deb at hand

The package is fetched with ``apt-get download alsa-utils=VERSION`` and unpacked with
``dpkg -x``; its SHA-256 is checked against the one pinned here. The eight voice files
``/usr/share/sounds/alsa/{Front,Rear,Side}_*.wav`` (48 kHz, 16-bit, mono) are read with
the standard ``wave`` module (``Noise.wav``, pink noise, is left out), scaled by 1/32768,
resampled to 16 kHz by ``cnnkit.data.audio.resample`` (Kaiser-windowed sinc,
16 zero crossings, roll-off 0.945, beta 8.6) and encoded by
``cnnkit.data.audio.mu_law_encode`` (mu = 255) to uint8.

The archive is a ``.npz`` written with fixed zip timestamps, so that the same input gives
the same bytes (``numpy.savez`` stamps the current time):

``audio``        uint8, all recordings one after the other
``offsets``      int64 (files + 1,), recording k is ``audio[offsets[k]:offsets[k + 1]]``
``names``        the file names without ``.wav``, sorted
``test``         uint8 per recording, 1 for the test split (``TEST_FILES``)
``sample_rate``  int64 scalar, 16000
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import wave
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnkit.data.audio import mu_law_encode, resample  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "cnnkit" / "data" / "files" / "alsa_speech.npz"
PACKAGE, VERSION = "alsa-utils", "1.2.8-1"
DEB_SHA256 = "fb24eb1a318228b974efbef726190dd90c6106a208814a3ee8f5d69b91ee0ba4"
RATE = 16000
# The split is by recording: the words "rear", "side", "center" and "right" are all
# spoken in the training files too, but these two recordings are never heard.
TEST_FILES = ("Rear_Center", "Side_Right")


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``numpy.savez_compressed`` with fixed timestamps: the same arrays, the same bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(value), allow_pickle=False)
            entry = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, buffer.getvalue(), compresslevel=9)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", type=Path, help="an alsa-utils .deb already downloaded")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.deb is None:
            subprocess.run(["apt-get", "download", f"{PACKAGE}={VERSION}"], cwd=work,
                           check=True)
        deb = args.deb or next(work.glob(f"{PACKAGE}_*.deb"))
        deb_digest = sha256(deb.read_bytes())
        print(f"{deb.name}: sha256 {deb_digest}")
        if deb_digest != DEB_SHA256:
            print(f"  warning: expected {DEB_SHA256} ({PACKAGE} {VERSION})", file=sys.stderr)
        subprocess.run(["dpkg", "-x", str(deb), str(work / "root")], check=True)
        folder = work / "root" / "usr" / "share" / "sounds" / "alsa"
        paths = sorted(p for p in folder.glob("*.wav") if p.stem != "Noise")
        names, clips = [], []
        for path in paths:
            raw = path.read_bytes()
            with wave.open(io.BytesIO(raw)) as reader:
                channels, width, rate = (reader.getnchannels(), reader.getsampwidth(),
                                         reader.getframerate())
                frames = reader.readframes(reader.getnframes())
            if (channels, width) != (1, 2):
                raise SystemExit(f"{path.name}: expected mono 16-bit, got {channels} "
                                 f"channels of {8 * width} bits")
            pcm = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
            low = resample(pcm, rate, RATE)
            peak = float(np.abs(low).max())
            codes = mu_law_encode(np.clip(low, -1.0, 1.0)).numpy().astype(np.uint8)
            names.append(path.stem)
            clips.append(codes)
            print(f"  {path.name}: sha256 {sha256(raw)}, {len(pcm)} samples at {rate} Hz "
                  f"({len(pcm) / rate:.3f} s) -> {len(codes)} at {RATE} Hz, peak {peak:.3f}")
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in clips])]).astype(np.int64)
    arrays = {
        "audio": np.concatenate(clips),
        "offsets": offsets,
        "names": np.array(names),
        "test": np.array([name in TEST_FILES for name in names], dtype=np.uint8),
        "sample_rate": np.array(RATE, dtype=np.int64),
    }
    write_npz(args.out, arrays)
    data = args.out.read_bytes()
    print(f"{args.out.name}: {len(names)} recordings, {offsets[-1]} samples "
          f"({offsets[-1] / RATE:.2f} s), {len(data)} bytes sha256 {sha256(data)}")


if __name__ == "__main__":
    main()
