"""The Hypothesis example database that proofs and campaigns share: one URL, one object.

``open_database(url)`` turns a URL into a `hypothesis.database.ExampleDatabase`:

* ``redis://[[user]:password@]host[:port][/db]`` and ``rediss://…`` (TLS) use
  `hypothesis.extra.redis.RedisExampleDatabase` (the ``redis`` package, extra ``[campaign]``).
  The password comes from the URL or, when the URL has none, from the environment variable
  ``GRADCHECK_REDIS_PASSWORD``. TLS options ride in the query: ``ssl_ca_certs``,
  ``ssl_cert_reqs``, ``ssl_certfile``, ``ssl_keyfile``; no other query parameter is accepted.
* anything else is a directory: `hypothesis.database.DirectoryBasedExampleDatabase`.
* ``read_only=True`` wraps it in `ReadOnlyDatabase` (CI replays without writing);
  ``mirror=DIR`` puts a local directory beside it with `MultiplexedDatabase`: every write goes
  to both, so a shared database that is lost mid-run loses nothing already recorded.

A shared (Redis) database is wrapped in `SharedDatabase`: if the server goes away mid-run, the
first failing call logs one line (``lost``), and from then on the shared half reads as empty
and drops writes, so the run carries on with the mirror. Losses are also appended to the file
named by ``GRADCHECK_DATABASE_EVENTS`` (one JSON object a line), which is how ``gradcheck
prove``, the plugin and ``gradcheck campaign`` learn of a loss in another process.

Security: a password never reaches a message, a log line or a report (`DatabaseURL.masked`).
What the database holds is only ever handed to Hypothesis as the byte strings it replays;
nothing read from it is unpickled or evaluated, here or in Hypothesis.

One object per URL per process (`open_database` caches): HypoFuzz fuzzes only tests whose
database *equals* ``settings().database`` and re-collects the tests inside each worker, and two
``RedisExampleDatabase`` objects for one server compare unequal (redis-py's retry objects
differ). `SharedDatabase` therefore compares by URL, and the cache returns the same object.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

from gradcheck._errors import GradcheckError

__all__ = [
    "EVENTS_ENV",
    "PASSWORD_ENV",
    "DatabaseError",
    "DatabaseURL",
    "DatabaseURLError",
    "DatabaseUnavailable",
    "SharedDatabase",
    "lost_events",
    "open_database",
    "parse_url",
    "unreachable",
]

PASSWORD_ENV = "GRADCHECK_REDIS_PASSWORD"
EVENTS_ENV = "GRADCHECK_DATABASE_EVENTS"
# A dead or firewalled server must give an error, not a hang: connecting may take this long,
# one command this long (Hypothesis's commands are single set operations on small sets).
CONNECT_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 10.0
_TLS_QUERY = ("ssl_ca_certs", "ssl_cert_reqs", "ssl_certfile", "ssl_keyfile")


class DatabaseError(GradcheckError):
    """The example database cannot be used (the message names the masked URL and the fix)."""


class DatabaseURLError(DatabaseError, ValueError):
    """The database URL is malformed or names something that is not a database."""


class DatabaseUnavailable(DatabaseError, ConnectionError):
    """The database server cannot be reached, refused the credentials, or a package is missing."""


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database URL; ``str()`` and `masked` never show the password."""

    url: str = field(repr=False)
    kind: str  # "redis" or "directory"
    host: str = ""
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_from_env: bool = False
    tls: bool = False
    tls_options: tuple[tuple[str, str], ...] = ()
    path: Path | None = None

    @property
    def masked(self) -> str:
        """The URL as reports and messages show it: credentials replaced by ``***``."""
        if self.kind == "directory":
            return str(self.path)
        scheme = "rediss" if self.tls else "redis"
        user = self.username or ""
        cred = f"{user}:***@" if self.password and not self.password_from_env else ""
        if not cred and user:
            cred = f"{user}@"
        query = "&".join(f"{k}={v}" for k, v in self.tls_options)
        text = f"{scheme}://{cred}{self.host}:{self.port}/{self.db}" + (
            f"?{query}" if query else ""
        )
        return text + (f" (password from ${PASSWORD_ENV})" if self.password_from_env else "")

    def __str__(self) -> str:
        return self.masked

    def scrub(self, text: str) -> str:
        """``text`` with the password (if any) replaced by ``***``: for foreign messages."""
        return text.replace(self.password, "***") if self.password else text


