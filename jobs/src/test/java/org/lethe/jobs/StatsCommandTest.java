package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.testing.TestSpark;
import org.lethe.testing.TinyModels;

/** lethe stats through the CLI: JSON on stdout, the tables, the runs row; a bad key fails naming it. */
class StatsCommandTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @Test
    void statsWritesItsTablesAndARunsRow(@TempDir Path tmp) throws Exception {
        Path bench = tmp.resolve("bench");
        String root = tmp.resolve("root").toString();
        assertEquals(0, Cli.run("generate-benchmark", "--out", bench.toString(), "--authors", "3",
                "--questions", "4").status());
        Cli ingest = Cli.run("ingest", "--format", "tofu", "--input", bench.toString(), "--root", root,
                "--dataset", "synth");
        assertEquals(0, ingest.status(), ingest.err());
        Path model = TinyModels.save(bench, 7, tmp.resolve("model"));
        Cli stats = Cli.run("stats", "--root", root, "--run-id", "s1", "--model", model.toString(),
                "--set", "stats.dataset=synth", "--set", "stats.projection_dim=32", "--set", "stats.top_m=2",
                "--set", "stats.batch_size=3", "--set", "model.threads=1");
        assertEquals(0, stats.status(), stats.err());
        JsonNode s = new ObjectMapper().readTree(stats.out());
        assertEquals("s1", s.get("run_id").asText());
        // 3 authors x 4 questions: forget10 = 1 author, retain90 = 2, holdout10 = 1.
        assertEquals("{\"forget\":4,\"retain\":8,\"holdout\":4}", s.get("samples").toString());
        assertEquals(8, s.get("influence_pairs").asLong());
        assertEquals(32, s.get("projection_dim").asInt());
        Cli sql = Cli.run("sql", "--root", root, "--csv", "SELECT role, count(*) AS n, count(entanglement) AS e"
                + " FROM sample_stats WHERE run_id = 's1' GROUP BY role ORDER BY role");
        assertEquals("role,n,e\nforget,4,4\nholdout,4,0\nretain,8,0\n", sql.out());
        Cli ranks = Cli.run("sql", "--root", root, "--csv", "SELECT rank, count(*) AS n FROM influence_pairs"
                + " WHERE run_id = 's1' GROUP BY rank ORDER BY rank");
        assertEquals("rank,n\n1,4\n2,4\n", ranks.out());
        Cli runs = Cli.run("sql", "--root", root, "--csv", "SELECT job, status FROM runs WHERE run_id = 's1'");
        assertEquals("job,status\nstats,SUCCEEDED\n", runs.out());

        Cli bad = Cli.run("stats", "--root", root, "--run-id", "s2", "--model", model.toString(),
                "--set", "stats.dataset=synth", "--set", "stats.top_m=0");
        assertEquals(1, bad.status());
        assertEquals("", bad.out());
        assertTrue(bad.err().contains("lethe stats: error: lethe.stats.top_m must be > 0, got 0"), bad.err());
    }
}
