"""Where the deployment's pseudonym key (the secret the MASTER_PAT_IDs are keyed with) comes from.

- AWS: a Secrets Manager secret template.yaml creates at deploy time (``PseudonymKeySecret``, a
  generated 64-character string, encrypted with the stack's KMS key). Only the two functions that
  compute MASTER_PAT_IDs (finalize and the MCQM job) may read it; it is read once per container.
- Locally: a file in the state folder (``.aco-sync/pseudonym.key``) created on first use with mode
  0600 (folder 0700), 256 random bits as hex. The same file gives the same ids on every local sync.

The key never appears in a log, an exception or a repr (``PseudonymKey`` shows only its fingerprint).
Rotation (a new key gives every patient a new id): docs/SECURITY.md "Pseudonymous patient ids".
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import threading
from pathlib import Path
from typing import Any

from aco_sync.adapters.ports import PseudonymKeySource
from aco_sync.domain.dedup import PseudonymKey

# Environment variables (template.yaml sets the secret's id for the functions that need it; the local
# runner sets the key file, which wins when both are set).
SECRET_ENV = "PSEUDONYM_KEY_SECRET_ID"
KEY_FILE_ENV = "ACO_SYNC_PSEUDONYM_KEY_FILE"

_CACHE: dict[tuple[str, str], PseudonymKey] = {}  # (kind, secret id or path) -> key; once per container
_CACHE_LOCK = threading.Lock()


class PseudonymKeyUnavailableError(RuntimeError):
    """No pseudonym key is configured, or it cannot be read (the message says which; never the key)."""


class StaticPseudonymKey:
    """A key given in code (unit tests, the in-memory stores)."""

    def __init__(self, key: PseudonymKey) -> None:
        self._key = key

    def pseudonym_key(self) -> PseudonymKey:
        return self._key


class SecretsManagerPseudonymKey:
    """The key from a Secrets Manager secret string (read once per container and cached)."""

    def __init__(self, secret_id: str, client: Any | None = None) -> None:
        self.secret_id = secret_id
        self._client = client

    def pseudonym_key(self) -> PseudonymKey:
        cache_key = ("secretsmanager", self.secret_id)
        with _CACHE_LOCK:
            cached = _CACHE.get(cache_key)
            if cached is not None:
                return cached
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError

            from aco_sync.adapters.aws import transient_errors_as_domain_errors

            client = self._client or boto3.client("secretsmanager")
            try:
                with transient_errors_as_domain_errors("Secrets Manager get pseudonym key"):
                    response = client.get_secret_value(SecretId=self.secret_id)
            except (ClientError, BotoCoreError) as exc:
                raise PseudonymKeyUnavailableError(
                    f"The pseudonym key secret cannot be read ({type(exc).__name__}); it is created by "
                    f"template.yaml (PseudonymKeySecret) and only finalize and the MCQM job may read it."
                ) from None
            key = PseudonymKey.from_text(str(response["SecretString"]))
            _CACHE[cache_key] = key
            return key


class FilePseudonymKey:
    """The key in a local file, created (0600, folder 0700) with 256 random bits on first use."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def pseudonym_key(self) -> PseudonymKey:
        cache_key = ("file", str(self.path.resolve()))
        with _CACHE_LOCK:
            cached = _CACHE.get(cache_key)
            if cached is not None and self.path.is_file():
                return cached
            key = PseudonymKey.from_text(self._read_or_create())
            _CACHE[cache_key] = key
            return key

    def _read_or_create(self) -> str:
        """Read the key, or create it atomically: the key is written to a private temporary file that
        is then hard-linked to its name (which fails if another process made it first), so a
        concurrent reader (a worker process, a second ``aco-sync run``) never sees a partial file."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".pseudonym-", text=True)
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
                    handle.write(secrets.token_hex(32) + "\n")
                with contextlib.suppress(FileExistsError):  # another process made it first: theirs
                    os.link(temporary, self.path)
            finally:
                os.unlink(temporary)
        if self.path.stat().st_mode & 0o077:
            os.chmod(self.path, 0o600)  # a copied key file: make it private again
        return self.path.read_text(encoding="utf-8")


class UnconfiguredPseudonymKey:
    """No key configured: computing a MASTER_PAT_ID fails loudly (never an unkeyed fallback)."""

    def pseudonym_key(self) -> PseudonymKey:
        raise PseudonymKeyUnavailableError(
            f"No pseudonym key configured: set {SECRET_ENV} (template.yaml does, for the functions that "
            f"compute MASTER_PAT_IDs) or {KEY_FILE_ENV} (the local runner does)."
        )


def key_source_from_env(environ: Any | None = None) -> PseudonymKeySource:
    """The key source the environment configures (the key file wins over the secret)."""
    env = os.environ if environ is None else environ
    if env.get(KEY_FILE_ENV):
        return FilePseudonymKey(env[KEY_FILE_ENV])
    if env.get(SECRET_ENV):
        return SecretsManagerPseudonymKey(env[SECRET_ENV])
    return UnconfiguredPseudonymKey()


def clear_cache() -> None:
    """Forget keys read so far (tests; a rotated secret is picked up by new containers anyway)."""
    with _CACHE_LOCK:
        _CACHE.clear()
