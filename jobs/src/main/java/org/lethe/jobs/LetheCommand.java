package org.lethe.jobs;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.lethe.config.LetheConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Base of every {@code lethe} command: common options, the resolved config, and the output
 * contract (only the result on {@link #out()}, logs to stderr, failures thrown, never exit).
 */
public abstract class LetheCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(LetheCommand.class);

    @Mixin
    protected CommonOptions options;

    @Spec
    protected CommandSpec spec;

    @Override
    public final Integer call() throws Exception {
        LetheConfig config = options.loadConfig();
        LOG.info("{}: config sha256={} {}", spec.qualifiedName(), config.sha256(), config.toJson());
        run(config);
        out().flush();
        return 0;
    }

    /** Does the command's work, printing only its result to {@link #out()}; throws on failure. */
    protected abstract void run(LetheConfig config) throws Exception;

    /** Where the result goes (stdout in the CLI). */
    protected final PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** The table root: the command's {@code --root} if given, else {@code lethe.store.root}. */
    protected final String tableRoot(String root, LetheConfig config) {
        return root != null ? root : config.storeRoot().orElseThrow(() -> new ParameterException(
                spec.commandLine(), "no table root: give --root ROOT or set lethe.store.root"));
    }

    /** The {@code --run-id}, for commands that cannot run without one. */
    protected final String requireRunId() {
        return options.runId().orElseThrow(
                () -> new ParameterException(spec.commandLine(), "--run-id ID is required"));
    }
}
