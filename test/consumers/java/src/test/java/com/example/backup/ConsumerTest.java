package com.example.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.cdk_pre_post_script_backup.BackupScript;
import io.github.cdk_pre_post_script_backup.PrePostScriptBackup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import readme.ReadmeStack;
import software.amazon.awscdk.App;
import software.amazon.awscdk.AppProps;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;
import software.amazon.awscdk.cxapi.CloudAssembly;
import software.amazon.awscdk.services.iam.Role;
import software.amazon.awscdk.services.iam.ServicePrincipal;

/**
 * The jar jsii-pacmak built, used as a Java platform team uses it: fails when the jar is missing, does not
 * load, lacks its bundled JavaScript or Lambda handlers, or synthesizes something other than the construct.
 */
class ConsumerTest {
    private static final Path SCRIPTS = Path.of("scripts").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();

    private static DatabaseBackupStack stack;
    private static Template template;
    private static Path outdir;

    @BeforeAll
    static void synthesize() throws IOException {
        outdir = Files.createTempDirectory("java-consumer-");
        App app = new App(AppProps.builder().outdir(outdir.toString()).build());
        stack = new DatabaseBackupStack(app, "JavaConsumer", SCRIPTS, true);
        CloudAssembly assembly = app.synth();
        assertEquals(outdir.toRealPath(), Path.of(assembly.getDirectory()).toRealPath());
        template = Template.fromStack(stack);
    }

    private static String settingsOf(final Template t) throws IOException {
        Map<String, Map<String, Object>> functions = t.findResources("AWS::Lambda::Function",
                Map.of("Properties", Map.of("Environment", Map.of("Variables", Map.of("SETTINGS", Match.anyValue())))));
        assertEquals(1, functions.size(), "one function with SETTINGS: " + functions.keySet());
        JsonNode function = JSON.valueToTree(functions.values().iterator().next());
        return JSON.writeValueAsString(function.at("/Properties/Environment/Variables/SETTINGS"));
    }

