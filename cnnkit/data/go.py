"""Go games for move-prediction networks: an SGF reader, the rules, and input planes.

Move prediction in Go with convolutional networks (Clark and Storkey 2015, "Training deep
convolutional neural networks to play Go"; Maddison, Huang, Sutskever and Silver 2015,
"Move evaluation in Go using deep convolutional neural networks") reads each position of
a recorded game as a stack of planes seen from the player to move and predicts the move
that was played. This module provides:

- ``parse_sgf(text, source)``: the main line of each game in an SGF collection (FF[4]:
  ``SZ``, ``KM``, ``PL``, ``AB``/``AW``/``AE`` in the first node, ``B``/``W`` moves with
  ``[]`` or ``[tt]`` for a pass; other properties are read and ignored).
- ``GoBoard``: the rules (Tromp-Taylor style stone play): groups, liberties, captures,
  suicide refused, simple ko (no immediate recapture of a single stone).
- ``replay(game)``: every position before each move, the mover and the move as a class
  (``row * size + column``, pass = ``size * size``), refusing illegal moves.
- ``go_planes(boards, to_play, ko)``: the ``PLANES`` features for many positions at once,
  with no loop over positions (group labels by pointer jumping).
- ``load_go("go9" | "go19", split)``: the bundled GNU Go self-play games.
"""

from __future__ import annotations

import dataclasses
import re
from array import array
from os import PathLike
from pathlib import Path

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, CnnkitError, one_of
from .dataset import DataFileError, Dataset

__all__ = [
    "BLACK", "PLANES", "WHITE", "GoBoard", "GoGame", "IllegalMoveError", "SgfError",
    "bundled_games", "go_planes", "group_liberties", "load_go", "move_names", "parse_sgf",
    "read_sgf", "replay",
]

BLACK, WHITE, EMPTY = 1, -1, 0
_EDGE = 2
_COLOUR_NAMES = {BLACK: "black", WHITE: "white"}
PLANES = ("own", "opponent", "empty", "own_1_liberty", "own_2_liberties",
          "own_3plus_liberties", "opponent_1_liberty", "opponent_2_liberties",
          "opponent_3plus_liberties", "ko", "ones")
_GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # GTP and most Go programs skip the letter I
_SGF_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class SgfError(CnnkitError, ValueError):
    """An SGF text cannot be read; the message names the source, game and move."""


class IllegalMoveError(CnnkitError, ValueError):
    """A move breaks the rules: occupied point, suicide or ko recapture."""


# ----------------------------------------------------------------------------- the rules


