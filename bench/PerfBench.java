import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.data.PromptTemplate;
import org.lethe.data.SampleEncoder;
import org.lethe.distributed.EpochPlan;
import org.lethe.unlearn.UnlearnJob;
import org.lethe.unlearn.UnlearnRequest;
import org.lethe.jobs.EmbeddedSpark;
import org.lethe.model.LanguageModel;
import org.lethe.model.GreedyDecoder;
import org.lethe.model.LmScorer;
import org.lethe.model.ModelSettings;
import org.lethe.store.Fingerprints;
import org.lethe.store.TableStore;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/**
 * Lethe's side of {@code bench/perf} (the reference is bench/pytorch/lethe_ref.py); prints one
 * JSON object per command.
 *
 * <pre>
 * bench/run PerfBench unlearn ROOT MODEL METHOD BATCH MICRO STEPS PARTITIONS THREADS LR
 *     the real UnlearnJob on embedded Spark (local[*]), max_steps STEPS; its train_steps rows
 *     (seconds, compute_seconds, tokens, loss), peak RSS and resident memory over the run
 * bench/run PerfBench export ROOT MODEL BATCH MICRO STEPS OUT.jsonl
 *     the same steps' rows (step, micro, role, pair_id, input_ids, labels), rebuilt from the
 *     public plan pieces as UnlearnJob builds them, for the reference (its first loss checks it)
 * bench/run PerfBench eval MODEL ROWS.jsonl THREADS BATCH NEW_TOKENS PROMPTS [GENERATE_BATCH]
 *     scored tokens/s (LmScorer) and greedy generation with and without the KV cache, one prompt
 *     at a time; with GENERATE_BATCH > 0 also one left-padded batch of that many prompts (as the
 *     evaluation generates: lethe.eval.batch_size)
 * bench/run PerfBench peak THREADS SIZE REPS
 *     fp32 matmul GFLOP/s of DJL's libtorch
 * </pre>
 */
public final class PerfBench {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SEED = 0;

    public static void main(String[] a) throws Exception {
        switch (a[0]) {
            case "unlearn" -> unlearn(a[1], a[2], a[3], Integer.parseInt(a[4]), Integer.parseInt(a[5]),
                    Integer.parseInt(a[6]), Integer.parseInt(a[7]), Integer.parseInt(a[8]), a[9]);
            case "export" -> export(a[1], a[2], Integer.parseInt(a[3]), Integer.parseInt(a[4]), Integer.parseInt(a[5]),
                    Paths.get(a[6]));
            case "eval" -> eval(a[1], Paths.get(a[2]), Integer.parseInt(a[3]), Integer.parseInt(a[4]),
                    Integer.parseInt(a[5]), Integer.parseInt(a[6]), a.length > 7 ? Integer.parseInt(a[7]) : 0);
            case "peak" -> peak(Integer.parseInt(a[1]), Integer.parseInt(a[2]), Integer.parseInt(a[3]));
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        }
    }

    private static List<String> sets(String root, String model, String method, int batch, int micro, int steps,
            int partitions, int threads, String lr, Path out) {
        List<String> sets = new ArrayList<>(List.of("store.root=" + root, "unlearn.dataset=synth", "unlearn.model=" + model,
                "unlearn.method=" + method, "unlearn.batch_size=" + batch, "unlearn.micro_batch_size=" + micro,
                "unlearn.max_steps=" + steps, "unlearn.epochs=9", "unlearn.partitions=" + partitions,
                "model.threads=" + threads, "unlearn.lr=" + lr, "unlearn.schedule=constant", "unlearn.warmup_steps=0",
                "unlearn.resume=false", "unlearn.output=" + out));
        if (threads == 0) {
            sets.add("model.reproducible=false"); // the engine's default thread count is the machine's
        }
        return sets;
    }

