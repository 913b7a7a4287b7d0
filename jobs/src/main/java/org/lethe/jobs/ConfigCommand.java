package org.lethe.jobs;

import org.lethe.config.LetheConfig;
import picocli.CommandLine.Command;

/** {@code lethe config}: prints the resolved config as one JSON object, to check what a job would get. */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = "Print the resolved config (reference.conf < --conf < --set) as one JSON object.")
public final class ConfigCommand extends LetheCommand {
    @Override
    protected void run(LetheConfig config) {
        out().println(config.toJson());
    }
}
