package org.lethe.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.lethe.config.LetheConfig;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lethe convert-tables}: converts a table root written before Delta Lake into Delta tables. */
@Command(name = "convert-tables", mixinStandardHelpOptions = true,
        description = {
                "Convert the tables an earlier Lethe wrote as plain Parquet (with _lethe_table.json) into Delta tables:",
                "same rows, types and partitions; the old directories are kept under ROOT/_legacy. Run once, with no",
                "job writing to the root. Prints {\"root\":..., \"converted\":[...]}.",
                "Example: bin/lethe convert-tables --root target/demo/tables"})
public final class ConvertTablesCommand extends LetheCommand {

    @Option(names = "--root", paramLabel = "ROOT", description = "Table root directory or URI (default: lethe.store.root).")
    private String root;

    @Override
    protected void run(LetheConfig config) throws Exception {
        String tableRoot = tableRoot(root, config);
        try (EmbeddedSpark spark = EmbeddedSpark.start(config)) {
            TableStore store = new TableStore(spark.session(), tableRoot);
            List<String> converted = store.convertLegacy();
            ObjectNode result = new ObjectMapper().createObjectNode().put("root", store.root());
            converted.forEach(result.putArray("converted")::add);
            out().println(result);
        }
    }
}
