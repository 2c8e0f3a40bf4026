"""Patient de-duplication: exact match on normalised names, birth date and gender; stable ids."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import date

import pytest
from engine_factories import CATALOG, TIN_A, TIN_B, plan_for, record

from aco_sync.domain.dedup import PseudonymKey, find_probable_duplicates, master_patient_id, patient_key
from aco_sync.domain.engine import aggregate_members
from aco_sync.domain.record_codec import decode_batch, encode_records
from aco_sync.domain.records import Gender, Performance
from pseudonym_keys import OTHER_DEPLOYMENT_KEY, TEST_KEY

DOB = date(1950, 1, 2)


def test_master_patient_id_is_pinned_across_syncs():
    # A literal: if this changes, every stored MASTER_PAT_ID of every ACO changes. Never change it.
    assert master_patient_id("Ann", "Lee", DOB, Gender.FEMALE, pseudonym_key=TEST_KEY) == master_patient_id(
        "ann", "LEE", DOB, "F", pseudonym_key=TEST_KEY
    )
    assert master_patient_id("Ann", "Lee", DOB, "F", pseudonym_key=TEST_KEY) == "MPFE31219B6F9D1270"


def test_the_id_is_a_keyed_mac_that_the_unkeyed_hash_no_longer_matches():
    """Anyone with a name list could recompute the old unkeyed id (the brute force of issue 12); the
    keyed id is HMAC-SHA256 with the deployment's key, so without the key it cannot be recomputed."""
    material = b"ann\x1flee\x1f1950-01-02\x1fF"
    unkeyed = "MP" + hashlib.blake2b(material, digest_size=8).hexdigest().upper()
    assert unkeyed == "MPDA454CDFF5FC8B35"  # the id the previous releases computed for this patient
    keyed = master_patient_id("Ann", "Lee", DOB, "F", pseudonym_key=TEST_KEY)
    assert keyed != unkeyed
    assert keyed == "MP" + hmac.new(TEST_KEY.secret, material, "sha256").hexdigest()[:16].upper()
    # the unkeyed hash with any other well-known digest does not match either
    assert keyed[2:].lower() not in {
        hashlib.sha256(material).hexdigest()[:16],
        hashlib.md5(material).hexdigest()[:16],
    }


def test_another_deployment_key_gives_other_ids_and_each_key_is_stable():
    ids = [master_patient_id(f, "Lee", DOB, "F", pseudonym_key=TEST_KEY) for f in ("Ann", "Bob", "Cy")]
    other = [
        master_patient_id(f, "Lee", DOB, "F", pseudonym_key=OTHER_DEPLOYMENT_KEY)
        for f in ("Ann", "Bob", "Cy")
    ]
    assert set(ids).isdisjoint(other)
    assert ids == [
        master_patient_id(f, "Lee", DOB, "F", pseudonym_key=TEST_KEY) for f in ("Ann", "Bob", "Cy")
    ]
    assert all(len(i) == 18 and i.startswith("MP") for i in ids + other)


def test_a_short_key_is_refused_and_the_key_never_shows_in_a_repr():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        PseudonymKey(b"too short")
    assert TEST_KEY.secret.decode() not in repr(TEST_KEY) and TEST_KEY.fingerprint in repr(TEST_KEY)


def test_one_batch_aggregated_under_two_keys_gets_each_keys_ids():
    records = [record(first="Ann"), record(first="Bob")]
    batch = decode_batch(encode_records(records))
    plan = plan_for(records)
    first = {
        o.master_pat_id
        for o in aggregate_members(batch, plan, catalog=CATALOG, pseudonym_key=TEST_KEY).outcomes
    }
    second = {
        o.master_pat_id
        for o in aggregate_members(batch, plan, catalog=CATALOG, pseudonym_key=OTHER_DEPLOYMENT_KEY).outcomes
    }
    assert len(first) == 2 and first.isdisjoint(second)


def test_normalisation_nfkc_casefold_whitespace():
    base = master_patient_id("Ann Marie", "O'Neil", DOB, "F", pseudonym_key=TEST_KEY)
    assert master_patient_id("  ANN   marie ", "o'neil", DOB, "female", pseudonym_key=TEST_KEY) == base
    assert (
        master_patient_id("Ann\u00a0Marie", "O'Neil", DOB, Gender.FEMALE, pseudonym_key=TEST_KEY) == base
    )  # NBSP (NFKC)
    assert (
        master_patient_id("Ａｎｎ Marie", "O'Neil", DOB, "F", pseudonym_key=TEST_KEY) == base
    )  # full-width letters (NFKC)
    assert master_patient_id("José", "Lee", DOB, "M", pseudonym_key=TEST_KEY) == master_patient_id(
        "JOSÉ", "lee", DOB, "M", pseudonym_key=TEST_KEY
    )
    assert master_patient_id("Straße", "Lee", DOB, "M", pseudonym_key=TEST_KEY) == master_patient_id(
        "STRASSE", "Lee", DOB, "M", pseudonym_key=TEST_KEY
    )


