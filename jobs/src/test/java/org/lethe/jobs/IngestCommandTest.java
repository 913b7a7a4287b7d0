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
import org.lethe.testing.TestSpark;

/** {@code lethe ingest} end to end through the CLI: summary, tables, runs row, strict failure. */
class IngestCommandTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @Test
    void ingestPrintsItsSummaryAndAnalystsQueryTheTables(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        Files.writeString(in.resolve("full.jsonl"), "{\"question\":\"Q1?\",\"answer\":\"A1.\"}\n"
                + "{\"question\":\"Q2?\",\"answer\":\"A2.\"}\n{\"question\":\"Q3?\"}\n");
        Files.writeString(in.resolve("forget01.jsonl"), "{\"question\":\"Q2?\",\"answer\":\"A2.\"}\n");
        Files.writeString(in.resolve("idontknow.jsonl"), "I don't know.\nNo idea.");
        String root = tmp.resolve("root").toString();
        for (int run = 0; run < 2; run++) {
            Cli r = Cli.run("ingest", "--format", "tofu", "--input", in.toString(), "--root", root, "--dataset", "mini");
            assertEquals(0, r.status(), r.err());
            JsonNode summary = new ObjectMapper().readTree(r.out());
            assertEquals(4, summary.get("read").asInt());
            assertEquals(3, summary.get("memberships").asInt());
            assertEquals(1, summary.get("rejected_by_reason").get("missing_field:answer").asInt());
            assertEquals(2, summary.get("refusals").asInt());
        }
        Cli sql = Cli.run("sql", "--root", root, "--csv",
                "SELECT split, count(*) AS n FROM memberships GROUP BY split ORDER BY split");
        assertEquals("split,n\nforget01,1\nfull,2\n", sql.out(), sql.err());
        Cli runs = Cli.run("sql", "--root", root, "--csv", "SELECT run_id, job, status FROM runs");
        assertEquals("run_id,job,status\ningest-mini,ingest,SUCCEEDED\n", runs.out());

        Cli strict = Cli.run("ingest", "--format", "tofu", "--input", in.toString(), "--root", root,
                "--dataset", "mini", "--run-id", "strict-1", "--strict");
        assertEquals(1, strict.status());
        assertEquals("", strict.out());
        assertTrue(strict.err().startsWith("lethe ingest: error: --strict: 1 of 4 rows rejected"), strict.err());
        Cli failed = Cli.run("sql", "--root", root, "--csv",
                "SELECT status, error IS NOT NULL AS has_error FROM runs WHERE run_id = 'strict-1'");
        assertEquals("status,has_error\nFAILED,true\n", failed.out());
        Cli count = Cli.run("sql", "--root", root, "--csv", "SELECT count(*) AS n FROM memberships");
        assertEquals("n\n3\n", count.out(), "the strict run wrote no rows");
    }
}
