package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lethe.model.LanguageModel;
import org.lethe.model.GreedyDecoder;
import org.lethe.model.ModelSettings;
import org.lethe.testing.Fixtures;

/** {@code lethe generate} and {@code lethe score} on the real checkpoint, against HF's outputs. */
class ModelCommandsTest {

    private static Path model;
    private static JsonNode reference;

    @BeforeAll
    static void fixtures() throws Exception {
        model = Fixtures.stories260k();
        reference = new ObjectMapper().readTree(model.resolve("reference.json").toFile());
    }

    private static String joined(JsonNode ids) {
        return StreamSupport.stream(ids.spliterator(), false).map(JsonNode::asText)
                .collect(Collectors.joining(" "));
    }

    @Test
    void generatePrintsHfGreedyIdsAndText() {
        JsonNode c = reference.get("cases").get(0);
        Cli ids = Cli.run("generate", "--model", model.toString(), "--prompt", c.get("prompt").asText(),
                "--max-new-tokens", "48", "--ids");
        assertEquals(0, ids.status(), ids.err());
        assertEquals(joined(c.get("greedy_48")) + "\n", ids.out());
        Cli text = Cli.run("generate", "--model", model.toString(), "--prompt", c.get("prompt").asText(),
                "--max-new-tokens", "48");
        assertEquals(c.get("greedy_48_text").asText() + "\n", text.out());
    }

    @Test
    void maxNewTokensIsExactAndAnEmptyPromptStartsFromBos() {
        Cli five = Cli.run("generate", "--model", model.toString(), "--prompt", "", "--max-new-tokens", "5", "--ids");
        assertEquals(0, five.status(), five.err());
        String[] tokens = five.out().strip().split(" ");
        assertEquals(5, tokens.length);
        try (LanguageModel lm = LanguageModel.load(model, ModelSettings.defaults())) {
            long[] fromBos = GreedyDecoder.generate(lm, List.of(new long[] {1}), 5, true).get(0);
            for (int i = 0; i < 5; i++) {
                assertEquals(fromBos[i], Long.parseLong(tokens[i]));
            }
        }
    }

    @Test
    void scorePrintsOneJsonObjectMatchingHf() throws Exception {
        for (JsonNode c : reference.get("cases")) {
            Cli r = Cli.run("score", "--model", model.toString(), "--text", c.get("prompt").asText());
            assertEquals(0, r.status(), r.err());
            assertEquals(1, r.out().lines().count());
            JsonNode json = new ObjectMapper().readTree(r.out());
            assertEquals(c.get("input_ids"), json.get("input_ids"));
            JsonNode nll = json.get("token_nll");
            assertEquals(c.get("token_nll").size(), nll.size());
            for (int i = 0; i < nll.size(); i++) {
                assertEquals(c.get("token_nll").get(i).asDouble(), nll.get(i).asDouble(), 3e-5);
            }
            assertEquals(c.get("mean_nll").asDouble(), json.get("mean_nll").asDouble(), 3e-5);
        }
    }

    @Test
    void aMissingModelIsOneErrorLineNamingTheDirectory(@org.junit.jupiter.api.io.TempDir Path tmp) {
        Cli r = Cli.run("score", "--model", tmp.resolve("nope").toString(), "--text", "hi");
        assertEquals(1, r.status());
        assertEquals("", r.out());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("lethe score: error: ") && r.err().contains("nope"), r.err());
    }

    @Test
    void initModelWritesALoadableSeededModelWithAByteTokenizer(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        Path dir = tmp.resolve("fresh");
        Cli r = Cli.run("init-model", "--out", dir.toString(), "--preset", "tiny", "--seed", "4");
        assertEquals(0, r.status(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals(259, json.get("vocab_size").asInt());
        Cli again = Cli.run("init-model", "--out", tmp.resolve("again").toString(), "--preset", "tiny", "--seed", "4");
        assertEquals(r.out().replace(dir.toString(), ""), again.out().replace(tmp.resolve("again").toString(), ""));
        Cli gen = Cli.run("generate", "--model", dir.toString(), "--prompt", "héllo", "--max-new-tokens", "7", "--ids");
        assertEquals(0, gen.status(), gen.err());
        assertEquals(7, gen.out().strip().split(" ").length);
        Cli gen2 = Cli.run("generate", "--model", tmp.resolve("again").toString(), "--prompt", "héllo",
                "--max-new-tokens", "7", "--ids");
        assertEquals(gen.out(), gen2.out(), "same seed, same model, same tokens");
        try (LanguageModel lm = LanguageModel.load(dir, ModelSettings.defaults())) {
            assertEquals(json.get("parameters").asLong(), lm.block().parameterCount());
            assertEquals("héllo wörld", lm.tokenizer().decode(lm.tokenizer().encode("héllo wörld", false)));
        }
        Cli bad = Cli.run("init-model", "--out", dir.toString(), "--preset", "huge");
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("unknown model preset 'huge'"), bad.err());
    }
}
