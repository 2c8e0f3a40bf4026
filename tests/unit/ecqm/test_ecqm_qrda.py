"""The QRDA-I path: real fixture files checked by hand against their content, the records and issues
``calculate_qrda`` produces, and QDM-to-model mapping details (orders, negation, value-set codes)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from aco_sync.domain import qrda_document as q
from aco_sync.domain.records import CollectionType, Gender, Performance
from aco_sync.ecqm import calculate_qrda
from aco_sync.ecqm.qrda import calculate_qrda_detailed, patient_from_qrda
from shared_fixtures import shared_path

TIN = "123456789"
LOINC, SNOMED, CPT = "2.16.840.1.113883.6.1", "2.16.840.1.113883.6.96", "2.16.840.1.113883.6.12"


def load(name: str) -> q.QrdaDocument:
    from aco_sync.ingest.qrda import parse_qrda

    path = shared_path("fixtures", "qrda", name)
    return parse_qrda(path.read_bytes(), file_name=name)


def period_of(doc: q.QrdaDocument) -> tuple[date, date]:
    assert doc.reporting_period_start and doc.reporting_period_end
    return doc.reporting_period_start.date(), doc.reporting_period_end.date()


def run(doc: q.QrdaDocument, period: tuple[date, date] | None = None):  # type: ignore[no-untyped-def]
    period = period or period_of(doc)
    return calculate_qrda_detailed(
        doc, tin=TIN, source_file=doc.file_name, performance_year=2025, period=period
    )


def entry(
    kind: q.QrdaEntryKind, datatype: str, code: str, system: str, low: str, high: str | None = None, **kw
):  # type: ignore[no-untyped-def]
    return q.QrdaEntry(
        kind=kind,
        qdm_datatype=datatype,
        template_ids=(),
        element="observation",
        mood_code=kw.pop("mood_code", "EVN"),
        codes=(q.QrdaCode(code, system),),
        status="completed",
        effective_low=datetime.fromisoformat(low),
        effective_high=datetime.fromisoformat(high) if high else None,
        **kw,
    )


def not_done_entry(
    kind: q.QrdaEntryKind, datatype: str, code: q.QrdaCode, element: str = "observation", **kw: Any
) -> q.QrdaEntry:
    """A negated ("not done") entry of one code, without status or times unless ``kw`` gives them."""
    return q.QrdaEntry(
        kind=kind,
        qdm_datatype=datatype,
        template_ids=(),
        element=element,
        mood_code="EVN",
        codes=(code,),
        negated=True,
        **kw,
    )


# ---------------------------------------------------------------- fixture files, checked by hand
def test_cms130_fixture_colonoscopy_in_2013_meets_the_2014_measure() -> None:
    # 05_: woman born 1947-01-03 (67 at the end of 2014), office visits (CPT 99203) on 2014-02-01 and
    # 2014-06-01, colonoscopy (SNOMED 444783004 / CPT 45378) on 2013-08-07: within 9 years -> numerator.
    doc = load("05_CMS130v5_B_GP_Geriatric.xml")
    records, issues, results = run(doc)
    assert results["M113"].counts() == {
        "initial-population": 1,
        "denominator": 1,
        "denominator-exclusion": 0,
        "denominator-exception": 0,
        "numerator": 1,
    }
    [record] = records
    assert (record.measure_id, record.performance, record.performance_date) == (
        "M113",
        Performance.MET,
        date(2013, 8, 7),
    )
    assert issues == []


def test_cms2_fixture_adolescent_negative_screening_meets_the_measure() -> None:
    # 07_: girl born 1997-02-01 (16 on 2014-01-01: adolescent rules), depression screening encounter
    # (SNOMED 10197000) on 2014-01-25 and an adolescent screening (LOINC 73831-0) that day, result
    # "Depression screening negative" (428171000124102) -> numerator.
    doc = load("07_CMS2v6_B_GP_Peds.xml")
    records, _, results = run(doc)
    assert results["M134"].numerator and not results["M134"].denominator_exclusion
    assert [(r.performance, r.performance_date) for r in records] == [(Performance.MET, date(2014, 1, 25))]


def test_cms2_fixture_encounter_without_screening_is_not_met() -> None:
    # 30_: woman born 1969-02-25, one office visit (CPT 99203) 2012-07-09..10, no screening -> NOT_MET
    doc = load("30_cqm-reports_single_encounter_CMS2.xml")
    records, _, results = run(doc)
    assert results["M134"].denominator and not results["M134"].numerator
    assert [(r.performance, r.performance_date) for r in records] == [
        (Performance.NOT_MET, date(2012, 7, 10))
    ]


def test_cms122_fixture_has_no_diabetes_diagnosis_so_no_record() -> None:
    # 01_: HbA1c (LOINC 17856-6) 10 % on 2014-04-01 and an office visit, but no diabetes diagnosis
    # in the file: not in the initial population. With the diagnosis added, the 10 % is numerator (> 9).
    doc = load("01_CMS122v5_B_Diabetes_Adult.xml")
    records, _, results = run(doc)
    assert not results["M001"].initial_population and records == []
    diabetes = entry(q.QrdaEntryKind.DIAGNOSIS, "Diagnosis", "44054006", SNOMED, "2010-01-01")
    records, _, results = run(dataclasses.replace(doc, entries=(*doc.entries, diabetes)))
    [record] = records
    assert (record.performance, record.performance_date, record.hba1c) == (
        Performance.MET,
        date(2014, 4, 1),
        10.0,
    )


def test_cms165_fixture_blood_pressure_most_recent_day_wins() -> None:
    # 04_: man born 1944-02-01; BP 150/60 on 2014-03-01 and 130/60 on 2014-12-20 (separate systolic
    # 8480-6 and diastolic 8462-4 physical exams). No hypertension diagnosis in the file: not in the
    # population; with one added, the most recent day (130/60) is below 140/90 -> numerator.
    doc = load("04_CMS165v5_B_Heart_Adult.xml")
    assert run(doc)[0] == []
    hypertension = entry(q.QrdaEntryKind.DIAGNOSIS, "Diagnosis", "59621000", SNOMED, "2010-01-01")
    records, _, _ = run(dataclasses.replace(doc, entries=(*doc.entries, hypertension)))
    [record] = records
    assert (record.performance, record.performance_date) == (Performance.MET, date(2014, 12, 20))
    assert (record.systolic, record.diastolic) == (130, 60)


def test_every_fixture_referencing_a_measure_in_scope_calculates_without_error() -> None:
    import csv

    manifest = shared_path("fixtures", "qrda", "MANIFEST.tsv")
    rows = list(csv.DictReader(manifest.open(encoding="utf-8"), delimiter="\t"))
    targets = [r for r in rows if r["target_measures_referenced"]]
    assert len(targets) >= 10
    for row in targets:
        doc = load(row["file"])
        assert set(doc.catalog_measure_ids) & {"M001", "M112", "M113", "M134", "M236"}
        _, issues, results = run(doc)
        assert all(i.severity == "warning" for i in issues)
        in_scope = set(doc.catalog_measure_ids) & {"M001", "M112", "M113", "M134", "M236"}
        assert set(results) == in_scope  # only the referenced measures are calculated


# ---------------------------------------------------------------- records and issues
def make_doc(*entries: q.QrdaEntry, **kw) -> q.QrdaDocument:  # type: ignore[no-untyped-def]
    defaults = {
        "file_name": "p.xml",
        "given_names": ("Ann",),
        "family_name": "Lee",
        "birth_date": date(1965, 3, 3),
        "gender": Gender.FEMALE,
        "patient_ids": (q.Identifier(q.MBI_ROOT, "1EG4TE5MK73"), q.Identifier("1.2.3", "MRN-7")),
        "npis": ("1234567893",),
        "reporting_period_start": datetime(2025, 1, 1),
        "reporting_period_end": datetime(2025, 12, 31),
        "measures": (q.MeasureReference(None, None, ecqm_id="CMS125", catalog_measure_id="M112"),),
        "entries": entries,
    }
    return q.QrdaDocument(**{**defaults, **kw})


OFFICE_VISIT = entry(
    q.QrdaEntryKind.ENCOUNTER, "Encounter, Performed", "99213", CPT, "2025-04-01T09:00", "2025-04-01T09:30"
)
MAMMOGRAM = entry(
    q.QrdaEntryKind.DIAGNOSTIC_STUDY,
    "Diagnostic Study, Performed",
    "24604-1",
    LOINC,
    "2024-11-05T10:00",
    "2024-11-05T10:30",
)


def test_breast_cancer_screening_record_has_the_contract_fields() -> None:
    records, issues = calculate_qrda(
        make_doc(OFFICE_VISIT, MAMMOGRAM), tin=TIN, source_file="p.xml", performance_year=2025
    )
    assert issues == []
    [record] = records
    assert record.source_key == f"{TIN}:qrda:p.xml:M112"
    assert record.collection_type is CollectionType.ECQM
    assert (record.performance, record.performance_date) == (Performance.MET, date(2024, 11, 5))
    assert (record.first_name, record.last_name, record.birth_date, record.gender) == (
        "Ann",
        "Lee",
        date(1965, 3, 3),
        Gender.FEMALE,
    )
    assert (record.mbi, record.npi, record.member_patient_id) == ("1EG4TE5MK73", "1234567893", "1.2.3:MRN-7")
    assert record.source_file == "p.xml" and record.source_line is None
    assert len(record.content_hash) == 32
    again, _ = calculate_qrda(
        make_doc(OFFICE_VISIT, MAMMOGRAM), tin=TIN, source_file="p.xml", performance_year=2025
    )
    assert again[0].content_hash == record.content_hash
    without, _ = calculate_qrda(make_doc(OFFICE_VISIT), tin=TIN, source_file="p.xml", performance_year=2025)
    assert without[0].performance is Performance.NOT_MET and without[0].content_hash != record.content_hash


def test_no_measure_in_scope_calculates_all_five_with_a_warning() -> None:
    doc = make_doc(OFFICE_VISIT, MAMMOGRAM, measures=(q.MeasureReference(None, None, ecqm_id="CMS69"),))
    records, issues, results = calculate_qrda_detailed(
        doc, tin=TIN, source_file="p.xml", performance_year=2025
    )
    assert set(results) == {"M001", "M112", "M113", "M134", "M236"}
    codes = {i.code for i in issues}
    assert codes == {"ecqm_no_measure_referenced", "ecqm_measure_not_in_scope"}
    assert all(i.severity == "warning" and i.file == "p.xml" and i.tin == TIN for i in issues)
    # 60-year-old woman with an office visit (CPT 99213, also a depression screening encounter):
    # breast (M112), colorectal (M113) cancer screening and depression screening (M134)
    assert {r.measure_id: r.performance for r in records} == {
        "M112": Performance.MET,
        "M113": Performance.NOT_MET,
        "M134": Performance.NOT_MET,
    }


def test_missing_birth_date_is_an_error_without_records() -> None:
    records, issues = calculate_qrda(
        make_doc(OFFICE_VISIT, birth_date=None), tin=TIN, source_file="p.xml", performance_year=2025
    )
    assert records == []
    [issue] = issues
    assert issue.severity == "error" and "birth date" in issue.reason and "Ann" not in issue.reason


def test_reporting_period_of_another_year_is_reported() -> None:
    doc = make_doc(
        OFFICE_VISIT, reporting_period_start=datetime(2014, 1, 1), reporting_period_end=datetime(2014, 12, 31)
    )
    _, issues = calculate_qrda(doc, tin=TIN, source_file="p.xml", performance_year=2025)
    assert [i.code for i in issues] == ["ecqm_period_mismatch"]


# ---------------------------------------------------------------- mapping details
def test_orders_and_recommendations_are_not_performed_entries() -> None:
    ordered = entry(
        q.QrdaEntryKind.ENCOUNTER, "Encounter, Order", "99213", CPT, "2025-04-01T09:00", mood_code="RQO"
    )
    recommended = entry(
        q.QrdaEntryKind.DIAGNOSTIC_STUDY,
        "Diagnostic Study, Recommended",
        "24604-1",
        LOINC,
        "2025-01-05",
        mood_code="INT",
    )
    model = patient_from_qrda(make_doc(ordered, recommended))
    assert model.entries == []


def test_negated_assessment_with_value_set_code_becomes_not_done_with_reason() -> None:
    not_done = not_done_entry(
        q.QrdaEntryKind.ASSESSMENT,
        "Assessment, Performed",
        q.QrdaCode("73832-8", LOINC),
        author_time=datetime(2025, 4, 1, 9, 10),
        negation_reason=q.QrdaCode("183932001", SNOMED),  # procedure contraindicated: a medical reason
    )
    depression_visit = entry(
        q.QrdaEntryKind.ENCOUNTER,
        "Encounter, Performed",
        "10197000",
        SNOMED,
        "2025-04-01T09:00",
        "2025-04-01T09:30",
    )
    doc = make_doc(
        depression_visit,
        not_done,
        measures=(q.MeasureReference(None, None, ecqm_id="CMS2", catalog_measure_id="M134"),),
    )
    [record], _ = calculate_qrda(doc, tin=TIN, source_file="p.xml", performance_year=2025)
    assert record.performance is Performance.DENOMINATOR_EXCEPTION
    [model_entry] = [e for e in patient_from_qrda(doc).entries if e.negated]
    assert model_entry.status == "cancelled"


def test_null_flavored_code_with_value_set_stands_for_the_value_set() -> None:
    value_set = "2.16.840.1.113883.3.526.3.1584"
    code = q.QrdaCode(None, None, null_flavor="NA", value_set=value_set)
    not_done = not_done_entry(q.QrdaEntryKind.INTERVENTION, "Intervention, Performed", code, element="act")
    doc = make_doc(not_done)
    from aco_sync.ecqm.qrda import to_entry
    from aco_sync.ecqm.valuesets import default_value_sets

    assert to_entry(not_done, default_value_sets(2025)) is None  # a procedure not done is no procedure
    assert patient_from_qrda(doc).entries == []


@pytest.mark.parametrize("gender", [Gender.MALE, Gender.UNKNOWN])
def test_breast_cancer_screening_is_not_calculated_for_men_or_unknown_gender(gender: Gender) -> None:
    records, _ = calculate_qrda(
        make_doc(OFFICE_VISIT, MAMMOGRAM, gender=gender), tin=TIN, source_file="p.xml", performance_year=2025
    )
    assert records == []


def test_a_failing_measure_is_reported_and_the_others_still_calculate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aco_sync.ecqm import registry
    from aco_sync.ecqm.context import MeasureContext
    from aco_sync.ecqm.populations import Criteria

    def broken(ctx: MeasureContext) -> Criteria:
        raise ValueError("boom")

    spec = registry.specification("M112", 2025)
    monkeypatch.setitem(registry._SPECIFICATIONS, ("M112", 2025), dataclasses.replace(spec, logic=broken))
    doc = make_doc(
        OFFICE_VISIT,
        MAMMOGRAM,
        measures=(
            q.MeasureReference(None, None, ecqm_id="CMS125", catalog_measure_id="M112"),
            q.MeasureReference(None, None, ecqm_id="CMS130", catalog_measure_id="M113"),
        ),
    )
    records, issues = calculate_qrda(doc, tin=TIN, source_file="p.xml", performance_year=2025)
    assert [r.measure_id for r in records] == ["M113"]
    [issue] = issues
    assert issue.code == "ecqm_calculation_failed" and issue.severity == "error"
    assert "CMS125 (M112)" in issue.reason and "other measures" in issue.reason


def test_a_failing_measure_logs_no_exception_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The exception's message may quote patient data: the log names its type and place only."""
    from aco_sync.ecqm import registry
    from aco_sync.ecqm.context import MeasureContext
    from aco_sync.ecqm.populations import Criteria

    def broken(ctx: MeasureContext) -> Criteria:
        raise ValueError(f"bad birth date {ctx.patient.birth_date} of patient Lee")

    spec = registry.specification("M112", 2025)
    monkeypatch.setitem(registry._SPECIFICATIONS, ("M112", 2025), dataclasses.replace(spec, logic=broken))
    doc = make_doc(
        OFFICE_VISIT,
        MAMMOGRAM,
        measures=(q.MeasureReference(None, None, ecqm_id="CMS125", catalog_measure_id="M112"),),
    )
    calculate_qrda(doc, tin=TIN, source_file="p.xml", performance_year=2025)
    [failure] = [r for r in caplog.records if r.getMessage() == "eCQM calculation failed"]
    assert failure.__dict__["error"] == "ValueError" and failure.__dict__["measure_id"] == "M112"
    assert failure.exc_info is None and failure.__dict__["where"]
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "Lee" not in logged and "1965" not in logged


