package org.lethe.unlearn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.lethe.model.Batch;
import org.lethe.model.LanguageModel;
import org.lethe.model.Scalars;
import org.lethe.distributed.ExecutorModels;
import org.lethe.distributed.MicroObjective;
import org.lethe.distributed.TrainingObjective;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * A weighted sum of loss terms over the rows of a step: {@code sum_i coeff_i * S_i / N_i}, where
 * S_i is term i's unnormalized sum and N_i its GLOBAL count for the step (computed by the driver
 * from the token ids and labels with each term's {@link org.lethe.unlearn.CountBasis}, see
 * {@link #countsByStep}). Each micro-batch backpropagates its own share, so partition gradients
 * simply add and the partition count never changes the math.
 *
 * <p>Rows have a {@code role} ({@code forget} or {@code retain}), a {@code pair_id} (forget rows:
 * their sample id; retain rows: the forget sample they are paired with), {@code input_ids} and
 * {@code labels}, and the alternative sequences {@code refusal_ids}/{@code refusal_labels} (the
 * same question with a refusal) and {@code mismatch_ids}/{@code mismatch_labels} (a forget
 * question with a retain answer), null where no term reads them. Inside a micro-batch rows are
 * ordered by pair id, so forget row i and retain row i are a pair.
 */
public final class LossObjective implements TrainingObjective {

    private static final long serialVersionUID = 1L;

    /** The rows a part reads. */
    public enum Role {
        FORGET, RETAIN;

        String column() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * One part of the objective: a weighted term, read from the forget registry ({@code forget})
     * or the retain one, with {@code params} overriding the term's defaults. Its label (train_steps'
     * terms column, the JSON summary) is the term's name.
     */
    public record Part(boolean forget, WeightedTerm weighted, Map<String, Double> params) implements Serializable {
        public Part {
            params = Map.copyOf(params);
        }

        /** A part of {@code coeff} x {@code term}. */
        public static Part of(boolean forget, String term, double coeff, Map<String, Double> params) {
            return new Part(forget, new WeightedTerm(term, coeff), params);
        }

        public String label() {
            return weighted.term();
        }

        public String term() {
            return weighted.term();
        }

        public double coeff() {
            return weighted.coeff();
        }

        LossTerm build() {
            return forget ? LossTerms.forget(term(), params) : LossTerms.retain(term(), params);
        }
    }

    /** The columns every step row has. */
    public static final List<String> COLUMNS = List.of("role", "pair_id", "input_ids", "labels", "refusal_ids",
            "refusal_labels", "mismatch_ids", "mismatch_labels");

    private static final int ROLE = 0;
    private static final int PAIR = 1;

    private final List<Part> parts;
    private final int layer;
    private final long[] counts;

    /**
     * @param layer the decoder layer whose output hidden-state terms (rmu, embed_diff) read
     * @param counts the step's global count of each part (see {@link #countsByStep})
     */
    public LossObjective(List<Part> parts, int layer, long[] counts) {
        this.parts = List.copyOf(parts);
        this.layer = layer;
        this.counts = counts.clone();
        if (counts.length != parts.size()) {
            throw new IllegalArgumentException(counts.length + " counts for " + parts.size() + " parts");
        }
    }

    /** The same parts with another step's counts. */
    public LossObjective withCounts(long[] stepCounts) {
        return new LossObjective(parts, layer, stepCounts);
    }

    @Override
    public MicroObjective forStep(long[] stepCounts) {
        return withCounts(stepCounts);
    }

    @Override
    public Map<Integer, long[]> countsByStep(Dataset<Row> plan, int hiddenSize) {
        return countsByStep(plan, parts, hiddenSize);
    }

    @Override
    public Double forgetLoss(double[] values) {
        Double forget = null;
        for (int i = 0; i < parts.size(); i++) {
            if (parts.get(i).forget()) {
                forget = values[i];
            }
        }
        return forget;
    }

    @Override
    public Double retainLoss(double[] values) {
        Double retain = null;
        for (int i = 0; i < parts.size(); i++) {
            if (!parts.get(i).forget()) {
                retain = (retain == null ? 0 : retain) + parts.get(i).coeff() * values[i];
            }
        }
        return retain;
    }

    public List<Part> parts() {
        return parts;
    }

    @Override
    public List<String> columns() {
        return COLUMNS;
    }

    @Override
    public List<String> partNames() {
        return parts.stream().map(Part::label).toList();
    }

    @Override
    public double total(double[] values) {
        double t = 0;
        for (int i = 0; i < values.length; i++) {
            t += parts.get(i).coeff() * values[i];
        }
        return t;
    }

    @Override
    public boolean needsRefModel() {
        return parts.stream().anyMatch(p -> p.build().needsRefModel());
    }

    /** Which rows a term reads: its role's, except {@code mismatch}, built from forget questions. */
    static Role rowsOf(Part p, LossTerm t) {
        return p.forget() || t.alternative() == Alternative.MISMATCHED_ANSWER ? Role.FORGET : Role.RETAIN;
    }

    /** Whether a term needs the rows' alternative sequences, and which. */
    static String alternativePrefix(Alternative a) {
        return switch (a) {
            case NONE -> null;
            case REFUSAL -> "refusal";
            case MISMATCHED_ANSWER -> "mismatch";
        };
    }

    /**
     * The global count of every part for every step of a plan (rows with an int {@code step} and
     * {@link #COLUMNS}), from token ids and labels alone: one Spark job, a few numbers per step.
     */
    public static Map<Integer, long[]> countsByStep(Dataset<Row> plan, List<Part> parts, int hidden) {
        List<Part> ps = List.copyOf(parts);
        JavaPairRDD<Integer, long[]> perRow = plan.select(col("step"), col("role"), col("labels"),
                col("refusal_labels"), col("mismatch_labels")).javaRDD().mapToPair(r -> {
                    long[] c = new long[ps.size()];
                    for (int i = 0; i < ps.size(); i++) {
                        LossTerm t = ps.get(i).build();
                        if (!rowsOf(ps.get(i), t).column().equals(r.getString(1))) {
                            continue;
                        }
                        String alt = t.countsAlternative() ? alternativePrefix(t.alternative()) : null;
                        int field = alt == null ? 2 : alt.equals("refusal") ? 3 : 4;
                        if (r.isNullAt(field)) {
                            throw new IllegalStateException("part " + ps.get(i).label() + " needs " + alt
                                    + " sequences, but a " + r.getString(1) + " row has none");
                        }
                        c[i] = t.countBasis().count(longs(r.getList(field)), hidden);
                    }
                    return new Tuple2<>(r.getInt(0), c);
                });
        Map<Integer, long[]> out = new HashMap<>(perRow.reduceByKey((a, b) -> {
            long[] s = new long[a.length];
            for (int i = 0; i < s.length; i++) {
                s[i] = a[i] + b[i];
            }
            return s;
        }).collectAsMap());
        return out;
    }

    /**
     * Rows of one role for a plan without alternative sequences: {@code role}, {@code pair_id} =
     * {@code sample_id}, null alternatives (what fine-tuning's single {@code nll} part reads).
     */
    public static Dataset<Row> plainRows(Dataset<Row> plan, Role role) {
        org.apache.spark.sql.types.DataType ints = org.apache.spark.sql.types.DataTypes.createArrayType(
                org.apache.spark.sql.types.DataTypes.IntegerType);
        return plan.withColumn("role", org.apache.spark.sql.functions.lit(role.column()))
                .withColumn("pair_id", col("sample_id"))
                .withColumn("refusal_ids", org.apache.spark.sql.functions.lit(null).cast(ints))
                .withColumn("refusal_labels", org.apache.spark.sql.functions.lit(null).cast(ints))
                .withColumn("mismatch_ids", org.apache.spark.sql.functions.lit(null).cast(ints))
                .withColumn("mismatch_labels", org.apache.spark.sql.functions.lit(null).cast(ints));
    }

    /** One padded sequence batch on a manager: ids, mask, positions and labels. */
    private record Sequences(NDArray ids, NDArray mask, NDArray positions, NDArray labels, long tokens) {
        static Sequences of(NDManager m, List<long[]> ids, List<long[]> labels, long pad) {
            int rows = ids.size();
            int width = 0;
            long tokens = 0;
            for (int r = 0; r < rows; r++) {
                if (labels.get(r).length != ids.get(r).length) {
                    throw new IllegalArgumentException("row " + r + ": " + labels.get(r).length + " labels for "
                            + ids.get(r).length + " tokens");
                }
                width = Math.max(width, ids.get(r).length);
                tokens += ids.get(r).length;
            }
            Batch idb = Batch.rightPadded(ids, width, pad);
            Batch lab = Batch.rightPadded(labels, width, -100);
            return new Sequences(m.create(idb.ids(), new Shape(rows, width)), m.create(idb.mask(), new Shape(rows, width)),
                    m.arange(0, width, 1, DataType.INT64).expandDims(0).broadcast(rows, width),
                    m.create(lab.ids(), new Shape(rows, width)), tokens);
        }
    }

    /** What the terms of one micro-batch read, computed once per (rows, sequence kind). */
    private final class Views {
        private final NDManager m;
        private final ExecutorModels models;
        private final Map<Role, List<Row>> rows;
        private final Map<String, Sequences> sequences = new HashMap<>();
        private final Map<String, NDArray> policyLogits = new HashMap<>();
        private final Map<String, NDArray> policyHidden = new HashMap<>();
        private final Map<String, NDArray> refLogits = new HashMap<>();
        private final Map<String, NDArray> refHidden = new HashMap<>();
        long tokens;

        Views(NDManager m, ExecutorModels models, Map<Role, List<Row>> rows) {
            this.m = m;
            this.models = models;
            this.rows = rows;
        }

        Sequences sequences(Role role, String kind) {
            return sequences.computeIfAbsent(role + "/" + kind, k -> {
                String prefix = kind == null ? "" : kind + "_";
                List<long[]> ids = new ArrayList<>();
                List<long[]> labels = new ArrayList<>();
                int idField = COLUMNS.indexOf(kind == null ? "input_ids" : prefix + "ids");
                int labelField = COLUMNS.indexOf(kind == null ? "labels" : prefix + "labels");
                for (Row r : rows.get(role)) {
                    if (r.isNullAt(idField) || r.isNullAt(labelField)) {
                        throw new IllegalStateException("a " + role.column() + " row (pair " + r.getString(PAIR)
                                + ") has no " + (kind == null ? "" : kind + " ") + "sequence");
                    }
                    ids.add(longs(r.getList(idField)));
                    labels.add(longs(r.getList(labelField)));
                }
                return Sequences.of(m, ids, labels, models.policy().config().eosTokenId());
            });
        }

        /** Reference outputs first, with grad mode off (outside the gradient collector). */
        void prepareReference(Role role, String kind, boolean hidden) {
            String k = role + "/" + kind;
            Sequences s = sequences(role, kind);
            LanguageModel ref = models.ref();
            if (hidden && !refHidden.containsKey(k)) {
                refHidden.put(k, ref.block().layerOutput(ref.parameterStore(), s.ids(), s.positions(), s.mask(), layer,
                        false).toType(DataType.FLOAT32, false).stopGradient());
            } else if (!hidden && !refLogits.containsKey(k)) {
                refLogits.put(k, ref.block().logits(ref.parameterStore(), s.ids(), s.positions(), s.mask(), null, false)
                        .stopGradient());
            }
        }

        BatchView view(Role role, String kind, LossTerm t) {
            String k = role + "/" + kind;
            Sequences s = sequences(role, kind);
            LanguageModel p = models.policy();
            if (t.needsHiddenLayer()) {
                NDArray h = policyHidden.computeIfAbsent(k, x -> {
                    tokens += s.tokens();
                    return p.block().layerOutput(p.parameterStore(), s.ids(), s.positions(), s.mask(), layer, true);
                });
                return new BatchView(null, s.labels(), s.mask(), null, h, refHidden.get(k));
            }
            NDArray logits = policyLogits.computeIfAbsent(k, x -> {
                tokens += s.tokens();
                return p.block().logits(p.parameterStore(), s.ids(), s.positions(), s.mask(), null, true);
            });
            return new BatchView(logits, s.labels(), s.mask(), refLogits.get(k), null, null);
        }
    }

    @Override
    public MicroLoss backward(ExecutorModels models, List<Row> rows) {
        Map<Role, List<Row>> byRole = new LinkedHashMap<>();
        for (Role r : Role.values()) {
            byRole.put(r, new ArrayList<>());
        }
        for (Row r : rows) {
            String role = r.getString(ROLE);
            byRole.get(Role.valueOf(role.toUpperCase(java.util.Locale.ROOT))).add(r);
        }
        byRole.values().forEach(l -> l.sort(Comparator.comparing(r -> r.getString(PAIR))));
        List<LossTerm> terms = parts.stream().map(Part::build).toList();
        double[] values = new double[parts.size()];
        LanguageModel policy = models.policy();
        try (NDManager m = policy.manager().newSubManager()) {
            Views views = new Views(m, models, byRole);
            // Which parts have rows here, and the reference passes they need (before autograd starts).
            boolean[] active = new boolean[parts.size()];
            for (int i = 0; i < parts.size(); i++) {
                LossTerm t = terms.get(i);
                Role role = rowsOf(parts.get(i), t);
                active[i] = counts[i] > 0 && !byRole.get(role).isEmpty() && !t.name().equals("none");
                if (active[i] && t.needsRefModel()) {
                    if (readsOwn(t)) {
                        views.prepareReference(role, null, t.needsHiddenLayer());
                    }
                    if (t.alternative() != Alternative.NONE) {
                        views.prepareReference(role, alternativePrefix(t.alternative()), t.needsHiddenLayer());
                    }
                }
            }
            boolean any = false;
            try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
                NDArray total = null;
                for (int i = 0; i < parts.size(); i++) {
                    if (!active[i]) {
                        continue;
                    }
                    LossTerm t = terms.get(i);
                    Role role = rowsOf(parts.get(i), t);
                    BatchView own = readsOwn(t) ? views.view(role, null, t) : null;
                    BatchView alt = t.alternative() == Alternative.NONE ? null
                            : views.view(role, alternativePrefix(t.alternative()), t);
                    TermValue v = t.compute(new TermInputs(own, alt));
                    // coeff * S / N_global: this micro-batch's share of the step's loss.
                    NDArray share = v.sum().mul(Scalars.like(v.sum(), parts.get(i).coeff() / counts[i]));
                    values[i] = v.sum().toType(DataType.FLOAT64, false).getDouble() / counts[i];
                    total = total == null ? share : total.add(share);
                }
                if (total != null) {
                    collector.backward(total);
                    any = true;
                }
            }
            return new MicroLoss(values, views.tokens, any);
        }
    }

    private static boolean readsOwn(LossTerm t) {
        return t.readsOwnBatch();
    }

    static long[] longs(List<Object> values) {
        long[] out = new long[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) values.get(i)).longValue();
        }
        return out;
    }
}
