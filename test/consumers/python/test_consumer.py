"""The Python wheel, used as a Python platform team uses it.

run.sh installs the wheel jsii-pacmak built (dist/python) and aws-cdk-lib into a fresh virtual environment
and runs these tests there. They fail when the wheel is missing, does not import, lacks its bundled
JavaScript or Lambda handlers, or synthesizes something other than the construct.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

import cdk_pre_post_script_backup
from app import DatabaseBackupStack
from cdk_pre_post_script_backup import BackupScript, PrePostScriptBackup

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SCRIPTS = os.path.join(HERE, "scripts")


def synth(stack_id: str, **kwargs):
    outdir = tempfile.mkdtemp(prefix="python-consumer-")
    app = cdk.App(outdir=outdir)
    stack = DatabaseBackupStack(app, stack_id, **kwargs)
    assembly = app.synth()
    return stack, assembly.directory


@pytest.fixture(scope="module")
def synthesized():
    stack, outdir = synth("PythonConsumer")
    return stack, Template.from_stack(stack), outdir


def settings_of(template: Template) -> str:
    """The construct's settings as the validate-input Lambda receives them (a JSON string with tokens)."""
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Environment": {"Variables": {"SETTINGS": Match.any_value()}}}},
    )
    assert len(functions) == 1, f"expected one function with SETTINGS, found {list(functions)}"
    return json.dumps(next(iter(functions.values()))["Properties"]["Environment"]["Variables"]["SETTINGS"])


def test_the_package_comes_from_the_installed_wheel():
    with open(os.path.join(REPO, "package.json")) as f:
        version = json.load(f)["version"]
    location = os.path.dirname(cdk_pre_post_script_backup.__file__)
    assert os.path.realpath(location).startswith(os.path.realpath(sys.prefix)), location
    dist_info = os.path.join(os.path.dirname(location), f"cdk_pre_post_script_backup-{version}.dist-info")
    assert os.path.isdir(dist_info), f"{dist_info} not found: is the wheel of version {version} installed?"


def test_the_constant_and_the_members_are_python_names(synthesized):
    stack, _, _ = synthesized
    assert PrePostScriptBackup.EVENT_DETAIL_TYPE == "BackupSolution-PrePostScript"
    backup = stack.backup
    for member in ("state_machine", "audit_table", "event_bus", "backup_vault", "backup_role", "schedule_rule"):
        assert getattr(backup, member) is not None, member
    assert backup.schedule_rule.rule_arn


def test_one_state_machine(synthesized):
    _, template, _ = synthesized
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)


def test_the_audit_table_is_keyed_by_execution(synthesized):
    _, template, _ = synthesized
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"KeySchema": [{"AttributeName": "SM_Execution_ID", "KeyType": "HASH"}]},
    )


def test_the_schedule_and_the_event_rule_start_the_state_machine(synthesized):
    _, template, _ = synthesized
    state_machine = next(iter(template.find_resources("AWS::StepFunctions::StateMachine")))
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "cron(0 2 * * ? *)",
            "Targets": [Match.object_like({"Arn": {"Ref": state_machine}, "Input": "{}"})],
        },
    )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {"detail-type": ["BackupSolution-PrePostScript"]},
            "Targets": [Match.object_like({"Arn": {"Ref": state_machine}, "InputPath": "$.detail"})],
        },
    )


def test_the_local_scripts_are_assets_and_configured(synthesized):
    _, template, outdir = synthesized
    with open(os.path.join(outdir, "PythonConsumer.assets.json")) as f:
        files = json.load(f)["files"]
    shipped = {}
    for asset_hash, asset in files.items():
        if asset["source"]["path"].endswith(".sh"):
            with open(os.path.join(outdir, asset["source"]["path"])) as f:
                shipped[f.read()] = asset_hash
    settings = settings_of(template)
    for name, timeout in (("freeze.sh", 300), ("thaw.sh", 600)):
        with open(os.path.join(SCRIPTS, name)) as f:
            content = f.read()
        assert content in shipped, f"{name} is not among the stack's file assets"
        assert f"{shipped[content]}.sh" in settings, f"the settings do not name {name}'s asset"
        # SSM saves the script under its key's last segment: the command line runs the downloaded <hash>.sh.
        assert f'bash {shipped[content]}.sh' in settings
    assert re.search(r'\\"preScript\\":\{.*?\\"timeoutSeconds\\":300', settings), settings


def test_the_bundled_lambda_handlers_are_in_the_wheel(synthesized):
    _, template, outdir = synthesized
    with open(os.path.join(outdir, "PythonConsumer.assets.json")) as f:
        files = json.load(f)["files"]
    handlers = [a["source"]["path"] for a in files.values() if a["source"]["packaging"] == "zip"]
    functions = template.find_resources("AWS::Lambda::Function")
    assert len(handlers) == len(functions) > 0
    for handler in handlers:
        assert os.path.isfile(os.path.join(outdir, handler, "index.js")), f"{handler} has no index.js"


def test_the_stop_toggle_reaches_the_workflow(synthesized):
    _, template, _ = synthesized
    assert '\\"stopInstances\\":true' in settings_of(template)
    no_stop, _ = synth("PythonConsumerNoStop", stop_instances=False)
    assert '\\"stopInstances\\":false' in settings_of(Template.from_stack(no_stop))


def test_a_wrong_prop_raises_a_python_error_that_names_it():
    with pytest.raises(Exception, match="is not a file"):
        BackupScript.from_asset(os.path.join(SCRIPTS, "missing.sh"))
    stack = cdk.Stack(cdk.App(), "Wrong")
    with pytest.raises(Exception, match="maxConcurrency"):
        PrePostScriptBackup(stack, "Backup", max_concurrency=0)


def readme_example(language: str) -> str:
    """The first `language` code block of the README's Usage section."""
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    usage = readme[readme.index("\n## Usage\n"):]
    usage = usage[: usage.index("\n## ", 1)]
    match = re.search(rf"^```{language}\n(.*?)^```$", usage, re.S | re.M)
    assert match, f"no {language} example in the README's Usage section"
    return match.group(1)


def test_the_readme_python_example_synthesizes():
    """The README's example, run as `cdk synth` runs an app: in a fresh process, from the app's directory."""
    body = "\n".join("        " + line if line.strip() else "" for line in readme_example("python").splitlines())
    program = f'''
import aws_cdk as cdk
from aws_cdk import aws_iam as iam


class ReadmeStack(cdk.Stack):
    def __init__(self, scope, construct_id):
        super().__init__(scope, construct_id)
        instance_role = iam.Role(self, "InstanceRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
{body}


app = cdk.App()
ReadmeStack(app, "Readme")
app.synth()
'''
    outdir = tempfile.mkdtemp(prefix="python-readme-")
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=HERE,  # the example's script paths are relative: scripts/freeze.sh, scripts/thaw.sh
        env={**os.environ, "CDK_OUTDIR": outdir},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{program}\n{result.stderr}"
    template = Template.from_json(json.load(open(os.path.join(outdir, "Readme.template.json"))))
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "cron(0 2 * * ? *)"})
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {"PolicyDocument": {"Statement": Match.array_with([Match.object_like({"Action": Match.array_with(["s3:GetObject*"])})])},
         "Roles": [{"Ref": Match.string_like_regexp("InstanceRole")}]},
    )