def test_negated_order_is_no_order() -> None:
    hospice_not_ordered = entry(
        q.QrdaEntryKind.INTERVENTION,
        "Intervention, Order",
        "385763009",
        SNOMED,
        "2025-03-01T09:00",
        mood_code="RQO",
        negated=True,
    )
    assert patient_from_qrda(make_doc(hospice_not_ordered)).entries == []
    ordered = dataclasses.replace(hospice_not_ordered, negated=False)
    [order] = patient_from_qrda(make_doc(ordered)).entries
    assert (order.kind.value, order.status, order.intent) == ("service_request", "active", "order")


def test_blood_pressure_panel_with_nested_components_is_read() -> None:
    def component(code: str, value: str) -> q.QrdaEntry:
        return q.QrdaEntry(
            kind=q.QrdaEntryKind.RESULT,
            qdm_datatype=None,
            template_ids=(),
            element="observation",
            codes=(q.QrdaCode(code, LOINC),),
            values=(q.QrdaQuantity(Decimal(value), "mm[Hg]"),),
        )

    panel = dataclasses.replace(
        entry(
            q.QrdaEntryKind.PHYSICAL_EXAM, "Physical Exam, Performed", "85354-9", LOINC, "2025-05-01T09:10"
        ),
        components=(component("8480-6", "128"), component("8462-4", "82")),
    )
    hypertension = entry(q.QrdaEntryKind.DIAGNOSIS, "Diagnosis", "59621000", SNOMED, "2020-01-01")
    doc = make_doc(
        OFFICE_VISIT,
        hypertension,
        panel,
        measures=(q.MeasureReference(None, None, ecqm_id="CMS165", catalog_measure_id="M236"),),
    )
    [record], _ = calculate_qrda(doc, tin=TIN, source_file="p.xml", performance_year=2025)
    assert (record.performance, record.systolic, record.diastolic) == (Performance.MET, 128, 82)


def test_patient_model_repr_has_no_phi() -> None:
    from aco_sync.ecqm.model import PatientModel

    patient = PatientModel(
        "p-1", date(1941, 7, 19), Gender.FEMALE, first_name="Zebulon", last_name="Quixote", mbi="9ZZ9ZZ9ZZ99"
    )
    text = repr(patient)
    assert "p-1" in text
    assert not any(phi in text for phi in ("Zebulon", "Quixote", "9ZZ9ZZ9ZZ99", "1941"))
