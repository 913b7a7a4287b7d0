package org.lethe.jobs;

import org.lethe.config.LetheConfig;
import org.lethe.unlearn.Methods;
import picocli.CommandLine.Command;

/** {@code lethe methods}: the unlearning presets, one per line. */
@Command(name = "methods", mixinStandardHelpOptions = true,
    description = {
        "List the unlearning methods, one per line: name, a one-line description, then its",
        "forget and retain terms with coefficients and any default settings."})
public final class MethodsCommand extends LetheCommand {

    @Override
    protected void run(LetheConfig config) {
        for (Methods.Method m : Methods.all()) {
            out().println(m.line());
        }
    }
}
