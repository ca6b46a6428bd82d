"""Build ``cnnkit/data/files/fortunes.json.xz``, the text-classification set, from Debian's
``fortunes`` package.

Run from the repository root with the project's environment (needs ``apt-get``, ``dpkg``)::

    python tools/build_fortunes.py                  # downloads fortunes 1:1.99.1-7.3
    python tools/build_fortunes.py --deb PATH.deb   # or uses a .deb at hand

The package is fetched with ``apt-get download fortunes=VERSION`` and unpacked with
``dpkg -x``; its SHA-256 is checked against the one pinned here, so that the output is
the same byte for byte. Each topic is one fortune(6) file (``/usr/share/games/fortunes/
<topic>.u8``, UTF-8); the offensive files are a separate package and are not used.

Steps:

1. Read six topic files (``TOPICS``), split them into entries (``%`` lines).
2. Leave out entries longer than ``MAX_CHARS`` characters (mostly long poems and
   transcripts; they keep the file small) and entries of fewer than ``MIN_TOKENS`` tokens.
3. Deduplicate on the token sequence (``cnnkit.data.text.tokenize``): a repeat within a
   topic keeps its first copy; a text found in two topics is dropped from both.
4. Split each topic 80/20 without a random generator: entries are ordered by the SHA-256
   of their UTF-8 text and the first ``round(0.2 n)`` go to the test split. Each split
   is then stored in SHA-256 order, which interleaves the topics.
5. Write JSON (``{"classes", "source", "train": [[label, text], ...], "test": ...}``,
   sorted keys, no ASCII escaping) compressed with xz (preset 9, CRC64).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnkit.data.text import split_fortune_file, tokenize  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "cnnkit" / "data" / "files" / "fortunes.json.xz"
PACKAGE, VERSION = "fortunes", "1:1.99.1-7.3"
DEB_SHA256 = "41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5"
TOPICS = ("art", "computers", "politics", "science", "songs-poems", "work")
MAX_CHARS = 1000
MIN_TOKENS = 3
TEST_FRACTION = 0.2


def fetch_deb(workdir: Path) -> Path:
    subprocess.run(["apt-get", "download", f"{PACKAGE}={VERSION}"], cwd=workdir, check=True)
    return next(workdir.glob(f"{PACKAGE}_*.deb"))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", type=Path, help="a fortunes .deb already downloaded")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        deb = args.deb or fetch_deb(work)
        deb_digest = sha256(deb.read_bytes())
        print(f"{deb.name}: sha256 {deb_digest}")
        if deb_digest != DEB_SHA256:
            print(f"  warning: expected {DEB_SHA256} ({PACKAGE} {VERSION})", file=sys.stderr)
        subprocess.run(["dpkg", "-x", str(deb), str(work / "root")], check=True)
        folder = work / "root" / "usr" / "share" / "games" / "fortunes"
        entries: dict[str, list[str]] = {}
        sources = {}
        for topic in TOPICS:
            raw = (folder / f"{topic}.u8").read_bytes()
            sources[topic] = sha256(raw)
            entries[topic] = split_fortune_file(raw.decode("utf-8"))

    # Steps 2 and 3: length limits, then duplicates within and across topics.
    seen: dict[tuple[str, ...], set[str]] = {}
    kept: dict[str, list[tuple[tuple[str, ...], str]]] = {t: [] for t in TOPICS}
    counts = {}
    for topic in TOPICS:
        too_long = too_short = repeats = 0
        for text in entries[topic]:
            tokens = tuple(tokenize(text))
            if len(text) > MAX_CHARS:
                too_long += 1
            elif len(tokens) < MIN_TOKENS:
                too_short += 1
            elif topic in seen.get(tokens, ()):
                repeats += 1
            else:
                seen.setdefault(tokens, set()).add(topic)
                kept[topic].append((tokens, text))
        counts[topic] = {"entries": len(entries[topic]), "too_long": too_long,
                         "too_short": too_short, "repeats": repeats}
    train, test = [], []
    for label, topic in enumerate(TOPICS):
        unique = [text for tokens, text in kept[topic] if len(seen[tokens]) == 1]
        counts[topic]["in_two_topics"] = len(kept[topic]) - len(unique)
        ordered = sorted(unique, key=lambda t: sha256(t.encode("utf-8")))
        k = int(round(TEST_FRACTION * len(ordered)))
        test += [[label, text] for text in ordered[:k]]
        train += [[label, text] for text in ordered[k:]]
        counts[topic].update(train=len(ordered) - k, test=k)
    key = lambda item: sha256(item[1].encode("utf-8"))  # noqa: E731
    train.sort(key=key)
    test.sort(key=key)
    content = {
        "classes": list(TOPICS),
        "source": {"package": f"{PACKAGE} {VERSION}", "deb_sha256": deb_digest,
                   "files": {f"/usr/share/games/fortunes/{t}.u8": sources[t] for t in TOPICS},
                   "max_chars": MAX_CHARS, "min_tokens": MIN_TOKENS},
        "train": train,
        "test": test,
    }
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    packed = lzma.compress(text.encode("utf-8"), format=lzma.FORMAT_XZ,
                           check=lzma.CHECK_CRC64, preset=9)
    args.out.write_bytes(packed)
    for topic in TOPICS:
        print(f"  {topic:12s} {json.dumps(counts[topic])}  source sha256 {sources[topic]}")
    print(f"{args.out.name}: {len(train)} train, {len(test)} test, json {len(text)} chars, "
          f"{len(packed)} bytes sha256 {sha256(packed)}")


if __name__ == "__main__":
    main()
