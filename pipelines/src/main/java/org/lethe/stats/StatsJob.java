package org.lethe.stats;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.lethe.data.IngestedDataset;
import org.lethe.data.PromptTemplate;
import org.lethe.data.SampleEncoder;
import org.lethe.distributed.DataParallelTrainer;
import org.lethe.distributed.EpochPlan;
import org.lethe.distributed.ExecutorModelCache;
import org.lethe.model.LanguageModel;
import org.lethe.model.LoraSettings;
import org.lethe.model.ModelSettings;
import org.lethe.storage.LocalModels;
import org.lethe.storage.Locations;
import org.lethe.store.Fingerprints;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import org.lethe.store.Tables;
import org.lethe.job.JobResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;

/**
 * The {@code stats} job: for every sample of the configured splits, on executors in padded
 * batches fixed by sample id, loss statistics (mean NLL, minimum token log-prob, Min-K%, mean
 * predictive entropy, answer length) and the per-sample gradient's norm; forget and retain
 * gradients projected by a {@link SeededProjection} and joined block-wise
 * ({@link InfluenceSearch}) into each forget sample's top-m most similar retain samples
 * ({@code influence_pairs}) and its entanglement scores (columns of {@code sample_stats}).
 */
public final class StatsJob {

    private static final Logger LOG = LoggerFactory.getLogger(StatsJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final String SAMPLE_STATS = Tables.SAMPLE_STATS;
    public static final String INFLUENCE_PAIRS = Tables.INFLUENCE_PAIRS;

    /** The roles of the described splits, in {@code lethe.stats.splits} order. */
    public static final List<String> ROLES = List.of("forget", "retain", "holdout");

    /** What executors return per sample (projection null for holdout). */
    static final StructType COMPUTED = new StructType()
            .add("role", DataTypes.StringType, false)
            .add("split", DataTypes.StringType, false)
            .add("sample_id", DataTypes.StringType, false)
            .add("batch", DataTypes.IntegerType, false)
            .add("answer_tokens", DataTypes.IntegerType, false)
            .add("mean_nll", DataTypes.DoubleType, false)
            .add("min_logprob", DataTypes.DoubleType, false)
            .add("min_k", DataTypes.DoubleType, false)
            .add("mean_entropy", DataTypes.DoubleType, false)
            .add("grad_norm", DataTypes.DoubleType, false)
            .add("projection", DataTypes.createArrayType(DataTypes.FloatType, false), true);

    /** What the job did. */
    public record Summary(String runId, String dataset, String model, Map<String, Long> samples, long gradientParameters,
            int projectionDim, long pairs, Double meanEntanglement, String modelFingerprint, String dataFingerprint) implements JobResult {
        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("run_id", runId);
            o.put("dataset", dataset);
            o.put("model", model);
            ObjectNode n = o.putObject("samples");
            samples.forEach(n::put);
            o.put("gradient_parameters", gradientParameters);
            o.put("projection_dim", projectionDim);
            o.put("influence_pairs", pairs);
            if (meanEntanglement == null) {
                o.putNull("mean_entanglement");
            } else {
                o.put("mean_entanglement", meanEntanglement);
            }
            return o;
        }
    }

    private final SparkSession spark;
    private final TableStore store;

    public StatsJob(SparkSession spark, TableStore store) {
        this.spark = spark;
        this.store = store;
    }

