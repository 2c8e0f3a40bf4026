"""QRDA III sex supplemental data: per population, counts by sex from the engine's patient outcomes."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from lxml import etree

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.engine import aggregate_members, plan_measures, plan_submissions
from aco_sync.domain.records import CollectionType, Gender, PatientOutcome, Performance, PerformanceRecord
from aco_sync.domain.settings import AcoSettings
from aco_sync.reports import ReportInputs, score_sync
from aco_sync.reports.qrda3 import qrda3_document, sex_counts
from pseudonym_keys import TEST_KEY
from shared_fixtures import shared_path

NS = {"h": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
SEX_TEMPLATE = "2.16.840.1.113883.10.20.27.3.6"
SETTINGS = AcoSettings(aco_id="A1234", name="Lakeside Health ACO", performance_year=2025)
TINS = ("111111111", "222222222")

# (first name, gender, measure, performance) - one record per row; Ann appears at both TINs on M236.
ROWS = (
    ("Ann", Gender.FEMALE, "M236", Performance.MET),
    ("Bea", Gender.FEMALE, "M236", Performance.NOT_MET),
    ("Cid", Gender.MALE, "M236", Performance.MET),
    ("Dan", Gender.MALE, "M236", Performance.DENOMINATOR_EXCLUSION),
    ("Eve", Gender.FEMALE, "M236", Performance.DENOMINATOR_EXCLUSION),
    ("Fay", Gender.FEMALE, "M236", Performance.DENOMINATOR_ONLY),
    ("Gil", Gender.MALE, "M236", Performance.DENOMINATOR_EXCEPTION),
    ("Kim", Gender.UNKNOWN, "M236", Performance.MET),
    ("Ann", Gender.FEMALE, "M001", Performance.NOT_MET),
    ("Cid", Gender.MALE, "M001", Performance.MET),
    ("Hal", Gender.MALE, "M001", Performance.NOT_MET),
)


def _records() -> list[PerformanceRecord]:
    records = [
        PerformanceRecord(
            tin=TINS[i % 2],
            source_key=f"{TINS[i % 2]}:row{i}",
            measure_id=measure,
            collection_type=CollectionType.ECQM,
            performance=performance,
            performance_date=date(2025, 3, 1 + i),
            first_name=first,
            last_name="Lee",
            birth_date=date(1950, 1, 2),
            gender=gender,
        )
        for i, (first, gender, measure, performance) in enumerate(ROWS)
    ]
    # The same patient (Ann) also at the other TIN, older NOT_MET: still one patient, one outcome.
    return [
        *records,
        replace(
            records[0],
            tin=TINS[1],
            source_key=f"{TINS[1]}:extra",
            performance_date=date(2025, 1, 5),
            performance=Performance.NOT_MET,
        ),
    ]


@pytest.fixture(scope="module")
def aggregate() -> tuple[list[PatientOutcome], ReportInputs]:
    records = _records()
    catalog = default_catalog()
    plan = plan_measures(
        plan_submissions(records), has_active_roster=False, settings=SETTINGS, catalog=catalog
    )
    result = aggregate_members(records, plan, catalog=catalog, pseudonym_key=TEST_KEY)
    inputs = ReportInputs(
        settings=SETTINGS,
        sync_id="sync-1",
        generated_at=datetime(2025, 11, 24, 6, 0, tzinfo=UTC),
        stats=result.stats,
        outcomes=result.outcomes,
    )
    return result.outcomes, inputs


def _organizers(document: etree._Element) -> dict[str, etree._Element]:
    organizers = document.findall(".//h:section/h:entry/h:organizer", NS)
    return {o.findtext("h:reference/h:externalDocument/h:text", namespaces=NS) or "": o for o in organizers}


def _populations(organizer: etree._Element) -> dict[str, tuple[int, Counter[str]]]:
    """Population code -> (population count, sex code -> count) as written in the document."""
    populations = {}
    for observation in organizer.findall("h:component/h:observation", NS):
        value = observation.find("h:value", NS)
        if value is None or not value.get("code") or value.get("code") == "72510-1":
            continue
        count = observation.find("h:entryRelationship[@typeCode='SUBJ']/h:observation/h:value", NS)
        assert count is not None
        by_sex: Counter[str] = Counter()
        for sde in observation.xpath(
            f"h:entryRelationship[@typeCode='COMP']/h:observation[h:templateId/@root='{SEX_TEMPLATE}']",
            namespaces=NS,
        ):
            sex_value = sde.find("h:value", NS)
            sex_count = sde.find("h:entryRelationship/h:observation/h:value", NS)
            assert sex_value is not None and sex_count is not None
            key = sex_value.get("code") or sex_value.get("nullFlavor") or ""
            assert key not in by_sex, f"sex {key} reported twice"
            by_sex[key] = int(sex_count.get("value", "-1"))
        populations[value.get("code", "")] = (int(count.get("value", "-1")), by_sex)
    return populations


def _expected(outcomes: list[PatientOutcome], measure_id: str) -> dict[str, Counter[str]]:
    def sex(o: PatientOutcome) -> str:
        return o.gender.value if o.gender in (Gender.FEMALE, Gender.MALE) else "UNK"

    mine = [o for o in outcomes if o.measure_id == measure_id]
    return {
        "IPOP": Counter(map(sex, mine)),
        "DENOM": Counter(map(sex, mine)),
        "DENEX": Counter(sex(o) for o in mine if o.outcome is Performance.DENOMINATOR_EXCLUSION),
        "DENEXCEP": Counter(sex(o) for o in mine if o.outcome is Performance.DENOMINATOR_EXCEPTION),
        "NUMER": Counter(sex(o) for o in mine if o.outcome is Performance.MET),
    }


def test_every_population_has_sex_counts_that_add_up_and_match_the_outcomes(
    aggregate: tuple[list[PatientOutcome], ReportInputs],
) -> None:
    outcomes, inputs = aggregate
    data = qrda3_document(score_sync(inputs))
    assert data is not None
    organizers = _organizers(etree.fromstring(data))
    assert len(organizers) == 2
    by_measure = {"M236": organizers["Controlling High Blood Pressure"]}
    by_measure["M001"] = next(
        o for title, o in organizers.items() if title != "Controlling High Blood Pressure"
    )
    for measure_id, organizer in by_measure.items():
        populations = _populations(organizer)
        # CMS165 and CMS122 define no denominator exceptions: no DENEXCEP population
        assert set(populations) == {"IPOP", "DENOM", "DENEX", "NUMER"}
        expected = _expected(outcomes, measure_id)
        for code, (total, by_sex) in populations.items():
            assert sum(by_sex.values()) == total, (measure_id, code)
            assert +by_sex == expected[code], (measure_id, code)  # "+" drops the zero M/F entries
            assert {"M", "F"} <= set(by_sex)  # both always present, as in the sample

    m236 = _populations(by_measure["M236"])
    assert m236["IPOP"] == (8, Counter({"F": 4, "M": 3, "UNK": 1}))
    assert m236["DENEX"] == (2, Counter({"F": 1, "M": 1}))
    assert m236["NUMER"] == (3, Counter({"F": 1, "M": 1, "UNK": 1}))  # Ann's latest record is MET
    m001 = _populations(by_measure["M001"])
    assert m001["IPOP"] == (3, Counter({"F": 1, "M": 2}))
    assert "UNK" not in m001["IPOP"][1]  # the unknown-sex element only appears when someone needs it


def test_sex_elements_follow_the_sample(aggregate: tuple[list[PatientOutcome], ReportInputs]) -> None:
    _, inputs = aggregate
    data = qrda3_document(score_sync(inputs))
    assert data is not None
    ours = etree.fromstring(data)
    sample_path = shared_path("fixtures", "qpp", "qpp-conversion-tool__App-Plus-ApmEntity-Qrda-III_2025.xml")
    sample = etree.parse(str(sample_path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    for code in ("M", "F"):
        xpath = f".//h:observation[h:templateId/@root='{SEX_TEMPLATE}'][h:value/@code='{code}']"
        sample_sde, our_sde = sample.xpath(xpath, namespaces=NS)[0], ours.xpath(xpath, namespaces=NS)[0]
        # the CMS 2025 IG has only the Sex Supplemental Data Element (V3); the sample (converter test
        # data) still carries the retired CMS 3.21:2016-11-01 template as well
        ours_templates = [(t.get("root"), t.get("extension")) for t in our_sde.findall("h:templateId", NS)]
        sample_templates = [
            (t.get("root"), t.get("extension")) for t in sample_sde.findall("h:templateId", NS)
        ]
        assert ours_templates == [(SEX_TEMPLATE, "2016-09-01")] and ours_templates[0] in sample_templates
        for path in ("h:code", "h:value"):
            ours_el, sample_el = our_sde.find(path, NS), sample_sde.find(path, NS)
            assert ours_el is not None and sample_el is not None
            assert dict(ours_el.attrib) == dict(sample_el.attrib)
        parent = our_sde.getparent()
        assert parent is not None and parent.get("typeCode") == "COMP"
        low, high = our_sde.xpath("h:effectiveTime/*/@value", namespaces=NS)
        assert (low, high) == ("20250101", "20251231")
    unknown = ours.xpath(
        f".//h:observation[h:templateId/@root='{SEX_TEMPLATE}']/h:value[@nullFlavor]", namespaces=NS
    )
    assert unknown and {v.get("nullFlavor") for v in unknown} == {"UNK"}
    assert all(v.get("code") is None for v in unknown)
    # Race, ethnicity and payer are not collected: one element each per population, for the whole
    # population, with the IG's values for unknown (race, ethnicity: nullFlavor UNK; payer: CMS
    # Payer Grouping D "Other" under nullFlavor OTH), never an invented race or payer.
    for observation in ours.xpath(
        ".//h:observation[h:templateId/@root='2.16.840.1.113883.10.20.27.3.5']", namespaces=NS
    ):
        total = int(
            observation.xpath(
                "h:entryRelationship[@typeCode='SUBJ']/h:observation/h:value/@value", namespaces=NS
            )[0]
        )
        for template, value in (
            ("2.16.840.1.113883.10.20.27.3.8", "UNK"),
            ("2.16.840.1.113883.10.20.27.3.7", "UNK"),
            ("2.16.840.1.113883.10.20.27.3.9", "OTH"),
        ):
            (element,) = observation.xpath(
                f"h:entryRelationship/h:observation[h:templateId/@root='{template}']", namespaces=NS
            )
            assert element.find("h:value", NS).get("nullFlavor") == value
            assert element.find("h:value", NS).get("code") is None
            assert (
                int(element.xpath("h:entryRelationship/h:observation/h:value/@value", namespaces=NS)[0])
                == total
            )
        (translation,) = observation.xpath(
            "h:entryRelationship/h:observation[h:templateId/@root='2.16.840.1.113883.10.20.27.3.18']"
            "/h:value/h:translation",
            namespaces=NS,
        )
        assert translation.get("code") == "D"


def test_outcomes_without_gender_count_as_unknown() -> None:
    outcomes = [
        PatientOutcome("MP1", "M236", CollectionType.ECQM, Performance.MET, None, ("1",)),
        PatientOutcome(
            "MP2", "M236", CollectionType.ECQM, Performance.NOT_MET, None, ("1",), gender=Gender.MALE
        ),
    ]
    counts = sex_counts(outcomes)
    assert counts["IPOP"] == Counter({"UNK": 1, "M": 1})
    assert counts["NUMER"] == Counter({"UNK": 1})
    assert counts["DENEX"] == Counter()


def test_no_sex_counts_when_the_outcomes_are_not_the_whole_population(
    aggregate: tuple[list[PatientOutcome], ReportInputs],
) -> None:
    """Outcomes missing (an older result) or incomplete: the whole population as unknown sex rather than
    counts that do not add up (the IG requires a sex element per population)."""
    _, inputs = aggregate
    m236_partial = [o for o in inputs.outcomes if o.measure_id != "M236"] + [
        o for o in inputs.outcomes if o.measure_id == "M236"
    ][1:]
    for outcomes, measures_with_sex in (([], set()), (m236_partial, {"M001"})):
        data = qrda3_document(score_sync(replace(inputs, outcomes=outcomes)))
        assert data is not None
        organizers = _organizers(etree.fromstring(data))
        assert len(organizers) == 2  # the counts are still there
        with_sex = set()
        for title, organizer in organizers.items():
            measure_id = "M236" if title == "Controlling High Blood Pressure" else "M001"
            populations = _populations(organizer)
            if any(by_sex["M"] or by_sex["F"] for _, by_sex in populations.values()):
                with_sex.add(measure_id)
            else:
                assert all(
                    by_sex == Counter({"M": 0, "F": 0, "UNK": total}) or total == 0
                    for total, by_sex in populations.values()
                )
        assert with_sex == measures_with_sex
