package org.lethe.finetune;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.data.FictitiousAuthors;
import org.lethe.data.IngestJob;
import org.lethe.data.IngestRequest;
import org.lethe.data.IngestedDataset;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoints and resume: a run stopped after a checkpoint and resumed equals an uninterrupted one. */
class FinetuneJobTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @Test
    void resumedRunIsBitwiseEqualToAnUninterruptedOne(@TempDir Path tmp) throws Exception {
        Path bench = tmp.resolve("bench");
        FictitiousAuthors.generate(1, 3, 10).write(bench, 512);
        TableStore store = new TableStore(SPARK.session(), tmp.resolve("root").toString());
        new IngestJob(SPARK.session(), store).run(IngestRequest.of(LetheConfig.defaults(),
                IngestJob.Format.TOFU, bench.toString(), "synth", null, true, null), "ingest-synth");
        List<String> common = List.of("train.dataset=synth", "train.splits=[full]", "train.init_preset=tiny",
                "train.tokenizer=" + bench.resolve("tokenizer.json"), "train.epochs=2", "train.batch_size=8",
                "train.micro_batch_size=4", "train.lr=3e-3", "train.checkpoint_every_steps=2", "model.threads=1");
        // 30 samples, 8 per step: 4 steps per epoch, 8 in all.
        FinetuneJob.Summary straight = run(store, common, "train.output=" + tmp.resolve("a"), "straight");
        assertEquals(8, straight.steps());
        assertTrue(Files.isDirectory(tmp.resolve("a/checkpoint-2")) && Files.isDirectory(tmp.resolve("a/checkpoint-8")));

        // The same run with its output (and so its init model) on another file system (faulty:, disarmed):
        // committed by upload, read back through a node cache; step 2's weights are bitwise the local run's.
        Path remote = tmp.resolve("remote");
        String remoteOutput = org.lethe.testing.FaultyFileSystem.path(remote.resolve("r")).toString();
        FinetuneJob.Summary uploaded;
        try (var cache = new org.lethe.storage.ModelCacheSettings(tmp.resolve("cache").toString(), 1L << 30, 3600)
                .enterDriver(SPARK.session().sparkContext())) {
            uploaded = run(store, common, "train.output=\"" + remoteOutput + "\"", "uploaded", "train.max_steps=2");
            // Resumed from the remote checkpoint-2 (model and AdamW moments through the cache): steps 3-8.
            FinetuneJob.Summary finished = run(store, common, "train.output=\"" + remoteOutput + "\"", "uploaded");
            assertEquals(2, finished.resumedFrom());
            assertEquals(8, finished.steps());
            assertEquals(straight.modelFingerprint(), finished.modelFingerprint());
        }
        assertEquals(remoteOutput + "/checkpoint-2", uploaded.checkpoint());
        assertTrue(Files.isRegularFile(remote.resolve("r/checkpoint-2/_lethe_committed.json")));
        assertTrue(Files.isRegularFile(remote.resolve("r-init/_lethe_committed.json")));
        assertArrayEquals(Files.readAllBytes(tmp.resolve("a/checkpoint-2/model.safetensors")),
                Files.readAllBytes(remote.resolve("r/checkpoint-2/model.safetensors")));
        assertEquals(org.lethe.store.Fingerprints.sha256(new org.apache.hadoop.fs.Path(
                tmp.resolve("a/checkpoint-2/model.safetensors").toUri()), new org.apache.hadoop.conf.Configuration()),
                uploaded.modelFingerprint());
        try (var cached = Files.list(tmp.resolve("cache"))) {
            assertTrue(cached.anyMatch(p -> p.getFileName().toString().matches("[0-9a-f]{64}")),
                    "the init model was read from the node cache");
        }

        FinetuneJob.Summary stopped = run(store, common, "train.output=" + tmp.resolve("b"), "resumed", "train.max_steps=5");
        assertEquals(5, stopped.steps());
        FinetuneJob.Summary resumed = run(store, common, "train.output=" + tmp.resolve("b"), "resumed");
        assertEquals(8, resumed.steps());
        assertEquals(5, resumed.resumedFrom()); // only steps 6-8 ran again: optimizer state restored
        assertEquals(0, straight.resumedFrom());
        // Both started from the same seeded model (the init is written per output: make it the same).
        assertArrayEquals(Files.readAllBytes(tmp.resolve("a/checkpoint-8/model.safetensors")),
                Files.readAllBytes(tmp.resolve("b/checkpoint-8/model.safetensors")));
        assertEquals(straight.modelFingerprint(), resumed.modelFingerprint());
        FinetuneJob.Summary again = run(store, common, "train.output=" + tmp.resolve("b"), "resumed");
        assertEquals(8, again.resumedFrom()); // a re-run after success does nothing new
        assertEquals(resumed.modelFingerprint(), again.modelFingerprint());
        // Resume refuses another run's checkpoints and settings that change the weights, naming them;
        // under reduce = ordered the partitioning may change (and max_steps, above).
        String b = tmp.resolve("b/checkpoint-8").toString();
        IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
                () -> run(store, common, "train.output=" + tmp.resolve("b"), "someone-else"));
        assertEquals(b + " is a checkpoint of run 'resumed', not of run 'someone-else': a run resumes only its own"
                + " checkpoints; start over with lethe.train.resume=false, or give this run its own lethe.train.output",
                other.getMessage());
        IllegalArgumentException changed = assertThrows(IllegalArgumentException.class,
                () -> run(store, common, "train.output=" + tmp.resolve("b"), "resumed", "train.lr=0.5", "train.epochs=9",
                        "train.seed=5", "train.partitions=1"));
        assertEquals(b + " was written with other settings than this run's: lethe.train.epochs (" + epochs(common)
                + " there, 9 here), lethe.train.lr (" + lr(common) + " there, 0.5 here), lethe.train.seed (0 there, 5"
                + " here); only max_steps, checkpoint_every_steps, abort_grad_norm and, under reduce = ordered, partitions"
                + " may change on resume; start over with lethe.train.resume=false, or give this run its own"
                + " lethe.train.output", changed.getMessage());
        assertEquals(8, run(store, common, "train.output=" + tmp.resolve("b"), "resumed", "train.partitions=1")
                .resumedFrom());
        List<List<Object>> rows = TestSpark.rows(store.read("train_steps").filter("run_id = 'resumed'")
                .select("step"), "step");
        assertEquals(8, rows.size());
        assertEquals(List.of(8L), rows.get(7));
        // Each step's forward/backward time is recorded and is a part of its wall time.
        for (List<Object> r : TestSpark.rows(store.read("train_steps").filter("run_id = 'straight'")
                .select("step", "compute_seconds", "seconds"), "step")) {
            double compute = (Double) r.get(1);
            assertTrue(compute > 0 && compute < (Double) r.get(2), "step " + r.get(0) + ": " + r);
        }
    }

    @Test
    void builtRequestsHaveTheFingerprintOfTheSameSetsAndBadOnesFailNamingTheKey() {
        LetheConfig base = LetheConfig.load(Optional.empty(), List.of("train.tokenizer=/t/tokenizer.json",
                "train.init_preset=tiny"));
        // As continual derives a retain run's config (its id fingerprints the train section).
        FinetuneRequest built = FinetuneRequest.builder(base).dataset("synth").dataRunId("ingest-synth")
                .splits(List.of("full", "general")).resume(true).build();
        LetheConfig set = base.with(List.of("train.dataset=synth", "train.data_run_id=ingest-synth",
                "train.splits=[full,general]", "train.resume=true"));
        assertEquals(set.toJson(), built.provenance().toJson());
        assertEquals(List.of("full", "general"), built.splits());
        assertEquals(new IngestedDataset.Ref("synth", "ingest-synth"), built.data());
        // As relearn derives its attack's.
        FinetuneRequest relearn = built.toBuilder().model("/m").dataRunId("").splits(List.of("forget10")).maxSteps(3)
                .epochs(3).lr(1e-3).batchSize(4).microBatchSize(4).schedule("constant").warmupSteps(0).resume(false)
                .output("/root/checkpoints/r-relearn").build();
        assertEquals(set.with(List.of("train.model=/m", "train.data_run_id=\"\"", "train.splits=[forget10]",
                "train.max_steps=3", "train.epochs=3", "train.lr=1e-3", "train.batch_size=4",
                "train.micro_batch_size=4", "train.schedule=constant", "train.warmup_steps=0", "train.resume=false",
                "train.output=/root/checkpoints/r-relearn")).sha256(), relearn.configSha256());
        assertEquals(new IngestedDataset.Ref("synth", "ingest-synth"), relearn.data());
        assertEquals(3, relearn.training().maxSteps());
        assertEquals("/m", relearn.withModel("/m").model());

        Map<String, List<String>> cases = Map.of(
                "lethe.train.dataset must be set", List.of("train.dataset=\"\""),
                "lethe.train.splits is empty: name the splits to train on", List.of("train.splits=[]"),
                "lethe.train.epochs must be > 0, got 0", List.of("train.epochs=0"),
                "lethe.train.tokenizer must be set", List.of("train.tokenizer=\"\""),
                "lethe.lora: LoRA rank must be > 0, got -1", List.of("lora.rank=-1"));
        cases.forEach((message, sets) -> assertEquals(message, assertThrows(IllegalArgumentException.class,
                () -> FinetuneRequest.of(set.with(sets))).getMessage()));
    }

    private static FinetuneJob.Summary run(TableStore store, List<String> common, String output, String runId,
            String... extra) throws Exception {
        List<String> sets = new ArrayList<>(common);
        sets.add(output);
        sets.addAll(List.of(extra));
        return new FinetuneJob(SPARK.session(), store).run(FinetuneRequest.of(LetheConfig.load(Optional.empty(), sets)),
                runId);
    }

    /** The JSON of a setting's value in {@code common}: how a refusal prints it. */
    private static String epochs(List<String> common) {
        return LetheConfig.load(Optional.empty(), common).jsonValue("train.epochs");
    }

    private static String lr(List<String> common) {
        return LetheConfig.load(Optional.empty(), common).jsonValue("train.lr");
    }
}
