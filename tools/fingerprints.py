"""Check or refresh ``bench/fingerprints.json``: each versioned component's version and source digest
(``bench.versions``).

    python -m tools.fingerprints                  # list what changed since the file was written; exit 1 if anything
    python -m tools.fingerprints --update         # record the current state; refused for a component whose source
                                                  # changed under an unchanged version
    python -m tools.fingerprints --update --same-numbers   # ... unless the change cannot alter any number
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.store import save_json
from bench.versions import FINGERPRINTS, current, stale


def recorded() -> dict:
    return json.loads(FINGERPRINTS.read_text()) if FINGERPRINTS.is_file() else {}


def unversioned(old: dict, now: dict) -> list[str]:
    """Components whose source changed while their version did not."""
    return [name for name in now if name in old and old[name]["sha256"] != now[name]["sha256"]
            and old[name]["version"] == now[name]["version"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fingerprints", description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="write the current fingerprints")
    parser.add_argument("--same-numbers", action="store_true",
                        help="with --update: the source changes cannot alter any number, so the versions stay")
    args = parser.parse_args(argv)
    old, now = recorded(), current()
    problems = stale(old, now)
    if not args.update:
        print("\n".join(problems) if problems else f"{FINGERPRINTS}: up to date")
        return 1 if problems else 0
    silent = unversioned(old, now)
    if silent and not args.same_numbers:
        print("refused: source changed under an unchanged version:\n  " + "\n  ".join(silent) + "\nraise their "
              "VERSION if the change can alter numbers, or pass --same-numbers if it cannot", file=sys.stderr)
        return 1
    save_json(now, FINGERPRINTS)
    print(f"wrote {FINGERPRINTS} ({len(now)} components)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