class GoBoard:
    """A Go board that plays legal moves and refuses the others.

    Points are ``(row, column)`` with row 0 at the top (as SGF counts them); ``None`` is a
    pass. Stones are ``BLACK`` (1) and ``WHITE`` (-1). A move is illegal on an occupied
    point, when it would leave its own group without liberties without capturing
    (suicide), or when it retakes a ko at once (simple ko: a single stone that has just
    captured a single stone cannot be recaptured on the next move).

    Args:
        size: the board is ``size x size``, 2 to 25.

    Raises:
        ArgumentError: ``size`` outside 2..25.

    Example:
        >>> board = GoBoard(5)
        >>> for colour, point in [(BLACK, (0, 1)), (WHITE, (0, 0))]:
        ...     board.play(colour, point)
        0
        0
        >>> board.play(BLACK, (1, 0))   # captures the white corner stone
        1
        >>> board.stones()[:2].tolist()
        [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0]]
        >>> board.play(WHITE, (0, 0))
        Traceback (most recent call last):
        ...
        cnnkit.data.go.IllegalMoveError: white (0, 0) is suicide: the stone would have no liberties and captures nothing.
    """

    def __init__(self, size: int):
        if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= 25:
            raise ArgumentError(f"size must be an int in 2..25. Received: size={size!r}.")
        self.size = size
        self._w = w = size + 2
        # One flat array with a border of _EDGE cells: neighbours are i +- 1 and i +- w,
        # and no neighbour needs a bounds check. A typed array, so that NumPy can take a
        # snapshot of it without converting element by element.
        self._cells = array("b", [_EDGE] * (w * w))
        for r in range(size):
            for c in range(size):
                self._cells[(r + 1) * w + c + 1] = EMPTY
        self._steps = (1, -1, w, -w)
        self._inside = np.array([(r + 1) * w + c + 1 for r in range(size) for c in range(size)])
        # The point the opponent of the last capturer may not take next (simple ko).
        self.ko: tuple[int, int] | None = None
        self._ko_colour = EMPTY
        # Group ids kept up to date move by move, so that a replay can record every
        # position's groups without searching for them: id per cell (0: no stone), the
        # cells of each id, and ids free for reuse (ids stay below size * size + 1).
        self._gid = array("h", [0] * (w * w))
        self._members: dict[int, list[int]] = {}
        self._free: list[int] = []

    def copy(self) -> GoBoard:
        """An independent copy."""
        other = GoBoard.__new__(GoBoard)
        other.__dict__.update(self.__dict__)
        other._cells = array("b", self._cells)
        other._gid = array("h", self._gid)
        other._members = {g: list(m) for g, m in self._members.items()}
        other._free = list(self._free)
        return other

    def _new_gid(self) -> int:
        return self._free.pop() if self._free else len(self._members) + len(self._free) + 1

    def _remove_group(self, stones: list[int]) -> None:
        gid = self._gid[stones[0]]
        for i in list(stones):
            self._cells[i] = EMPTY
            self._gid[i] = 0
        del self._members[gid]
        self._free.append(gid)

    def _join(self, i: int) -> None:
        """Give the new stone at ``i`` the id of its neighbours' groups, merging them."""
        gid, cells = self._gid, self._cells
        ids = {gid[i + step] for step in self._steps if cells[i + step] == cells[i]}
        if not ids:
            g = self._new_gid()
            self._members[g] = [i]
            gid[i] = g
            return
        keep = max(ids, key=lambda g: len(self._members[g]))
        members = self._members[keep]
        for g in ids - {keep}:
            for j in self._members[g]:
                gid[j] = keep
            members += self._members.pop(g)
            self._free.append(g)
        members.append(i)
        gid[i] = keep

    def _relabel(self) -> None:
        """Recompute every group id from scratch (after setup stones)."""
        self._gid = array("h", [0] * len(self._cells))
        self._members, self._free = {}, []
        for i in self._inside.tolist():
            if self._cells[i] in (BLACK, WHITE) and not self._gid[i]:
                stones, _ = self._group(i)
                g = len(self._members) + 1
                self._members[g] = stones
                for j in stones:
                    self._gid[j] = g

    def _index(self, point) -> int:
        if (not isinstance(point, tuple) or len(point) != 2
                or not all(isinstance(v, (int, np.integer)) for v in point)):
            raise ArgumentTypeError(
                f"point must be a (row, column) tuple of ints or None for a pass. Received: "
                f"point={point!r}."
            )
        r, c = int(point[0]), int(point[1])
        if not (0 <= r < self.size and 0 <= c < self.size):
            raise ArgumentError(
                f"point {point!r} is off the {self.size}x{self.size} board; rows and "
                f"columns run 0..{self.size - 1}."
            )
        return (r + 1) * self._w + c + 1

    def _point(self, index: int) -> tuple[int, int]:
        return index // self._w - 1, index % self._w - 1

    def _group(self, start: int) -> tuple[list[int], set[int]]:
        """The stones of the group at ``start`` and its liberties (flood fill)."""
        cells, colour = self._cells, self._cells[start]
        stones, liberties, stack, seen = [], set(), [start], {start}
        while stack:
            i = stack.pop()
            stones.append(i)
            for step in self._steps:
                n = i + step
                v = cells[n]
                if v == EMPTY:
                    liberties.add(n)
                elif v == colour and n not in seen:
                    seen.add(n)
                    stack.append(n)
        return stones, liberties

    def _check_colour(self, colour) -> int:
        if colour not in (BLACK, WHITE) or isinstance(colour, bool):
            raise ArgumentError(
                f"colour must be BLACK (1) or WHITE (-1). Received: colour={colour!r}."
            )
        return int(colour)

    def play(self, colour: int, point) -> int:
        """Play a stone (or pass with ``point=None``) and return how many stones it captured.

        Raises:
            IllegalMoveError: the point is occupied, the move is suicide or retakes a ko;
                the board is left unchanged.
            ArgumentError: ``colour`` is not BLACK/WHITE or ``point`` is off the board.
        """
        colour = self._check_colour(colour)
        if point is None:
            self.ko = None
            return 0
        i = self._index(point)
        cells = self._cells
        name = _COLOUR_NAMES[colour]
        if cells[i] != EMPTY:
            raise IllegalMoveError(
                f"{name} {point} is on an occupied point ({_COLOUR_NAMES[cells[i]]} stone)."
            )
        if self.ko is not None and colour == self._ko_colour and self._index(self.ko) == i:
            raise IllegalMoveError(
                f"{name} {point} retakes the ko at once; play elsewhere first (simple ko)."
            )
        cells[i] = colour
        gid, members = self._gid, self._members
        captured: list[int] = []
        for step in self._steps:
            n = i + step
            if cells[n] == -colour and not self._has_liberty(gid[n]):
                stones = members[gid[n]]
                captured += stones
                self._remove_group(stones)
        neighbours = [cells[i + step] for step in self._steps]
        empty_next = neighbours.count(EMPTY)
        if not captured and not empty_next and not any(
                cells[i + step] == colour and self._has_liberty(gid[i + step])
                for step in self._steps):
            cells[i] = EMPTY  # nothing was captured, so the board is as it was
            raise IllegalMoveError(
                f"{name} {point} is suicide: the stone would have no liberties and "
                f"captures nothing."
            )
        # Simple ko: a lone stone that took a lone stone and has that point as its only
        # liberty could be retaken at once, repeating the position.
        if len(captured) == 1 and colour not in neighbours and empty_next == 1:
            self.ko, self._ko_colour = self._point(captured[0]), -colour
        else:
            self.ko = None
        self._join(i)
        return len(captured)

    def _has_liberty(self, group: int) -> bool:
        """Whether the group with this id touches an empty point (stops at the first)."""
        cells, steps = self._cells, self._steps
        for m in self._members[group]:
            for step in steps:
                if cells[m + step] == EMPTY:
                    return True
        return False

    def place(self, colour: int, point) -> None:
        """Put a stone on an empty point without playing a move (setup, SGF ``AB``/``AW``).

        ``colour=EMPTY`` (0) clears the point (SGF ``AE``).
        """
        i = self._index(point)
        if colour != EMPTY:
            colour = self._check_colour(colour)
        self._cells[i] = colour
        self.ko = None
        self._relabel()

    def legal(self, colour: int, point) -> bool:
        """Whether ``play(colour, point)`` would be accepted (the board is not changed)."""
        try:
            self.copy().play(colour, point)
        except IllegalMoveError:
            return False
        return True

    def liberties(self, point) -> int:
        """The number of liberties of the group at ``point`` (0 for an empty point)."""
        i = self._index(point)
        return 0 if self._cells[i] == EMPTY else len(self._group(i)[1])

    def stones(self) -> np.ndarray:
        """The board as int8 ``(size, size)``: 1 black, -1 white, 0 empty."""
        cells = np.frombuffer(self._cells, dtype=np.int8)
        return cells[self._inside].reshape(self.size, self.size)

    def groups(self) -> np.ndarray:
        """Group ids as int16 ``(size, size)``: 0 on empty points; stones of one group
        share an id, below ``size * size + 1``."""
        ids = np.frombuffer(self._gid, dtype=np.int16)
        return ids[self._inside].reshape(self.size, self.size)


