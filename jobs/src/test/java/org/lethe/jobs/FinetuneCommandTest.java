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
import org.lethe.model.LanguageModel;
import org.lethe.model.ModelSettings;
import org.lethe.testing.TestSpark;

/** generate-benchmark, ingest and finetune from scratch through the CLI. */
class FinetuneCommandTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

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
        try (LanguageModel lm = LanguageModel.load(checkpoint, ModelSettings.defaults())) {
            assertTrue(lm.tokenizer().vocabularySize() > 259);
        }
        Cli steps = Cli.run("sql", "--root", root, "--csv",
                "SELECT count(*) AS n, min(step) AS first, max(step) AS last FROM train_steps WHERE run_id = 'target'");
        assertEquals("n,first,last\n" + s.get("steps").asLong() + ",1," + s.get("steps").asLong() + "\n", steps.out());
        Cli runs = Cli.run("sql", "--root", root, "--csv", "SELECT job, status FROM runs WHERE run_id = 'target'");
        assertEquals("job,status\nfinetune,SUCCEEDED\n", runs.out());

        // Unlearn forget10 from the trained model: two npo steps with the KL retain term.
        Cli unlearn = Cli.run("unlearn", "--root", root, "--run-id", "npo-kl", "--set", "unlearn.dataset=synth",
                "--set", "unlearn.model=" + checkpoint, "--set", "unlearn.method=npo+kl", "--set", "unlearn.max_steps=2",
                "--set", "unlearn.batch_size=8", "--set", "unlearn.micro_batch_size=4", "--set", "unlearn.lr=1e-3");
        assertEquals(0, unlearn.status(), unlearn.err());
        JsonNode u = new ObjectMapper().readTree(unlearn.out());
        assertEquals(2, u.get("steps").asLong());
        assertEquals("[\"npo\",\"kl\"]", u.get("terms").toString());
        Cli terms = Cli.run("sql", "--root", root, "--csv", "SELECT step, job, round(terms['npo'], 4) AS npo,"
                + " round(terms['kl'], 6) AS kl FROM train_steps WHERE run_id = 'npo-kl' AND step = 1");
        // At the start the model is its own ref_model: npo = (2/0.1) log 2, kl = 0.
        assertEquals("step,job,npo,kl\n1,unlearn,13.8629,0.0\n", terms.out());
        // Evaluate the target and the unlearned model against it (the target standing in for the
        // retain-only model): eval_samples per sample, eval_summary with forget quality.
        String[] eval = {"--set", "eval.dataset=synth", "--set", "eval.max_samples=12", "--set", "eval.max_new_tokens=8"};
        Cli target = Cli.run(concat(new String[] {"evaluate", "--root", root, "--run-id", "target", "--model",
                checkpoint.toString()}, eval));
        assertEquals(0, target.status(), target.err());
        Cli evalNpo = Cli.run(concat(new String[] {"evaluate", "--root", root, "--run-id", "npo-kl", "--model",
                u.get("checkpoint").asText(), "--retain-run", "target"}, eval));
        assertEquals(0, evalNpo.status(), evalNpo.err());
        Cli summary = Cli.run("sql", "--root", root, "--csv", "SELECT run_id, n, value IS NULL AS missing FROM"
                + " eval_summary WHERE metric = 'forget_quality' ORDER BY run_id");
        // forget10 of 4 authors is one author: 10 items, all evaluated (max_samples 12).
        assertEquals("run_id,n,missing\nnpo-kl,10,false\ntarget,0,true\n", summary.out());

        Cli bad = Cli.run("unlearn", "--root", root, "--run-id", "bad", "--set", "unlearn.dataset=synth",
                "--set", "unlearn.model=" + checkpoint, "--set", "unlearn.method=rmu", "--set", "unlearn.layer=7");
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("lethe.unlearn.layer: 7 is outside the model's 2 decoder layers"), bad.err());
    }
}
