package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.testing.TestSpark;

/** lethe request and lethe continual through the CLI: validation, a day with nothing due, one request. */
class ContinualCommandTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @Test
    void requestsAreCheckedAndAppliedOnTheirDayAndADayIsIdempotent(@TempDir Path tmp) throws Exception {
        Path bench = tmp.resolve("bench");
        String root = tmp.resolve("root").toString();
        Path model = tmp.resolve("model");
        assertEquals(0, Cli.run("generate-benchmark", "--out", bench.toString(), "--authors", "4", "--questions", "4",
                "--vocab-size", "300").status());
        assertEquals(0, Cli.run("ingest", "--format", "tofu", "--input", bench.toString(), "--root", root,
                "--dataset", "synth").status());
        assertEquals(0, Cli.run("init-model", "--out", model.toString(), "--preset", "tiny", "--tokenizer",
                bench.resolve("tokenizer.json").toString()).status());
        List<String> common = List.of("--root", root, "--set", "continual.dataset=synth", "--set",
                "continual.model=" + model, "--set", "continual.retain_run=none", "--set", "model.threads=1",
                "--set", "unlearn.batch_size=4", "--set", "unlearn.micro_batch_size=2", "--set", "eval.max_samples=2",
                "--set", "eval.max_new_tokens=2", "--set", "eval.mia_gradient_norm=false");

        Cli badSelector = Cli.run(args(List.of("request", "--forget", "people:1", "--method", "npo"), common));
        assertEquals(2, badSelector.status(), "a usage error");
        assertTrue(badSelector.err().contains("unknown selector kind 'people'"), badSelector.err());
        Cli badMethod = Cli.run(args(List.of("request", "--forget", "split:forget10", "--method", "nope"), common));
        assertEquals(1, badMethod.status());
        assertTrue(badMethod.err().contains("nope"), badMethod.err());
        Cli nothing = Cli.run(args(List.of("request", "--forget", "split:forget99", "--method", "npo"), common));
        assertEquals(1, nothing.status());
        assertTrue(nothing.err().contains("selects no sample") && nothing.err().contains("forget10"), nothing.err());
        Cli badOverride = Cli.run(args(List.of("request", "--forget", "split:forget10", "--method", "npo",
                "--set", "unlearn.lr=-1"), common));
        assertEquals(1, badOverride.status());
        assertTrue(badOverride.err().contains("lethe.unlearn.lr"), badOverride.err());
        // Keys off the allow-list, substitutions and run id ".." are refused in one line; nothing is written.
        Cli output = Cli.run(args(List.of("request", "--forget", "split:forget10", "--method", "npo",
                "--set", "unlearn.output=/tmp/elsewhere"), common));
        assertEquals(1, output.status());
        assertTrue(output.err().contains("lethe.unlearn.output is not a setting a request may change"), output.err());
        Cli fromEnv = Cli.run(args(List.of("request", "--forget", "split:forget10", "--method", "npo",
                "--set", "unlearn.lr=${HOME}"), common));
        assertEquals(1, fromEnv.status());
        // Refused as the command's config loads, before the request's own check: one line naming it.
        assertTrue(fromEnv.err().contains("--set unlearn.lr=${HOME}") && fromEnv.err().contains("Could not resolve")
                && fromEnv.err().contains("environment variables are not read"), fromEnv.err());
        Cli dots = Cli.run(args(List.of("request", "--run-id", "..", "--forget", "split:forget10", "--method", "npo"),
                common));
        assertTrue(dots.status() != 0 && dots.err().contains("'..'"), dots.err());
        assertTrue(!Files.exists(Path.of(root, "requests")), "no request was written");

        Cli submitted = Cli.run(args(List.of("request", "--forget", "split:forget10", "--method", "grad_diff",
                "--submitted-at", "2026-11-21T10:00:00Z", "--set", "unlearn.max_steps=1"), common));
        assertEquals(0, submitted.status(), submitted.err());
        JsonNode r = new ObjectMapper().readTree(submitted.out());
        assertTrue(r.get("request_id").asText().matches("req-20261121T100000Z-[0-9a-f]{8}"), submitted.out());
        assertEquals(4, r.get("samples").asLong(), "forget10 of 4 authors: one author, 4 questions");
        // unlearn.* settings are the request's (the shared ones too); the rest configured the command.
        assertEquals("[\"unlearn.max_steps=1\",\"unlearn.batch_size=4\",\"unlearn.micro_batch_size=2\"]",
                r.get("overrides").toString());

        // The day before: nothing due; the run is recorded once, and re-running it changes no file.
        Cli early = Cli.run(args(List.of("continual", "--run-id", "day-20", "--run-date", "2026-11-20"), common));
        assertEquals(0, early.status(), early.err());
        assertEquals(0, new ObjectMapper().readTree(early.out()).get("due").asInt());
        var before = org.lethe.testing.FileSnapshots.of(Path.of(root));
        assertEquals(0, Cli.run(args(List.of("continual", "--run-id", "day-20", "--run-date", "2026-11-20"), common))
                .status());
        assertEquals(before, org.lethe.testing.FileSnapshots.of(Path.of(root)));

        Cli day = Cli.run(args(List.of("continual", "--run-id", "day-21", "--run-date", "2026-11-21"), common));
        assertEquals(0, day.status(), day.err());
        JsonNode d = new ObjectMapper().readTree(day.out());
        assertEquals(1, d.get("applied").size());
        assertTrue(Files.exists(Path.of(d.get("checkpoint").asText(), "config.json")));
        Cli lineage = Cli.run("sql", "--root", root, "--csv", "SELECT sequence, method, selector, forget_samples,"
                + " parent_request_id IS NULL AS first, model_utility IS NOT NULL AS utility FROM continual_lineage");
        assertEquals("sequence,method,selector,forget_samples,first,utility\n1,grad_diff,split:forget10,4,true,true\n",
                lineage.out());
        Cli status = Cli.run("sql", "--root", root, "--csv", "SELECT status, attempts, continual_run_id FROM requests");
        assertEquals("status,attempts,continual_run_id\nSUCCEEDED,1,day-21\n", status.out());
        Cli runs = Cli.run("sql", "--root", root, "--csv", "SELECT run_id, job, status FROM runs WHERE job IN"
                + " ('continual', 'unlearn', 'evaluate') ORDER BY run_id, job");
        String req = r.get("request_id").asText();
        assertEquals("run_id,job,status\nday-20,continual,SUCCEEDED\nday-21,continual,SUCCEEDED\n" + req
                + ",evaluate,SUCCEEDED\n" + req + ",unlearn,SUCCEEDED\n", runs.out());

        // Cancelling: not what SUCCEEDED; a PENDING one, which no run then takes.
        Cli applied = Cli.run("request", "--root", root, "--cancel", req);
        assertEquals(1, applied.status());
        assertTrue(applied.err().contains("request " + req + " SUCCEEDED (continual run day-21): its forgetting is"
                + " applied and cannot be cancelled"), applied.err());
        Cli later = Cli.run(args(List.of("request", "--run-id", "req-later", "--forget", "authors:2", "--method", "npo",
                "--submitted-at", "2026-11-22T10:00:00Z"), common));
        assertEquals(0, later.status(), later.err());
        Cli cancelled = Cli.run("request", "--root", root, "--cancel", "req-later");
        assertEquals(0, cancelled.status(), cancelled.err());
        assertEquals("CANCELLED", new ObjectMapper().readTree(cancelled.out()).get("status").asText());
        Cli next = Cli.run(args(List.of("continual", "--run-id", "day-22", "--run-date", "2026-11-22"), common));
        assertEquals(0, next.status(), next.err());
        assertEquals(0, new ObjectMapper().readTree(next.out()).get("due").asInt());
        Cli both = Cli.run("request", "--root", root, "--cancel", "req-later", "--method", "npo");
        assertEquals(2, both.status(), "a usage error");
        assertTrue(both.err().contains("--cancel takes no --forget, --method or --submitted-at"), both.err());

        // A request's forget set is frozen when it is submitted: a re-ingest whose selector matches
        // differ (another seed: other facts, other sample ids) changes no earlier request's set, and
        // the next request's cumulative set is the frozen one plus its own.
        org.lethe.store.TableStore store = new org.lethe.store.TableStore(SPARK.session(), root);
        java.util.function.Supplier<List<String>> frozen = () -> store.read("request_samples")
                .filter("run_id = '" + req + "'").select("sample_id").orderBy("sample_id").collectAsList().stream()
                .map(x -> x.getString(0)).toList();
        List<String> frozenBefore = frozen.get();
        assertEquals(4, frozenBefore.size(), "forget10's 4 ids: " + frozenBefore);
        Path other = tmp.resolve("bench-seed-1");
        assertEquals(0, Cli.run("generate-benchmark", "--out", other.toString(), "--authors", "4", "--questions", "4",
                "--vocab-size", "300", "--seed", "1").status());
        assertEquals(0, Cli.run("ingest", "--format", "tofu", "--input", other.toString(), "--root", root,
                "--dataset", "synth").status());
        assertEquals(0, store.read("examples").filter(org.apache.spark.sql.functions.col("sample_id")
                .isin(frozenBefore.toArray())).count(), "the re-ingest selects other samples");
        assertEquals(frozenBefore, frozen.get(), "the frozen set is unchanged");
        Cli again = Cli.run(args(List.of("request", "--run-id", "req-after", "--forget", "split:forget10", "--method",
                "grad_ascent", "--submitted-at", "2026-11-23T10:00:00Z", "--set", "unlearn.max_steps=1"), common));
        assertEquals(0, again.status(), again.err());
        Cli day23 = Cli.run(args(List.of("continual", "--run-id", "day-23", "--run-date", "2026-11-23"), common));
        assertEquals(0, day23.status(), day23.err());
        org.apache.spark.sql.Row second = store.read("continual_lineage").filter("sequence = 2").head();
        assertEquals("4 8", second.getAs("forget_samples") + " " + second.getAs("cumulative_forget_samples"),
                "4 new samples after the 4 frozen ones (recomputed from the selector, forget10 would count 4 in all)");
    }

    private static String[] args(List<String> head, List<String> common) {
        List<String> all = new ArrayList<>(head);
        all.addAll(common);
        return all.toArray(new String[0]);
    }
}
