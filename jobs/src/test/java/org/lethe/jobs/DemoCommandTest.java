package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.testing.TestSpark;

/** lethe demo wired end to end on a miniature preset (the real presets are measured, see README). */
class DemoCommandTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @Test
    void everyStepRunsAndTheSummaryTableAndReportAreWritten(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("demo");
        String[] args = {"demo", "--root", root.toString(), "--preset", "quick",
            "--set", "demo.quick.authors=10", "--set", "demo.quick.questions=4", "--set", "demo.quick.vocab_size=300",
            "--set", "demo.quick.model_preset=tiny", "--set", "demo.quick.finetune_epochs=1",
            "--set", "demo.quick.methods=[grad_ascent, \"me+gd\"]", "--set", "demo.quick.unlearn_epochs=1",
            "--set", "demo.quick.eval_max_new_tokens=2", "--set", "model.threads=1"};
        Cli demo = Cli.run(args);
        assertEquals(0, demo.status(), demo.err());
        List<String> lines = demo.out().lines().toList();
        assertTrue(lines.get(0).startsWith("run ") && lines.get(0).contains("forget_quality"), demo.out());
        assertEquals(List.of("retain", "target", "grad_ascent", "me_gd"),
                lines.subList(1, 5).stream().map(l -> l.split(" +")[0]).toList(), demo.out());
        // The retain-only model against itself: forget quality exactly 1; forget10 = 1 author x 4.
        assertTrue(lines.get(1).matches("retain +baseline +1\\.000e\\+00 .* 4"), lines.get(1));
        assertTrue(lines.get(5).startsWith("report: " + root.resolve("report.html")), demo.out());
        assertTrue(Files.readString(root.resolve("report.html")).contains("<svg"));
        Cli tables = Cli.run("sql", "--root", root.resolve("tables").toString(), "--csv",
                "SELECT job, count(*) AS n FROM runs WHERE status = 'SUCCEEDED' GROUP BY job ORDER BY job");
        assertEquals("job,n\ndemo,1\nevaluate,4\nfinetune,2\ningest,1\nstats,1\nunlearn,2\n", tables.out());
        Cli pairs = Cli.run("sql", "--root", root.resolve("tables").toString(), "--csv",
                "SELECT count(DISTINCT forget_sample_id) AS forget FROM influence_pairs WHERE run_id = 'target-stats'");
        assertEquals("forget\n4\n", pairs.out());

        // An inner job that fails leaves FAILED rows, its own and the demo's: the first method's
        // unlearning (retrained, not resumed) stops at its first step's gradient norm.
        String[] failing = java.util.Arrays.copyOf(args, args.length + 4);
        System.arraycopy(new String[] {"--set", "unlearn.abort_grad_norm=1e-12", "--set", "unlearn.resume=false"}, 0,
                failing, args.length, 4);
        Cli failed = Cli.run(failing);
        assertTrue(failed.status() != 0, failed.out());
        assertTrue(failed.err().contains("gradient norm"), failed.err());
        Cli statuses = Cli.run("sql", "--root", root.resolve("tables").toString(), "--csv",
                "SELECT run_id, job, status, error IS NOT NULL AS has_error FROM runs WHERE status <> 'SUCCEEDED'"
                        + " ORDER BY run_id, job");
        assertEquals("run_id,job,status,has_error\ndemo-quick,demo,FAILED,true\ngrad_ascent,unlearn,FAILED,true\n",
                statuses.out());
    }
}