# ----------------------------------------------------------------------------- SGF


@dataclasses.dataclass(frozen=True)
class GoGame:
    """The main line of one recorded game.

    Attributes:
        size: board size (``SZ``, default 19).
        komi: ``KM`` (0.0 when absent).
        setup: ``(colour, point)`` stones of the first node (``AB``, ``AW``); ``AE``
            clears a point (colour 0).
        moves: ``(colour, point)`` for each move, ``point=None`` for a pass.
        first_player: ``PL`` of the first node, or the colour of the first move.
        result: ``RE`` ("" when absent).
        comments: ``C`` of the last node (GNU Go's final position in the bundled games).
        source: where the game came from, e.g. ``"go9.sgf, game 3"``.
    """

    size: int
    komi: float
    setup: tuple[tuple[int, tuple[int, int]], ...]
    moves: tuple[tuple[int, tuple[int, int] | None], ...]
    first_player: int
    result: str
    comments: str
    source: str


_SGF_TOKEN = re.compile(r"""\s*(?:(?P<open>\()|(?P<close>\))|(?P<node>;)
    |(?P<ident>[A-Za-z]+)(?P<values>(?:\s*\[(?:[^\]\\]|\\.)*\])+)|(?P<end>\Z))""",
                        re.VERBOSE | re.DOTALL)