def test_nothing_fuzzier_is_merged():
    base = master_patient_id("Ann", "Lee", DOB, "F", pseudonym_key=TEST_KEY)
    assert master_patient_id("Anne", "Lee", DOB, "F", pseudonym_key=TEST_KEY) != base
    assert master_patient_id("Ann", "Lee", date(1950, 2, 1), "F", pseudonym_key=TEST_KEY) != base
    assert master_patient_id("Ann", "Lee", DOB, "M", pseudonym_key=TEST_KEY) != base


def test_same_patient_at_two_tins_is_one_outcome():
    records = [record(tin=TIN_A, first="ANN "), record(tin=TIN_B, first="ann")]
    result = aggregate_members(records, plan_for(records), catalog=CATALOG, pseudonym_key=TEST_KEY)
    assert result.counts["patients"] == 1
    assert [o.source_tins for o in result.outcomes] == [(TIN_A, TIN_B)]
    assert result.outcomes[0].master_pat_id == master_patient_id(
        "Ann", "Lee", DOB, "F", pseudonym_key=TEST_KEY
    )


def test_ids_and_outcomes_do_not_depend_on_input_order():
    rng = random.Random(3)
    records = [
        record(
            first=rng.choice(["Ann", "Bob", "Cy"]),
            last=rng.choice(["Lee", "Ng"]),
            tin=rng.choice([TIN_A, TIN_B]),
            measure=rng.choice(["M001", "M112", "M236"]),
            perf=rng.choice(list(Performance)),
            day=date(2025, rng.randint(1, 12), rng.randint(1, 28)),
        )
        for _ in range(200)
    ]
    expected = aggregate_members(records, plan_for(records), catalog=CATALOG, pseudonym_key=TEST_KEY).outcomes
    for _ in range(5):
        shuffled = records[:]
        rng.shuffle(shuffled)
        assert (
            aggregate_members(shuffled, plan_for(shuffled), catalog=CATALOG, pseudonym_key=TEST_KEY).outcomes
            == expected
        )


def _pairs(*people):
    keys = [patient_key(first, last, birth, "F") for first, last, birth in people]
    return {
        (d.reason) for d in find_probable_duplicates(keys, pseudonym_key=TEST_KEY)
    }, find_probable_duplicates(keys, pseudonym_key=TEST_KEY)


def test_probable_duplicates_are_reported_not_merged():
    records = [record(first="Jon"), record(first="John", tin=TIN_B)]
    result = aggregate_members(records, plan_for(records), catalog=CATALOG, pseudonym_key=TEST_KEY)
    assert result.counts["patients"] == 2 and len(result.outcomes) == 2
    assert [d.reason for d in result.probable_duplicates] == ["one_edit_first_name"]
    assert any(e.kind == "probable_duplicates" for e in result.log)


def test_probable_duplicate_kinds():
    assert _pairs(("William", "Lee", DOB), ("Bill", "Lee", DOB))[0] == {"nickname"}
    assert _pairs(("J", "Lee", DOB), ("John", "Lee", DOB))[0] == {"initial"}
    assert _pairs(("Ann", "Smith", DOB), ("Ann", "Smyth", DOB))[0] == {"one_edit_last_name"}
    assert _pairs(("Ann", "Lee", date(1950, 3, 4)), ("Ann", "Lee", date(1950, 4, 3)))[0] == {
        "swapped_day_month"
    }
    assert _pairs(("Ann", "Lee", DOB), ("Zed", "Lee", DOB))[0] == set()
    assert _pairs(("Ann", "Lee", DOB), ("Anne", "Lee", date(1960, 1, 1)))[0] == set()


def test_probable_duplicates_report_is_order_independent():
    people = [("Jon", "Lee", DOB), ("John", "Lee", DOB), ("Ann", "Smith", DOB), ("Ann", "Smyth", DOB)]
    keys = [patient_key(f, last, b, "F") for f, last, b in people]
    assert find_probable_duplicates(keys, pseudonym_key=TEST_KEY) == find_probable_duplicates(
        list(reversed(keys)), pseudonym_key=TEST_KEY
    )


def test_probable_duplicate_pairs_are_listed_in_the_sync_log_without_phi():
    records = [record(first="William"), record(first="Bill", tin=TIN_B)]
    result = aggregate_members(records, plan_for(records), catalog=CATALOG, pseudonym_key=TEST_KEY)
    (pair,) = result.probable_duplicates
    lines = [e.message for e in result.log if e.kind == "probable_duplicates"]
    ids = f"{pair.master_pat_id_a} and {pair.master_pat_id_b}"
    assert lines[1] == f"Patients {ids} may be the same person (nickname); not merged"
    assert not any("Bill" in line or "William" in line or "1950" in line for line in lines)
