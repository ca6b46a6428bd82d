"""Go data: SGF reading, the rules on hand-made positions, liberties, planes and the
bundled GNU Go games (every move of every game replayed, and GNU Go's own final
position as the oracle)."""

import hashlib
import lzma
import re
import shutil

import numpy as np
import pytest
import torch

from cnnkit import ArgumentError
from cnnkit.data import DataFileError, dataset_info, load_dataset
from cnnkit.data import datasets as registry
from cnnkit.data import go as go_module
from cnnkit.data.go import (BLACK, PLANES, WHITE, GoBoard, IllegalMoveError, SgfError,
                            bundled_games, go_planes, group_liberties, load_go, move_names,
                            parse_sgf, read_sgf, replay)


def board_from(rows: list[str]) -> GoBoard:
    """A board from rows of 'X' (black), 'O' (white) and '.' (empty)."""
    board = GoBoard(len(rows))
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch in "XO":
                board.place(BLACK if ch == "X" else WHITE, (r, c))
    return board


def picture(board: GoBoard) -> list[str]:
    return ["".join(".XO"[v] for v in row) for row in board.stones().tolist()]


# ----------------------------------------------------------------------------- the rules


def test_capture_of_a_group():
    board = board_from([".....",
                        ".XO..",
                        "XOOX.",
                        ".XO..",
                        "..X.."])
    # The white group of four has three liberties: (0, 2), (1, 3) and (3, 3).
    assert board.liberties((2, 2)) == 3 and board.liberties((1, 1)) == 2
    assert board.play(BLACK, (0, 2)) == 0
    assert board.play(BLACK, (1, 3)) == 0
    assert board.liberties((2, 1)) == 1
    assert board.play(BLACK, (3, 3)) == 4  # the last liberty: four stones captured
    assert picture(board) == ["..X..",
                              ".X.X.",
                              "X..X.",
                              ".X.X.",
                              "..X.."]
    assert board.ko is None  # more than one stone was captured: no ko


def test_capture_in_the_corner_and_on_the_edge():
    board = GoBoard(5)
    board.play(WHITE, (0, 0))
    board.play(BLACK, (0, 1))
    assert board.liberties((0, 0)) == 1
    assert board.play(BLACK, (1, 0)) == 1
    assert picture(board)[:2] == [".X...", "X...."]
    # One stone taken by a stone with other liberties: no ko.
    assert board.ko is None
    edge = GoBoard(5)
    for colour, point in [(BLACK, (0, 2)), (WHITE, (0, 1)), (WHITE, (0, 3))]:
        edge.play(colour, point)
    assert edge.liberties((0, 2)) == 1
    assert edge.play(WHITE, (1, 2)) == 1
    assert picture(edge)[:2] == [".O.O.", "..O.."] and edge.ko is None


def test_suicide_is_refused_and_leaves_the_board_unchanged():
    board = board_from([".X...",
                        "X....",
                        ".....",
                        "...O.",
                        "..O.O"])
    before = picture(board)
    with pytest.raises(IllegalMoveError, match=r"white \(0, 0\) is suicide"):
        board.play(WHITE, (0, 0))
    with pytest.raises(IllegalMoveError, match=r"black \(4, 3\) is suicide"):
        board.play(BLACK, (4, 3))
    assert picture(board) == before and board.ko is None
    assert not board.legal(WHITE, (0, 0)) and not board.legal(BLACK, (4, 3))
    # The same points are legal for the owner of the surrounding stones.
    assert board.legal(WHITE, (4, 3)) and board.legal(BLACK, (0, 0))


def test_suicide_of_a_group_is_refused():
    board = board_from(["XO...",
                        ".O...",
                        "O....",
                        ".....",
                        "....."])
    # Black (1, 0) would join (0, 0) into a group of two without liberties.
    with pytest.raises(IllegalMoveError, match=r"black \(1, 0\) is suicide"):
        board.play(BLACK, (1, 0))
    assert picture(board)[:3] == ["XO...", ".O...", "O...."]
    assert board.play(WHITE, (1, 0)) == 1  # white may play there, taking (0, 0)


def test_a_move_without_liberties_that_captures_is_not_suicide():
    board = board_from([".XO..",
                        "XO...",
                        "O....",
                        ".....",
                        "....."])
    # White (0, 0) has no empty neighbour, but it takes the last liberty of the black
    # stones (0, 1) and (1, 0), and the captures give it liberties.
    assert board.play(WHITE, (0, 0)) == 2
    assert picture(board)[:2] == ["O.O..", ".O..."]
    assert board.liberties((0, 0)) == 2


