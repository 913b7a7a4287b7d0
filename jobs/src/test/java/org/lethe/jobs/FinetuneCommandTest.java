package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.CausalLm;
import org.lethe.model.ModelSettings;
import org.lethe.testing.TestSpark;

/** generate-benchmark, ingest and finetune from scratch through the CLI. */
class FinetuneCommandTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @Test
    void aModelTrainedFromScratchOnTheBenchmarkLowersItsLoss(@TempDir Path tmp) throws Exception {
        Path bench = tmp.resolve("bench");
        String root = tmp.resolve("root").toString();
        assertEquals(0, Cli.run("generate-benchmark", "--out", bench.toString(), "--authors", "4").status());
        Cli ingest = Cli.run("ingest", "--format", "tofu", "--input", bench.toString(), "--root", root,
                "--dataset", "synth");
        assertEquals(0, ingest.status(), ingest.err());
        Cli train = Cli.run("finetune", "--root", root, "--run-id", "target",
                "--set", "train.dataset=synth", "--set", "train.splits=[full, general]",
                "--set", "train.tokenizer=" + bench.resolve("tokenizer.json"), "--set", "train.init_preset=tiny",
                "--set", "train.epochs=3", "--set", "train.batch_size=16", "--set", "train.micro_batch_size=8",
                "--set", "train.lr=3e-3", "--set", "train.schedule=constant");
        assertEquals(0, train.status(), train.err());
        JsonNode s = new ObjectMapper().readTree(train.out());
        long samples = s.get("samples").asLong();
        assertTrue(samples > 40, "full + general samples: " + samples);
        assertEquals(3 * ((samples + 15) / 16), s.get("steps").asLong());
        assertTrue(s.get("last_loss").asDouble() < 0.8 * s.get("first_loss").asDouble(), train.out());
        Path checkpoint = Path.of(s.get("checkpoint").asText());
        assertTrue(Files.exists(checkpoint.resolve("trainer_state.json")));
        try (CausalLm lm = CausalLm.load(checkpoint, ModelSettings.defaults())) {
            assertTrue(lm.tokenizer().vocabularySize() > 259);
        }
        Cli steps = Cli.run("sql", "--root", root, "--csv",
                "SELECT count(*) AS n, min(step) AS first, max(step) AS last FROM train_steps WHERE run_id = 'target'");
        assertEquals("n,first,last\n" + s.get("steps").asLong() + ",1," + s.get("steps").asLong() + "\n", steps.out());
        Cli runs = Cli.run("sql", "--root", root, "--csv", "SELECT job, status FROM runs WHERE run_id = 'target'");
        assertEquals("job,status\nfinetune,SUCCEEDED\n", runs.out());
    }
}