_SGF_VALUE = re.compile(r"\[((?:[^\]\\]|\\.)*)\]", re.DOTALL)


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _unescape(value: str) -> str:
    # SGF escapes with a backslash; most values hold none, so skip the substitution.
    return re.sub(r"\\(.)", r"\1", value, flags=re.DOTALL) if "\\" in value else value


def _tokens(text: str, source: str):
    """Yield ``(kind, value, offset)``; kinds: ``open``, ``close``, ``node``, ``prop``."""
    pos = 0
    match_token, find_values = _SGF_TOKEN.match, _SGF_VALUE.findall
    while True:
        match = match_token(text, pos)
        if match is None:
            start = len(text) - len(text[pos:].lstrip())
            raise SgfError(
                f"{source}: line {_line(text, start)}: cannot read {text[start:start + 20]!r}. "
                f"An SGF file holds game trees '(;PROP[value]...;B[dd]...)'; check the "
                f"brackets around this point."
            )
        kind = match.lastgroup
        if kind == "end":
            return
        if kind == "values":
            ident = match.group("ident")
            if not ident.isupper():  # FF[3] allowed lower-case letters in identifiers
                ident = "".join(ch for ch in ident if ch.isupper())
            values = [_unescape(v) for v in find_values(match.group("values"))]
            yield "prop", (ident, values), match.start()
        else:
            yield kind, None, match.start()
        pos = match.end()


def _game_trees(text: str, source: str) -> list[list[dict[str, list[str]]]]:
    """The main line (list of nodes) of every game tree in a collection."""
    games: list[list[dict]] = []
    # Each open tree: [its nodes, number of children so far, on the main line?]
    stack: list[list] = []
    pos = 0
    for kind, value, pos in _tokens(text, source):
        if kind == "open":
            if not stack:
                games.append([])
                stack.append([games[-1], 0, True])
            else:
                parent = stack[-1]
                parent[1] += 1
                stack.append([parent[0], 0, parent[2] and parent[1] == 1])
        elif kind == "close":
            if not stack:
                raise SgfError(f"{source}: line {_line(text, pos)}: ')' closes no game tree.")
            stack.pop()
        elif kind == "node":
            if not stack:
                raise SgfError(
                    f"{source}: line {_line(text, pos)}: ';' outside a game tree '(...)'."
                )
            if stack[-1][1]:
                raise SgfError(f"{source}: line {_line(text, pos)}: a node after a variation.")
            if stack[-1][2]:
                stack[-1][0].append({})
        else:
            if not stack or (stack[-1][2] and not stack[-1][0]):
                raise SgfError(
                    f"{source}: line {_line(text, pos)}: property {value[0]} before the first "
                    f"node ';'."
                )
            if stack[-1][2]:
                stack[-1][0][-1].setdefault(value[0], []).extend(value[1])
    if stack:
        raise SgfError(f"{source}: line {_line(text, len(text))}: the file ends inside a game "
                       f"tree; a ')' is missing.")
    if not games:
        raise SgfError(f"{source}: no game tree found; an SGF file starts with '(;'.")
    return games


def _sgf_point(value: str, size: int, where: str) -> tuple[int, int] | None:
    if value == "" or (value == "tt" and size <= 19):
        return None
    if (len(value) != 2 or value[0] not in _SGF_LETTERS[:size]
            or value[1] not in _SGF_LETTERS[:size]):
        raise SgfError(
            f"{where}: {value!r} is not a point of the {size}x{size} board (two letters "
            f"a..{_SGF_LETTERS[size - 1]}: column then row; '' or 'tt' for a pass)."
        )
    return _SGF_LETTERS.index(value[1]), _SGF_LETTERS.index(value[0])


def _sgf_points(values: list[str], size: int, where: str) -> list[tuple[int, int]]:
    """Points of ``AB``/``AW``/``AE``, with FF[4] rectangles ``aa:cc``."""
    points = []
    for value in values:
        corners = value.split(":")
        ends = [_sgf_point(v, size, where) for v in corners]
        if len(ends) not in (1, 2) or None in ends:
            raise SgfError(f"{where}: {value!r} is not a point or a rectangle 'aa:cc'.")
        (r0, c0), (r1, c1) = ends[0], ends[-1]
        points += [(r, c) for r in range(min(r0, r1), max(r0, r1) + 1)
                   for c in range(min(c0, c1), max(c0, c1) + 1)]
    return points


