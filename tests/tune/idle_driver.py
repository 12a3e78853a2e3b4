"""``python -m tests.tune.idle_driver ARGS...``: a stand-in for a study's size driver that starts in no time.

It prints its arguments, then waits for SIGINT (at most 60 s) and exits 130 as an interrupted sweep does; with
``--exit N`` among its arguments it exits N at once instead; with ``--ready PATH`` it creates PATH once it
handles SIGINT.
"""

from __future__ import annotations

import signal
import sys
import time


def main(argv: list[str]) -> int:
    print("args " + " ".join(argv), flush=True)
    if "--exit" in argv:
        return int(argv[argv.index("--exit") + 1])
    stopped = []
    signal.signal(signal.SIGINT, lambda signum, frame: stopped.append(signum))
    if "--ready" in argv:
        open(argv[argv.index("--ready") + 1], "w").close()
    deadline = time.time() + 60
    while not stopped and time.time() < deadline:
        time.sleep(0.05)
    print("interrupted: continue with --resume", file=sys.stderr, flush=True)
    return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
