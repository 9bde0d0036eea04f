package com.example.backup;

import io.github.cdk_pre_post_script_backup.BackupScript;
import io.github.cdk_pre_post_script_backup.BackupScriptOptions;
import io.github.cdk_pre_post_script_backup.PrePostScriptBackup;
import java.nio.file.Path;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.services.events.CronOptions;
import software.amazon.awscdk.services.events.Schedule;
import software.amazon.awscdk.services.iam.Role;
import software.amazon.awscdk.services.iam.ServicePrincipal;
import software.constructs.Construct;

/** Application-consistent nightly backups of the database fleet, stopping each instance for its backup. */
public class DatabaseBackupStack extends Stack {
    private final PrePostScriptBackup backup;

    public DatabaseBackupStack(final Construct scope, final String id, final Path scripts, final boolean stopInstances) {
        super(scope, id);

        backup = PrePostScriptBackup.Builder.create(this, "DatabaseBackup")
                .tagKey("backup-job-pre-post-script")
                .tagValue("true")
                .preScript(BackupScript.fromAsset(scripts.resolve("freeze.sh").toString(),
                        BackupScriptOptions.builder().timeout(Duration.minutes(5)).build()))
                .postScript(BackupScript.fromAsset(scripts.resolve("thaw.sh").toString()))
                .stopInstances(stopInstances)
                .schedule(Schedule.cron(CronOptions.builder().hour("2").minute("0").build()))
                .build();

        Role instanceRole = Role.Builder.create(this, "InstanceRole")
                .assumedBy(new ServicePrincipal("ec2.amazonaws.com"))
                .build();
        backup.grantInstanceAccess(instanceRole);
    }

    public PrePostScriptBackup getBackup() {
        return backup;
    }
}
