export * from './pre-post-script-backup';
export * from './scripts/backup-script';
export * from './central/central-audit';
