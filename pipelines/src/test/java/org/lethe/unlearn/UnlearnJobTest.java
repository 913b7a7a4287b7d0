package org.lethe.unlearn;

import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.data.FictitiousAuthors;
import org.lethe.data.IngestJob;
import org.lethe.data.IngestRequest;
import org.lethe.model.LanguageModel;
import org.lethe.model.ModelSettings;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;
import org.lethe.distributed.Checkpoints;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import org.lethe.testing.TinyModels;

/** The unlearn job on a tiny model and a 3-author benchmark (forget10: 10 samples, retain90: 20). */
class UnlearnJobTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @TempDir
    static Path shared;
    private static TableStore store;
    private static Path model;

    @BeforeAll
    static void data() throws Exception {
        Path bench = shared.resolve("bench");
        FictitiousAuthors.generate(1, 3, 10).write(bench, 512);
        store = new TableStore(SPARK.session(), shared.resolve("root").toString());
        new IngestJob(SPARK.session(), store).run(IngestRequest.of(LetheConfig.defaults(),
                IngestJob.Format.TOFU, bench.toString(), "synth", null, true, null), "ingest-synth");
        model = TinyModels.save(bench, 7, shared.resolve("model"));
    }

    private static List<String> common(Path output, String method, String... extra) {
        List<String> sets = new ArrayList<>(List.of("unlearn.dataset=synth", "unlearn.model=" + model,
                "unlearn.method=" + method, "unlearn.epochs=2", "unlearn.batch_size=4", "unlearn.micro_batch_size=2",
                "unlearn.lr=1e-3", "unlearn.output=" + output, "model.threads=1"));
        sets.addAll(Arrays.asList(extra));
        return sets;
    }

    private static UnlearnJob.Summary run(String runId, List<String> sets) {
        return new UnlearnJob(SPARK.session(), store).run(UnlearnRequest.of(LetheConfig.load(Optional.empty(), sets)),
                runId);
    }

    private static byte[] weights(String checkpoint) throws Exception {
        return Files.readAllBytes(Checkpoints.weightsFile(Path.of(checkpoint)));
    }

    @Test
    void oneTwoAndFourPartitionsGiveBitwiseTheSameWeights(@TempDir Path tmp) throws Exception {
        // llmu reads forget rows, their mismatched answers and retain rows through the ref_model;
        // dpo reads refusals through the ref_model; rmu reads a layer's hidden states; npo+kl trains
        // LoRA adapters (rank 4 on q, v and down projections) instead of the full parameters.
        for (String method : List.of("llmu", "dpo", "rmu", "npo+kl")) {
            byte[] first = null;
            String lora = method.equals("npo+kl") ? "lora.rank=4" : "lora.rank=0";
            for (int partitions : new int[] {1, 2, 4}) {
                UnlearnJob.Summary s = run(method.replace('+', '_') + "-p" + partitions, common(tmp.resolve(method + partitions), method,
                        "unlearn.partitions=" + partitions, "unlearn.max_steps=5", lora,
                        "lora.target_modules=[q_proj, v_proj, down_proj]"));
                assertEquals(5, s.steps());
                byte[] w = weights(s.checkpoint());
                if (first == null) {
                    first = w;
                } else {
                    assertArrayEquals(first, w, method + ": " + partitions + " partitions");
                }
            }
            if (method.equals("npo+kl")) {
                // An adapter naming its base; loaded, it differs from the base's outputs.
                Path adapter = tmp.resolve("npo+kl1/checkpoint-5");
                assertTrue(Files.readString(adapter.resolve("adapter_config.json")).contains(model.toString()));
                assertFalse(Files.exists(adapter.resolve("model.safetensors")));
                try (LanguageModel tuned = LanguageModel.load(adapter, ModelSettings.defaults())) {
                    assertEquals(4, tuned.loraSettings().orElseThrow().rank());
                }
                continue;
            }
            byte[] start = Files.readAllBytes(model.resolve("model.safetensors"));
            assertFalse(Arrays.equals(start, first), method + " changed the weights");
        }
    }

    @Test
    void everyMethodRunsAndRecordsEachTerm(@TempDir Path tmp) {
        for (Methods.Method m : Methods.all()) {
            String runId = "every-" + m.name().replace('+', '_');
            UnlearnJob.Summary s = run(runId, common(tmp.resolve(runId), m.name(), "unlearn.max_steps=1"));
            assertEquals(1, s.steps(), m.name());
            Row row = store.read("train_steps").filter("run_id = '" + runId + "'").head();
            Map<String, Double> terms = row.getJavaMap(row.fieldIndex("terms"));
            List<String> expected = new ArrayList<>(List.of(m.forgetTerm()));
            m.retain().forEach(r -> expected.add(r.term()));
            assertEquals(expected, new ArrayList<>(terms.keySet()), m.name());
            terms.forEach((k, v) -> assertTrue(Double.isFinite(v), m.name() + " " + k + " = " + v));
            double total = m.forgetCoeff() * terms.get(m.forgetTerm());
            for (WeightedTerm r : m.retain()) {
                total += r.coeff() * terms.get(r.term());
            }
            assertEquals(total, row.getDouble(row.fieldIndex("loss")), 1e-9 * Math.max(1, Math.abs(total)), m.name());
            assertEquals("unlearn", row.getString(row.fieldIndex("job")));
            assertTrue(row.getLong(row.fieldIndex("tokens")) > 0);
        }
    }

    @Test
    void theForgetTermAtTheStartIsWhatTheDefinitionSays(@TempDir Path tmp) {
        // npo at the ref_model itself: NLL_theta = NLL_ref, so each sequence gives
        // -(2/beta) log sigmoid(0) = (2/0.1) log 2 = 13.8629; kl to itself is 0.
        run("npo-start", common(tmp.resolve("npo"), "npo+kl", "unlearn.max_steps=1"));
        Row row = store.read("train_steps").filter("run_id = 'npo-start'").head();
        Map<String, Double> terms = row.getJavaMap(row.fieldIndex("terms"));
        assertEquals(20 * Math.log(2), terms.get("npo"), 1e-5);
        assertEquals(0.0, terms.get("kl"), 1e-7);

        // A float16 ref_model (half the executor memory) is the same model up to rounding.
        run("npo-half", common(tmp.resolve("half"), "npo+kl", "unlearn.max_steps=1", "unlearn.ref_dtype=float16"));
        Row half = store.read("train_steps").filter("run_id = 'npo-half'").head();
        Map<String, Double> halfTerms = half.getJavaMap(half.fieldIndex("terms"));
        assertEquals(20 * Math.log(2), halfTerms.get("npo"), 0.05);
        assertTrue(halfTerms.get("kl") > 0 && halfTerms.get("kl") < 1e-3, "kl to the float16 copy: " + halfTerms.get("kl"));
    }

    @Test
    void resumedRunEqualsAnUninterruptedOneAndADivergedStepKeepsTheLastCheckpoint(@TempDir Path tmp) throws Exception {
        UnlearnJob.Summary straight = run("straight", common(tmp.resolve("a"), "npo+kl"));
        assertEquals(6, straight.steps()); // 10 forget samples, 4 per step: 3 steps per epoch
        List<String> b = common(tmp.resolve("b"), "npo+kl", "unlearn.checkpoint_every_steps=2");
        List<String> stopped = new ArrayList<>(b);
        stopped.add("unlearn.max_steps=3");
        assertEquals(3, run("resumed", stopped).steps());
        UnlearnJob.Summary resumed = run("resumed", b);
        assertEquals(3, resumed.resumedFrom()); // max_steps checkpoints where it stops
        assertArrayEquals(weights(straight.checkpoint()), weights(resumed.checkpoint()));
        assertEquals(6, TestSpark.rows(store.read("train_steps").filter("run_id = 'resumed'").select("step"), "step").size());

        // An exploding gradient at step 3 stops the job there; checkpoint-2 is untouched.
        List<String> c = common(tmp.resolve("c"), "grad_ascent", "unlearn.checkpoint_every_steps=2", "unlearn.max_steps=2");
        run("exploding", c);
        byte[] good = weights(tmp.resolve("c/checkpoint-2").toString());
        List<String> again = common(tmp.resolve("c"), "grad_ascent", "unlearn.checkpoint_every_steps=2",
                "unlearn.abort_grad_norm=1e-12");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> run("exploding", again));
        assertTrue(e.getMessage().startsWith("step 3: gradient norm "), e.getMessage());
        assertArrayEquals(good, weights(tmp.resolve("c/checkpoint-2").toString()));
        assertFalse(Files.exists(tmp.resolve("c/checkpoint-3")));

        // A learning rate that overflows the weights makes step 2's loss non-finite.
        IllegalStateException nan = assertThrows(IllegalStateException.class,
                () -> run("nan", common(tmp.resolve("d"), "grad_ascent", "unlearn.lr=1e30", "unlearn.warmup_steps=0")));
        assertTrue(nan.getMessage().startsWith("step 2: loss "), nan.getMessage());
        assertTrue(nan.getMessage().contains("not finite"), nan.getMessage());
        assertEquals(1, store.read("train_steps").filter("run_id = 'nan'").count(), "step 1 is recorded");
    }

    @Test
    void badConfigFailsBeforeAnyWorkNamingTheKey(@TempDir Path tmp) {
        Map<String, List<String>> cases = Map.of(
                "lethe.unlearn.method: unknown unlearning method 'gd'", List.of("unlearn.method=gd"),
                "lethe.unlearn.forget_loss: unknown forget loss term 'gx'", List.of("unlearn.forget_loss=gx"),
                "lethe.unlearn.retain_loss: unknown retain loss term 'ga'", List.of("unlearn.retain_loss=1*nll+ga"),
                "lethe.unlearn.lr must be > 0", List.of("unlearn.lr=-1e-5"),
                "lethe.unlearn.retain_split must be set", List.of("unlearn.retain_split=\"\""),
                "lethe.unlearn.ref_model: ", List.of("unlearn.method=npo", "unlearn.ref_model=" + tmp.resolve("nope")),
                "lethe.unlearn.layer: 9 is outside the model's 2 decoder layers", List.of("unlearn.method=rmu",
                        "unlearn.layer=9"),
                "lethe.unlearn.params: term 'dpo' is not part", List.of("unlearn.params=[\"dpo.beta=1\"]"),
                "lethe.unlearn.retain_split: dataset 'synth' (ingest run ingest-synth) has no samples in split"
                        + " 'retain42'", List.of("unlearn.retain_split=retain42"));
        for (Map.Entry<String, List<String>> c : cases.entrySet()) {
            List<String> sets = common(tmp.resolve("bad"), "grad_diff");
            sets.addAll(c.getValue());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run("bad", sets),
                    c.getKey());
            assertTrue(e.getMessage().startsWith(c.getKey()), e.getMessage());
        }
        assertFalse(Files.exists(tmp.resolve("bad")), "no checkpoint was written");
        assertEquals(0, store.exists("train_steps") ? store.read("train_steps").filter("run_id = 'bad'").count() : 0);
    }

    @Test
    void builtRequestsHaveTheFingerprintOfTheSameSetsInTheSameOrder() {
        LetheConfig base = LetheConfig.load(Optional.empty(), List.of("model.threads=1", "unlearn.epochs=2"));
        // What continual does: the method, then a request's stored overrides (here one that changes
        // the method and one that continual's model must win over), then what continual fixes.
        List<String> overrides = List.of("unlearn.method=npo+kl", "unlearn.lr=1e-4", "unlearn.model=/elsewhere");
        List<String> sets = new ArrayList<>(List.of("unlearn.method=grad_diff"));
        sets.addAll(overrides);
        sets.addAll(List.of("unlearn.model=" + model, "unlearn.ref_model=", "unlearn.dataset=synth",
                "unlearn.data_run_id=ingest-synth", "unlearn.resume=true"));
        UnlearnRequest built = UnlearnRequest.builder(base).method("grad_diff").overrides(overrides)
                .model(model.toString()).refModel("").dataset("synth").dataRunId("ingest-synth").resume(true).build();
        UnlearnRequest set = UnlearnRequest.of(base.with(sets));
        assertEquals(set.provenance().toJson(), built.provenance().toJson());
        assertEquals(set.configSha256(), built.configSha256());
        assertEquals("npo+kl", built.spec().method().name());
        assertEquals(model.toString(), built.spec().model());
        assertEquals(1e-4, built.spec().lr());
        assertEquals(new org.lethe.data.IngestedDataset.Ref("synth", "ingest-synth"), built.data());

        // Typed setters are --set's values; withers derive from the request's own config.
        UnlearnRequest demo = UnlearnRequest.builder(base).dataset("synth").model(model.toString()).method("npo")
                .epochs(3).batchSize(8).lr(2e-5).output("/tmp/u").build();
        assertEquals(UnlearnRequest.of(base.with(List.of("unlearn.dataset=synth", "unlearn.model=" + model,
                "unlearn.method=npo", "unlearn.epochs=3", "unlearn.batch_size=8", "unlearn.lr=2e-5",
                "unlearn.output=/tmp/u"))).configSha256(), demo.configSha256());
        assertEquals(3, demo.spec().training().epochs());
        assertEquals(demo.configSha256(), demo.withOutput("/tmp/u").configSha256());
        assertEquals("/tmp/v", demo.withOutput("/tmp/v").spec().training().output());
        // The method's default lr (0), and one epoch of warmup (-1).
        UnlearnRequest defaults = demo.toBuilder().lr(0).build();
        assertEquals(1e-5, defaults.spec().lr());
        assertEquals(7, defaults.spec().warmupSteps(7));
    }

    @Test
    void theSettingsOfAModelAreCheckedWithoutADataset() {
        LetheConfig config = LetheConfig.load(Optional.empty(),
                List.of("unlearn.model=" + model, "unlearn.method=npo"));
        UnlearnSpec spec = UnlearnSpec.of(config);
        assertTrue(spec.needsRef());
        assertEquals(model.toString(), spec.trainer().refModelDir());
        assertEquals("lethe.unlearn.dataset must be set",
                assertThrows(IllegalArgumentException.class, () -> UnlearnRequest.of(config)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> UnlearnSpec.of(config.with(
                List.of("unlearn.batch_size=6")))).getMessage().startsWith("lethe.unlearn.batch_size (6) must be a"
                        + " multiple of lethe.unlearn.micro_batch_size (8)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> UnlearnSpec.of(config.with(
                List.of("lora.rank=2", "lora.target_modules=[x_proj]")))).getMessage().startsWith("lethe.lora: "));
    }
}
