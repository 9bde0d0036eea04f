#!/bin/bash
# Example pre-backup script (flush and freeze the data volume).
set -euo pipefail
sync
fsfreeze --freeze /data