def test_simple_ko_forbids_the_immediate_recapture_only():
    board = board_from([".XO..",
                        "X.XO.",
                        ".XO..",
                        ".....",
                        "....."])
    assert board.play(WHITE, (1, 1)) == 1  # takes black (1, 2): a ko
    assert board.ko == (1, 2)
    with pytest.raises(IllegalMoveError, match=r"black \(1, 2\) retakes the ko at once"):
        board.play(BLACK, (1, 2))
    assert not board.legal(BLACK, (1, 2)) and board.legal(WHITE, (1, 2))
    board.play(BLACK, (4, 4))  # a ko threat elsewhere
    board.play(WHITE, (4, 0))
    assert board.ko is None and board.play(BLACK, (1, 2)) == 1  # now it may retake
    assert board.ko == (1, 1)
    board.play(WHITE, None)  # a pass also lifts the ban
    assert board.ko is None


def test_taking_two_stones_is_not_ko():
    board = board_from(["XXO..",
                        "O.O..",
                        "OO...",
                        ".....",
                        "....."])
    assert board.play(WHITE, (1, 1)) == 2
    assert board.ko is None and board.legal(BLACK, (0, 0))


def test_board_errors():
    board = GoBoard(9)
    board.play(BLACK, (4, 4))
    with pytest.raises(IllegalMoveError, match=r"white \(4, 4\) is on an occupied point "
                                                r"\(black stone\)"):
        board.play(WHITE, (4, 4))
    with pytest.raises(ArgumentError, match=r"point \(9, 0\) is off the 9x9 board"):
        board.play(WHITE, (9, 0))
    with pytest.raises(TypeError, match=r"point must be a \(row, column\) tuple"):
        board.play(WHITE, "e5")
    with pytest.raises(ArgumentError, match=r"colour must be BLACK \(1\) or WHITE \(-1\). "
                                            r"Received: colour=2"):
        board.play(2, (0, 0))
    with pytest.raises(ArgumentError, match=r"size must be an int in 2..25. Received: "
                                            r"size=30"):
        GoBoard(30)


def test_group_ids_follow_merges_and_captures():
    board = GoBoard(5)
    for colour, point in [(BLACK, (2, 1)), (BLACK, (2, 3)), (WHITE, (0, 0)),
                          (BLACK, (2, 2))]:
        board.play(colour, point)
    ids = board.groups()
    assert ids[2, 1] == ids[2, 2] == ids[2, 3] != 0 and ids[0, 0] not in (0, ids[2, 2])
    assert (ids[board.stones() == 0] == 0).all()
    board.play(BLACK, (0, 1))
    board.play(BLACK, (1, 0))  # captures white (0, 0)
    assert board.groups()[0, 0] == 0 and board.stones()[0, 0] == 0


def test_vectorised_liberties_match_the_board_on_random_games():
    rng = np.random.default_rng(0)
    boards, ids, expected = [], [], []
    for size in (5, 7):
        for _ in range(6):
            board, colour = GoBoard(size), BLACK
            for t in range(size * size * 2):
                empties = [tuple(p) for p in np.argwhere(board.stones() == 0)]
                rng.shuffle(empties)
                move = next((p for p in empties if board.legal(colour, p)), None)
                board.play(colour, move)
                colour = -colour
                if t % 5 == 0 and size == 7:
                    boards.append(board.stones())
                    ids.append(board.groups())
                    expected.append([[board.liberties((r, c)) for c in range(size)]
                                     for r in range(size)])
    boards, ids, expected = np.stack(boards), np.stack(ids), np.array(expected)
    assert (boards != 0).sum() > 1000
    assert (group_liberties(boards) == expected).all()        # labels found by propagation
    assert (group_liberties(boards, ids) == expected).all()   # labels from the replay


def test_planes_from_the_movers_view():
    boards = np.zeros((2, 5, 5), np.int8)
    boards[:, 0, 0] = BLACK            # black corner stone: 2 liberties
    boards[:, 2, 2] = WHITE            # white centre stone: 4 liberties
    boards[:, 0, 1] = WHITE            # white (0, 1): liberties (0, 2), (1, 1)
    x = go_planes(boards, np.array([BLACK, WHITE]), ko=np.array([-1, 7]))
    assert x.shape == (2, len(PLANES), 5, 5) and x.dtype == torch.float32
    plane = {name: x[:, k] for k, name in enumerate(PLANES)}
    assert plane["own"][0, 0, 0] == 1 and plane["opponent"][1, 0, 0] == 1
    assert plane["own"][1, 2, 2] == 1 and plane["opponent"][0, 2, 2] == 1
    assert plane["empty"].sum().item() == 2 * 22
    # Black (0,0) has 1 liberty: (1,0). White (0,1): 2 liberties. White (2,2): 4.
    assert plane["own_1_liberty"][0, 0, 0] == 1 and plane["opponent_1_liberty"][1, 0, 0] == 1
    assert plane["opponent_2_liberties"][0, 0, 1] == 1 and plane["own_2_liberties"][1, 0, 1] == 1
    assert plane["opponent_3plus_liberties"][0, 2, 2] == 1
    assert plane["ko"][0].sum() == 0 and plane["ko"][1, 1, 2] == 1
    assert (plane["ones"] == 1).all()
    # Each stone is in exactly one liberty band; the three colour planes partition.
    bands = x[:, 3:9].sum(1)
    assert torch.equal(bands, x[:, 0] + x[:, 1]) and (x[:, :3].sum(1) == 1).all()
    with pytest.raises(ValueError, match=r"boards must be \(P, S, S\) and to_play \(P,\)"):
        go_planes(boards, np.array([1, 1, 1]))


