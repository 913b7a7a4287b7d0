package org.lethe.jobs;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.lethe.config.LetheConfig;
import org.lethe.store.RunIds;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The options every {@code lethe} command takes: config file, {@code --set} overrides, run id, verbosity. */
public final class CommonOptions {
    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    @Option(names = "--conf", paramLabel = "FILE",
            description = "Experiment config (HOCON) overriding the defaults of reference.conf.")
    private Path conf;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override one config key after --conf; repeatable, later wins. The 'lethe.' prefix is optional.")
    private List<String> sets = new ArrayList<>();

    @Option(names = {"-v", "--verbose"}, description = "On error, print the full stack trace too.")
    private boolean verbose;

    private String runId;

    // Checked while parsing, so that a bad id is a usage error before any work starts.
    @Option(names = "--run-id", paramLabel = "ID",
            description = "Run id keying the rows this command writes: [A-Za-z0-9._-]+ (sanitize Airflow's {{ run_id }}).")
    private void setRunId(String id) {
        try {
            runId = RunIds.validate(id);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(command.commandLine(), e.getMessage());
        }
    }

    public Optional<String> runId() {
        return Optional.ofNullable(runId);
    }

    /** The {@code --set} overrides, in order. */
    public List<String> sets() {
        return List.copyOf(sets);
    }

    public boolean verbose() {
        return verbose;
    }

    /** reference.conf, then {@code --conf}, then every {@code --set}. */
    public LetheConfig loadConfig() {
        return LetheConfig.load(Optional.ofNullable(conf), sets);
    }
}