    static void unlearn(String root, String model, String method, int batch, int micro, int steps, int partitions,
            int threads, String lr) throws Exception {
        Path out = Files.createTempDirectory("perf-unlearn");
        LetheConfig config = LetheConfig.load(Optional.empty(),
                sets(root, model, method, batch, micro, steps, partitions, threads, lr, out));
        // Resident memory sampled every 200 ms: native memory must stay flat across steps.
        List<double[]> rss = java.util.Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                rss.add(new double[] {(System.nanoTime() - t0) / 1e9, status("VmRSS:")});
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.setDaemon(true);
        sampler.start();
        String runId = "perf-" + method + "-" + System.currentTimeMillis();
        ObjectNode o = JSON.createObjectNode();
        try (EmbeddedSpark spark = EmbeddedSpark.start(config)) {
            TableStore store = new TableStore(spark.session(), root);
            long started = System.nanoTime();
            new UnlearnJob(spark.session(), store).run(UnlearnRequest.of(config), runId);
            o.put("job_seconds", (System.nanoTime() - started) / 1e9);
            o.put("master", spark.session().sparkContext().master());
            ArrayNode rows = o.putArray("steps");
            for (Row r : store.read("train_steps").filter(col("run_id").equalTo(runId)).orderBy("step")
                    .select("step", "seconds", "compute_seconds", "tokens", "loss", "grad_norm").collectAsList()) {
                ObjectNode s = rows.addObject();
                s.put("step", r.getLong(0));
                s.put("seconds", r.getDouble(1));
                s.put("compute_seconds", r.getDouble(2));
                s.put("tokens", r.getLong(3));
                s.put("loss", r.getDouble(4));
                s.put("grad_norm", r.getDouble(5));
            }
        }
        sampler.interrupt();
        sampler.join();
        o.put("method", method);
        o.put("threads", threads);
        o.put("torch_threads", ai.djl.pytorch.jni.JniUtils.getNumThreads());
        o.put("torch", Engine.getEngine("PyTorch").getVersion());
        o.put("partitions", partitions);
        o.put("peak_rss_mib", status("VmHWM:"));
        o.put("heap_max_mib", Runtime.getRuntime().maxMemory() / 1048576.0);
        ArrayNode samples = o.putArray("rss_mib");
        synchronized (rss) {
            rss.forEach(s -> samples.addArray().add(s[0]).add(s[1]));
        }
        System.out.println(JSON.writeValueAsString(o));
    }

    /** UnlearnJob's plan for grad_diff / npo (no alternative sequences), epochs while retain lasts. */
    static void export(String root, String model, int batch, int micro, int steps, Path file) throws Exception {
        LetheConfig config = LetheConfig.load(Optional.empty(),
                sets(root, model, "grad_diff", batch, micro, steps, 1, 0, "1e-5", Paths.get("/tmp/unused")));
        try (EmbeddedSpark es = EmbeddedSpark.start(config)) {
            SparkSession spark = es.session();
            TableStore store = new TableStore(spark, root);
            Dataset<Row> members = store.read("memberships")
                    .filter(col("run_id").equalTo("ingest-synth").and(col("dataset").equalTo("synth")));
            Dataset<Row> examples = store.read("examples")
                    .filter(col("run_id").equalTo("ingest-synth").and(col("dataset").equalTo("synth")));
            Dataset<Row> forgetIds = members.filter(col("split").equalTo("forget10")).select("sample_id").distinct();
            Dataset<Row> retainIds = members.filter(col("split").equalTo("retain90")).select("sample_id").distinct()
                    .except(forgetIds);
            String sha = Fingerprints.sha256(new org.apache.hadoop.fs.Path(Paths.get(model, "tokenizer.json").toUri()),
                    spark.sparkContext().hadoopConfiguration());
            PromptTemplate template = PromptTemplate.of(config);
            Dataset<Row> forget = SampleEncoder.trainingRows(spark, examples.join(forgetIds, "sample_id"), model,
                    template, sha).cache();
            Dataset<Row> retain = SampleEncoder.trainingRows(spark, examples.join(retainIds, "sample_id"), model,
                    template, sha).cache();
            long nForget = forget.count();
            long nRetain = retain.count();
            long perEpoch = EpochPlan.stepsPerEpoch(nForget, batch);
            Dataset<Row> retainOrder = EpochPlan.plan(spark, retain, SEED + 1, 0, 1, 1)
                    .select(col("position").as("g"), col("sample_id").as("r_id"), col("input_ids").as("r_ids"),
                            col("labels").as("r_labels"));
            try (BufferedWriter w = Files.newBufferedWriter(file)) {
                int written = 0;
                for (int epoch = 0; written < steps; epoch++) {
                    if ((epoch + 1) * nForget > nRetain) {
                        throw new IllegalStateException("export: more steps than one retain epoch covers");
                    }
                    Dataset<Row> f = EpochPlan.plan(spark, forget, SEED, epoch, batch, micro)
                            .withColumn("g", col("position").plus(lit(epoch * nForget)));
                    List<Row> rows = f.join(retainOrder, "g").orderBy("position")
                            .select("step", "micro", "sample_id", "input_ids", "labels", "r_ids", "r_labels")
                            .collectAsList();
                    for (Row r : rows) {
                        long global = epoch * perEpoch + r.getInt(0) + 1;
                        if (global > steps) {
                            continue;
                        }
                        int m = r.getInt(1);
                        w.write(line(global, m, "forget", r.getString(2), r.getList(3), r.getList(4)));
                        w.write(line(global, m, "retain", r.getString(2), r.getList(5), r.getList(6)));
                    }
                    written = (int) Math.min(steps, (epoch + 1) * perEpoch);
                }
            }
            ObjectNode o = JSON.createObjectNode();
            o.put("forget", nForget);
            o.put("retain", nRetain);
            o.put("steps_per_epoch", perEpoch);
            o.put("file", file.toString());
            System.out.println(JSON.writeValueAsString(o));
        }
    }

