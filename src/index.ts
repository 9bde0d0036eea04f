export * from './pre-post-script-backup';
export * from './scripts/backup-script';