    @Test
    void theJarIsTheBuiltOne() throws Exception {
        Path jar = Path.of(PrePostScriptBackup.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String version = System.getProperty("construct.version");
        assertNotNull(version, "run.sh passes -Dconstruct.version");
        assertEquals("cdk-pre-post-script-backup-" + version + ".jar", jar.getFileName().toString());
    }

    @Test
    void theConstantAndTheMembersAreJavaNames() {
        assertEquals("BackupSolution-PrePostScript", PrePostScriptBackup.EVENT_DETAIL_TYPE);
        PrePostScriptBackup backup = stack.getBackup();
        assertNotNull(backup.getStateMachine());
        assertNotNull(backup.getAuditTable());
        assertNotNull(backup.getEventBus());
        assertNotNull(backup.getBackupVault());
        assertNotNull(backup.getBackupRole());
        assertNotNull(backup.getScheduleRule());
    }

    @Test
    void oneStateMachine() {
        template.resourceCountIs("AWS::StepFunctions::StateMachine", 1);
    }

    @Test
    void theAuditTableIsKeyedByExecution() {
        template.hasResourceProperties("AWS::DynamoDB::Table", Map.of(
                "KeySchema", List.of(Map.of("AttributeName", "SM_Execution_ID", "KeyType", "HASH"))));
    }

    @Test
    void theScheduleAndTheEventRuleStartTheStateMachine() {
        String stateMachine = template.findResources("AWS::StepFunctions::StateMachine").keySet().iterator().next();
        template.hasResourceProperties("AWS::Events::Rule", Map.of(
                "ScheduleExpression", "cron(0 2 * * ? *)",
                "Targets", List.of(Match.objectLike(Map.of("Arn", Map.of("Ref", stateMachine), "Input", "{}")))));
        template.hasResourceProperties("AWS::Events::Rule", Map.of(
                "EventPattern", Map.of("detail-type", List.of("BackupSolution-PrePostScript")),
                "Targets", List.of(Match.objectLike(Map.of("Arn", Map.of("Ref", stateMachine), "InputPath", "$.detail")))));
    }

    @Test
    void theLocalScriptsAreAssetsAndConfigured() throws IOException {
        JsonNode files = JSON.readTree(outdir.resolve("JavaConsumer.assets.json").toFile()).get("files");
        Map<String, String> shipped = new HashMap<>();
        files.fields().forEachRemaining(entry -> {
            String path = entry.getValue().at("/source/path").asText();
            if (path.endsWith(".sh")) {
                try {
                    shipped.put(Files.readString(outdir.resolve(path)), entry.getKey());
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }
        });
        String settings = settingsOf(template);
        for (String name : List.of("freeze.sh", "thaw.sh")) {
            String content = Files.readString(SCRIPTS.resolve(name));
            assertTrue(shipped.containsKey(content), name + " is not among the stack's file assets");
            assertTrue(settings.contains(shipped.get(content) + ".sh"), "the settings do not name " + name + "'s asset");
            // SSM saves the script under its key's last segment: the command line runs the downloaded <hash>.sh.
            assertTrue(settings.contains("bash " + shipped.get(content) + ".sh"), settings);
        }
        assertTrue(settings.matches(".*\\\\\"preScript\\\\\":\\{.*?\\\\\"timeoutSeconds\\\\\":300.*"), settings);
    }

    @Test
    void theBundledLambdaHandlersAreInTheJar() throws IOException {
        JsonNode files = JSON.readTree(outdir.resolve("JavaConsumer.assets.json").toFile()).get("files");
        int handlers = 0;
        for (JsonNode asset : files) {
            if ("zip".equals(asset.at("/source/packaging").asText())) {
                handlers++;
                Path index = outdir.resolve(asset.at("/source/path").asText()).resolve("index.js");
                assertTrue(Files.isRegularFile(index), index + " is missing");
            }
        }
        assertTrue(handlers > 0);
        assertEquals(template.findResources("AWS::Lambda::Function").size(), handlers);
    }

    @Test
    void theStopToggleReachesTheWorkflow() throws IOException {
        assertTrue(settingsOf(template).contains("\\\"stopInstances\\\":true"));
        App app = new App(AppProps.builder().outdir(Files.createTempDirectory("java-consumer-").toString()).build());
        DatabaseBackupStack noStop = new DatabaseBackupStack(app, "JavaConsumerNoStop", SCRIPTS, false);
        assertTrue(settingsOf(Template.fromStack(noStop)).contains("\\\"stopInstances\\\":false"));
    }

    @Test
    void aWrongPropThrowsAnExceptionThatNamesIt() {
        RuntimeException missing = assertThrows(RuntimeException.class,
                () -> BackupScript.fromAsset(SCRIPTS.resolve("missing.sh").toString()));
        assertTrue(missing.getMessage().contains("is not a file"), missing.getMessage());
        Stack wrong = new Stack(new App(), "Wrong");
        RuntimeException concurrency = assertThrows(RuntimeException.class,
                () -> PrePostScriptBackup.Builder.create(wrong, "Backup").maxConcurrency(0).build());
        assertTrue(concurrency.getMessage().contains("maxConcurrency"), concurrency.getMessage());
    }

    /** ReadmeStack holds the README's Java example as it is (run.sh writes it): it compiled, now it synthesizes. */
    @Test
    void theReadmeJavaExampleSynthesizes() {
        Stack readme = new ReadmeStack(new App(), "Readme", scope ->
                Role.Builder.create(scope, "InstanceRole").assumedBy(new ServicePrincipal("ec2.amazonaws.com")).build());
        Template t = Template.fromStack(readme);
        t.resourceCountIs("AWS::StepFunctions::StateMachine", 1);
        t.hasResourceProperties("AWS::Events::Rule", Map.of("ScheduleExpression", "cron(0 2 * * ? *)"));
        t.hasResourceProperties("AWS::IAM::Policy", Map.of(
                "PolicyDocument", Map.of("Statement", Match.arrayWith(List.of(
                        Match.objectLike(Map.of("Action", Match.arrayWith(List.of("s3:GetObject*")))))))));
    }
}
