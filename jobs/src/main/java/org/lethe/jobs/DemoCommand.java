package org.lethe.jobs;

import java.nio.file.Path;
import org.lethe.config.LetheConfig;
import org.lethe.demo.DemoJob;
import org.lethe.demo.DemoRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lethe demo}: the whole pipeline on the fictitious-author benchmark, on embedded Spark. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {
        "Run the product end to end on embedded Spark: generate the fictitious-author benchmark, fine-tune",
        "the target model (full + general) and the retain-only model (retain90 + general) from scratch,",
        "compute stats of the target on forget10 / retain90, unlearn forget10 with each method of the preset",
        "(lethe.demo.<preset>.*), evaluate all of them and both baselines against the retain-only model, and",
        "write ROOT/report.html. Tables go to ROOT/tables, checkpoints to ROOT/checkpoints. Prints the summary",
        "table (forget quality, model utility, forget ROUGE-L recall, forget probability per run) on stdout.",
        "A re-run reuses the benchmark and finished training (resume)."})
public final class DemoCommand extends LetheCommand {

    @Option(names = "--root", defaultValue = "target/demo", paramLabel = "DIR",
            description = "Where everything goes (default: ${DEFAULT-VALUE}).")
    private Path root;

    @Option(names = "--preset", defaultValue = "quick", paramLabel = "NAME",
            description = "quick (about 10 minutes on 2 cores) or full (default: ${DEFAULT-VALUE}).")
    private String preset;

    @Override
    protected void run(LetheConfig config) throws Exception {
        DemoRequest request = DemoRequest.of(config, preset); // a bad preset fails before Spark starts
        try (EmbeddedSpark spark = EmbeddedSpark.start(config)) {
            DemoJob.Summary s = new DemoJob(spark.session(), JobCommand.codeVersion()).run(request, root.toAbsolutePath());
            out().print(s.table());
            out().println("report: " + s.report() + " (" + Math.round(s.seconds()) + " s)");
        }
    }
}
