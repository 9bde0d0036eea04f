#!/bin/bash
# Post-backup script of the Java consumer app: thaw the application's file system.
set -euo pipefail
fsfreeze --unfreeze /data || true
