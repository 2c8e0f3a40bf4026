"""The pseudonym keys the tests key MASTER_PAT_IDs with (fixed, so expected ids can be pinned; a real
deployment's key is a secret: aco_sync.adapters.keys)."""

from __future__ import annotations

from aco_sync.domain.dedup import PseudonymKey

TEST_KEY = PseudonymKey(b"aco-sync tests: not a secret, never deployed.......")
OTHER_DEPLOYMENT_KEY = PseudonymKey(b"aco-sync tests: a second deployment's key, not a secret")
