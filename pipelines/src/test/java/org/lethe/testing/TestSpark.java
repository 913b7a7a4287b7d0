package org.lethe.testing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The local SparkSession a test class shares ({@code local[2]}, 2 shuffle partitions, no UI,
 * UTC), as a JUnit extension, plus helpers that turn a Dataset into plain rows for assertions.
 *
 * <p>Usage: {@code @RegisterExtension static final TestSpark SPARK = new TestSpark();} then
 * {@code SPARK.session()}; the session starts before the class's {@code @BeforeAll} methods and
 * stops after its tests.
 */
public final class TestSpark implements BeforeAllCallback, AfterAllCallback {
    private SparkSession session;

    public SparkSession session() {
        if (session == null) {
            throw new IllegalStateException("register TestSpark as a static @RegisterExtension field");
        }
        return session;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        session = SparkSession.builder()
                .appName("lethe-test")
                .master("local[2]")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.default.parallelism", "2")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.driver.host", "127.0.0.1")
                // Relative to the module directory surefire runs in: keeps spark-warehouse/ inside target/.
                .config("spark.sql.warehouse.dir", "target/spark-warehouse")
                .config(org.lethe.store.DeltaSession.configure(new org.apache.spark.SparkConf(false).setMaster("local[2]")))
                .getOrCreate();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (session != null) {
            session.stop();
            session = null;
        }
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
    }

    /** The rows of {@code rows} as lists of values, sorted by {@code orderBy} (default: all columns). */
    public static List<List<Object>> rows(Dataset<Row> rows, String... orderBy) {
        String[] order = orderBy.length > 0 ? orderBy : rows.columns();
        Column[] sort = Arrays.stream(order).map(functions::col).toArray(Column[]::new);
        List<List<Object>> out = new ArrayList<>();
        for (Row row : rows.orderBy(sort).collectAsList()) {
            List<Object> values = new ArrayList<>();
            for (int i = 0; i < row.length(); i++) {
                values.add(row.get(i));
            }
            out.add(values);
        }
        return out;
    }
}
