"""`python -m colorizer.serving`: the HTTP API under uvicorn, its settings as flags.

Each flag sets the environment variable config.ServeConfig reads (shown in --help), so every
uvicorn worker starts with the same settings; an unset flag leaves the variable as it is.
"""
from __future__ import annotations

import argparse
import os
import sys

from .config import ENV, ConfigError, ServeConfig
from .store import ResultStore, StoreError

FLAGS = {  # flag -> (environment variable, help)
    "--results-dir": ("COLORIZER_RESULTS_DIR", "results folder: results.db and the PNGs (default results)"),
    "--max-running": ("COLORIZER_MAX_RUNNING", "photos colorized at once, per worker (default 1)"),
    "--max-waiting": ("COLORIZER_MAX_WAITING", "requests waiting their turn, per worker; beyond: 503 (default 8)"),
    "--wait-timeout": ("COLORIZER_WAIT_TIMEOUT", "seconds a request may wait before a 503 (default 60)"),
    "--upload-timeout": ("COLORIZER_UPLOAD_TIMEOUT", "seconds a request's whole upload may take; beyond: 408 "
                                                     "(default 60)"),
    "--results-per-user": ("COLORIZER_RESULTS_PER_USER", "results kept per user, oldest dropped (default 50)"),
    "--results-per-user-mb": ("COLORIZER_RESULTS_PER_USER_MB", "and their MB (default 500)"),
    "--results-total": ("COLORIZER_RESULTS_TOTAL", "results kept in all (default 5000)"),
    "--results-total-mb": ("COLORIZER_RESULTS_TOTAL_MB", "and their MB (default 4096)"),
    "--device": ("COLORIZER_DEVICE", "auto, cpu, cuda, mps (default auto)"),
}
assert {var for var, _ in FLAGS.values()} | {"COLORIZER_API_OPEN"} == set(ENV)
MAX_HEADER_BYTES = 64 * 1024  # a request's line and headers unparsed at most (h11); beyond: 400, closed


def server_settings() -> dict:
    """uvicorn's settings beyond host, port and workers: the pure-Python h11 parser whatever else is installed
    (httptools, when present, would take headers of any size), with its header limit."""
    return {"http": "h11", "h11_max_incomplete_event_size": MAX_HEADER_BYTES, "timeout_keep_alive": 5}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m colorizer.serving", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="default %(default)s; 0.0.0.0 serves other machines")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default %(default)s)")
    p.add_argument("--open", action="store_true",
                   help="$COLORIZER_API_OPEN=1: no API keys, the form's user_id decides (local use only)")
    for flag, (var, text) in FLAGS.items():
        p.add_argument(flag, help=f"${var}: {text}")
    args = p.parse_args(argv)
    for flag, (var, _) in FLAGS.items():
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            os.environ[var] = value
    if args.open:
        os.environ["COLORIZER_API_OPEN"] = "1"
    try:  # a bad value or folder is one line here, not a traceback in every worker
        config = ServeConfig.from_env()
        removed = ResultStore.from_config(config).prepare()
    except (ConfigError, StoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if removed:  # said here: the workers' own check at start finds them gone
        print(f"{config.results_dir}: {removed} leftover files of an interrupted write removed "
              f"(temp files and unindexed PNGs over an hour old)", file=sys.stderr)
    import uvicorn

    uvicorn.run("colorizer.serving.api:app", host=args.host, port=args.port, workers=args.workers,
                **server_settings())
    return 0


if __name__ == "__main__":
    sys.exit(main())
