"""The domain package stays pure (no AWS imports), and plan_measures keeps the collection-type
table's invariants for any mix of submissions."""

from __future__ import annotations

import ast
from pathlib import Path

from engine_factories import CATALOG, settings
from hypothesis import given
from hypothesis import strategies as st

import aco_sync.domain
from aco_sync.domain.collection_types import plan_measures
from aco_sync.domain.records import CollectionType

FORBIDDEN = ("boto3", "botocore", "aws_lambda_powertools", "aco_sync.adapters", "aco_sync.service")


def test_domain_package_imports_nothing_from_aws_or_adapters():
    folder = Path(aco_sync.domain.__file__).parent
    offenders = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert offenders == []


_submissions = st.lists(
    st.tuples(
        st.sampled_from(["111111111", "222222222", "333333333"]),
        st.sampled_from(["M001", "M112", "M113", "M134", "M236"]),
        st.sampled_from(list(CollectionType)),
    ),
    min_size=1,
    max_size=12,
)


@given(_submissions, st.booleans(), st.booleans())
def test_plan_invariants(submissions, has_roster, opt_in):
    plan = plan_measures(
        submissions, has_active_roster=has_roster, settings=settings(mcqm_opt_in=opt_in), catalog=CATALOG
    )
    assert set(plan.measures) == {measure for _, measure, _ in submissions}
    for measure_id, decision in plan.measures.items():
        submitted = {ct for _, m, ct in submissions if m == measure_id}
        assert decision.submitted == submitted
        if CollectionType.MCQM in submitted:
            assert decision.cqm_removed != decision.halted
            assert decision.halted == (not has_roster)
            assert decision.instances == (() if decision.halted else (CollectionType.MCQM,))
        else:
            assert not decision.halted and not decision.cqm_removed
            base = CollectionType.ECQM if submitted == {CollectionType.ECQM} else CollectionType.CQM
            assert decision.instances[0] is base
            mcqm_allowed = (
                opt_in and has_roster and not (base is CollectionType.ECQM and measure_id == "M112")
            )
            assert (CollectionType.MCQM in decision.instances) == mcqm_allowed
    assert plan.mcqm_needed == any(CollectionType.MCQM in d.instances for d in plan.measures.values())