def test_move_names():
    names = move_names(19)
    assert len(names) == 362 and names[0] == "A19" and names[8] == "J19"  # no letter I
    assert names[18 * 19 + 18] == "T1" and names[-1] == "pass"


# ----------------------------------------------------------------------------- SGF


def test_parse_sgf_properties_setup_passes_and_variations():
    text = r"""(;GM[1]FF[4]SZ[9]KM[5.5]PL[W]AB[aa][bb:cc]AW[ii]C[a \] bracket]
               ;W[ee];B[tt];W[]
               (;B[dd]C[main])(;B[ff];W[gg]))"""
    [game] = parse_sgf(text, "t.sgf")
    assert game.size == 9 and game.komi == 5.5 and game.first_player == WHITE
    assert sorted(game.setup) == sorted([(BLACK, (0, 0)), (BLACK, (1, 1)), (BLACK, (1, 2)),
                                         (BLACK, (2, 1)), (BLACK, (2, 2)), (WHITE, (8, 8))])
    # Main line: the first variation; 'tt' and '' are passes on boards up to 19x19.
    assert game.moves == ((WHITE, (4, 4)), (BLACK, None), (WHITE, None), (BLACK, (3, 3)))
    assert game.comments == "main"
    out = replay(game)
    assert out["boards"][0, 1, 2] == BLACK and out["to_play"].tolist() == [-1, 1, -1, 1]
    assert out["moves"].tolist() == [40, 81, 81, 30]


def test_parse_sgf_collection_defaults_and_whitespace():
    games = parse_sgf("(;B[dp])\n\n  (;SZ[ 9 ]\n;B[aa]\n;W[bb])\n", "two.sgf")
    assert [g.size for g in games] == [19, 9] and games[0].komi == 0.0
    assert games[0].moves == ((BLACK, (15, 3)),) and games[1].source == "two.sgf, game 2"


@pytest.mark.parametrize("text, message", [
    ("(;SZ[9];B[ee]", r"bad.sgf: line 1: the file ends inside a game tree; a '\)' is missing"),
    ("(;SZ[9];B[ee]))", r"bad.sgf: line 1: '\)' closes no game tree"),
    ("(;SZ[9]\n;B[ee];W[zz])", r"bad.sgf, move 2: W: 'zz' is not a point of the 9x9 board"),
    ("(;SZ[9];B[ee];W[ee])", r"bad.sgf, move 2: white \(4, 4\) is on an occupied point"),
    ("(;SZ[9];B[ee]W[ff])", r"bad.sgf, move 1: one node holds both a B and a W move"),
    ("(;SZ[9];B[ee];AB[aa])", r"bad.sgf, move 2: setup stones \(AB/AW/AE\) after the first "
                             r"node are not supported"),
    ("(;SZ[9x9])", r"bad.sgf: SZ\[9x9\] is not a board size"),
    ("(;SZ[9]KM[six])", r"bad.sgf: KM\[six\] is not a number"),
    ("(;GM[2])", r"bad.sgf: GM\[2\] is not a game of Go"),
    ("(;SZ[9]\n\n;B[ee] ?)", r"bad.sgf: line 3: cannot read '\?\)'"),
    ("   ", r"bad.sgf: no game tree found"),
    ("(B[aa])", r"bad.sgf: line 1: property B before the first node"),
])
def test_malformed_sgf_names_file_and_move(text, message):
    with pytest.raises(SgfError, match=message):
        for game in parse_sgf(text, "bad.sgf"):
            replay(game)


def test_illegal_move_in_a_collection_names_the_game_and_move():
    text = "(;SZ[5];B[aa])(;SZ[5];B[ba];W[cc];B[ab];W[aa])"
    games = parse_sgf(text, "c.sgf")
    replay(games[0])
    with pytest.raises(SgfError, match=r"c.sgf, game 2, move 4: white \(0, 0\) is suicide"):
        replay(games[1])