def _one(node: dict, key: str, where: str, default: str) -> str:
    values = node.get(key)
    if not values:
        return default
    if len(values) > 1:
        raise SgfError(f"{where}: {key} has {len(values)} values; it takes one.")
    return values[0]


def _game(nodes: list[dict], source: str) -> GoGame:
    root = nodes[0] if nodes else {}
    game_type = _one(root, "GM", f"{source}: GM", "1")
    if game_type.strip() != "1":
        raise SgfError(f"{source}: GM[{game_type}] is not a game of Go (GM[1]).")
    size_text = _one(root, "SZ", f"{source}: SZ", "19").strip()
    if not size_text.isdigit() or not 2 <= int(size_text) <= 25:
        raise SgfError(
            f"{source}: SZ[{size_text}] is not a board size cnnkit reads (a square board, "
            f"2 to 25)."
        )
    size = int(size_text)
    komi_text = _one(root, "KM", f"{source}: KM", "0").strip()
    try:
        komi = float(komi_text) if komi_text else 0.0
    except ValueError:
        raise SgfError(f"{source}: KM[{komi_text}] is not a number.") from None
    setup = []
    for key, colour in (("AB", BLACK), ("AW", WHITE), ("AE", EMPTY)):
        setup += [(colour, p) for p in _sgf_points(root.get(key, []), size, f"{source}: {key}")]
    moves: list[tuple[int, tuple[int, int] | None]] = []
    for k, node in enumerate(nodes):
        where = f"{source}, move {len(moves) + 1}"
        if k and any(key in node for key in ("AB", "AW", "AE")):
            raise SgfError(
                f"{where}: setup stones (AB/AW/AE) after the first node are not supported."
            )
        played = [key for key in ("B", "W") if key in node]
        if len(played) == 2:
            raise SgfError(f"{where}: one node holds both a B and a W move.")
        if played:
            key = played[0]
            moves.append((BLACK if key == "B" else WHITE,
                          _sgf_point(_one(node, key, f"{where}: {key}", ""), size,
                                     f"{where}: {key}")))
    player = _one(root, "PL", f"{source}: PL", "").strip().upper()
    if player not in ("", "B", "W"):
        raise SgfError(f"{source}: PL[{player}] must be B or W.")
    first = {"B": BLACK, "W": WHITE}.get(player, moves[0][0] if moves else BLACK)
    last = nodes[-1] if nodes else {}
    return GoGame(size=size, komi=komi, setup=tuple(setup), moves=tuple(moves),
                  first_player=first, result=_one(root, "RE", f"{source}: RE", ""),
                  comments=" ".join(last.get("C", [])), source=source)


def parse_sgf(text: str, source: str = "<string>") -> list[GoGame]:
    """The main line of every game in an SGF text (a collection of one or more games).

    Variations are skipped (the first one continues the main line). Rules are not
    checked here; ``replay`` does that.

    Args:
        text: SGF text.
        source: a name for error messages (the file name).

    Raises:
        SgfError: the text is not SGF, or a property cannot be read; names ``source``,
            the game number (from 1) and the move number (from 1) or line.

    Example:
        >>> [game] = parse_sgf("(;GM[1]SZ[9]KM[7];B[ee];W[];B[cc])")
        >>> game.size, game.komi, game.moves
        (9, 7.0, ((1, (4, 4)), (-1, None), (1, (2, 2))))
    """
    if not isinstance(text, str):
        raise ArgumentTypeError(
            f"text must be a str (decode bytes first). Received: {type(text).__name__}."
        )
    trees = _game_trees(text, source)
    many = len(trees) > 1
    return [_game(nodes, f"{source}, game {k + 1}" if many else source)
            for k, nodes in enumerate(trees)]


def read_sgf(path: str | PathLike) -> list[GoGame]:
    """The games of an SGF file (``.sgf``, or ``.sgf.xz`` compressed with xz).

    Raises:
        DataFileError: the file cannot be read.
        SgfError: the file is not valid SGF (names the file, game and move).
    """
    import lzma

    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".xz":
            raw = lzma.decompress(raw)
        text = raw.decode("utf-8")
    except (OSError, lzma.LZMAError, UnicodeDecodeError) as error:
        raise DataFileError(f"Cannot read the SGF file {path}: {error}.") from error
    return parse_sgf(text, path.name)


