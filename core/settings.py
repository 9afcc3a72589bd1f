"""Settings, read once from environment variables (documented in the README)."""

from __future__ import annotations

import base64
import binascii
import hmac
import importlib
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite://data/riverchief.sqlite3"
DEFAULT_EXPLORER_DIR = "explorer"  # the checkout's npm project; `npm ci --prefix explorer`
DEFAULT_CLOCK_SKEW_SECONDS = 300  # a record may be dated this far past the server's clock
DEFAULT_EVIDENCE_MAX_BYTES = 10 * 1024 * 1024  # a phone's photo, or a scanned page as PDF
DEFAULT_EVIDENCE_DIR = "data/evidence"  # beside the default SQLite database
DEV_SECRET_NOTICE = "RIVERCHIEF_SECRET is not set: using a random secret for this process only"  # noqa: S105 - a message, not a secret
LOG_FORMATS = ("text", "json")
OTEL_MISSING = (
    "RIVERCHIEF_TRACING is on but OpenTelemetry is not installed: "
    "pip install 'riverchief[otel]' (or turn RIVERCHIEF_TRACING off)"
)
_TOKEN_CHARACTERS = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces: header-safe
FORWARDED_ALLOW_IPS_RETIRED = (
    "FORWARDED_ALLOW_IPS is no longer read: name the reverse proxies whose X-Forwarded-For"
    " riverchief may believe in RIVERCHIEF_TRUSTED_PROXIES (docs/deploy.md), or unset it"
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


AUDIT_KEY_NOTICE = (
    "RIVERCHIEF_AUDIT_KEY is not set: audit checkpoints are signed with the public development"
    " key (riverchief-audit-dev-…), which proves nothing"
)


class SettingsError(RuntimeError):
    """The environment describes a configuration the service must not start with."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _positive(env_vars: Mapping[str, str], name: str, default: int) -> int:
    raw = env_vars.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number") from exc
    if value <= 0:
        raise SettingsError(f"{name} must be positive")
    return value


def _seconds(env_vars: Mapping[str, str], name: str, default: int) -> int:
    raw = env_vars.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number of seconds") from exc
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value


def _origins(raw: str) -> tuple[str, ...]:
    """Comma-separated origins such as ``https://dash.example.org``; ``*`` is refused."""
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin == "*" or not origin.startswith(("https://", "http://")):
            raise SettingsError(
                "RIVERCHIEF_CORS_ORIGINS lists origins like https://app.example.org,"
                f" not {origin!r}"
            )
    return origins


def _log_format(env_vars: Mapping[str, str], production: bool) -> str:
    raw = env_vars.get("RIVERCHIEF_LOG_FORMAT", "").strip().lower()
    if not raw:
        return "json" if production else "text"
    if raw not in LOG_FORMATS:
        raise SettingsError(f"RIVERCHIEF_LOG_FORMAT must be text or json, not {raw!r}")
    return raw


def _metrics(env_vars: Mapping[str, str], production: bool, secret: str) -> tuple[bool, str]:
    """Whether ``/metrics`` is served, and the bearer token it asks for ('' for none).

    Off in production unless a token is set: the figures (operation names, error and denial
    rates, activity) are nobody's business outside the operators.
    """
    token = env_vars.get("RIVERCHIEF_METRICS_TOKEN", "")
    if token:
        if len(token) < 32 or not _TOKEN_CHARACTERS.match(token):
            raise SettingsError(
                "RIVERCHIEF_METRICS_TOKEN must be at least 32 printable characters, no spaces"
            )
        if hmac.compare_digest(token.encode(), secret.encode()):
            raise SettingsError("RIVERCHIEF_METRICS_TOKEN must not be RIVERCHIEF_SECRET")
    enabled = _flag(env_vars.get("RIVERCHIEF_METRICS"), not production or bool(token))
    if enabled and production and not token:
        raise SettingsError(
            "RIVERCHIEF_METRICS_TOKEN must be set to serve /metrics when"
            " RIVERCHIEF_ENV=production (or set RIVERCHIEF_METRICS=off)"
        )
    return enabled, token


def _multiprocess_dir(env_vars: Mapping[str, str]) -> str:
    """prometheus-client's own variable: each worker writes its metrics in files there."""
    raw = env_vars.get("PROMETHEUS_MULTIPROC_DIR", "")
    if raw and not (os.path.isdir(raw) and os.access(raw, os.W_OK | os.X_OK)):
        raise SettingsError(f"PROMETHEUS_MULTIPROC_DIR {raw!r} is not a writable directory")
    return raw


def _trusted_proxies(env_vars: Mapping[str, str]) -> tuple[Network, ...]:
    """The reverse proxies whose ``X-Forwarded-For`` is believed: addresses or networks.

    None by default: the client's address is then the socket peer, whatever headers say.
    uvicorn's own ``FORWARDED_ALLOW_IPS`` trusted 127.0.0.1 by default; a deployment that set
    it is told to move, rather than have every client silently share its proxy's address.
    """
    raw = env_vars.get("RIVERCHIEF_TRUSTED_PROXIES", "")
    if not raw.strip() and env_vars.get("FORWARDED_ALLOW_IPS", "").strip():
        raise SettingsError(FORWARDED_ALLOW_IPS_RETIRED)
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise SettingsError(
                "RIVERCHIEF_TRUSTED_PROXIES lists addresses or networks such as 127.0.0.1 or"
                f" 172.16.0.0/12, not {item!r}"
            ) from exc
        if network.prefixlen == 0:
            raise SettingsError(
                "RIVERCHIEF_TRUSTED_PROXIES must not trust every address: any client could"
                " then claim any address"
            )
        networks.append(network)
    return tuple(networks)


def _key_bytes(name: str, raw: str) -> bytes:
    try:
        value = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        value = b""
    if len(value) != 32:
        raise SettingsError(f"{name} must be the base64 of 32 bytes")
    return value


AUDIT_KEY_CREDENTIAL = "riverchief-audit-key"


def _credential(env_vars: Mapping[str, str], name: str) -> str:
    """A secret handed over as a file in ``$CREDENTIALS_DIRECTORY`` (systemd's
    ``LoadCredential=``, or any supervisor that does the same), so that it never sits in the
    environment; empty when there is none."""
    directory = env_vars.get("CREDENTIALS_DIRECTORY", "")
    if not directory:
        return ""
    path = Path(directory) / name
    try:
        return path.read_text(encoding="ascii")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeError) as exc:
        raise SettingsError(f"cannot read the credential {path}: {exc}") from exc


