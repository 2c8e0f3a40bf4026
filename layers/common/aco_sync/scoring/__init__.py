"""Scoring: CMS benchmarks, decile points per measure instance, the ACO quality score, clinic stats."""