def test_read_sgf_files(tmp_path):
    (tmp_path / "g.sgf").write_text("(;SZ[9];B[ee])")
    (tmp_path / "g.sgf.xz").write_bytes(lzma.compress(b"(;SZ[9];B[ee];W[dd])"))
    assert len(read_sgf(tmp_path / "g.sgf")[0].moves) == 1
    assert len(read_sgf(tmp_path / "g.sgf.xz")[0].moves) == 2
    (tmp_path / "bad.sgf").write_bytes(b"\xff\xfe(")
    with pytest.raises(DataFileError, match=r"Cannot read the SGF file .*bad.sgf"):
        read_sgf(tmp_path / "bad.sgf")
    with pytest.raises(DataFileError, match=r"Cannot read the SGF file .*none.sgf"):
        read_sgf(tmp_path / "none.sgf")


# ----------------------------------------------------------------------------- bundled games


def _final_from_comment(game) -> np.ndarray:
    match = re.fullmatch(r"final position B: ([a-s ]*); W: ([a-s ]*)", game.comments)
    board = np.zeros((game.size, game.size), np.int8)
    for colour, points in ((BLACK, match.group(1)), (WHITE, match.group(2))):
        for p in points.split():
            board["abcdefghijklmnopqrs".index(p[1]), "abcdefghijklmnopqrs".index(p[0])] = colour
    return board


@pytest.mark.parametrize("name", ["go9", "go19"])
def test_every_bundled_game_replays_to_gnugos_final_position(name):
    info = dataset_info(name)
    raw = (registry._FILES_DIR / info.file).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == info.sha256
    games = bundled_games(name)
    size = 9 if name == "go9" else 19
    assert len(games) >= (400 if size == 9 else 40)
    captures = 0
    for game in games:
        assert game.size == size and game.komi == 6.5 and not game.setup
        out = replay(game)  # raises on any illegal move
        assert (out["final"] == _final_from_comment(game)).all(), game.source
        stones_played = sum(1 for _, p in game.moves if p is not None)
        captures += stones_played - int((out["final"] != 0).sum())
    assert captures > 0  # the games do exercise captures
    # Different seeds gave different games.
    assert len({g.moves for g in games}) == len(games)


def test_load_go9_splits_by_game():
    info = dataset_info("go9")
    train, test = load_go("go9", "train"), load_dataset("go9", "test")
    assert (len(train), len(test)) == (info.sizes["train"], info.sizes["test"])
    assert train.x.shape[1:] == (len(PLANES), 9, 9) == info.input_shape
    assert train.x.dtype == torch.float32 and train.y.dtype == torch.int64
    assert train.num_classes == 82 and int(train.y.max()) <= 81
    assert train.classes == test.classes == info.classes == move_names(9)
    assert int((train.y == 81).sum()) > 0  # passes are moves too
    n_games = len(bundled_games("go9"))
    assert train.info["games"] + test.info["games"] == n_games
    assert test.info["games"] == n_games // 5
    # The move played is always on an empty point (or a pass) of the mover's view.
    for ds in (train, test):
        on_board = ds.y < 81
        empty = ds.x[:, PLANES.index("empty")].flatten(1)
        assert bool(empty[on_board.nonzero()[:, 0], ds.y[on_board]].all())
        ko = ds.x[:, PLANES.index("ko")].flatten(1)
        assert not bool(ko[on_board.nonzero()[:, 0], ds.y[on_board]].any())
    # Positions before the first move of each game are empty boards: black to move.
    assert int((train.x[:, 2].flatten(1).sum(1) == 81).sum()) == train.info["games"]


def test_load_go_errors():
    with pytest.raises(ArgumentError, match=r"name must be one of 'go9', 'go19'. Received: "
                                            r"name='digits'"):
        load_go("digits")
    with pytest.raises(ArgumentError, match=r"split must be one of"):
        load_go("go9", "validation")


def test_corrupt_go_file_is_reported(tmp_path, monkeypatch):
    name = dataset_info("go9").file
    shutil.copy(registry._FILES_DIR / name, tmp_path / name)
    monkeypatch.setattr(registry, "_FILES_DIR", tmp_path)
    monkeypatch.setattr(go_module, "_GAMES", {})
    monkeypatch.setattr(go_module, "_REPLAYED", {})
    (tmp_path / name).write_bytes((tmp_path / name).read_bytes()[:-10])
    with pytest.raises(DataFileError, match=r"data file of 'go9' is corrupt"):
        load_go("go9", "test")