def _audit_keys(env_vars: Mapping[str, str], production: bool) -> tuple[bytes, tuple[bytes, ...]]:
    """The Ed25519 seed that signs audit checkpoints (b'' for the development key), and the
    public keys of retired signing keys, still good for verifying what they signed. The seed
    comes from ``RIVERCHIEF_AUDIT_KEY``, or else from the credential file
    ``riverchief-audit-key``."""
    raw = env_vars.get("RIVERCHIEF_AUDIT_KEY", "") or _credential(env_vars, AUDIT_KEY_CREDENTIAL)
    if not raw.strip() and production:
        raise SettingsError(
            "RIVERCHIEF_AUDIT_KEY (or the credential file $CREDENTIALS_DIRECTORY/"
            f"{AUDIT_KEY_CREDENTIAL}) must be set when RIVERCHIEF_ENV=production: the base64 of"
            " a 32-byte Ed25519 seed (docs/audit.md says how to make one)"
        )
    seed = _key_bytes("RIVERCHIEF_AUDIT_KEY", raw) if raw.strip() else b""
    retired = tuple(
        _key_bytes("RIVERCHIEF_AUDIT_OLD_KEYS (each public key)", item)
        for item in env_vars.get("RIVERCHIEF_AUDIT_OLD_KEYS", "").split(",")
        if item.strip()
    )
    return seed, retired


