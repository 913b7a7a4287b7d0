package org.lethe.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.testing.TestSpark;

/** The catalogue holds writers to the columns it declares. */
class TablesTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @Test
    void everyTableIsCataloguedWithItsRunId() throws Exception {
        for (java.lang.reflect.Field f : Tables.class.getFields()) {
            String name = (String) f.get(null);
            if (!name.equals(Tables.RUN_ID)) {
                assertTrue(List.of(Tables.columns(name).fieldNames()).contains(Tables.RUN_ID), name);
            }
        }
        assertEquals(14, Tables.class.getFields().length - 1);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Tables.columns("nope")).getMessage()
                .contains("tables: [continual_lineage, eval_samples"));
    }

    @Test
    void aWriteWithAnUndeclaredOrRetypedColumnFailsNamingItAndWritesNothing(@TempDir Path root) {
        TableStore store = new TableStore(SPARK.session(), root.toString());
        StructType extra = new StructType().add("run_id", DataTypes.StringType).add("forget_sample_id",
                DataTypes.StringType).add("score", DataTypes.DoubleType);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> store.write(Tables.INFLUENCE_PAIRS,
                SPARK.session().createDataFrame(List.of(RowFactory.create("r", "f", 1.0)), extra)));
        assertTrue(e.getMessage().startsWith("table influence_pairs: column score is not in the catalogue"),
                e.getMessage());
        StructType retyped = new StructType().add("run_id", DataTypes.StringType).add("rank", DataTypes.LongType);
        e = assertThrows(IllegalStateException.class, () -> store.write(Tables.INFLUENCE_PAIRS,
                SPARK.session().createDataFrame(List.of(RowFactory.create("r", 1L)), retyped)));
        assertEquals("table influence_pairs: column rank is bigint but the catalogue declares int", e.getMessage());
        assertTrue(!store.exists(Tables.INFLUENCE_PAIRS));

        // Declared columns may be left out; a table outside the catalogue is the caller's own.
        StructType some = new StructType().add("run_id", DataTypes.StringType).add("rank", DataTypes.IntegerType);
        store.write(Tables.INFLUENCE_PAIRS, SPARK.session().createDataFrame(List.of(RowFactory.create("r", 1)), some));
        assertEquals(1, store.read(Tables.INFLUENCE_PAIRS).count());
    }
}
