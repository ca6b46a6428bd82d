"""Record games of GNU Go against itself as a compressed SGF collection for cnnkit.

The games are the primary data: the shipped file holds their SGF text, so nothing needs
GNU Go at run time. This script is how they were made, and it remakes the very same
games, byte for byte, with the same GNU Go build (Debian's ``gnugo`` 3.8-11)::

    apt-get install -y gnugo        # /usr/games/gnugo, GNU Go 3.8
    python tools/build_go_games.py --size 9 --games 1000 --jobs 2
    python tools/build_go_games.py --size 19 --games 60 --jobs 2

Each game is one GNU Go process in GTP mode, started as::

    gnugo --mode gtp --quiet --level LEVEL --seed SEED --boardsize SIZE --komi 6.5

(seeds 1 .. GAMES), playing ``genmove black`` / ``genmove white`` in turn until two passes
in a row, a resignation or the move cap; ``final_score`` gives the result of a finished
game. GNU Go's own final position (``list_stones black`` / ``list_stones white``) is
written in a comment of the last move, ``C[final position B: aa ab ...; W: ...]``: the
tests replay every game with cnnkit's rules and compare against it. Different seeds make GNU Go break ties between equally valued moves differently,
so the games differ. A game whose move sequence repeats an earlier one is left out.

The output is an SGF collection (FF[4], one game tree per game, one game per line),
compressed with xz (preset 9). The script prints the SHA-256 of the SGF text and of the
compressed file; ``cnnkit/data/datasets.py`` pins the latter.
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "cnnkit" / "data" / "files"
GTP_COLUMNS = "ABCDEFGHJKLMNOPQRST"  # GTP skips the letter I
KOMI = 6.5


class Gtp:
    """A GNU Go process spoken to over the Go Text Protocol."""

    def __init__(self, argv: list[str]):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)

    def __call__(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        lines: list[str] = []
        while True:
            line = self.proc.stdout.readline()
            if line == "":
                raise RuntimeError(f"gnugo exited during {command!r}")
            if line.strip() == "":
                if lines:
                    break
                continue
            lines.append(line.rstrip("\n"))
        reply = "\n".join(lines)
        if not reply.startswith("="):
            raise RuntimeError(f"gnugo refused {command!r}: {reply}")
        return reply[1:].strip()

    def close(self) -> None:
        try:
            self("quit")
        finally:
            self.proc.wait(timeout=30)


def gtp_to_sgf(vertex: str, size: int) -> str:
    """``"C7"`` -> ``"cc"`` on 9x9 (SGF counts rows from the top); a pass is ``""``."""
    if vertex.upper() == "PASS":
        return ""
    column = GTP_COLUMNS.index(vertex[0].upper())
    row = size - int(vertex[1:])
    return "abcdefghijklmnopqrs"[column] + "abcdefghijklmnopqrs"[row]


def play_game(gnugo: str, size: int, level: int, seed: int, max_moves: int):
    """One self-play game: the list of SGF moves and the result (``RE`` value)."""
    argv = [gnugo, "--mode", "gtp", "--quiet", "--level", str(level), "--seed", str(seed),
            "--boardsize", str(size), "--komi", str(KOMI)]
    gtp = Gtp(argv)
    try:
        if float(gtp("get_komi")) != KOMI:
            raise RuntimeError("gnugo did not take the komi")
        moves: list[str] = []
        passes, result = 0, ""
        colour = "black"
        while len(moves) < max_moves:
            vertex = gtp(f"genmove {colour}")
            if vertex.lower() == "resign":
                result = ("W" if colour == "black" else "B") + "+R"
                break
            moves.append(gtp_to_sgf(vertex, size))
            passes = passes + 1 if vertex.upper() == "PASS" else 0
            if passes == 2:
                break
            colour = "white" if colour == "black" else "black"
        if not result:
            result = gtp("final_score") if passes == 2 else "?"
        final = {colour[0].upper(): sorted(gtp_to_sgf(v, size)
                                           for v in gtp(f"list_stones {colour}").split())
                 for colour in ("black", "white")}
    finally:
        gtp.close()
    return moves, result, final, argv


def to_sgf(moves: list[str], result: str, final: dict[str, list[str]], size: int, level: int,
           seed: int) -> str:
    """The game as one line of SGF (FF[4]; passes as empty moves)."""
    colours = "BW"
    body = "".join(f";{colours[i % 2]}[{move}]" for i, move in enumerate(moves))
    if moves:
        body += f"C[final position B: {' '.join(final['B'])}; W: {' '.join(final['W'])}]"
    player = f"GNU Go 3.8 level {level}"
    return (f"(;GM[1]FF[4]CA[UTF-8]AP[GNU Go:3.8]SZ[{size}]KM[{KOMI}]RU[Japanese]"
            f"PB[{player}]PW[{player}]RE[{result}]GC[self-play, seed {seed}]{body})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, choices=[9, 13, 19], default=9)
    parser.add_argument("--games", type=int, default=1000)
    parser.add_argument("--level", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="games played at once")
    parser.add_argument("--gnugo", default="/usr/games/gnugo")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or OUT / f"go{args.size}.sgf.xz"
    version = subprocess.run([args.gnugo, "--version"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[0]
    print(version, file=sys.stderr)
    max_moves = 3 * args.size * args.size
    seeds = range(args.first_seed, args.first_seed + args.games)
    start = time.time()

    def one(seed: int):
        return seed, play_game(args.gnugo, args.size, args.level, seed, max_moves)

    games, seen, repeats = [], set(), 0
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for seed, (moves, result, final, argv) in pool.map(one, seeds):
            if seed == args.first_seed:
                print("command:", " ".join(argv), file=sys.stderr)
            key = tuple(moves)
            if key in seen:
                repeats += 1
                continue
            seen.add(key)
            games.append(to_sgf(moves, result, final, args.size, args.level, seed))
            if len(games) % 50 == 0:
                print(f"{len(games)} games, {time.time() - start:.0f} s", file=sys.stderr)
    text = ("\n".join(games) + "\n").encode("utf-8")
    packed = lzma.compress(text, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=9)
    out.write_bytes(packed)
    moves = sum(g.count(";B[") + g.count(";W[") for g in games)
    print(f"{out.name}: {len(games)} games ({repeats} repeats left out), {moves} moves, "
          f"{time.time() - start:.0f} s")
    print(f"  sgf text {len(text)} bytes sha256 {hashlib.sha256(text).hexdigest()}")
    print(f"  {out.name} {len(packed)} bytes sha256 {hashlib.sha256(packed).hexdigest()}")


if __name__ == "__main__":
    main()
