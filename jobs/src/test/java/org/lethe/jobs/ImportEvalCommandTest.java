package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.testing.Fixtures;
import org.lethe.testing.TestSpark;

/**
 * {@code lethe import-eval} end to end: TOFU's Llama-2-7b logs (retain90, then full against it)
 * give the published forget quality and model utilities in eval_summary, queried with {@code lethe
 * sql}; NULL aggregates print as empty CSV fields; the runs row is written.
 */
class ImportEvalCommandTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @Test
    void importedTofuLogsGiveThePublishedNumbers(@TempDir Path tmp) throws Exception {
        Path dir = Fixtures.root().resolve("tofu").resolve("eval_logs_llama2_7b");
        Assumptions.assumeTrue(Files.isDirectory(dir), dir + " not found: skipping");
        String root = tmp.resolve("root").toString();
        String retain = dir.resolve("ft_epoch5_lr1e-05_llama2-7b_retain90_wd0.01__eval_log_aggregated.json").toString();
        String full = dir.resolve("ft_epoch5_lr1e-05_llama2-7b_full_wd0.01__eval_log_aggregated.json").toString();

        Cli r90 = Cli.run("import-eval", "--format", "tofu-log", "--input", retain, "--root", root,
                "--run-id", "tofu_retain90", "--forget-split", "forget10");
        assertEquals(0, r90.status(), r90.err());
        JsonNode result = new ObjectMapper().readTree(r90.out());
        assertEquals(4902, result.get("eval_samples").asLong());
        assertTrue(result.get("aggregates").get("forget_quality").isNull(), r90.out());
        assertEquals(0.6137, result.get("aggregates").get("model_utility").asDouble(), 1e-4);

        Cli fullRun = Cli.run("import-eval", "--format", "tofu-log", "--input", full, "--root", root,
                "--run-id", "tofu_full", "--forget-split", "forget10", "--retain-run", "tofu_retain90");
        assertEquals(0, fullRun.status(), fullRun.err());

        Cli sql = Cli.run("sql", "--root", root, "--csv", "SELECT run_id, metric, value, n, missing_reason"
                + " FROM eval_summary WHERE metric IN ('forget_quality', 'model_utility') ORDER BY run_id, metric");
        assertEquals(0, sql.status(), sql.err());
        String[] lines = sql.out().split("\n");
        assertEquals("run_id,metric,value,n,missing_reason", lines[0]);
        String[] fq = lines[1].split(",", -1);
        assertEquals("tofu_full", fq[0]);
        assertEquals("forget_quality", fq[1]);
        assertEquals(1.83e-21, Double.parseDouble(fq[2]), 1e-2 * 1.83e-21);
        assertEquals("300", fq[3]);
        assertEquals("", fq[4]);
        String[] fullMu = lines[2].split(",", -1);
        assertEquals("model_utility", fullMu[1]);
        assertEquals(0.6227, Double.parseDouble(fullMu[2]), 1e-4);
        // No retain run for retain90: NULL value, an empty field, and the reason
        assertEquals("tofu_retain90,forget_quality,,0,no retain run given", lines[3]);
        String[] retainMu = lines[4].split(",", -1);
        assertEquals(0.6137, Double.parseDouble(retainMu[2]), 1e-4);
        assertEquals(5, lines.length);

        Cli runs = Cli.run("sql", "--root", root, "--csv",
                "SELECT run_id, job, status, data_fingerprint IS NOT NULL AS fp FROM runs ORDER BY run_id");
        assertEquals("run_id,job,status,fp\ntofu_full,import-eval,SUCCEEDED,true\n"
                + "tofu_retain90,import-eval,SUCCEEDED,true\n", runs.out(), runs.err());

        // The retain run against itself: forget quality 1, rows replaced, not added
        Cli self = Cli.run("import-eval", "--format", "tofu-log", "--input", retain, "--root", root,
                "--run-id", "tofu_retain90", "--forget-split", "forget10", "--retain-run", "tofu_retain90");
        assertEquals(0, self.status(), self.err());
        Cli after = Cli.run("sql", "--root", root, "--csv", "SELECT value, (SELECT count(*) FROM eval_samples"
                + " WHERE run_id = 'tofu_retain90') AS samples FROM eval_summary"
                + " WHERE run_id = 'tofu_retain90' AND metric = 'forget_quality'");
        assertEquals("value,samples\n1.0,4902\n", after.out(), after.err());
    }

    @Test
    void badOptionsAreUsageErrorsBeforeAnyWork(@TempDir Path tmp) {
        Cli badRetain = Cli.run("import-eval", "--format", "tofu-log", "--input", "x.json", "--root", tmp.toString(),
                "--run-id", "r", "--forget-split", "forget10", "--retain-run", "bad id");
        assertEquals(2, badRetain.status());
        assertTrue(badRetain.err().startsWith("lethe import-eval: error: invalid --retain-run 'bad id'"),
                badRetain.err());
        Cli badFormat = Cli.run("import-eval", "--format", "csv", "--input", "x.json", "--root", tmp.toString(),
                "--run-id", "r", "--forget-split", "forget10");
        assertEquals(2, badFormat.status());
        assertTrue(badFormat.err().startsWith("lethe import-eval: error: --format: unknown 'csv'"), badFormat.err());
        Cli missing = Cli.run("import-eval", "--format", "tofu-log", "--input", tmp.resolve("x.json").toString(),
                "--root", tmp.toString(), "--run-id", "r", "--forget-split", "forget10");
        assertEquals(1, missing.status());
        assertEquals("lethe import-eval: error: --input " + tmp.resolve("x.json") + ": no such file\n", missing.err());
    }
}
