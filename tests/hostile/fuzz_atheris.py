"""Coverage-guided fuzzing of the spec loader or the viewer's JSON API with atheris.

The targets are ``atheris_target`` in tests/test_fuzz_spec.py and tests/test_fuzz_serve.py
(the same checks as their hypothesis tests); this script instruments PyYAML and cnnkit's
spec and serve packages (not PyTorch: too large to instrument, and not what is fuzzed)
before they are imported, so the fuzzer is led by their branches. A crash is saved under
``-artifact_prefix`` (default out/fuzz/): turn it into a corpus entry in this folder.

Needs ``pip install atheris`` (a binary wheel; the test suite does not need it).

Run: ``python tests/hostile/fuzz_atheris.py spec|viewer -max_total_time=300``
"""

from __future__ import annotations

import importlib
import os
import pathlib
import sys

TESTS = pathlib.Path(__file__).resolve().parent.parent
TARGETS = {"spec": "test_fuzz_spec", "viewer": "test_fuzz_serve"}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        raise SystemExit(f"usage: {sys.argv[0]} {'|'.join(TARGETS)} [libFuzzer flags]")
    target = sys.argv.pop(1)
    import atheris

    with atheris.instrument_imports(include=["yaml", "cnnkit.spec", "cnnkit.serve"]):
        import yaml  # noqa: F401

        import cnnkit.serve.api  # noqa: F401
        import cnnkit.serve.viewer  # noqa: F401
        import cnnkit.spec  # noqa: F401
    sys.path.insert(0, str(TESTS))
    module = importlib.import_module(TARGETS[target])
    if target == "viewer":
        module.viewer_api()  # train the small run before fuzzing starts
    prefixes = [a.split("=", 1)[1] for a in sys.argv if a.startswith("-artifact_prefix=")]
    if not prefixes:
        prefixes = ["out/fuzz/"]
        sys.argv.append("-artifact_prefix=out/fuzz/")
    os.makedirs(os.path.dirname(prefixes[-1]) or ".", exist_ok=True)
    atheris.Setup(sys.argv, module.atheris_target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
