package com.example.backup;

import java.nio.file.Path;
import software.amazon.awscdk.App;

/** The app's entry point, the one `cdk synth` would run. */
public final class DatabaseBackupApp {
    private DatabaseBackupApp() {
    }

    public static void main(final String[] args) {
        App app = new App();
        new DatabaseBackupStack(app, "JavaConsumer", Path.of("scripts").toAbsolutePath(), true);
        app.synth();
    }
}
