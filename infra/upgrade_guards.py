"""Preview-time guards for the stateful services' data: a version change that would leave a service on an empty
or unreadable volume fails `pulumi preview` (and so `pulumi up`) before any container is replaced.

The program exports the data version of every guarded service (`ServiceSpec.data_version`) as the stack output
`dataVersions` and reads the previous deployment's value back through a StackReference to the stack itself. A
first deploy has no such output yet: nothing to compare, nothing refused. The output moves to the new versions
only when the check passed, so a refused update keeps comparing against what is deployed."""

from __future__ import annotations

from typing import Any, Mapping

import pulumi

from .catalog.model import STACK, Catalog
from .settings import PROJECT, PlatformSettings

OUTPUT = "dataVersions"


def current_versions(catalog: Catalog) -> dict[str, str]:
    return {name: spec.data_version.version for name, spec in sorted(catalog.services.items()) if spec.data_version}


def refusals(catalog: Catalog, settings: PlatformSettings, previous: Mapping[str, Any] | None) -> list[str]:
    """One sentence per unsafe change from `previous` (the deployed versions) to the catalog's, unless the stack
    allows exactly that target version (`upgrades.allow.<service>`)."""
    found = []
    for name, spec in sorted(catalog.services.items()):
        guard = spec.data_version
        old = (previous or {}).get(name)
        if guard is None or old is None or str(old) == guard.version:
            continue
        unsafe = guard.unsafe(str(old), guard.version, settings.target)
        if unsafe is None or settings.upgrades.allow.get(name) == guard.version:
            continue
        found.append(
            f"{name}: {old} -> {guard.version} is unsafe: {unsafe.reason}. To make it safe: "
            f"{unsafe.remedy.replace(STACK, settings.stack)}. Once the "
            f"data is ready for {guard.version}, `pulumi config set --path upgrades.allow.{name} {guard.version}` lets "
            f"this change through"
        )
    return found


def guard_data_versions(catalog: Catalog, settings: PlatformSettings) -> None:
    """Export `dataVersions` once the deployed ones (if any) may safely move to the catalog's; otherwise fail with
    every refusal, naming both versions and what to run."""
    itself = pulumi.StackReference(
        f"{PROJECT}-{settings.stack}-deployed", f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    )

    def check(previous: Mapping[str, Any] | None) -> dict[str, str]:
        found = refusals(catalog, settings, previous)
        if found:
            raise pulumi.RunError("refusing an unsafe data version change (docs/upgrading.md):\n  " + "\n  ".join(found))
        return current_versions(catalog)

    pulumi.export(OUTPUT, itself.get_output(OUTPUT).apply(check))
