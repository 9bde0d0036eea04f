#!/bin/bash
# Example post-backup script (thaw the data volume).
set -euo pipefail
fsfreeze --unfreeze /data || true