def _tracing(env_vars: Mapping[str, str]) -> bool:
    enabled = _flag(env_vars.get("RIVERCHIEF_TRACING"), False)
    if enabled:
        try:
            importlib.import_module("opentelemetry.trace")
        except ImportError as exc:
            raise SettingsError(OTEL_MISSING) from exc
    return enabled


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret: str
    secret_generated: bool
    env: str
    debug: bool
    graphiql: bool
    introspection: bool
    token_ttl_seconds: int
    max_depth: int = 15
    max_aliases: int = 30
    max_cost: int = 50_000
    max_tokens: int = 5_000
    max_body_bytes: int = 256 * 1024
    operations_file: str = ""
    cors_origins: tuple[str, ...] = ()
    log_format: str = "text"
    metrics: bool = True
    metrics_token: str = field(default="", repr=False)
    metrics_multiprocess_dir: str = ""
    tracing: bool = False
    trusted_proxies: tuple[Network, ...] = ()
    audit_key: bytes = field(default=b"", repr=False)  # b'': the development key
    audit_old_keys: tuple[bytes, ...] = ()
    compiled_reads: bool = True
    explorer_dir: Path = Path(DEFAULT_EXPLORER_DIR)
    clock_skew_seconds: int = DEFAULT_CLOCK_SKEW_SECONDS
    evidence_dir: Path = Path(DEFAULT_EVIDENCE_DIR)
    evidence_max_bytes: int = DEFAULT_EVIDENCE_MAX_BYTES

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env_vars = os.environ if environ is None else environ
        env = env_vars.get("RIVERCHIEF_ENV", "development").strip().lower()
        if env not in {"development", "production", "test"}:
            raise SettingsError(
                f"RIVERCHIEF_ENV must be development, production or test, not {env!r}"
            )
        production = env == "production"
        secret = env_vars.get("RIVERCHIEF_SECRET", "")
        generated = False
        if not secret:
            if production:
                raise SettingsError("RIVERCHIEF_SECRET must be set when RIVERCHIEF_ENV=production")
            secret, generated = secrets.token_urlsafe(48), True
        elif len(secret) < 32:
            raise SettingsError("RIVERCHIEF_SECRET must be at least 32 characters long")
        try:
            ttl = int(env_vars.get("RIVERCHIEF_TOKEN_TTL", "28800"))
        except ValueError as exc:
            raise SettingsError("RIVERCHIEF_TOKEN_TTL must be a number of seconds") from exc
        if ttl <= 0:
            raise SettingsError("RIVERCHIEF_TOKEN_TTL must be positive")
        operations_file = env_vars.get("RIVERCHIEF_OPERATIONS_FILE", "")
        if operations_file and not os.path.isfile(operations_file):
            raise SettingsError(f"RIVERCHIEF_OPERATIONS_FILE {operations_file!r} does not exist")
        metrics, metrics_token = _metrics(env_vars, production, secret)
        audit_key, audit_old_keys = _audit_keys(env_vars, production)
        return cls(
            database_url=env_vars.get("DATABASE_URL", "") or DEFAULT_DATABASE_URL,
            secret=secret,
            secret_generated=generated,
            env=env,
            debug=_flag(env_vars.get("RIVERCHIEF_DEBUG"), False),
            graphiql=_flag(env_vars.get("RIVERCHIEF_GRAPHIQL"), not production),
            introspection=_flag(env_vars.get("RIVERCHIEF_INTROSPECTION"), not production),
            token_ttl_seconds=ttl,
            max_depth=_positive(env_vars, "RIVERCHIEF_MAX_DEPTH", 15),
            max_aliases=_positive(env_vars, "RIVERCHIEF_MAX_ALIASES", 30),
            max_cost=_positive(env_vars, "RIVERCHIEF_MAX_COST", 50_000),
            max_tokens=_positive(env_vars, "RIVERCHIEF_MAX_TOKENS", 5_000),
            max_body_bytes=_positive(env_vars, "RIVERCHIEF_MAX_BODY_BYTES", 256 * 1024),
            operations_file=operations_file,
            cors_origins=_origins(env_vars.get("RIVERCHIEF_CORS_ORIGINS", "")),
            log_format=_log_format(env_vars, production),
            metrics=metrics,
            metrics_token=metrics_token,
            metrics_multiprocess_dir=_multiprocess_dir(env_vars),
            tracing=_tracing(env_vars),
            trusted_proxies=_trusted_proxies(env_vars),
            audit_key=audit_key,
            audit_old_keys=audit_old_keys,
            compiled_reads=_flag(env_vars.get("RIVERCHIEF_COMPILED"), True),
            explorer_dir=Path(env_vars.get("RIVERCHIEF_EXPLORER_DIR", "") or DEFAULT_EXPLORER_DIR),
            clock_skew_seconds=_seconds(
                env_vars, "RIVERCHIEF_CLOCK_SKEW", DEFAULT_CLOCK_SKEW_SECONDS
            ),
            evidence_dir=_evidence_dir(env_vars),
            evidence_max_bytes=_positive(
                env_vars, "RIVERCHIEF_EVIDENCE_MAX_BYTES", DEFAULT_EVIDENCE_MAX_BYTES
            ),
        )


def _evidence_dir(env_vars: Mapping[str, str]) -> Path:
    """Where uploaded evidence is kept: ``RIVERCHIEF_EVIDENCE_DIR``, else an ``evidence``
    folder beside the SQLite database file (``./data/evidence`` for the default one, and for
    a database that is not a file)."""
    raw = env_vars.get("RIVERCHIEF_EVIDENCE_DIR", "").strip()
    if raw:
        return Path(raw).expanduser()
    database_url = env_vars.get("DATABASE_URL", "") or DEFAULT_DATABASE_URL
    prefix = "sqlite://"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        return Path(database_url[len(prefix) :]).expanduser().parent / "evidence"
    return Path(DEFAULT_EVIDENCE_DIR)


def ensure_sqlite_directory(database_url: str) -> None:
    """An SQLite file under ``./data/`` needs its folder before the first connection."""
    prefix = "sqlite://"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        Path(database_url[len(prefix) :]).expanduser().parent.mkdir(parents=True, exist_ok=True)
