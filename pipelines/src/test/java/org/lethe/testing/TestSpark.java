package org.lethe.testing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * The local SparkSession tests share, one per test class: {@code local[2]}, 2 shuffle
 * partitions, no UI, UTC; plus helpers that turn a Dataset into plain rows for assertions.
 *
 * <p>Usage: {@code @BeforeAll static void start() { spark = TestSpark.start(); }} and {@code
 * @AfterAll static void stop() { TestSpark.stop(spark); }}.
 */
public final class TestSpark {
  private TestSpark() {}

  public static SparkSession start() {
    return SparkSession.builder()
        .appName("lethe-test")
        .master("local[2]")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        // Relative to the module directory surefire runs in: keeps spark-warehouse/ inside target/.
        .config("spark.sql.warehouse.dir", "target/spark-warehouse")
        .getOrCreate();
  }

  public static void stop(SparkSession spark) {
    if (spark != null) {
      spark.stop();
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
