#!/bin/bash
# Post-backup script of the Python consumer app: thaw the application's file system.
set -euo pipefail
fsfreeze --unfreeze /data || true
