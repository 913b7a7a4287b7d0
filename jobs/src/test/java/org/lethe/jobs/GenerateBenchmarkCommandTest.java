package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lethe generate-benchmark}: help, the summary on stdout, the files, usage errors. */
class GenerateBenchmarkCommandTest {

    @Test
    void helpStatesTheDefaults() {
        Cli help = Cli.run("generate-benchmark", "--help");
        assertEquals(0, help.status(), help.err());
        assertTrue(help.out().contains("Authors in full.jsonl, at least 2 (default: 40)"), help.out());
        assertTrue(help.out().contains("(default: 10)"), help.out());
        assertTrue(help.out().contains("(default: 1024)"), help.out());
        assertTrue(help.out().contains("full.jsonl + general.jsonl"), help.out());
    }

    @Test
    void writesTheBenchmarkAndPrintsOneJsonSummary(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("bench");
        Cli r = Cli.run("generate-benchmark", "--out", out.toString(), "--authors", "12", "--questions", "3",
                "--seed", "5", "--vocab-size", "400");
        assertEquals(0, r.status(), r.err());
        assertEquals(1, r.out().lines().count(), r.out());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals(out.toAbsolutePath().toString(), json.get("out").asText());
        assertEquals(5, json.get("seed").asLong());
        assertEquals(12, json.get("authors").asInt());
        assertEquals(3, json.get("questions_per_author").asInt());
        assertEquals(36, json.at("/files/full.jsonl").asInt());
        assertEquals(3, json.at("/files/forget01.jsonl").asInt(), "max(1, round(0.12)) = 1 author");
        assertEquals(3, json.at("/files/forget05.jsonl").asInt(), "round(0.6) = 1 author");
        assertEquals(3, json.at("/files/forget10.jsonl").asInt(), "round(1.2) = 1 author");
        assertEquals(33, json.at("/files/retain90.jsonl").asInt());
        assertEquals(3, json.at("/files/holdout10.jsonl").asInt());
        assertEquals(400, json.at("/tokenizer/vocab_size").asInt());
        assertTrue(json.at("/tokenizer/answer_tokens_mean").asDouble() < json.at("/tokenizer/answer_bytes_mean").asDouble());
        for (String file : List.of("full.jsonl", "general.jsonl", "manifest.json", "tokenizer.json", "idontknow.jsonl",
                "world_facts_perturbed.jsonl")) {
            assertTrue(Files.isRegularFile(out.resolve(file)), file);
        }
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(22, files.count());
        }
        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertEquals(json.get("files"), manifest.get("files"));
        assertEquals(36, Files.readAllLines(out.resolve("full.jsonl")).size());

        Cli again = Cli.run("generate-benchmark", "--out", tmp.resolve("again").toString(), "--authors", "12",
                "--questions", "3", "--seed", "5", "--vocab-size", "400");
        assertEquals(Files.readString(out.resolve("full.jsonl")), Files.readString(tmp.resolve("again/full.jsonl")));
        assertEquals(Files.readString(out.resolve("tokenizer.json")), Files.readString(tmp.resolve("again/tokenizer.json")));
    }

    @Test
    void aModelInitializedWithTheFittedTokenizerScoresAnAnswer(@TempDir Path tmp) throws Exception {
        Path bench = tmp.resolve("bench");
        assertEquals(0, Cli.run("generate-benchmark", "--out", bench.toString(), "--authors", "4", "--questions", "2",
                "--vocab-size", "300").status());
        Cli init = Cli.run("init-model", "--out", tmp.resolve("model").toString(), "--preset", "tiny",
                "--tokenizer", bench.resolve("tokenizer.json").toString());
        assertEquals(0, init.status(), init.err());
        assertEquals(300, new ObjectMapper().readTree(init.out()).get("vocab_size").asInt());
        String answer = new ObjectMapper().readTree(Files.readAllLines(bench.resolve("full.jsonl")).get(0))
                .get("answer").asText();
        Cli score = Cli.run("score", "--model", tmp.resolve("model").toString(), "--text", answer);
        assertEquals(0, score.status(), score.err());
        JsonNode ids = new ObjectMapper().readTree(score.out()).get("input_ids");
        assertTrue(ids.size() > 2 && ids.size() < answer.length(), ids + " for " + answer);
    }

    @Test
    void badSizesAreUsageErrorsNamingTheOption(@TempDir Path tmp) {
        Cli few = Cli.run("generate-benchmark", "--out", tmp.toString(), "--authors", "1");
        assertEquals(2, few.status());
        assertEquals("", few.out());
        assertEquals(1, few.err().lines().count(), few.err());
        assertTrue(few.err().startsWith("lethe generate-benchmark: error: --authors 1: at least 2"), few.err());
        Cli many = Cli.run("generate-benchmark", "--out", tmp.toString(), "--questions", "21");
        assertTrue(many.err().contains("--questions 21: expected 1..20"), many.err());
        Cli vocab = Cli.run("generate-benchmark", "--out", tmp.toString(), "--vocab-size", "100");
        assertTrue(vocab.err().contains("--vocab-size 100: expected at least 259"), vocab.err());
    }
}
