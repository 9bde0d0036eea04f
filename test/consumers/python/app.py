"""A Python platform team's CDK app using cdk-pre-post-script-backup from its wheel.

Run by test_consumer.py (`npx projen test:consumers:python`), or with the CDK CLI: `cdk synth`.
"""
import os

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_pre_post_script_backup import BackupScript, PrePostScriptBackup

HERE = os.path.dirname(os.path.abspath(__file__))


class DatabaseBackupStack(cdk.Stack):
    """Application-consistent nightly backups of the database fleet, stopping each instance for its backup."""

    def __init__(self, scope: Construct, construct_id: str, *, stop_instances: bool = True, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)

        self.backup = PrePostScriptBackup(
            self,
            "DatabaseBackup",
            tag_key="backup-job-pre-post-script",
            tag_value="true",
            pre_script=BackupScript.from_asset(
                os.path.join(HERE, "scripts", "freeze.sh"),
                timeout=cdk.Duration.minutes(5),
            ),
            post_script=BackupScript.from_asset(os.path.join(HERE, "scripts", "thaw.sh")),
            stop_instances=stop_instances,
            schedule=events.Schedule.cron(hour="2", minute="0"),
        )

        instance_role = iam.Role(self, "InstanceRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
        self.backup.grant_instance_access(instance_role)


def main() -> None:
    app = cdk.App()
    DatabaseBackupStack(app, "PythonConsumer")
    app.synth()


if __name__ == "__main__":
    main()
