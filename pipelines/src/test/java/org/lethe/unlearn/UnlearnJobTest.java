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
        return new UnlearnJob(SPARK.session(), store, LetheConfig.load(Optional.empty(), sets)).run(runId);
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
}
