#!/bin/bash
# Pre-backup script of the Python consumer app: flush and freeze the application's file system.
set -euo pipefail
sync
fsfreeze --freeze /data
