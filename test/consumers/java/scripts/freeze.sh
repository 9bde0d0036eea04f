#!/bin/bash
# Pre-backup script of the Java consumer app: flush and freeze the application's file system.
set -euo pipefail
sync
fsfreeze --freeze /data