def parse_url(url: str, environ: dict[str, str] | None = None) -> DatabaseURL:
    """Parse ``url`` (see the module doc); raises `DatabaseURLError` naming what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise DatabaseURLError(
            "the example database URL is empty; give redis://host:port/db, rediss://… or a "
            "directory path."
        )
    url = url.strip()
    if "://" not in url:
        return _directory(url)
    env = os.environ if environ is None else environ
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("redis", "rediss"):
        raise DatabaseURLError(
            f"unsupported example database URL scheme {scheme!r}: use redis://host:port/db, "
            "rediss://host:port/db (TLS) or a directory path."
        )
    return _redis(url, scheme == "rediss", env)


def _directory(url: str) -> DatabaseURL:
    path = Path(url).expanduser()
    if path.exists() and not path.is_dir():
        raise DatabaseURLError(
            f"the example database {url!r} is a file, not a directory; give a directory path "
            "(it is created if missing) or a redis:// URL."
        )
    return DatabaseURL(url=url, kind="directory", path=path.resolve())


def _redis(url: str, tls: bool, env: os._Environ[str] | dict[str, str]) -> DatabaseURL:
    parts = urlsplit(url)
    shown = (
        f"{parts.scheme}://{parts.hostname or ''}…"  # never echo the netloc: it may hold a password
    )
    try:
        port = parts.port or 6379
    except ValueError:
        raise DatabaseURLError(
            f"the example database URL {shown} has a port that is not a number in 1…65535."
        ) from None
    if not parts.hostname:
        raise DatabaseURLError(f"the example database URL {shown} names no host.")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise DatabaseURLError(
            f"the example database URL {shown} ends in /{path}: the path must be a database "
            "number such as /0."
        )
    options = tuple(parse_qsl(parts.query, keep_blank_values=True))
    bad = sorted({k for k, _ in options} - set(_TLS_QUERY))
    if bad or (options and not tls):
        allowed = ", ".join(_TLS_QUERY)
        raise DatabaseURLError(
            f"the example database URL {shown} has query parameters {', '.join(bad) or 'for TLS'}"
            f" that are not accepted; only rediss:// URLs take {allowed}."
        )
    password = unquote(parts.password) if parts.password else None
    from_env = password is None and bool(env.get(PASSWORD_ENV))
    return DatabaseURL(
        url=url,
        kind="redis",
        host=parts.hostname,
        port=port,
        db=int(path or 0),
        username=unquote(parts.username) if parts.username else None,
        password=env.get(PASSWORD_ENV) if from_env else password,
        password_from_env=from_env,
        tls=tls,
        tls_options=options,
    )


# ---------------------------------------------------------------- the shared (Redis) half


def _redis_errors() -> tuple[type[BaseException], ...]:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - only a Redis database gets here
        return (OSError,)
    return (RedisError, OSError)


class SharedDatabase(ExampleDatabase):
    """A Redis database that survives the loss of its server (see the module doc).

    Equal to every other `SharedDatabase` of the same URL, so that HypoFuzz's re-collection in
    each worker finds the database it expects.
    """

    def __init__(self, url: DatabaseURL, inner: ExampleDatabase) -> None:
        super().__init__()
        self.url = url
        self._inner = inner
        self._errors = _redis_errors()
        self.lost: str | None = None  # the reason, once lost
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedDatabase({self.url.masked!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SharedDatabase) and self.url.url == other.url.url

    def __hash__(self) -> int:
        return hash(self.url.url)

    def _lose(self, exc: BaseException) -> None:
        with self._lock:
            if self.lost is not None:
                return
            self.lost = self.url.scrub(f"{type(exc).__name__}: {exc}").splitlines()[0][:200]
        _record_loss(self.url, self.lost)

    def _call(self, action: Callable[[], Any]) -> Any:
        if self.lost is not None:
            return None
        try:
            return action()
        except self._errors as exc:
            self._lose(exc)
            return None

    def fetch(self, key: bytes) -> Iterable[bytes]:
        values = self._call(lambda: list(self._inner.fetch(key)))
        return iter(values or ())

    def save(self, key: bytes, value: bytes) -> None:
        self._call(lambda: self._inner.save(key, value))

    def delete(self, key: bytes, value: bytes) -> None:
        self._call(lambda: self._inner.delete(key, value))

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self._call(lambda: self._inner.move(src, dest, value))

    def _start_listening(self) -> None:
        self._call(lambda: self._inner.add_listener(self._broadcast_change))

    def _stop_listening(self) -> None:
        self._call(lambda: self._inner.remove_listener(self._broadcast_change))


def _record_loss(url: DatabaseURL, reason: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(
        f"gradcheck: lost the shared example database {url.masked} at {stamp} ({reason}); "
        "this process goes on without it (a local mirror, if any, keeps every write).",
        file=sys.stderr,
        flush=True,
    )
    events = os.environ.get(EVENTS_ENV)
    if events:
        line = json.dumps({"event": "lost", "database": url.masked, "at": stamp,
                           "pid": os.getpid(), "reason": reason})  # fmt: skip
        with open(events, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def lost_events(path: str | Path) -> list[dict[str, Any]]:
    """The loss records written to the events file (missing file: none)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == "lost":
            out.append(record)
    return out


