package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.data.FictitiousAuthors;
import org.lethe.distributed.Checkpoints;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTokenizer;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;

/**
 * Issue 17: the same seeded unlearning job (npo, two steps over two partitions, on the demo-sized
 * model) and an evaluation of its result, each machine in a JVM of its own. The machines are this
 * one (AVX-512, 2 cores) and simulations of others: an AVX2-only CPU ({@code ATEN_CPU_CAPABILITY},
 * {@code MKL_ENABLE_INSTRUCTIONS} and {@code ONEDNN_MAX_CPU_ISA} ceilings) and one core (libtorch's
 * default thread count follows {@code OMP_NUM_THREADS}; the JVM's processor count and so {@code
 * local[*]} follow {@code -XX:ActiveProcessorCount}). Unpinned ({@code LETHE_REPRODUCIBLE=0}), this
 * machine's and the AVX2 CPU's weights and {@code eval_samples} differ; pinned (the variables of
 * conf/numerics.env, as bin/lethe sets them, and the default thread count), they are bitwise equal
 * on all three. (A four-core machine gave this one's values unpinned and the same pinned; it was
 * left out to keep the suite within its time budget: one core already differs in thread count.) ATen's ceiling cannot be simulated under the pin, which sets the same variable:
 * there the AVX2 machine differs from this one in MKL's and oneDNN's ceilings only.
 */
class NumericsAcrossMachinesTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static final Path REPO = Path.of(System.getProperty("lethe.repo",
            Path.of("").toAbsolutePath().getParent().toString()));

    /** name -> (environment, JVM options) of a simulated machine. */
    private static final Map<String, Machine> MACHINES = new LinkedHashMap<>();

    /** The machines also run unpinned. */
    private static final List<String> UNPINNED = List.of("this", "avx2-cpu");

    private record Machine(Map<String, String> env, List<String> jvm) {}

    static {
        MACHINES.put("this", new Machine(Map.of(), List.of()));
        MACHINES.put("avx2-cpu", new Machine(Map.of("ATEN_CPU_CAPABILITY", "avx2", "MKL_ENABLE_INSTRUCTIONS", "AVX2",
                "ONEDNN_MAX_CPU_ISA", "AVX2"), List.of()));
        MACHINES.put("1-core", new Machine(Map.of("OMP_NUM_THREADS", "1"), List.of("-XX:ActiveProcessorCount=1")));
    }

    @TempDir
    static Path tmp;
    private static Path root;
    private static Path model;

    @BeforeAll
    static void benchmarkAndModel() throws Exception {
        Path bench = tmp.resolve("bench");
        FictitiousAuthors.generate(1, 3, 10).write(bench, 512);
        root = tmp.resolve("root");
        Cli ingest = Cli.run("ingest", "--format", "tofu", "--input", bench.toString(), "--root", root.toString(),
                "--dataset", "synth");
        assertEquals(0, ingest.status(), ingest.err());
        // The demo's model size: big enough that libtorch's kernels split work by thread and vector width.
        model = tmp.resolve("model");
        Path tokenizer = bench.resolve("tokenizer.json");
        try (LanguageModel lm = LanguageModel.fresh(ModelPresets.config("demo", LmTokenizer.vocabularySize(tokenizer)),
                ModelSettings.defaults(), 7, tokenizer)) {
            lm.save(model);
        }
    }

    /** What a machine computed: the unlearned weights' hash and every eval_samples value of its evaluation. */
    private record Outcome(String weights, List<String> evalSamples) {}

    @Test
    void unpinnedMachinesDifferAndPinnedOnesAgreeBitwise() throws Exception {
        // One machine at a time: two at once on this 2-core machine took 612 s against 389 s in turn
        // (and C1-only JVMs 485 s: the children's Java side computes). Unpinned, two machines
        // suffice to show that the pins matter: this one and the AVX2 CPU differ in weights and
        // eval_samples (so do this one and one core; four cores gave this one's values).
        Map<String, Outcome> unpinned = new LinkedHashMap<>();
        Map<String, Outcome> pinned = new LinkedHashMap<>();
        for (Map.Entry<String, Machine> m : MACHINES.entrySet()) {
            if (UNPINNED.contains(m.getKey())) {
                unpinned.put(m.getKey(), run("u-" + m.getKey(), m.getValue(), false));
            }
            pinned.put(m.getKey(), run("p-" + m.getKey(), m.getValue(), true));
        }
        Set<String> unpinnedWeights = unpinned.values().stream().map(Outcome::weights)
                .collect(Collectors.toCollection(LinkedHashSet::new));
        Set<List<String>> unpinnedEvals = unpinned.values().stream().map(Outcome::evalSamples)
                .collect(Collectors.toCollection(LinkedHashSet::new));
        String table = table(unpinned, pinned);
        assertTrue(unpinnedWeights.size() >= 2, "unpinned, at least two machines give different weights:\n" + table);
        assertTrue(unpinnedEvals.size() >= 2, "unpinned, at least two machines give different eval_samples:\n" + table);

        Outcome reference = pinned.get("this");
        assertTrue(reference.evalSamples().size() > 100, "an evaluation with values: " + reference.evalSamples().size());
        for (Map.Entry<String, Outcome> p : pinned.entrySet()) {
            assertEquals(reference.weights(), p.getValue().weights(), p.getKey() + ", pinned: the weights\n" + table);
            assertEquals(reference.evalSamples(), p.getValue().evalSamples(), p.getKey() + ", pinned: eval_samples");
        }
        System.out.print(table);
    }

    private static String table(Map<String, Outcome> unpinned, Map<String, Outcome> pinned) {
        StringBuilder b = new StringBuilder("machine: unpinned weights / eval_samples | pinned weights / eval_samples\n");
        for (String m : MACHINES.keySet()) {
            Outcome u = unpinned.get(m);
            b.append(m).append(": ").append(u == null ? "-" : u.weights()).append(" / ")
                    .append(u == null ? "-" : hash(String.join("\n", u.evalSamples()).getBytes())).append(" | ")
                    .append(pinned.get(m).weights()).append(" / ")
                    .append(hash(String.join("\n", pinned.get(m).evalSamples()).getBytes())).append('\n');
        }
        return b.toString();
    }

    /** Unlearns, then evaluates the result, in one child JVM on {@code machine}. */
    private static Outcome run(String runId, Machine machine, boolean pins) throws Exception {
        Path output = root.resolve("checkpoints").resolve(runId);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-Dai.djl.offline=true", "-Dspark.ui.enabled=false"));
        cmd.addAll(machine.jvm());
        cmd.addAll(StandaloneCluster.JAVA17_OPENS);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Commands.class.getName()));
        cmd.addAll(List.of("unlearn", "--root", root.toString(), "--run-id", runId,
                "--set", "unlearn.dataset=synth", "--set", "unlearn.model=" + model, "--set", "unlearn.method=npo",
                "--set", "unlearn.max_steps=2", "--set", "unlearn.batch_size=8", "--set", "unlearn.micro_batch_size=4",
                "--set", "unlearn.partitions=2", "--set", "unlearn.lr=1e-3", "--set", "unlearn.resume=false",
                "--set", "unlearn.output=" + output));
        cmd.add(Commands.NEXT);
        cmd.addAll(List.of("evaluate", "--root", root.toString(), "--run-id", runId, "--model",
                output.resolve("checkpoint-2").toString(), "--set", "eval.dataset=synth", "--set", "eval.max_samples=8",
                "--set", "eval.max_new_tokens=8", "--set", "eval.step=0"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve(runId + ".log").toFile());
        Map<String, String> env = pb.environment();
        // This JVM runs pinned (pom.xml's surefire): a machine starts from nothing set.
        env.remove("ATEN_CPU_CAPABILITY");
        env.remove("MKL_CBWR");
        env.remove("LETHE_REPRODUCIBLE");
        env.putAll(machine.env());
        if (pins) {
            env.putAll(pinsOfTheLaunchers()); // over the machine's own value, as bin/lethe does
        } else {
            env.put("LETHE_REPRODUCIBLE", "0");
        }
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(runId + " did not finish in 5 minutes");
        }
        assertEquals(0, p.exitValue(), runId + ":\n" + Files.readString(tmp.resolve(runId + ".log")));
        List<String> values = new TableStore(SPARK.session(), root.toString()).read("eval_samples")
                .where(org.apache.spark.sql.functions.col("run_id").equalTo(runId))
                .select("split", "sample_id", "metric", "value", "generation")
                .orderBy("split", "sample_id", "metric").collectAsList().stream()
                .map(NumericsAcrossMachinesTest::exactly).toList();
        return new Outcome(hash(Files.readAllBytes(Checkpoints.weightsFile(output.resolve("checkpoint-2")))), values);
    }

    /** A row's values, doubles as their exact bits. */
    private static String exactly(Row r) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < r.size(); i++) {
            Object v = r.get(i);
            b.append(v instanceof Double d ? Long.toHexString(Double.doubleToRawLongBits(d)) : String.valueOf(v))
                    .append('|');
        }
        return b.toString();
    }

    /** The KEY=value lines of conf/numerics.env: what bin/lethe exports. */
    static Map<String, String> pinsOfTheLaunchers() throws IOException {
        Map<String, String> pins = new LinkedHashMap<>();
        for (String line : Files.readAllLines(REPO.resolve("conf/numerics.env"))) {
            if (line.matches("[A-Z_][A-Z0-9_]*=.*")) {
                pins.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
            }
        }
        return pins;
    }

    private static String hash(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A child JVM's main: the {@code lethe} commands it is given, separated by {@link #NEXT}, in one JVM. */
    public static final class Commands {
        static final String NEXT = "::";

        public static void main(String[] args) {
            List<String> all = Arrays.asList(args);
            int from = 0;
            while (from < all.size()) {
                int to = all.subList(from, all.size()).indexOf(NEXT);
                to = to < 0 ? all.size() : from + to;
                String[] command = all.subList(from, to).toArray(new String[0]);
                int status = Lethe.execute(command, System.out, System.err);
                if (status != 0) {
                    throw new IllegalStateException("lethe " + String.join(" ", command) + " exited " + status);
                }
                from = to + 1;
            }
        }
    }
}