# ----------------------------------------------------------------------------- positions


def replay(game: GoGame) -> dict[str, np.ndarray]:
    """Play a game through ``GoBoard`` and record the position before every move.

    Returns:
        ``boards`` int8 ``(T, size, size)`` (1 black, -1 white, 0 empty) before move t;
        ``to_play`` int8 ``(T,)``, the colour of move t; ``moves`` int64 ``(T,)``, the
        move as ``row * size + column`` or ``size * size`` for a pass; ``ko`` int64
        ``(T,)``, the point (same numbering) the mover may not take because of ko, or -1;
        ``groups`` int16 ``(T, size, size)``, group ids (see ``group_liberties``);
        ``final`` int8 ``(size, size)``, the position after the last move.

    Raises:
        SgfError: a move is illegal (names the game's source, the move number and why).

    Example:
        >>> [game] = parse_sgf("(;SZ[9];B[ee];W[ef];B[])")
        >>> out = replay(game)
        >>> out["boards"].shape, out["moves"].tolist(), out["to_play"].tolist()
        ((3, 9, 9), [40, 49, 81], [1, -1, 1])
    """
    board = GoBoard(game.size)
    for k, (colour, point) in enumerate(game.setup):
        try:
            board.place(colour, point)
        except CnnkitError as error:  # cannot happen for points from parse_sgf
            raise SgfError(f"{game.source}: setup stone {k + 1}: {error}") from None
    n, size = len(game.moves), game.size
    boards = np.empty((n, size, size), dtype=np.int8)
    groups = np.empty((n, size, size), dtype=np.int16)
    to_play = np.empty(n, dtype=np.int8)
    moves = np.empty(n, dtype=np.int64)
    ko = np.full(n, -1, dtype=np.int64)
    for t, (colour, point) in enumerate(game.moves):
        boards[t] = board.stones()
        groups[t] = board.groups()
        to_play[t] = colour
        if board.ko is not None:
            ko[t] = board.ko[0] * size + board.ko[1]
        moves[t] = size * size if point is None else point[0] * size + point[1]
        try:
            board.play(colour, point)
        except IllegalMoveError as error:
            raise SgfError(f"{game.source}, move {t + 1}: {error}") from None
    return {"boards": boards, "groups": groups, "to_play": to_play, "moves": moves,
            "ko": ko, "final": board.stones()}


def _neighbours(size: int) -> np.ndarray:
    """``(size * size, 4)`` flat indices of the right, left, lower, upper neighbour; -1 off."""
    r, c = np.divmod(np.arange(size * size), size)
    out = np.full((size * size, 4), -1, dtype=np.int64)
    for d, (dr, dc) in enumerate(((0, 1), (0, -1), (1, 0), (-1, 0))):
        rr, cc = r + dr, c + dc
        ok = (rr >= 0) & (rr < size) & (cc >= 0) & (cc < size)
        out[ok, d] = rr[ok] * size + cc[ok]
    return out


