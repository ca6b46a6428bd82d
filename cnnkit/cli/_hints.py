"""Hints that only Python can follow, reworded for a command-line user.

The library's messages say how to fix a mistake in Python (``Pass x_key=<one of
these>``, ``Pass scale=...``); where the command line has no flag for that argument, the
hint says what to change in the file instead, and which Python call takes the argument.
"""

from __future__ import annotations

import re

__all__ = ["PYTHON_ONLY", "reword_python_hints"]

PYTHON_ONLY = (
    (re.compile(r"Pass (x_key|y_key)=<one of these>\."),
     lambda m: (f"Save the {'samples' if m.group(1) == 'x_key' else 'targets'} under the name "
                f"{m.group(1)[0]} (np.savez(file, x=..., y=...)), or read the file in Python "
                f"with cnnkit.data.load_npz(file, {m.group(1)}=...).")),
    (re.compile(r"Pass scale=<the largest possible value> to divide by it, scale=None to keep "
                r"the values as numbers, or scale='tokens' for token ids\."),
     lambda m: ("Divide the values by their largest possible value before saving the file (the "
                "command line reads numbers in [0, 1], 8-bit and 16-bit values), or build the "
                "data in Python with cnnkit.data.as_dataset(x, y, scale=...).")),
)


def reword_python_hints(message: str) -> str:
    """``message`` with its Python-only hints replaced by command-line ones.

    Example:
        >>> reword_python_hints("The file holds: 'images'. Pass x_key=<one of these>.")
        "The file holds: 'images'. Save the samples under the name x (np.savez(file, x=..., y=...)), or read the file in Python with cnnkit.data.load_npz(file, x_key=...)."
    """
    for pattern, replace in PYTHON_ONLY:
        message = pattern.sub(replace, message)
    return message
