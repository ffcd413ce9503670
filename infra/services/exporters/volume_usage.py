"""volume-usage: a `du` loop measuring each volume of the stack for the node exporter's textfile
collector (nothing else reports a Docker volume's size)."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import Hardening, HostMount, Mount, ServiceSpec
from .node_exporter import TEXTFILE_DIR
from ...configs.dashboards import Panel, Query

#: Where Docker keeps named volumes on the host (its default data root).
DOCKER_VOLUMES = "/var/lib/docker/volumes"

#: Measures each volume of the stack (VOLUMES: `key=docker-name` pairs) every INTERVAL seconds and
#: writes the node exporter's textfile format atomically (the collector ignores the `.tmp` file).
#: ONCE=1 runs one round.
VOLUME_USAGE_SCRIPT = r"""
set -eu
out="$TEXTFILE_DIR/volumes.prom"
while true; do
  {
    echo "# HELP mlops_volume_used_bytes Disk space used by a Docker volume of this stack."
    echo "# TYPE mlops_volume_used_bytes gauge"
    for entry in $VOLUMES; do
      volume="${entry%%=*}"
      dir="$VOLUMES_DIR/${entry#*=}/_data"
      [ -d "$dir" ] || continue
      kib=$(du -sk "$dir" 2>/dev/null | cut -f1)
      if [ -n "$kib" ]; then
        echo "mlops_volume_used_bytes{volume=\"$volume\"} $((kib * 1024))"
      fi
    done
  } > "$out.tmp"
  mv "$out.tmp" "$out"
  if [ "${ONCE:-0}" = 1 ]; then exit 0; fi
  sleep "$INTERVAL"
done
"""


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    return [
        ServiceSpec(
            name="volume-usage",
            layer="observability",
            image=ctx.image("volume-usage"),
            networks=("backend",),
            mounts=(HostMount(DOCKER_VOLUMES, "/volumes"), Mount("metrics-textfile", TEXTFILE_DIR)),
            command=("sh", "-c", VOLUME_USAGE_SCRIPT),
            env={
                "VOLUMES": " ".join(f"{key}={ctx.settings.docker_name(key)}" for key in sorted(wiring.volumes)),
                "VOLUMES_DIR": "/volumes",
                "TEXTFILE_DIR": TEXTFILE_DIR,
                "INTERVAL": "300",
            },
            memory_mb=32,
            hardening=Hardening(
                cap_add=("DAC_READ_SEARCH",),
                exceptions={
                    "user": "busybox declares no USER; `du` must read volumes whatever user owns their files",
                    "cap_add": "DAC_READ_SEARCH lets `du` walk other users' volume directories (read-only)",
                },
            ),
            description="disk use of each volume of the stack, for the node exporter",
        ),
    ]


#: Its panel of the "Platform overview" dashboard.
DASHBOARD_ROWS = (
    Panel(
        "Disk use of volumes",
        (Query("max by (volume) (mlops_volume_used_bytes)", "{{volume}}"),),
        unit="bytes",
        description="Measured with du every 5 minutes by the volume-usage container.",
    ),
)