    private static String line(long step, int micro, String role, String pair, List<Object> ids, List<Object> labels)
            throws Exception {
        ObjectNode o = JSON.createObjectNode();
        o.put("step", step);
        o.put("micro", micro);
        o.put("role", role);
        o.put("pair_id", pair);
        ArrayNode i = o.putArray("input_ids");
        ids.forEach(x -> i.add(((Number) x).longValue()));
        ArrayNode l = o.putArray("labels");
        labels.forEach(x -> l.add(((Number) x).longValue()));
        return JSON.writeValueAsString(o) + "\n";
    }

    static void eval(String model, Path rowsFile, int threads, int batch, int newTokens, int prompts, int generateBatch)
            throws Exception {
        List<long[]> seqs = new ArrayList<>();
        List<long[]> promptIds = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(rowsFile)) {
            String line;
            while ((line = r.readLine()) != null) {
                JsonNode n = JSON.readTree(line);
                long[] ids = longs(n.get("input_ids"));
                long[] labels = longs(n.get("labels"));
                seqs.add(ids);
                int p = 0;
                while (labels[p] == -100) {
                    p++;
                }
                promptIds.add(java.util.Arrays.copyOf(ids, p));
            }
        }
        ObjectNode o = JSON.createObjectNode();
        try (LanguageModel lm = LanguageModel.load(Paths.get(model), new ModelSettings("cpu", "float32", threads))) {
            o.put("torch_threads", ai.djl.pytorch.jni.JniUtils.getNumThreads());
            LmScorer.tokenLogProbs(lm, seqs.subList(0, Math.min(batch, seqs.size()))); // warm-up
            long scored = 0;
            long t = System.nanoTime();
            for (int i = 0; i < seqs.size(); i += batch) {
                List<long[]> b = seqs.subList(i, Math.min(seqs.size(), i + batch));
                LmScorer.tokenLogProbs(lm, b);
                scored += b.stream().mapToLong(x -> x.length).sum();
            }
            o.put("score_tokens", scored);
            o.put("score_seconds", (System.nanoTime() - t) / 1e9);
            // One prompt at a time, as the reference: the cache's gain, not batching's.
            for (boolean cache : new boolean[] {true, false}) {
                GreedyDecoder.generate(lm, List.of(promptIds.get(0)), 4, cache); // warm-up
                t = System.nanoTime();
                long generated = 0;
                for (int p = 0; p < prompts; p++) {
                    generated += GreedyDecoder.generate(lm, List.of(promptIds.get(p)), newTokens, cache).get(0).length;
                }
                String key = cache ? "generate_cache" : "generate_nocache";
                o.put(key + "_tokens", generated);
                o.put(key + "_seconds", (System.nanoTime() - t) / 1e9);
            }
            if (generateBatch > 0) {
                // Distinct prompts of different lengths in one left-padded batch; tokens counted
                // per row up to its EOS (rows that finished still ride along, uncounted).
                List<long[]> batchPrompts = new ArrayList<>();
                for (int p = 0; p < promptIds.size() && batchPrompts.size() < generateBatch; p++) {
                    long[] candidate = promptIds.get(p);
                    if (batchPrompts.stream().noneMatch(x -> java.util.Arrays.equals(x, candidate))) {
                        batchPrompts.add(candidate);
                    }
                }
                for (boolean cache : new boolean[] {true, false}) {
                    t = System.nanoTime();
                    long generated = GreedyDecoder.generate(lm, batchPrompts, newTokens, cache).stream()
                            .mapToLong(x -> x.length).sum();
                    String key = cache ? "generate_batch_cache" : "generate_batch_nocache";
                    o.put(key + "_tokens", generated);
                    o.put(key + "_seconds", (System.nanoTime() - t) / 1e9);
                }
                o.put("generate_batch_rows", batchPrompts.size());
            }
        }
        System.out.println(JSON.writeValueAsString(o));
    }

    static void peak(int threads, int size, int reps) throws Exception {
        Engine.getEngine("PyTorch");
        ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
        double best = 0;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(size, size));
            NDArray y = m.randomNormal(new Shape(size, size));
            x.matMul(y).close();
            for (int i = 0; i < reps; i++) {
                long t = System.nanoTime();
                NDArray z = x.matMul(y);
                z.getFloat(0, 0); // make sure it ran
                best = Math.max(best, 2.0 * size * size * size / ((System.nanoTime() - t) / 1e9));
                z.close();
            }
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("threads", ai.djl.pytorch.jni.JniUtils.getNumThreads());
        o.put("torch", Engine.getEngine("PyTorch").getVersion());
        o.put("gflops", best / 1e9);
        o.put("size", size);
        System.out.println(JSON.writeValueAsString(o));
    }

    private static long[] longs(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asLong();
        }
        return out;
    }

    private static double status(String key) {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (java.io.IOException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
