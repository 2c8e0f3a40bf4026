"""One module per eCQM; importing this package registers every measure's logic per performance year
(:mod:`aco_sync.ecqm.registry`)."""

from aco_sync.ecqm.measures import cms2, cms122, cms125, cms130, cms165  # noqa: F401
