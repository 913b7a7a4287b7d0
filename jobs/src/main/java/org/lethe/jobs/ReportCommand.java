package org.lethe.jobs;

import java.nio.file.Path;
import java.time.Instant;
import org.lethe.config.LetheConfig;
import org.lethe.report.Report;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lethe report}: the HTML report of a table root (read-only: no runs row). */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = {
        "Write a self-contained HTML report (inline SVG charts, no scripts or external files) of the tables",
        "under the table root: forget quality (log scale) against model utility per run at its latest",
        "evaluated step, with a line through earlier steps; runs without forget quality listed with the",
        "reason; the summary table (forget quality, model utility, forget ROUGE-L recall and probability,",
        "retain probability, PrivLeak, forget efficacy, n); train_steps loss curves; metric curves over",
        "evaluated steps. Needs eval_summary (lethe evaluate or lethe import-eval). The file is replaced",
        "atomically. Prints a JSON summary."})
public final class ReportCommand extends LetheCommand {

    @Option(names = "--root", paramLabel = "ROOT", description = "Table root directory or URI (default: lethe.store.root).")
    private String root;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The HTML file to write (local).")
    private Path out;

    @Override
    protected void run(LetheConfig config) {
        String tableRoot = tableRoot(root, config);
        try (EmbeddedSpark spark = EmbeddedSpark.start(config)) {
            Report.Result result = Report.write(new TableStore(spark.session(), tableRoot), out, Instant.now());
            out().println(result.toJson().toString());
        }
    }
}
