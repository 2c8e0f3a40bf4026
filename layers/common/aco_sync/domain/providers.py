"""Provider sync (PRODUCT.md "The sync workflow", Initial sync): providers of every member clinic are
synced to the aggregate clinic; new ones added, changed ones updated, and providers deleted from every
member clinic removed. Providers are identified by NPI. When several members list the same NPI, an
active listing wins over an inactive one, then the lowest TIN (deterministic, order-independent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aco_sync.domain.records import Provider


@dataclass(slots=True)
class ProviderDiff:
    added: list[Provider] = field(default_factory=list)  # member listings to add (sorted by NPI)
    updated: list[Provider] = field(default_factory=list)  # new versions of changed providers
    removed: list[Provider] = field(default_factory=list)  # aggregate providers no member lists any more
    unchanged: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "removed": len(self.removed),
            "unchanged": self.unchanged,
        }


def _preferred(a: Provider, b: Provider) -> Provider:
    return min(a, b, key=lambda p: (not p.active, p.tin, p.name))


def diff_providers(aggregate: Iterable[Provider], members: Iterable[Provider]) -> ProviderDiff:
    current: dict[str, Provider] = {}
    for provider in members:
        existing = current.get(provider.npi)
        current[provider.npi] = provider if existing is None else _preferred(existing, provider)
    stored = {provider.npi: provider for provider in aggregate}
    diff = ProviderDiff()
    for npi in sorted(current):
        provider = current[npi]
        old = stored.get(npi)
        if old is None:
            diff.added.append(provider)
        elif (old.name, old.active) != (provider.name, provider.active):
            diff.updated.append(provider)
        else:
            diff.unchanged += 1
    diff.removed = [stored[npi] for npi in sorted(stored) if npi not in current]
    return diff
