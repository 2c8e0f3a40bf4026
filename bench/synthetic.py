"""A seeded synthetic ACO, realistic enough to exercise every engine path at any size.

- member TINs with overlapping patients (a share of patients is seen at a second and third TIN);
- name variants: case/whitespace variants (merged by exact de-duplication) and a few typos, nicknames
  and initials (kept apart, reported as probable duplicates);
- several encounters per patient and measure, every performance kind, some records without a date;
- collection types per TIN and measure: eCQM, CQM and MCQM mixes, plus MCQM denominator-only counts;
- a Medicare roster with most patients, beneficiaries not in the data, and ambiguous pairs (two roster
  rows with the same name, birth date and gender, different MBIs).

``generate_aco(records=..., tins=..., patients=...)`` returns a :class:`SyntheticAco` (records as a
columnar RecordBatch, roster, denominator counts, settings); ``write_encoded`` stores the records with
the engine's codec, one file per TIN or one file in all. Reusable by other benchmarks.

Usage: python bench/synthetic.py --records 100000 --out /tmp/aco   (writes records.bin + summary)
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "common"))

from aco_sync.domain.record_codec import FIELDS, RecordBatch, encode_records
from aco_sync.domain.records import (
    CollectionType,
    DenominatorCount,
    Gender,
    RosterEntry,
)
from aco_sync.domain.settings import AcoSettings, MemberClinic
from aco_sync.ingest.tabular import npi_with_check_digit
from aco_sync.ingest.templates import TEMPLATE

FIRST_F = [
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Susan",
    "Jessica",
    "Sarah",
    "Karen",
    "Nancy",
    "Lisa",
    "Margaret",
    "Betty",
    "Sandra",
    "Ashley",
    "Dorothy",
    "Kimberly",
    "Emily",
    "Donna",
    "Michelle",
    "Carol",
    "Amanda",
    "Melissa",
    "Deborah",
    "Stephanie",
    "Rebecca",
    "Laura",
    "Helen",
    "Sharon",
    "Cynthia",
    "Kathleen",
    "Amy",
    "Shirley",
    "Angela",
    "Anna",
    "Ruth",
    "Brenda",
    "Pamela",
    "Nicole",
    "Katherine",
    "Virginia",
    "Catherine",
    "Christine",
    "Samantha",
    "Debra",
    "Janet",
    "Rachel",
    "Carolyn",
    "Emma",
    "Maria",
    "Heather",
    "Diane",
    "Julie",
    "Joyce",
    "Evelyn",
    "Frances",
    "Joan",
    "Christina",
    "Kelly",
    "Victoria",
    "Lauren",
    "Martha",
    "Judith",
    "Cheryl",
    "Megan",
    "Andrea",
    "Ann",
    "Alice",
    "Jean",
    "Doris",
    "Jacqueline",
    "Kathryn",
    "Hannah",
    "Olivia",
    "Gloria",
    "Marie",
    "Teresa",
    "Sara",
    "Janice",
    "Julia",
    "Grace",
    "Judy",
    "Theresa",
    "Rose",
    "Beverly",
    "Denise",
    "Marilyn",
    "Amber",
    "Madison",
    "Danielle",
    "Brittany",
    "Diana",
    "Abigail",
    "José",
    "Zoë",
    "Renée",
    "Siobhán",
    "Ngọc",
    "Chloé",
]
FIRST_M = [
    "James",
    "Robert",
    "John",
    "Michael",
    "David",
    "William",
    "Richard",
    "Joseph",
    "Thomas",
    "Christopher",
    "Charles",
    "Daniel",
    "Matthew",
    "Anthony",
    "Mark",
    "Donald",
    "Steven",
    "Andrew",
    "Paul",
    "Joshua",
    "Kenneth",
    "Kevin",
    "Brian",
    "Timothy",
    "Ronald",
    "George",
    "Jason",
    "Edward",
    "Jeffrey",
    "Ryan",
    "Jacob",
    "Nicholas",
    "Gary",
    "Eric",
    "Jonathan",
    "Stephen",
    "Larry",
    "Justin",
    "Scott",
    "Brandon",
    "Benjamin",
    "Samuel",
    "Gregory",
    "Alexander",
    "Patrick",
    "Frank",
    "Raymond",
    "Jack",
    "Dennis",
    "Jerry",
    "Tyler",
    "Aaron",
    "Jose",
    "Adam",
    "Nathan",
    "Henry",
    "Zachary",
    "Douglas",
    "Peter",
    "Kyle",
    "Noah",
    "Ethan",
    "Jeremy",
    "Walter",
    "Christian",
    "Keith",
    "Roger",
    "Terry",
    "Austin",
    "Sean",
    "Gerald",
    "Carl",
    "Harold",
    "Dylan",
    "Arthur",
    "Lawrence",
    "Jordan",
    "Jesse",
    "Bryan",
    "Billy",
    "Bruce",
    "Gabriel",
    "Joe",
    "Logan",
    "Alan",
    "Juan",
    "Albert",
    "Willie",
    "Elijah",
    "Wayne",
    "Randy",
    "Vincent",
    "Mason",
    "Roy",
    "Ralph",
    "Bobby",
    "Russell",
    "Bradley",
    "Philip",
    "Eugene",
    "Søren",
    "Björn",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jiménez",
    "O'Brien",
    "McDonald",
    "Van der Berg",
    "Nuñez",
    "Müller",
    "Ó Súilleabháin",
    "Đặng",
]
MEASURES = ["M001", "M112", "M113", "M134", "M236"]
PERFORMANCES = ["MET", "NOT_MET", "DENOMINATOR_EXCLUSION", "DENOMINATOR_EXCEPTION", "DENOMINATOR_ONLY"]
PERFORMANCE_WEIGHTS = [50, 30, 5, 3, 12]
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"


@dataclass
class SyntheticAco:
    records: RecordBatch
    roster: list[RosterEntry]
    denominator_counts: list[DenominatorCount]
    settings: AcoSettings
    tins: list[str]
    patients: int  # distinct people generated (before name variants)
    collection_types: dict[tuple[str, str], str] = field(default_factory=dict)  # (tin, measure) -> type

    @property
    def size(self) -> int:
        return len(self.records)


def _mbi(rng: random.Random) -> str:
    letters = _MBI_LETTERS
    return (
        f"{rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}{rng.randint(0, 9)}"
        f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(0, 9)}{rng.choice(letters)}"
        f"{rng.choice(letters)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    )


def _variant(rng: random.Random, name: str) -> str:
    """A spelling a different clinic might use for the same name: exact-equal after normalisation."""
    choice = rng.random()
    if choice < 0.4:
        return name.upper()
    if choice < 0.7:
        return f"  {name.lower()} "
    return name.replace(" ", "  ") if " " in name else name.casefold().title()


def _typo(rng: random.Random, name: str) -> str:
    """A variant that is NOT merged (probable duplicate): a typo or an initial."""
    if rng.random() < 0.3:
        return name[0] + "."
    i = rng.randrange(len(name))
    return name[:i] + name[i + 1 :] if len(name) > 3 else name + "e"


def _collection_types(rng: random.Random, tins: list[str]) -> dict[tuple[str, str], str]:
    """Per (TIN, measure): mostly CQM and eCQM; M112 and M134 have a few MCQM TINs."""
    types = {}
    for tin in tins:
        for measure in MEASURES:
            if measure in ("M112", "M134") and rng.random() < 0.1:
                types[(tin, measure)] = "MCQM"
            elif measure == "M113":
                types[(tin, measure)] = "eCQM"
            else:
                types[(tin, measure)] = "eCQM" if rng.random() < 0.4 else "CQM"
    return types


def generate_aco(
    *,
    records: int = 100_000,
    tins: int = 20,
    patients: int | None = None,
    seed: int = 20251125,
    performance_year: int = 2025,
    roster_share: float = 0.6,
    ambiguous_roster_share: float = 0.005,
) -> SyntheticAco:
    """About ``records`` records (exactly that many) for ``patients`` people across ``tins`` TINs."""
    rng = random.Random(seed)
    patients = patients or max(1, records // 4)
    tin_ids = [f"{100000000 + i * 7919:09d}" for i in range(tins)]
    types = _collection_types(rng, tin_ids)
    py_start = date(performance_year, 1, 1).toordinal()
    birth_start, birth_end = date(1930, 1, 1).toordinal(), date(1965, 12, 31).toordinal()

    people = []  # (first, last, birth ordinal, gender, mbi, tins)
    for _ in range(patients):
        gender = "F" if rng.random() < 0.55 else "M"
        first = rng.choice(FIRST_F if gender == "F" else FIRST_M)
        last = rng.choice(LAST)
        if rng.random() < 0.3:
            last = f"{last}-{rng.choice(LAST)}"
        birth = rng.randint(birth_start, birth_end)
        home = rng.randrange(tins)
        member_tins = [home]
        while rng.random() < 0.3 and len(member_tins) < 3:
            member_tins.append(rng.randrange(tins))
        people.append((first, last, birth, gender, _mbi(rng), member_tins))

    columns: dict[str, list] = {name: [] for name in FIELDS}
    c = columns
    per_person = max(1, records // patients)
    serial = 0
    while serial < records:
        for person_index, (first, last, birth, gender, mbi, member_tins) in enumerate(people):
            if serial >= records:
                break
            budget = per_person if serial + per_person <= records else records - serial
            measures = rng.sample(MEASURES, k=min(len(MEASURES), max(1, (budget + 1) // 2)))
            for n in range(budget):
                measure = measures[n % len(measures)]
                tin_index = member_tins[n % len(member_tins)]
                tin = tin_ids[tin_index]
                ct = types[(tin, measure)]
                shown_first, shown_last = first, last
                if tin_index != member_tins[0]:
                    roll = rng.random()
                    if roll < 0.5:
                        shown_first, shown_last = _variant(rng, first), _variant(rng, last)
                    elif roll < 0.52:
                        shown_first = _typo(rng, first)
                performance = rng.choices(PERFORMANCES, PERFORMANCE_WEIGHTS)[0]
                day = 0 if rng.random() < 0.01 else py_start + rng.randrange(365)
                c["tin"].append(tin)
                c["source_key"].append(f"{tin}:enc{serial}")
                c["measure_id"].append(measure)
                c["collection_type"].append(ct)
                c["performance"].append(performance)
                c["performance_date"].append(day)
                c["first_name"].append(shown_first)
                c["last_name"].append(shown_last)
                c["birth_date"].append(birth)
                c["gender"].append(gender)
                c["mbi"].append(mbi if ct == "MCQM" or rng.random() < 0.3 else None)
                c["npi"].append(f"1{tin_index:04d}{serial % 7:05d}")
                c["member_patient_id"].append(f"MRN{person_index}")
                c["source_file"].append(
                    f"members/{tin}/templates/{measure}.csv"
                    if ct != "eCQM"
                    else f"members/{tin}/qrda/{person_index}.xml"
                )
                c["source_line"].append(serial + 2 if ct != "eCQM" else None)
                c["hba1c"].append(round(rng.uniform(5, 12), 1) if measure == "M001" else None)
                c["systolic"].append(rng.randint(100, 180) if measure == "M236" else None)
                c["diastolic"].append(rng.randint(60, 110) if measure == "M236" else None)
                c["content_hash"].append("")
                serial += 1
                if serial >= records:
                    break

    roster = []
    for first, last, birth, gender, mbi, _ in people:
        if rng.random() < roster_share:
            roster.append(
                RosterEntry(
                    mbi=mbi,
                    first_name=first,
                    last_name=last,
                    birth_date=date.fromordinal(birth),
                    gender=Gender(gender),
                )
            )
    ambiguous = int(len(roster) * ambiguous_roster_share)
    for entry in rng.sample(roster, k=ambiguous):
        roster.append(
            RosterEntry(
                mbi=_mbi(rng),
                first_name=entry.first_name,
                last_name=entry.last_name,
                birth_date=entry.birth_date,
                gender=entry.gender,
            )
        )
    for _ in range(len(roster) // 20):  # beneficiaries with no data at any TIN
        gender = rng.choice("FM")
        roster.append(
            RosterEntry(
                mbi=_mbi(rng),
                first_name=rng.choice(FIRST_F if gender == "F" else FIRST_M),
                last_name=rng.choice(LAST) + "son",
                birth_date=date.fromordinal(rng.randint(birth_start, birth_end)),
                gender=Gender(gender),
            )
        )
    rng.shuffle(roster)

    counts = [
        DenominatorCount(
            tin=tin,
            measure_id=measure,
            collection_type=CollectionType.MCQM,
            count=rng.randint(5, 200),
            source_file=f"members/{tin}/templates/counts.csv",
            source_line=2,
        )
        for (tin, measure), ct in sorted(types.items())
        if ct == "MCQM" and rng.random() < 0.5
    ]
    settings = AcoSettings(
        aco_id="SYNTHETIC",
        name="Synthetic ACO",
        performance_year=performance_year,
        member_clinics=[MemberClinic(tin=tin) for tin in tin_ids],
        mcqm_opt_in=True,
    )
    return SyntheticAco(
        records=RecordBatch(columns, serial),
        roster=roster,
        denominator_counts=counts,
        settings=settings,
        tins=tin_ids,
        patients=patients,
        collection_types=types,
    )


def write_encoded(aco: SyntheticAco, folder: Path, *, per_tin: bool = False) -> list[Path]:
    """Write the records with the engine codec: ``records.bin``, or ``<tin>.bin`` per TIN."""
    folder.mkdir(parents=True, exist_ok=True)
    if not per_tin:
        path = folder / "records.bin"
        path.write_bytes(encode_records(aco.records))
        return [path]
    by_tin: dict[str, list[int]] = {}
    for index, tin in enumerate(aco.records.columns["tin"]):
        by_tin.setdefault(tin, []).append(index)
    paths = []
    for tin, indexes in sorted(by_tin.items()):
        columns = {name: [values[i] for i in indexes] for name, values in aco.records.columns.items()}
        path = folder / f"{tin}.bin"
        path.write_bytes(encode_records(RecordBatch(columns, len(indexes))))
        paths.append(path)
    return paths


# the template reader's own columns (the file's folder names the TIN, so no tin column)
TEMPLATE_COLUMNS = [column for column in TEMPLATE.names if column != "tin"]


def valid_npi(number: int) -> str:
    """A 10-digit NPI with a valid check digit."""
    return npi_with_check_digit(f"{100_000_000 + number % 900_000_000:09d}")


def write_bucket_folder(aco: SyntheticAco, folder: Path) -> str:
    """Write ``aco`` as real input files in the data bucket layout (docs/INPUT_FORMATS.md); returns the
    ACO id. ``folder`` can then be synced with ``aco_sync_local.runner.run_local_sync(folder)``.

    - ``config/acos/<aco_id>.json``: the settings;
    - ``rosters/<aco_id>/<py>/roster.csv``: the roster (ambiguous pairs included);
    - ``members/<aco_id>/<tin>/providers.csv``: every NPI the TIN's rows use (valid check digits);
    - ``members/<aco_id>/<tin>/templates/records.csv``: one template row per record, with
      ``encounter_id`` = the record's serial (so a changed row updates its record instead of adding
      one). eCQM records are written as CQM rows: eCQM data only comes from QRDA-I files, which this
      writer does not produce; MCQM records keep their type;
    - ``members/<aco_id>/<tin>/templates/counts.csv``: the TIN's MCQM denominator-only counts.

    A record without a performance date gets 1 January (a template row with a performance needs a
    date); DENOMINATOR_ONLY is written as a blank performance. Rewriting the same ``aco`` to the same
    folder gives byte-identical files.
    """
    import csv

    settings = aco.settings
    aco_id = settings.aco_id
    year = settings.performance_year
    config = folder / "config" / "acos"
    config.mkdir(parents=True, exist_ok=True)
    (config / f"{aco_id}.json").write_text(settings.model_dump_json(indent=2), encoding="utf-8")

    roster_dir = folder / "rosters" / aco_id / str(year)
    roster_dir.mkdir(parents=True, exist_ok=True)
    with (roster_dir / "roster.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mbi", "first_name", "last_name", "birth_date", "gender"])
        for entry in aco.roster:
            birth = entry.birth_date.isoformat()
            writer.writerow([entry.mbi, entry.first_name, entry.last_name, birth, entry.gender.value])

    columns = aco.records.columns
    january_first = date(year, 1, 1).toordinal()
    npis: dict[str, str] = {}
    rows_by_tin: dict[str, list[list[object]]] = {tin: [] for tin in aco.tins}
    dates: dict[int, str] = {}
    for i in range(len(aco.records)):
        tin = columns["tin"][i]
        npi = npis.get(columns["npi"][i])
        if npi is None:
            npi = npis[columns["npi"][i]] = valid_npi(len(npis))
        performance = columns["performance"][i]
        day = columns["performance_date"][i] or january_first
        day_text = dates.get(day)
        if day_text is None:
            day_text = dates[day] = date.fromordinal(day).isoformat()
        birth = columns["birth_date"][i]
        birth_text = dates.get(birth)
        if birth_text is None:
            birth_text = dates[birth] = date.fromordinal(birth).isoformat()
        collection_type = columns["collection_type"][i]
        values = {
            "measure_id": columns["measure_id"][i],
            "collection_type": "MCQM" if collection_type == "MCQM" else "CQM",
            "first_name": columns["first_name"][i],
            "last_name": columns["last_name"][i],
            "birth_date": birth_text,
            "gender": columns["gender"][i],
            "performance_date": day_text,
            "performance": "" if performance == "DENOMINATOR_ONLY" else performance,
            "npi": npi,
            "encounter_id": columns["source_key"][i].rpartition(":")[2],
            "patient_id": columns["member_patient_id"][i],
            "mbi": columns["mbi"][i] or "",
            "hba1c": "" if columns["hba1c"][i] is None else columns["hba1c"][i],
            "systolic": "" if columns["systolic"][i] is None else columns["systolic"][i],
            "diastolic": "" if columns["diastolic"][i] is None else columns["diastolic"][i],
        }
        rows_by_tin[tin].append([values[column] for column in TEMPLATE_COLUMNS])
    npis_by_tin: dict[str, set[str]] = {tin: set() for tin in aco.tins}
    npi_column = TEMPLATE_COLUMNS.index("npi")
    for tin, rows in rows_by_tin.items():
        npis_by_tin[tin].update(str(row[npi_column]) for row in rows)
    counts_by_tin: dict[str, list[DenominatorCount]] = {}
    for count in aco.denominator_counts:
        counts_by_tin.setdefault(count.tin, []).append(count)

    for tin in aco.tins:
        clinic = folder / "members" / aco_id / tin
        templates = clinic / "templates"
        templates.mkdir(parents=True, exist_ok=True)
        with (clinic / "providers.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["npi", "name", "active"])
            for n, npi in enumerate(sorted(npis_by_tin[tin]) or [valid_npi(0)]):
                writer.writerow([npi, f"Provider {n + 1}", "Y"])
        with (templates / "records.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(TEMPLATE_COLUMNS)
            writer.writerows(rows_by_tin[tin])
        counts_file = templates / "counts.csv"
        if tin in counts_by_tin:
            with counts_file.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["measure_id", "collection_type", "denominator_only_count"])
                for count in counts_by_tin[tin]:
                    writer.writerow([count.measure_id, count.collection_type.value, count.count])
        elif counts_file.exists():
            counts_file.unlink()
    return aco_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--tins", type=int, default=20)
    parser.add_argument("--patients", type=int, default=None)
    parser.add_argument("--seed", type=int, default=20251125)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-tin", action="store_true")
    args = parser.parse_args()
    aco = generate_aco(records=args.records, tins=args.tins, patients=args.patients, seed=args.seed)
    paths = write_encoded(aco, args.out, per_tin=args.per_tin)
    size = sum(p.stat().st_size for p in paths)
    print(
        f"{aco.size} records, {aco.patients} people, {len(aco.tins)} TINs, {len(aco.roster)} roster rows, "
        f"{len(aco.denominator_counts)} denominator counts -> {len(paths)} files, {size / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
