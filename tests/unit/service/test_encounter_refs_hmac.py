"""EncounterRefs computes HMAC-SHA256 from prepared SHA-256 states: the refs are exactly those of the
``hmac`` module (the refs stored before stay valid), for keys shorter and longer than a block."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aco_sync.domain.dedup import PseudonymKey
from aco_sync.service.clinic_sources import EncounterRefs


def _hmac_ref(secret: bytes, kind: bytes, text: str) -> str:
    mac = hmac.new(secret, b"aco-sync " + kind + b"\x00" + text.encode(), hashlib.sha256)
    return kind[:1].decode().upper() + mac.digest()[:16].hex()


SECRETS = [b"s" * 32, b"k" * 63, b"b" * 64, b"x" * 65, bytes(range(256)) * 2]


@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: f"{len(s)} bytes")
@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.text(max_size=40), max_size=8))
def test_refs_are_hmac_sha256(secret: bytes, texts: list[str]) -> None:
    refs = EncounterRefs(PseudonymKey(secret))
    assert refs.source_keys(texts) == [_hmac_ref(secret, b"key", t) for t in texts]
    assert [refs.source_key(t) for t in texts] == [_hmac_ref(secret, b"key", t) for t in texts]
    for text in texts:
        upload = text.split("!", 1)[0]
        assert refs.source_file(text) == (_hmac_ref(secret, b"file", upload) if upload else "")
        assert refs.source_file(text) == refs.source_file(text)  # the cached ref
