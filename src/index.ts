export * from './pre-post-script-backup/props';
export * from './pre-post-script-backup/pre-post-script-backup';
export * from './scripts/backup-script';
export * from './scripts/ready-made-options';
export * from './central-audit/central-audit';
