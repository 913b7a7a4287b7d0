package org.lethe.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.lethe.model.AdamW;
import org.lethe.model.Autograd;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTrainer;
import org.lethe.model.LoraSettings;
import org.lethe.model.ModelSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import static org.apache.spark.sql.functions.col;

/**
 * Data-parallel training on Spark: each step, executors run a {@link MicroObjective}'s forward and
 * backward passes on their micro-batches with the model cached once per executor JVM; the driver
 * adds the micro-batch gradients in micro-batch id order (so 1, 2 or 4 partitions give bitwise the
 * same sum), checks the loss and gradient are finite, clips, applies AdamW to its master copy and
 * broadcasts the trained parameters with the next version. Under a local master, where tasks run
 * in the driver's JVM, parameters and gradients skip Java serialization ({@link LocalExchange}).
 */
public final class DataParallelTrainer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DataParallelTrainer.class);

    /**
     * What one step did: the summed loss parts, their total, the pre-clipping gradient norm, and
     * {@code computeSeconds}, the time executors spent in the objective's forward and backward
     * passes summed over micro-batches (in local mode they run one at a time, so the rest of the
     * step's wall time is Spark's: scheduling, parameter swap, gradient transfer and reduction,
     * the update and the broadcast).
     */
    public record StepReport(long version, double[] parts, double loss, float gradNorm, long tokens,
            int microBatches, double computeSeconds) {}

    /**
     * One micro-batch's contribution, or in tree mode the sum of several ({@code micros} of them),
     * computed on an executor; {@code gradient} null and not {@code deposited}: nothing to add;
     * {@code deposited}: the gradient waits in the driver JVM's {@link LocalExchange} under
     * {@code micro}.
     */
    public record MicroGradient(int micro, int micros, double[] parts, long tokens, float[] gradient,
            boolean deposited, double computeSeconds) implements Serializable {

        /**
         * The sum of two contributions (tree mode: the order of additions depends on partitioning).
         * Deposited gradients were already added into one deposit by the task (the first deposited
         * micro-batch's, the smallest id among the deposited): only their metadata is combined here.
         */
        MicroGradient plus(MicroGradient o) {
            double[] p = parts.clone();
            for (int i = 0; i < p.length; i++) {
                p[i] += o.parts[i];
            }
            float[] g;
            if (gradient == null || o.gradient == null) {
                g = gradient == null ? o.gradient : gradient;
            } else {
                g = gradient.clone();
                for (int i = 0; i < g.length; i++) {
                    g[i] += o.gradient[i];
                }
            }
            if ((deposited || o.deposited) && g != null) {
                throw new IllegalStateException("micro-batches " + micro + " and " + o.micro
                        + ": a deposited gradient cannot be added to a serialized one");
            }
            int key = deposited == o.deposited ? Math.min(micro, o.micro) : deposited ? micro : o.micro;
            return new MicroGradient(key, micros + o.micros, p, tokens + o.tokens, g, deposited || o.deposited,
                    computeSeconds + o.computeSeconds);
        }
    }

    /** How micro-batch gradients are summed. */
    public enum Reduce {
        /**
         * Every micro-batch's gradient goes to the driver, which adds them in micro-batch id order:
         * bitwise the same for any partitioning; driver memory grows with micro-batches x parameters.
         */
        ORDERED,
        /**
         * Each task adds its micro-batches, Spark's treeReduce adds the tasks' sums: constant driver
         * memory, results equal up to float summation order (within 0.1 lr per step in the tests).
         */
        TREE;

        /** {@code ordered} or {@code tree}, naming {@code key} otherwise. */
        public static Reduce parse(String value, String key) {
            return switch (value) {
                case "ordered" -> ORDERED;
                case "tree" -> TREE;
                default -> throw new IllegalArgumentException(key + " must be ordered or tree, got '" + value + "'");
            };
        }
    }

    /**
     * How to train.
     *
     * @param trainable regular expressions over Hugging Face parameter names (any match trains the
     *     parameter); empty: all parameters
     * @param refModelDir the frozen {@code ref_model}'s directory, or null when no term needs it
     * @param abortGradNorm stop when the pre-clipping gradient norm exceeds this (<= 0: never)
     * @param maxTrainedParameters refuse to train more parameters than this (driver-side AdamW
     *     holds three copies of them; lethe.model.max_full_parameters)
     * @param lora train LoRA adapters (attached to the model unless it already has them) instead of
     *     the full parameters; null: full-parameter training
     * @param reduce how micro-batch gradients are summed
     */
    public record Options(AdamW.Settings optimizer, double maxGradNorm, int partitions, List<String> trainable,
            String refModelDir, ModelSettings refSettings, double abortGradNorm, long maxTrainedParameters,
            LoraSettings lora, Reduce reduce) {
        public Options {
            trainable = List.copyOf(trainable);
            if (partitions <= 0) {
                throw new IllegalArgumentException("partitions must be > 0, got " + partitions);
            }
        }

        /** All parameters trained, no ref_model, no abort threshold. */
        public static Options of(AdamW.Settings optimizer, double maxGradNorm, int partitions) {
            return new Options(optimizer, maxGradNorm, partitions, List.of(), null, null, 0, Long.MAX_VALUE, null,
                    Reduce.ORDERED);
        }

        /** These options training only the parameters matching {@code patterns} (empty: all). */
        public Options withTrainable(List<String> patterns) {
            return new Options(optimizer, maxGradNorm, partitions, patterns, refModelDir, refSettings, abortGradNorm,
                    maxTrainedParameters, lora, reduce);
        }

        /** These options with the frozen ref_model at {@code dir} computing under {@code settings} (null dir: none). */
        public Options withRefModel(String dir, ModelSettings settings) {
            return new Options(optimizer, maxGradNorm, partitions, trainable, dir, settings, abortGradNorm,
                    maxTrainedParameters, lora, reduce);
        }

        /** These options stopping when the pre-clipping gradient norm exceeds {@code norm} (<= 0: never). */
        public Options withAbortGradNorm(double norm) {
            return new Options(optimizer, maxGradNorm, partitions, trainable, refModelDir, refSettings, norm,
                    maxTrainedParameters, lora, reduce);
        }

        /** These options refusing to train more than {@code max} parameters. */
        public Options withMaxTrainedParameters(long max) {
            return new Options(optimizer, maxGradNorm, partitions, trainable, refModelDir, refSettings, abortGradNorm,
                    max, lora, reduce);
        }

        /** These options training LoRA adapters of {@code settings} (null: the full parameters). */
        public Options withLora(LoraSettings settings) {
            return new Options(optimizer, maxGradNorm, partitions, trainable, refModelDir, refSettings, abortGradNorm,
                    maxTrainedParameters, settings, reduce);
        }

        /** These options summing micro-batch gradients by {@code how}. */
        public Options withReduce(Reduce how) {
            return new Options(optimizer, maxGradNorm, partitions, trainable, refModelDir, refSettings, abortGradNorm,
                    maxTrainedParameters, lora, how);
        }
    }

    /** A step whose loss or gradient is not finite, or whose gradient norm passed the abort threshold. */
    public static final class DivergedException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        DivergedException(String message) {
            super(message);
        }
    }

    private final SparkSession spark;
    private final String modelDir;
    private final ModelSettings settings;
    private final Options options;
    private final String cacheKey;
    private final LanguageModel master;
    private final LmTrainer trainer;
    private final List<String> trained;
    private final LocalExchange exchange;
    private Broadcast<ParameterSnapshot> current;
    private long version;

    public DataParallelTrainer(SparkSession spark, String modelDir, ModelSettings settings, Options options) {
        this(spark, modelDir, settings, options, true);
    }

    /**
     * @param sameJvm under a local master, pass parameters and gradients natively inside the JVM;
     *     false: serialize them as on a cluster (tests compare the two)
     */
    DataParallelTrainer(SparkSession spark, String modelDir, ModelSettings settings, Options options, boolean sameJvm) {
        this.spark = spark;
        this.modelDir = modelDir;
        this.settings = settings;
        this.options = options;
        this.cacheKey = "train-" + UUID.randomUUID();
        // The driver only applies updates: with device = gpu a CPU-only driver still drives GPU tasks.
        this.master = ExecutorModelCache.load(modelDir, settings.forTrainingDriver(), options.lora());
        try {
            this.trained = select(master, options.trainable());
            long count = trained.stream().mapToLong(n -> ParameterSnapshot.parameter(master, n).getShape().size()).sum();
            if (count > options.maxTrainedParameters()) {
                throw new IllegalArgumentException("lethe.model.max_full_parameters: " + count + " trained parameters"
                        + " exceed the full-parameter limit " + options.maxTrainedParameters() + " (AdamW runs on the"
                        + " driver); train a subset (trainable patterns) or raise the limit");
            }
            this.trainer = new LmTrainer(master, options.optimizer(), options.maxGradNorm());
        } catch (RuntimeException e) {
            master.close();
            throw e;
        }
        this.exchange = sameJvm && spark.sparkContext().isLocal() ? LocalExchange.open(cacheKey, master) : null;
        this.current = broadcast(snapshot(0));
    }

    /** What tasks need to train at {@code v}: the values, or a handle to the master in this JVM. */
    private ParameterSnapshot snapshot(long v) {
        return exchange != null ? ParameterSnapshot.local(trained, v) : ParameterSnapshot.of(master, trained, v);
    }

    /**
     * The names of the trainable parameters (Hugging Face names; PEFT names of the adapters when
     * LoRA is attached) that {@code patterns} select (all when empty), in model order.
     */
    public static List<String> select(LanguageModel lm, List<String> patterns) {
        List<String> names = new ArrayList<>(lm.block().trainableParameters().keySet());
        if (patterns.isEmpty()) {
            return names;
        }
        List<Pattern> compiled = new ArrayList<>();
        for (String p : patterns) {
            try {
                compiled.add(Pattern.compile(p));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("trainable parameter pattern '" + p + "' is not a regular expression: "
                        + e.getDescription(), e);
            }
        }
        List<String> out = new ArrayList<>();
        for (String n : names) {
            if (compiled.stream().anyMatch(p -> p.matcher(n).matches())) {
                out.add(n);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("trainable parameter patterns " + patterns + " match none of the model's"
                    + " parameters (e.g. " + names.get(Math.min(1, names.size() - 1)) + ")");
        }
        return out;
    }

    /** Continues from a checkpoint: its optimizer state and step count (weights come from its dir). */
    public void restore(Checkpoints.Found checkpoint) {
        Checkpoints.restoreOptimizer(checkpoint, trainer.optimizer(), master.manager());
    }

    /** The driver's optimizer (for checkpoints). */
    public AdamW optimizer() {
        return trainer.optimizer();
    }

    /** The driver's master copy of the model (the weights after the last step). */
    public LanguageModel model() {
        return master;
    }

    /** The names of the trained parameters, in model order. */
    public List<String> trainedParameters() {
        return trained;
    }

    /**
     * One optimizer step over a logical batch: rows with an int column {@code micro} (the
     * micro-batch each row belongs to, fixed by sample id, not by partition) and the objective's
     * columns.
     *
     * @param stepNumber the global step this is, for error messages
     */
    public StepReport step(Dataset<Row> batch, double lr, MicroObjective objective, long stepNumber) {
        return run(byMicro(batch, List.of("micro"), objective), lr, objective, stepNumber);
    }

    /**
     * The {@code leading} columns and the objective's, hash-partitioned by micro-batch into the
     * configured partitions (a micro-batch never spans two tasks).
     */
    private JavaRDD<Row> byMicro(Dataset<Row> rows, List<String> leading, MicroObjective objective) {
        List<Column> columns = new ArrayList<>();
        leading.forEach(c -> columns.add(col(c)));
        objective.columns().forEach(c -> columns.add(col(c)));
        return rows.repartition(options.partitions(), col("micro")).select(columns.toArray(new Column[0])).javaRDD();
    }

    /**
     * A whole epoch's rows (an int {@code step}, {@code micro} and the objective's columns),
     * hash-partitioned by micro-batch into the configured partitions once and cached as an RDD, so
     * that each {@link #step(JavaRDD, int, double, MicroObjective, long)} is one narrow Spark stage:
     * no shuffle and no query planning per step (on the demo they cost more than a third of a
     * step). The caller unpersists it after the epoch.
     */
    public JavaRDD<Row> epochRows(Dataset<Row> plan, MicroObjective objective) {
        return byMicro(plan, List.of("step", "micro"), objective).persist(StorageLevel.MEMORY_AND_DISK());
    }

    /** One optimizer step over the rows of step {@code step} (0-based in the epoch) of {@link #epochRows}. */
    public StepReport step(JavaRDD<Row> epochRows, int step, double lr, MicroObjective objective, long stepNumber) {
        return run(epochRows.filter(r -> r.getInt(0) == step).map(DataParallelTrainer::withoutFirst), lr, objective,
                stepNumber);
    }

    /** The row without its first column (the key a stage grouped or filtered by). */
    private static Row withoutFirst(Row r) {
        Object[] values = new Object[r.size() - 1];
        for (int i = 1; i < r.size(); i++) {
            values[i - 1] = r.get(i);
        }
        return RowFactory.create(values);
    }

    /** The step over rows of {@code micro} and the objective's columns, micro-batches whole per partition. */
    private StepReport run(JavaRDD<Row> rows, double lr, MicroObjective objective, long stepNumber) {
        long started = System.nanoTime();
        Broadcast<ParameterSnapshot> snapshot = current;
        boolean tree = options.reduce() == Reduce.TREE;
        if (exchange != null) {
            exchange.clear();
        }
        JavaRDD<MicroGradient> gradients = rows
                .mapPartitions(new MicroGradients(cacheKey, modelDir, settings, options.lora(), options.refModelDir(),
                        options.refSettings(), snapshot, objective, tree));
        List<MicroGradient> results = new ArrayList<>();
        if (!tree || exchange != null) {
            // Deposited gradients are added by the driver: the results themselves are small.
            results.addAll(gradients.collect());
        } else if (!gradients.isEmpty()) {
            results.add(gradients.treeReduce(MicroGradient::plus, 2));
        }
        if (results.isEmpty()) {
            throw new IllegalArgumentException("step " + stepNumber + ": the batch is empty");
        }
        long tasksDone = System.nanoTime();
        results.sort(Comparator.comparingInt(MicroGradient::micro));
        double[] parts = new double[objective.partNames().size()];
        long tokens = 0;
        double compute = 0;
        try (NDManager m = master.manager().newSubManager()) {
            Map<String, NDArray> total = null;
            for (MicroGradient g : results) {
                Map<String, NDArray> part = null;
                if (g.deposited()) {
                    part = exchange.take(version, g.micro(), m);
                } else if (g.gradient() != null) {
                    part = byParameter(m.create(g.gradient()));
                }
                if (part == null) {
                    // nothing to add
                } else if (total == null) {
                    total = part;
                } else {
                    for (Map.Entry<String, NDArray> e : total.entrySet()) {
                        e.getValue().addi(part.get(e.getKey()));
                    }
                }
                for (int i = 0; i < parts.length; i++) {
                    parts[i] += g.parts()[i];
                }
                tokens += g.tokens();
                compute += g.computeSeconds();
            }
            double loss = objective.total(parts);
            if (total == null) {
                total = byParameter(m.zeros(new Shape(flatSize()), DataType.FLOAT32));
            }
            double gradNorm = LmTrainer.globalNorm(total);
            if (!Double.isFinite(loss) || !Double.isFinite(gradNorm)) {
                throw new DivergedException("step " + stepNumber + ": loss " + loss + ", gradient norm " + gradNorm
                        + " (not finite); stopping before the update");
            }
            if (options.abortGradNorm() > 0 && gradNorm > options.abortGradNorm()) {
                throw new DivergedException("step " + stepNumber + ": gradient norm " + gradNorm + " exceeds the abort"
                        + " threshold " + options.abortGradNorm() + " (exploding); stopping before the update");
            }
            long summed = System.nanoTime();
            float norm = trainer.apply(total, lr, gradNorm);
            long updated = System.nanoTime();
            version++;
            current = broadcast(snapshot(version));
            snapshot.destroy();
            long done = System.nanoTime();
            if (LOG.isDebugEnabled()) {
                LOG.debug(String.format("step %d: tasks %.3f s (forward/backward %.3f s), sum + norm %.3f s, clip + AdamW"
                        + " %.3f s, snapshot + broadcast %.3f s", stepNumber, (tasksDone - started) / 1e9, compute,
                        (summed - tasksDone) / 1e9, (updated - summed) / 1e9, (done - updated) / 1e9));
            }
            return new StepReport(version, parts, loss, norm, tokens, results.stream().mapToInt(MicroGradient::micros).sum(),
                    compute);
        } finally {
            if (exchange != null) {
                exchange.clear();
            }
        }
    }

    /** Views of a flat gradient (the snapshot layout) by trained parameter name. */
    private Map<String, NDArray> byParameter(NDArray flat) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        long offset = 0;
        for (String name : trained) {
            Shape shape = ParameterSnapshot.parameter(master, name).getShape();
            grads.put(name, flat.get("{}:{}", offset, offset + shape.size()).reshape(shape));
            offset += shape.size();
        }
        return grads;
    }

    private long flatSize() {
        return trained.stream().mapToLong(n -> ParameterSnapshot.parameter(master, n).getShape().size()).sum();
    }

    private Broadcast<ParameterSnapshot> broadcast(ParameterSnapshot s) {
        return JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(s);
    }

    @Override
    public void close() {
        current.destroy();
        if (exchange != null) {
            exchange.close();
        }
        // Reaches only this JVM (a local master's tasks); executors free theirs by the cache's bound and idle time.
        ExecutorModelCache.release(cacheKey);
        ExecutorModelCache.release(cacheKey + "-ref");
        trainer.close();
        master.close();
    }

    /** The executor side of a step: each micro-batch's gradient, in micro-batch order. */
    static final class MicroGradients implements FlatMapFunction<Iterator<Row>, MicroGradient> {
        private static final long serialVersionUID = 1L;
        private final String key;
        private final String modelDir;
        private final ModelSettings settings;
        private final LoraSettings lora;
        private final String refDir;
        private final ModelSettings refSettings;
        private final Broadcast<ParameterSnapshot> snapshot;
        private final MicroObjective objective;
        private final boolean sumPerTask;

        MicroGradients(String key, String modelDir, ModelSettings settings, LoraSettings lora, String refDir,
                ModelSettings refSettings, Broadcast<ParameterSnapshot> snapshot, MicroObjective objective,
                boolean sumPerTask) {
            this.sumPerTask = sumPerTask;
            this.key = key;
            this.modelDir = modelDir;
            this.settings = settings;
            this.lora = lora;
            this.refDir = refDir;
            this.refSettings = refSettings;
            this.snapshot = snapshot;
            this.objective = objective;
        }

        @Override
        public Iterator<MicroGradient> call(Iterator<Row> rows) {
            TreeMap<Integer, List<Row>> micros = new TreeMap<>();
            while (rows.hasNext()) {
                Row r = rows.next();
                micros.computeIfAbsent(r.getInt(0), k -> new ArrayList<>()).add(r);
            }
            if (micros.isEmpty()) {
                return java.util.Collections.emptyIterator();
            }
            // In the driver's JVM (local master) gradients stay native; elsewhere they travel in the result.
            LocalExchange local = LocalExchange.find(key);
            List<MicroGradient> out = new ArrayList<>();
            Integer sumInto = null;
            // Leased for the whole partition: the cache never evicts these models under its micro-batches.
            try (ExecutorModelCache.Lease policy = ExecutorModelCache.get(key, modelDir, settings, lora, snapshot.value());
                    ExecutorModels models = new ExecutorModels(policy,
                            refDir == null ? null : () -> ExecutorModelCache.frozen(key + "-ref", refDir, refSettings))) {
                for (Map.Entry<Integer, List<Row>> e : micros.entrySet()) {
                    List<Row> stripped = new ArrayList<>();
                    for (Row r : e.getValue()) {
                        stripped.add(withoutFirst(r));
                    }
                    Integer into = sumPerTask ? sumInto : null;
                    MicroGradient g = Autograd.exclusive(() -> gradient(models, e.getKey(), stripped, local, into));
                    if (sumPerTask && sumInto == null && g.deposited()) {
                        sumInto = g.micro();
                    }
                    out.add(g);
                }
            }
            if (sumPerTask && out.size() > 1) {
                // Serialized gradients are added here; deposited ones were added into sumInto's deposit.
                MicroGradient sum = out.get(0);
                for (int i = 1; i < out.size(); i++) {
                    sum = sum.plus(out.get(i));
                }
                return List.of(sum).iterator();
            }
            return out.iterator();
        }

        /**
         * Micro-batch {@code micro}'s loss parts and gradient: flattened into the result, or, with
         * {@code local}, deposited there under {@code micro} (or added to micro-batch
         * {@code sumInto}'s deposit when not null).
         */
        private MicroGradient gradient(ExecutorModels models, int micro, List<Row> rows, LocalExchange local,
                Integer sumInto) {
            ParameterSnapshot s = snapshot.value();
            LanguageModel lm = models.policy();
            try (LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 0)) {
                // Zeroed before, not after: whatever a failed pass left is cleared by the next one.
                trainer.zeroGradients();
                // Only the objective's passes: the model swap and the gradient copy are the
                // data-parallel machinery's cost, which the step time minus this shows.
                long started = System.nanoTime();
                MicroObjective.MicroLoss loss = objective.backward(models, rows);
                double seconds = (System.nanoTime() - started) / 1e9;
                float[] gradient = null;
                boolean deposited = false;
                if (loss.backward()) {
                    Map<String, NDArray> grads = trainer.gradients();
                    try {
                        if (local == null) {
                            gradient = ParameterSnapshot.flatten(lm, s.names(), grads::get);
                        } else {
                            Map<String, NDArray> named = new LinkedHashMap<>();
                            for (String name : s.names()) {
                                NDArray g = grads.get(name);
                                if (g == null) {
                                    NDArray p = ParameterSnapshot.parameter(lm, name).getArray();
                                    g = p.zerosLike();
                                    grads.put(name, g); // closed with the others
                                }
                                named.put(name, g);
                            }
                            if (sumInto == null) {
                                local.deposit(s.version(), micro, named);
                            } else {
                                local.addTo(s.version(), sumInto, named);
                            }
                            deposited = true;
                        }
                    } finally {
                        grads.values().forEach(NDArray::close);
                    }
                }
                return new MicroGradient(micro, 1, loss.parts(), loss.tokens(), gradient, deposited, seconds);
            }
        }
    }
}
