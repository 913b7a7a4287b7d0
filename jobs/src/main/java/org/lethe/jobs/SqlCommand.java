package org.lethe.jobs;

import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.lethe.config.LetheConfig;
import org.lethe.store.TableStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lethe sql}: runs an analyst's Spark SQL query over every table under the table root. */
@Command(name = "sql", mixinStandardHelpOptions = true,
        description = {
                "Run a Spark SQL query over the tables under the table root, each a Delta table of its name",
                "(earlier versions: SELECT * FROM runs VERSION AS OF 3; DESCRIBE HISTORY runs).",
                "Prints one JSON object per row and line, or with --csv CSV with a header row (NULL = empty field)."})
public final class SqlCommand extends LetheCommand {
    private static final Logger LOG = LoggerFactory.getLogger(SqlCommand.class);

    @Parameters(index = "0", paramLabel = "QUERY", description = "The query, e.g. \"SELECT * FROM runs\".")
    private String query;

    @Option(names = "--root", paramLabel = "ROOT", description = "Table root directory or URI (default: lethe.store.root).")
    private String root;

    @Option(names = "--csv", description = "Print CSV with a header row instead of JSON lines.")
    private boolean csv;

    @Override
    protected void run(LetheConfig config) {
        String tableRoot = tableRoot(root, config);
        try (EmbeddedSpark spark = EmbeddedSpark.start(config)) {
            TableStore store = new TableStore(spark.session(), tableRoot);
            List<String> tables = store.registerAll();
            LOG.info("{} table(s) under {}: {}", tables.size(), store.root(), tables);
            Dataset<Row> result = spark.session().sql(query);
            if (csv) {
                Results.csv(result, out());
            } else {
                Results.jsonLines(result, out());
            }
        }
    }
}