    /** Computes {@code request}'s statistics of the model in {@code modelDir} as run {@code runId}. */
    public Summary run(StatsRequest request, String runId, String modelDir) {
        // Everything the request and the model directory decide fails here, before Spark work.
        RunIds.validate(runId);
        if (!LocalModels.hasFile(modelDir, "config.json") && !LocalModels.hasFile(modelDir, "adapter_config.json")) {
            throw new IllegalArgumentException("--model: " + modelDir + " is not a model directory (no config.json)");
        }
        if (!LocalModels.hasFile(modelDir, "tokenizer.json")) {
            throw new IllegalArgumentException("--model: " + modelDir + " has no tokenizer.json");
        }
        ModelSettings modelSettings = request.model();
        long gradientParameters;
        try (LanguageModel lm = ExecutorModelCache.load(modelDir, modelSettings, request.lora())) {
            gradientParameters = parameters(lm, request.lora(), request.gradient()).stream()
                    .mapToLong(n -> lm.block().trainableParameters().get(n).getArray().size()).sum();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().startsWith("lethe.") ? e.getMessage()
                    : "lethe.stats.gradient: " + e.getMessage(), e);
        }
        IngestedDataset data = IngestedDataset.open(store, request.data());
        String dataset = request.data().dataset();
        Dataset<Row> examples = data.examples();
        String tokenizerSha = Fingerprints.sha256(new org.apache.hadoop.fs.Path(Locations.hadoopPath(modelDir),
                "tokenizer.json"), spark.sparkContext().hadoopConfiguration());
        PromptTemplate template = request.template();
        Map<String, String> splits = request.splits();
        Dataset<Row> forgetIds = splits.containsKey("forget") ? data.ids(splits.get("forget")) : null;
        Dataset<Row> planned = null;
        for (Map.Entry<String, String> e : splits.entrySet()) {
            Dataset<Row> ids = data.ids(e.getValue());
            if (e.getKey().equals("retain") && forgetIds != null) {
                ids = ids.except(forgetIds); // as in unlearn: a sample to forget is never one to keep
            }
            Dataset<Row> rows = SampleEncoder.trainingRows(spark, examples.join(ids, "sample_id"), modelDir, template,
                    tokenizerSha);
            // Batches are a pure function of the sample ids (EpochPlan's seeded order), never of partitions.
            int batch = request.batchSize();
            Dataset<Row> plan = EpochPlan.plan(spark, rows, request.seed(), -1, batch, batch)
                    .select(lit(e.getKey()).as("role"), lit(e.getValue()).as("split"), col("sample_id"),
                            col("step").as("batch"), col("input_ids"), col("labels"));
            planned = planned == null ? plan : planned.unionByName(plan);
        }
        String key = "stats-" + UUID.randomUUID();
        JavaRDD<Row> computed = planned.repartition(request.partitions(), col("role"), col("batch"))
                .sortWithinPartitions("role", "batch", "sample_id")
                .javaRDD().mapPartitions(new Compute(key, modelDir, modelSettings, request.lora(), request.gradient(),
                        request.seed(), request.projectionDim(), request.projectionBlock(), request.miaK()));
        Dataset<Row> stats = spark.createDataFrame(computed, COMPUTED).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            Map<String, Long> counts = new LinkedHashMap<>();
            for (String role : splits.keySet()) {
                counts.put(role, 0L);
            }
            for (Row r : stats.groupBy("role").count().collectAsList()) {
                counts.put(r.getString(0), r.getLong(1));
            }
            if (counts.values().stream().allMatch(c -> c == 0)) {
                throw new IllegalArgumentException("lethe.stats.splits: " + request.data().describe()
                        + " has no samples in " + splits.values());
            }
            counts.forEach((role, c) -> {
                if (c == 0) {
                    LOG.warn("stats {}: split {} ({}) has no samples in dataset {}", runId, splits.get(role), role,
                            dataset);
                }
            });
            long nForget = counts.getOrDefault("forget", 0L);
            long nRetain = counts.getOrDefault("retain", 0L);
            Dataset<Row> perForget;
            Dataset<Row> pairs;
            if (nForget > 0 && nRetain > 0) {
                InfluenceSearch.Result found = InfluenceSearch.search(spark,
                        stats.filter(col("role").equalTo("forget")).select(col("sample_id"), col("projection").as("vector")),
                        stats.filter(col("role").equalTo("retain")).select(col("sample_id"), col("projection").as("vector")),
                        nForget, nRetain, request.topM(), request.searchBlockSize());
                perForget = found.forget();
                pairs = found.pairs();
            } else {
                LOG.warn("stats {}: no influence pairs (needs forget and retain samples)", runId);
                perForget = spark.createDataFrame(List.of(), InfluenceSearch.FORGET);
                pairs = spark.createDataFrame(List.of(), InfluenceSearch.PAIRS);
            }
            pairs = pairs.select(lit(runId).as("run_id"), col("forget_sample_id"), col("retain_sample_id"),
                    col("similarity"), col("rank")).persist(StorageLevel.MEMORY_AND_DISK());
            try {
                Dataset<Row> pf = perForget.select(col("forget_sample_id").as("_forget_id"), col("entanglement"),
                        col("retain_alignment"));
                Dataset<Row> base = stats.drop("projection", "batch");
                Dataset<Row> sampleStats = base
                        .join(pf, base.col("sample_id").equalTo(pf.col("_forget_id"))
                                .and(base.col("role").equalTo("forget")), "left")
                        .select(lit(runId).as("run_id"), lit(dataset).as("dataset"), col("split"), col("role"),
                                col("sample_id"), col("answer_tokens"), col("mean_nll"), col("min_logprob"),
                                col("min_k"), col("mean_entropy"), col("grad_norm"), col("entanglement"),
                                col("retain_alignment"));
                store.write(SAMPLE_STATS, sampleStats);
                store.write(INFLUENCE_PAIRS, pairs);
                long nPairs = pairs.count();
                Row mean = store.read(SAMPLE_STATS).filter(col("run_id").equalTo(runId))
                        .agg(expr("avg(entanglement)")).head();
                Row fp = planned.agg(expr("sum(xxhash64(sample_id, input_ids))")).head();
                String dataFingerprint = dataset + "/" + request.data().dataRun() + "/" + splits + "/"
                        + (fp.isNullAt(0) ? 0 : fp.getLong(0));
                String modelFingerprint = modelFingerprint(modelDir);
                LOG.info("stats {}: {} samples {}, {} gradient parameters projected to {}, {} influence pairs", runId,
                        counts.values().stream().mapToLong(Long::longValue).sum(), counts, gradientParameters,
                        request.projectionDim(), nPairs);
                return new Summary(runId, dataset, modelDir, counts, gradientParameters, request.projectionDim(),
                        nPairs, mean.isNullAt(0) ? null : mean.getDouble(0), modelFingerprint, dataFingerprint);
            } finally {
                pairs.unpersist();
            }
        } finally {
            stats.unpersist();
            // Reaches only this JVM (a local master's tasks); executors free theirs by the cache's bound and idle time.
            ExecutorModelCache.release(key);
        }
    }

    private String modelFingerprint(String modelDir) {
        for (String f : List.of("model.safetensors", "adapter_model.safetensors", "model.safetensors.index.json")) {
            if (LocalModels.hasFile(modelDir, f)) {
                return Fingerprints.sha256(new org.apache.hadoop.fs.Path(Locations.hadoopPath(modelDir), f),
                        spark.sparkContext().hadoopConfiguration());
            }
        }
        return null;
    }

    /** The parameters whose gradient is taken: the adapters with [lora], else those the patterns match. */
    static List<String> parameters(LanguageModel lm, LoraSettings lora, List<String> gradient) {
        return DataParallelTrainer.select(lm, lora != null ? List.of() : gradient);
    }

    /** The executor side: each batch's statistics, gradients and projections. */
    static final class Compute implements FlatMapFunction<Iterator<Row>, Row> {
        private static final long serialVersionUID = 1L;
        private final String key;
        private final String modelDir;
        private final ModelSettings modelSettings;
        // The request's values the executors need (the request itself keeps its config, which stays on the driver).
        private final LoraSettings lora;
        private final List<String> gradient;
        private final long seed;
        private final int projectionDim;
        private final int projectionBlock;
        private final double miaK;

        Compute(String key, String modelDir, ModelSettings modelSettings, LoraSettings lora, List<String> gradient,
                long seed, int projectionDim, int projectionBlock, double miaK) {
            this.key = key;
            this.modelDir = modelDir;
            this.modelSettings = modelSettings;
            this.lora = lora;
            this.gradient = gradient;
            this.seed = seed;
            this.projectionDim = projectionDim;
            this.projectionBlock = projectionBlock;
            this.miaK = miaK;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            // (role, batch) -> rows in sample id order (the partition is sorted so).
            TreeMap<String, List<Row>> batches = new TreeMap<>();
            while (rows.hasNext()) {
                Row r = rows.next();
                batches.computeIfAbsent(r.getString(0) + "/" + r.getInt(3), k -> new ArrayList<>()).add(r);
            }
            if (batches.isEmpty()) {
                return java.util.Collections.emptyIterator();
            }
            // The model (LoRA attached when configured) is leased until the partition's rows are computed.
            try (ExecutorModelCache.Lease lease = ExecutorModelCache.frozen(key, modelDir, modelSettings, lora)) {
                LanguageModel lm = lease.model();
                List<String> names = parameters(lm, lora, gradient);
                SeededProjection projection = new SeededProjection(seed, projectionDim, projectionBlock);
                List<Row> out = new ArrayList<>();
                for (List<Row> batch : batches.values()) {
                    out.addAll(batch(lm, names, projection, batch));
                }
                return out.iterator();
            }
        }

        private List<Row> batch(LanguageModel lm, List<String> names, SeededProjection projection, List<Row> batch) {
            List<long[]> ids = new ArrayList<>();
            List<long[]> labels = new ArrayList<>();
            for (Row r : batch) {
                ids.add(longs(r.getList(4)));
                labels.add(longs(r.getList(5)));
            }
            List<PerSampleGradients.Sample> samples = PerSampleGradients.compute(lm, names, ids, labels, miaK);
            String role = batch.get(0).getString(0);
            float[][] projected = null;
            if (!role.equals("holdout")) {
                float[][] grads = samples.stream().map(PerSampleGradients.Sample::gradient).toArray(float[][]::new);
                projected = projection.project(lm.manager(), grads);
            }
            List<Row> out = new ArrayList<>(batch.size());
            for (int i = 0; i < batch.size(); i++) {
                Row r = batch.get(i);
                PerSampleGradients.Sample x = samples.get(i);
                out.add(RowFactory.create(role, r.getString(1), r.getString(2), r.getInt(3), x.answerTokens(),
                        x.meanNll(), x.minLogProb(), x.minK(), x.meanEntropy(), x.gradNorm(),
                        projected == null ? null : boxed(projected[i])));
            }
            return out;
        }

        private static Float[] boxed(float[] v) {
            Float[] out = new Float[v.length];
            for (int i = 0; i < v.length; i++) {
                out[i] = v[i];
            }
            return out;
        }

        private static long[] longs(List<Object> values) {
            long[] out = new long[values.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = ((Number) values.get(i)).longValue();
            }
            return out;
        }
    }
}
