"""ServeConfig: every setting of the HTTP service in one small object.

Read from the environment (uvicorn starts each worker by importing `colorizer.serving.api:app`,
so the environment is what reaches every worker); `python -m colorizer.serving` turns its flags
into these variables first. Weights are found as everywhere else (infer.resolve_weights:
$COLORIZER_WEIGHTS, else the best in $COLORIZER_WEIGHTS_DIR, default weights/); POST /sketch's
classifier is jewelry_classifier.pt in that folder, its paired weights the folder's best (sketch_app).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

MB = 2**20

# environment variable -> (field, type); the one list the flags, the docs and from_env share
ENV = {
    "COLORIZER_RESULTS_DIR": "results_dir",
    "COLORIZER_API_OPEN": "open",
    "COLORIZER_MAX_RUNNING": "max_running",
    "COLORIZER_MAX_WAITING": "max_waiting",
    "COLORIZER_WAIT_TIMEOUT": "wait_timeout",
    "COLORIZER_UPLOAD_TIMEOUT": "upload_timeout",
    "COLORIZER_RESULTS_PER_USER": "per_user_count",
    "COLORIZER_RESULTS_PER_USER_MB": "per_user_mb",
    "COLORIZER_RESULTS_TOTAL": "total_count",
    "COLORIZER_RESULTS_TOTAL_MB": "total_mb",
    "COLORIZER_DEVICE": "device",
}
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable or flag and the value."""


@dataclass(frozen=True)
class ServeConfig:
    results_dir: Path = Path("results")  # results.db (index and API key hashes) and the PNGs
    open: bool = False  # True: no API keys, the form's user_id decides (local use only)
    max_running: int = 1  # photos colorized at once, per worker process
    max_waiting: int = 8  # requests queued behind them, per worker; beyond: 503 at once
    wait_timeout: float = 60.0  # seconds a request may wait for its turn before a 503
    upload_timeout: float = 60.0  # seconds a request's whole body may take to come in before a 408
    per_user_count: int = 50  # results kept per user, oldest dropped first...
    per_user_mb: float = 500.0  # ...and their bytes
    total_count: int = 5000  # results kept in all
    total_mb: float = 4096.0
    device: str = "auto"
    weights: Path | None = None  # None: infer.resolve_weights decides, as for the CLI and the page
    weights_dir: Path | None = None
    classifier: Path | None = None  # POST /sketch's; None: jewelry_classifier.pt in the weights folder

    def __post_init__(self):
        def bad(name: str, rule: str) -> ConfigError:
            var = next(v for v, f in ENV.items() if f == name)
            return ConfigError(f"{name} ({var}, --{var[10:].lower().replace('_', '-')}) = {getattr(self, name)}: "
                               f"must be {rule}")

        for name in ("max_running", "per_user_count", "total_count"):
            if getattr(self, name) < 1:
                raise bad(name, "at least 1")
        if self.max_waiting < 0:
            raise bad("max_waiting", "0 or more")
        for name in ("wait_timeout", "upload_timeout", "per_user_mb", "total_mb"):
            if not getattr(self, name) > 0:
                raise bad(name, "above 0")
        object.__setattr__(self, "results_dir", Path(self.results_dir).expanduser().resolve())

    @property
    def db_path(self) -> Path:
        return self.results_dir / "results.db"

    @property
    def per_user_bytes(self) -> int:
        return int(self.per_user_mb * MB)

    @property
    def total_bytes(self) -> int:
        return int(self.total_mb * MB)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "ServeConfig":
        """Defaults, then the COLORIZER_* variables that are set, then overrides (flags, tests)."""
        environ = os.environ if environ is None else environ
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        values = {}
        for var, name in ENV.items():
            if var in environ:
                values[name] = _parse(var, environ[var], types[name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _parse(var: str, text: str, kind: str):
    text = text.strip()
    try:
        if kind == "bool":
            if text.lower() not in TRUE | FALSE:
                raise ValueError
            return text.lower() in TRUE
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "Path":
            if not text:
                raise ValueError
            return Path(text)
        return text
    except ValueError:
        raise ConfigError(f"{var}={text!r}: not a valid {kind}") from None
