package org.lethe.stats;

import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_list;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.xxhash64;

/**
 * Top-m retain samples of every forget sample by cosine similarity of projected gradients, as a
 * block-wise join: forget and retain vectors are grouped into blocks by a hash of the sample id,
 * every (forget block, retain block) pair is one task that keeps each forget sample's top m, and
 * the partial results are merged per forget sample in retain-block order. No task and not the
 * driver ever holds more than two blocks of vectors; the result depends on the ids and vectors
 * only (ties broken by retain sample id), not on partitioning.
 */
public final class InfluenceSearch {

    /** {@code influence_pairs} columns besides run_id. */
    public static final StructType PAIRS = new StructType()
            .add("forget_sample_id", DataTypes.StringType, false)
            .add("retain_sample_id", DataTypes.StringType, false)
            .add("similarity", DataTypes.DoubleType, false)
            .add("rank", DataTypes.IntegerType, false);

    /**
     * Per forget sample: {@code entanglement} (mean similarity of its top m retain samples) and
     * {@code retain_alignment} (mean similarity over all retain samples).
     */
    public static final StructType FORGET = new StructType()
            .add("forget_sample_id", DataTypes.StringType, false)
            .add("entanglement", DataTypes.DoubleType, false)
            .add("retain_alignment", DataTypes.DoubleType, false);

    /** Both outputs. */
    public record Result(Dataset<Row> pairs, Dataset<Row> forget) {}

    /** One forget sample's result against one retain block. */
    record Partial(long retainBlock, double sum, long count, String[] ids, double[] sims) implements Serializable {}

    private InfluenceSearch() {}

    /**
     * @param forget rows (sample_id string, vector array&lt;float&gt;)
     * @param retain the same columns; vectors of the same length as forget's
     * @param nForget, nRetain row counts (they decide the number of blocks)
     * @param blockSize target vectors per block
     */
    public static Result search(SparkSession spark, Dataset<Row> forget, Dataset<Row> retain, long nForget,
            long nRetain, int topM, int blockSize) {
        if (topM <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("top m (" + topM + ") and block size (" + blockSize + ") must be > 0");
        }
        long fBlocks = Math.max(1, (nForget + blockSize - 1) / blockSize);
        long rBlocks = Math.max(1, (nRetain + blockSize - 1) / blockSize);
        Dataset<Row> fb = blocks(forget, fBlocks, "f");
        Dataset<Row> rb = blocks(retain, rBlocks, "r");
        JavaRDD<Row> joined = fb.crossJoin(rb).select("f_block", "f_items", "r_block", "r_items").javaRDD();
        int m = topM;
        JavaPairRDD<String, Partial> partials = joined.flatMapToPair(row -> blockPair(row, m).iterator());
        JavaRDD<Tuple2<Row, List<Row>>> merged = partials.groupByKey().map(t -> merge(t._1(), t._2(), m));
        merged = merged.cache();
        Dataset<Row> pairs = spark.createDataFrame(merged.flatMap(t -> t._2().iterator()), PAIRS);
        Dataset<Row> perForget = spark.createDataFrame(merged.map(Tuple2::_1), FORGET);
        return new Result(pairs, perForget);
    }

    private static Dataset<Row> blocks(Dataset<Row> vectors, long n, String prefix) {
        return vectors.withColumn("block", pmod(xxhash64(lit("influence"), col("sample_id")), lit(n)))
                .groupBy("block")
                .agg(collect_list(struct(col("sample_id"), col("vector"))).as("items"))
                .select(col("block").as(prefix + "_block"), col("items").as(prefix + "_items"));
    }

    private record Unit(String id, double[] v) {}

    /** Unit vectors of a block's items, sorted by sample id (collect_list's order is arbitrary). */
    private static List<Unit> units(List<Row> items) {
        List<Unit> out = new ArrayList<>(items.size());
        for (Row item : items) {
            List<Float> values = item.getList(1);
            double[] v = new double[values.size()];
            double sq = 0;
            for (int i = 0; i < v.length; i++) {
                v[i] = values.get(i);
                sq += v[i] * v[i];
            }
            double norm = Math.sqrt(sq);
            for (int i = 0; i < v.length; i++) {
                // A zero gradient has no direction: similarity 0 to everything.
                v[i] = norm == 0 ? 0 : v[i] / norm;
            }
            out.add(new Unit(item.getString(0), v));
        }
        out.sort(Comparator.comparing(Unit::id));
        return out;
    }

    /** Cosine similarity of two unit vectors, summed in index order. */
    static double dot(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("projected vectors of different lengths: " + a.length + " and " + b.length);
        }
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static List<Tuple2<String, Partial>> blockPair(Row row, int m) {
        List<Unit> fs = units(row.getList(1));
        long retainBlock = row.getLong(2);
        List<Unit> rs = units(row.getList(3));
        List<Tuple2<String, Partial>> out = new ArrayList<>(fs.size());
        Integer[] order = new Integer[rs.size()];
        double[] sims = new double[rs.size()];
        for (Unit f : fs) {
            double sum = 0;
            for (int j = 0; j < rs.size(); j++) {
                sims[j] = dot(f.v(), rs.get(j).v());
                sum += sims[j];
                order[j] = j;
            }
            Arrays.sort(order, (a, b) -> sims[a] != sims[b] ? Double.compare(sims[b], sims[a])
                    : rs.get(a).id().compareTo(rs.get(b).id()));
            int keep = Math.min(m, rs.size());
            String[] ids = new String[keep];
            double[] top = new double[keep];
            for (int j = 0; j < keep; j++) {
                ids[j] = rs.get(order[j]).id();
                top[j] = sims[order[j]];
            }
            out.add(new Tuple2<>(f.id(), new Partial(retainBlock, sum, rs.size(), ids, top)));
        }
        return out;
    }

    /** A forget sample's partials, in retain-block order: its row of FORGET and its ranked pairs. */
    private static Tuple2<Row, List<Row>> merge(String forgetId, Iterable<Partial> partials, int m) {
        List<Partial> ps = new ArrayList<>();
        partials.forEach(ps::add);
        ps.sort(Comparator.comparingLong(Partial::retainBlock));
        double sum = 0;
        long count = 0;
        List<Object[]> candidates = new ArrayList<>();
        for (Partial p : ps) {
            sum += p.sum();
            count += p.count();
            for (int i = 0; i < p.ids().length; i++) {
                candidates.add(new Object[] {p.ids()[i], p.sims()[i]});
            }
        }
        candidates.sort((a, b) -> (double) a[1] != (double) b[1] ? Double.compare((double) b[1], (double) a[1])
                : ((String) a[0]).compareTo((String) b[0]));
        int keep = Math.min(m, candidates.size());
        List<Row> pairs = new ArrayList<>(keep);
        double topSum = 0;
        for (int i = 0; i < keep; i++) {
            double s = (double) candidates.get(i)[1];
            topSum += s;
            pairs.add(RowFactory.create(forgetId, candidates.get(i)[0], s, i + 1));
        }
        Row f = RowFactory.create(forgetId, keep == 0 ? 0.0 : topSum / keep, count == 0 ? 0.0 : sum / count);
        return new Tuple2<>(f, pairs);
    }
}