def _connect(url: DatabaseURL) -> Any:
    try:
        import redis
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry
    except ImportError:
        raise DatabaseUnavailable(
            f"the example database {url.masked} needs the redis package: "
            "pip install 'gradcheck[campaign]'."
        ) from None
    tls: dict[str, Any] = {"ssl": True, **dict(url.tls_options)} if url.tls else {}
    return redis.Redis(
        host=url.host,
        port=url.port,
        db=url.db,
        username=url.username,
        password=url.password,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=COMMAND_TIMEOUT_S,
        # two quick retries (50 ms, 100 ms) ride out a blip; redis-py's default backs off for
        # seconds, which makes a wrong password or a stopped server look like a hang
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        **tls,
    )


def check_reachable(client: Any, url: DatabaseURL) -> None:
    """PING the server; a refusal, a wrong password or a timeout is a one-line error."""
    import redis.exceptions as rex

    try:
        client.ping()
    except (rex.AuthenticationError, rex.ResponseError) as exc:
        text = url.scrub(str(exc)).splitlines()[0].rstrip(".")
        if url.password is None and "auth" in text.lower():
            raise DatabaseUnavailable(
                f"the example database {url.masked} requires a password: give it in the URL "
                f"(redis://:PASSWORD@host:port/db) or in ${PASSWORD_ENV}."
            ) from None
        if isinstance(exc, rex.AuthenticationError) or "AUTH" in text.upper():
            raise DatabaseUnavailable(
                f"the example database {url.masked} refused the credentials ({text}); check "
                f"the password in the URL or ${PASSWORD_ENV}."
            ) from None
        raise DatabaseUnavailable(f"the example database {url.masked} answered: {text}") from None
    except (rex.RedisError, OSError) as exc:
        reason = url.scrub(str(exc)).splitlines()[0].rstrip(".") or type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot reach the example database {url.masked}: {reason}. Is the Redis server "
            "running and reachable from here?"
        ) from None


def _shared(url: DatabaseURL, check: bool) -> ExampleDatabase:
    if url.kind == "directory":
        assert url.path is not None
        return DirectoryBasedExampleDatabase(str(url.path))
    client = _connect(url)
    if check:
        check_reachable(client, url)
    from hypothesis.extra.redis import RedisExampleDatabase

    return SharedDatabase(url, RedisExampleDatabase(client))


def unreachable(url: str | DatabaseURL) -> str | None:
    """Why a Redis database cannot be used right now (a fresh connection), or None if it can."""
    parsed = url if isinstance(url, DatabaseURL) else parse_url(url)
    if parsed.kind != "redis":
        return None
    try:
        check_reachable(_connect(parsed), parsed)
    except DatabaseUnavailable as exc:
        return str(exc)
    return None


_CACHE: dict[tuple[str, str, bool, str], ExampleDatabase] = {}


def open_database(
    url: str | DatabaseURL,
    *,
    read_only: bool = False,
    mirror: str | Path | None = None,
    check: bool = True,
) -> ExampleDatabase:
    """The example database for ``url`` (see the module doc); the same object for the same
    arguments within a process. ``check`` PINGs a Redis server first, so that a server that is
    down or a wrong password is a `DatabaseUnavailable` now rather than a hang later."""
    parsed = url if isinstance(url, DatabaseURL) else parse_url(url)
    mirror_key = str(Path(mirror).expanduser().resolve()) if mirror else ""
    key = (parsed.url, parsed.password or "", read_only, mirror_key)
    if key in _CACHE:
        return _CACHE[key]
    db = _shared(parsed, check)
    if read_only:
        db = ReadOnlyDatabase(db)
    if mirror_key:
        db = MultiplexedDatabase(DirectoryBasedExampleDatabase(mirror_key), db)
    _CACHE[key] = db
    return db


def shared_parts(db: ExampleDatabase) -> Iterator[SharedDatabase]:
    """The `SharedDatabase` objects inside ``db`` (through read-only and multiplexed wrappers)."""
    if isinstance(db, SharedDatabase):
        yield db
    for inner in getattr(db, "_wrapped", ()) if isinstance(db, MultiplexedDatabase) else ():
        yield from shared_parts(inner)
    if isinstance(db, ReadOnlyDatabase):
        yield from shared_parts(db._wrapped)