def _propagate_labels(flat: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Group labels (1 + smallest point index of the group; 0 on empty points)."""
    p, n = flat.shape
    safe = np.where(nbr >= 0, nbr, 0)
    colour_nb = np.where(nbr[None] >= 0, flat[:, safe], 0)
    same = (colour_nb == flat[:, :, None]) & (flat[:, :, None] != 0)
    label = np.broadcast_to(np.arange(n, dtype=np.int32), (p, n)).copy()
    while True:
        lab_nb = np.where(same, label[:, safe], n)                   # n: no merge
        new = np.minimum(label, lab_nb.min(axis=2))
        new = np.take_along_axis(new, new, axis=1)                   # pointer jumping
        if np.array_equal(new, label):
            break
        label = new
    return np.where(flat != 0, label + 1, 0)


def group_liberties(boards: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """The number of liberties of the group of every stone, for many positions at once.

    A liberty is counted once per group even when the empty point touches the group on
    several sides. Without ``groups``, groups are found by label propagation with
    pointer jumping (whole-array passes, as many as the longest group needs, about
    log of its length); ``replay`` records ``groups`` as it plays, which skips that.

    Args:
        boards: int8 ``(P, size, size)``, 1 black, -1 white, 0 empty.
        groups: optional ``(P, size, size)`` group ids, 0 on empty points and below
            ``size * size + 1``; stones share an id exactly when they share a group.

    Shape:
        ``(P, size, size)`` int64; 0 on empty points.

    Example:
        >>> b = np.zeros((1, 3, 3), np.int8); b[0, 0, :2] = 1; b[0, 1, 0] = -1
        >>> group_liberties(b)[0].tolist()
        [[2, 2, 0], [2, 0, 0], [0, 0, 0]]
    """
    p, size = boards.shape[0], boards.shape[1]
    n = size * size
    flat = boards.reshape(p, n).astype(np.int8)
    nbr = _neighbours(size)
    label = (_propagate_labels(flat, nbr) if groups is None
             else groups.reshape(p, n)).astype(np.int16)
    out = np.zeros((p, n), dtype=np.int64)
    # Chunks of positions keep the (chunk, n, 4) temporaries small and in cache.
    for start in range(0, p, _CHUNK):
        stop = min(start + _CHUNK, p)
        out[start:stop] = _count_liberties(flat[start:stop], label[start:stop], nbr)
    return out.reshape(p, size, size)


_CHUNK = 1024


def _count_liberties(flat: np.ndarray, label: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    p, n = flat.shape
    # Each empty point gives one liberty to each distinct group among its neighbours:
    # neighbour d counts unless an earlier neighbour e < d carries the same label.
    lab_nb = label[:, np.where(nbr >= 0, nbr, 0)]                    # (p, n, 4) int16
    lab_nb[:, nbr < 0] = 0
    lab_nb[flat != 0] = 0                                            # only empty points
    counted = lab_nb != 0
    for d in range(1, 4):
        for e in range(d):
            counted[:, :, d] &= lab_nb[:, :, e] != lab_nb[:, :, d]
    keys = np.arange(p)[:, None, None] * (n + 1) + lab_nb
    per_label = np.bincount(keys[counted], minlength=p * (n + 1)).reshape(p, n + 1)
    libs = np.take_along_axis(per_label, label.astype(np.intp), axis=1)
    return np.where(flat != 0, libs, 0)


def go_planes(boards: np.ndarray, to_play: np.ndarray, ko: np.ndarray | None = None,
              groups: np.ndarray | None = None) -> torch.Tensor:
    """Input planes for many positions, seen from the player to move (``PLANES``).

    Planes: own stones, opponent stones, empty points; own stones whose group has 1, 2,
    3 or more liberties; the same for the opponent; the ko point the mover may not take;
    a plane of ones (it marks the board when a convolution pads with zeros).

    Args:
        boards: int8 ``(P, S, S)``, 1 black, -1 white, 0 empty.
        to_play: ``(P,)`` colour to move, 1 or -1.
        ko: ``(P,)`` flat index of the forbidden ko point or -1 (default: none).
        groups: group ids as ``replay`` records them (see ``group_liberties``).

    Shape:
        ``(P, 11, S, S)`` float32.

    Raises:
        ShapeError: the shapes disagree.

    Example:
        >>> b = np.zeros((1, 3, 3), np.int8); b[0, 1, 1] = -1
        >>> x = go_planes(b, np.array([1]))
        >>> x.shape, x[0, PLANES.index("opponent_3plus_liberties")].sum().item()
        (torch.Size([1, 11, 3, 3]), 1.0)
    """
    from .._validation import ShapeError

    boards = np.asarray(boards)
    to_play = np.asarray(to_play).reshape(-1)
    if boards.ndim != 3 or boards.shape[1] != boards.shape[2] or len(to_play) != len(boards):
        raise ShapeError(
            f"boards must be (P, S, S) and to_play (P,). Received: boards of shape "
            f"{boards.shape} and to_play of shape {to_play.shape}."
        )
    p, size = boards.shape[0], boards.shape[1]
    mover = to_play.astype(np.int8)[:, None, None]
    own, opp = boards == mover, boards == -mover
    libs = group_liberties(boards, groups)
    planes = np.zeros((p, len(PLANES), size, size), dtype=np.float32)
    planes[:, 0], planes[:, 1], planes[:, 2] = own, opp, boards == 0
    for k, (low, high) in enumerate(((1, 1), (2, 2), (3, None))):
        band = (libs >= low) if high is None else (libs == low)
        planes[:, 3 + k] = own & band
        planes[:, 6 + k] = opp & band
    if ko is not None:
        ko = np.asarray(ko).reshape(-1)
        rows = np.flatnonzero(ko >= 0)
        planes[rows, 9, ko[rows] // size, ko[rows] % size] = 1.0
    planes[:, 10] = 1.0
    return torch.from_numpy(planes)


def move_names(size: int) -> tuple[str, ...]:
    """Class names of the moves: GTP vertices (``"A9"`` is row 0, column 0 on 9x9) + pass.

    Example:
        >>> names = move_names(9)
        >>> len(names), names[0], names[40], names[-1]
        (82, 'A9', 'E5', 'pass')
    """
    return tuple(f"{_GTP_COLUMNS[c]}{size - r}" for r in range(size) for c in range(size)
                 ) + ("pass",)


# ----------------------------------------------------------------------------- bundled sets

_GAMES: dict[str, list[GoGame]] = {}
_REPLAYED: dict[str, list[dict[str, np.ndarray]]] = {}
TEST_EVERY = 5  # game k (from 0) is a test game when k % 5 == 4: 20 % of the games


def bundled_games(name: str) -> list[GoGame]:
    """The games of a bundled set (``"go9"`` or ``"go19"``), parsed once per process."""
    from . import datasets
    from ._files import read_verified_xz

    info = datasets.dataset_info(name)
    if info.kind != "go":
        raise ArgumentError(f"{name!r} is not a set of Go games. Received: name={name!r}.")
    path = datasets._FILES_DIR / info.file
    key = str(path)
    if key not in _GAMES:
        text = read_verified_xz(path, info.sha256, name).decode("utf-8")
        _GAMES[key] = parse_sgf(text, info.file)
    return _GAMES[key]


def _replayed(name: str) -> list[dict[str, np.ndarray]]:
    from . import datasets

    key = str(datasets._FILES_DIR / datasets.dataset_info(name).file)
    if key not in _REPLAYED:
        _REPLAYED[key] = [replay(game) for game in bundled_games(name)]
    return _REPLAYED[key]


def load_go(name: str = "go9", split: str = "train", *, device=None) -> Dataset:
    """Positions of the bundled GNU Go games as input planes and the moves played.

    Games are split whole (positions of one game are never in both splits): every fifth
    game (the 5th, 10th, ...) is a test game. Positions keep the games' order.

    Args:
        name: ``"go9"`` (9x9) or ``"go19"`` (19x19).
        split: ``"train"``, ``"test"`` or ``"all"``.
        device: where to put the tensors (default: CPU).

    Shape:
        ``x``: ``(N, 11, S, S)`` float32 planes (``PLANES``), from the mover's view;
        ``y``: ``(N,)`` int64 moves, ``row * S + column``, ``S * S`` for a pass.

    Raises:
        ArgumentError: unknown ``name`` or ``split``.
        DataFileError: the shipped file is missing or fails its SHA-256 check.

    Example:
        >>> test = load_go("go9", "test")
        >>> test.input_shape, test.num_classes, test.classes[-1]
        ((11, 9, 9), 82, 'pass')
    """
    from .datasets import SPLITS, dataset_info

    info = dataset_info(name)
    if info.kind != "go":
        go_sets = ", ".join(repr(n) for n in ("go9", "go19"))
        raise ArgumentError(f"name must be one of {go_sets}. Received: name={name!r}.")
    one_of(split, SPLITS, "split")
    games = _replayed(name)
    keep = [g for k, g in enumerate(games)
            if split == "all" or (k % TEST_EVERY == TEST_EVERY - 1) == (split == "test")]
    boards = np.concatenate([g["boards"] for g in keep])
    x = go_planes(boards, np.concatenate([g["to_play"] for g in keep]),
                  np.concatenate([g["ko"] for g in keep]),
                  np.concatenate([g["groups"] for g in keep]))
    y = torch.from_numpy(np.concatenate([g["moves"] for g in keep]))
    if device is not None:
        x, y = x.to(device), y.to(device)
    meta = {"description": info.description, "licence": info.licence, "planes": PLANES,
            "games": len(keep)}
    return Dataset(x, y, move_names(boards.shape[1]), name=name, split=split, info=meta)
