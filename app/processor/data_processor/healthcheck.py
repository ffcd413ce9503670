"""Container healthcheck: healthy while the worker's heartbeat file is fresh."""

import os
import sys
import time
from pathlib import Path

HEARTBEAT = Path(os.environ.get("HEARTBEAT_FILE", "/tmp/processor-heartbeat"))

MAX_AGE_SECONDS = 60

try:
    age = time.time() - HEARTBEAT.stat().st_mtime
except FileNotFoundError:
    sys.exit(1)
sys.exit(0 if age < MAX_AGE_SECONDS else 1)
