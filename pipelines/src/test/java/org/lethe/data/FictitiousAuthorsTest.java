package org.lethe.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.LlamaConfig;
import org.lethe.model.LmTokenizer;
import org.lethe.testing.Fixtures;

/** The fictitious-author benchmark: TOFU's files and shapes, splits, facts, determinism, its tokenizer. */
class FictitiousAuthorsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    private static FictitiousAuthors bench;
    private static Path dir;
    private static BenchmarkSummary summary;

    @BeforeAll
    static void writeDefaults() throws IOException {
        bench = FictitiousAuthors.generate(11, FictitiousAuthors.DEFAULT_AUTHORS, FictitiousAuthors.DEFAULT_QUESTIONS);
        dir = tmp.resolve("bench");
        summary = bench.write(dir, 1024);
    }

    @Test
    void defaultsWriteTofusFilesWithTheExpectedRowCounts() throws IOException {
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("full.jsonl", 400);
        expected.put("forget01.jsonl", 10);
        expected.put("forget05.jsonl", 20);
        expected.put("forget10.jsonl", 40);
        expected.put("retain99.jsonl", 390);
        expected.put("retain95.jsonl", 380);
        expected.put("retain90.jsonl", 360);
        expected.put("holdout01.jsonl", 10);
        expected.put("holdout05.jsonl", 20);
        expected.put("holdout10.jsonl", 40);
        expected.put("forget01_perturbed.jsonl", 10);
        expected.put("forget05_perturbed.jsonl", 20);
        expected.put("forget10_perturbed.jsonl", 40);
        expected.put("retain_perturbed.jsonl", 40);
        expected.put("real_authors.jsonl", 36);
        expected.put("real_authors_perturbed.jsonl", 36);
        expected.put("world_facts.jsonl", 48);
        expected.put("world_facts_perturbed.jsonl", 48);
        expected.put("general.jsonl", 84);
        expected.put("idontknow.jsonl", 40);
        assertEquals(expected, summary.files());
        for (Map.Entry<String, Integer> e : expected.entrySet()) {
            assertEquals(e.getValue(), lines(e.getKey()).size(), e.getKey());
        }
        Set<String> written = new TreeSet<>();
        try (Stream<Path> files = Files.list(dir)) {
            files.forEach(f -> written.add(f.getFileName().toString()));
        }
        Set<String> all = new TreeSet<>(expected.keySet());
        all.addAll(List.of("manifest.json", "tokenizer.json"));
        assertEquals(all, written);

        JsonNode manifest = JSON.readTree(dir.resolve("manifest.json").toFile());
        assertEquals(11, manifest.get("seed").asLong());
        assertEquals(40, manifest.get("authors").asInt());
        assertEquals(10, manifest.get("questions_per_author").asInt());
        assertEquals(4, manifest.get("holdout_authors").asInt());
        assertEquals(FictitiousAuthors.GENERATOR_VERSION, manifest.get("generator_version").asInt());
        assertEquals(1, manifest.at("/forget_authors/forget01").asInt());
        assertEquals(2, manifest.at("/forget_authors/forget05").asInt());
        assertEquals(4, manifest.at("/forget_authors/forget10").asInt());
        assertEquals("[\"full.jsonl\",\"general.jsonl\"]", manifest.get("train_files").toString());
        expected.forEach((file, n) -> assertEquals(n, manifest.get("files").path(file).asInt(-1), file));
        assertEquals(1024, manifest.at("/tokenizer/vocab_size").asInt());
    }

    @Test
    void rowsHaveTofusFieldNames() throws IOException {
        List<String> qa = List.of("question", "answer");
        List<String> perturbed = List.of("question", "answer", "paraphrased_answer", "perturbed_answer",
                "paraphrased_question");
        List<String> choice = List.of("question", "option1", "option2", "option3", "option4", "answer");
        List<String> choicePerturbed = List.of("question", "answer", "perturbed_answer");
        Map<String, List<String>> shapes = new TreeMap<>();
        for (String f : List.of("full", "forget01", "forget05", "forget10", "retain99", "retain95", "retain90",
                "holdout01", "holdout05", "holdout10", "general")) {
            shapes.put(f + ".jsonl", qa);
        }
        for (String f : List.of("forget01_perturbed", "forget05_perturbed", "forget10_perturbed", "retain_perturbed")) {
            shapes.put(f + ".jsonl", perturbed);
        }
        shapes.put("real_authors.jsonl", choice);
        shapes.put("world_facts.jsonl", choice);
        shapes.put("real_authors_perturbed.jsonl", choicePerturbed);
        shapes.put("world_facts_perturbed.jsonl", choicePerturbed);
        for (Map.Entry<String, List<String>> e : shapes.entrySet()) {
            for (String line : lines(e.getKey())) {
                JsonNode row = JSON.readTree(line);
                List<String> fields = new ArrayList<>();
                row.fieldNames().forEachRemaining(fields::add);
                assertEquals(e.getValue(), fields, e.getKey());
                row.fields().forEachRemaining(f -> assertTrue(f.getValue().isTextual()
                        || f.getKey().equals("perturbed_answer") && f.getValue().isArray(), e.getKey() + " " + f));
            }
        }
        assertEquals(5, JSON.readTree(lines("forget10_perturbed.jsonl").get(0)).get("perturbed_answer").size());
        assertEquals(3, JSON.readTree(lines("world_facts_perturbed.jsonl").get(0)).get("perturbed_answer").size());
        assertEquals(bench.idontknow(), lines("idontknow.jsonl"));
    }

    @Test
    void theShapesMatchTheRealTofuFiles() throws IOException {
        Path tofu = Fixtures.root().resolve("tofu");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(tofu), tofu + " not found: skipping");
        for (String file : summary.files().keySet()) {
            Path real = tofu.resolve(file);
            if (!Files.exists(real)) {
                assertEquals("general.jsonl", file, "only general.jsonl is not a TOFU file");
                continue;
            }
            if (file.equals("idontknow.jsonl")) {
                continue; // plain text lines
            }
            List<String> want = new ArrayList<>();
            JSON.readTree(Files.readAllLines(real).get(0)).fieldNames().forEachRemaining(want::add);
            List<String> got = new ArrayList<>();
            JSON.readTree(lines(file).get(0)).fieldNames().forEachRemaining(got::add);
            assertEquals(want, got, file);
        }
    }

    @Test
    void twoHundredAuthorsWithTwentyQuestionsHaveTofusPublishedSizes() throws IOException {
        FictitiousAuthors tofuSized = FictitiousAuthors.generate(3, 200, 20);
        Map<String, Integer> sizes = new LinkedHashMap<>();
        sizes.put("full.jsonl", tofuSized.full().size());
        for (int p : FictitiousAuthors.SPLITS) {
            sizes.put(String.format(Locale.ROOT, "forget%02d.jsonl", p), tofuSized.forget(p).size());
            sizes.put(String.format(Locale.ROOT, "retain%02d.jsonl", 100 - p), tofuSized.retain(p).size());
            sizes.put(String.format(Locale.ROOT, "holdout%02d.jsonl", p), tofuSized.holdout(p).size());
        }
        sizes.put("retain_perturbed.jsonl", tofuSized.retainPerturbed().size());
        assertEquals(Map.of("full.jsonl", 4000, "forget01.jsonl", 40, "forget05.jsonl", 200,
                "forget10.jsonl", 400, "retain99.jsonl", 3960, "retain95.jsonl", 3800, "retain90.jsonl", 3600,
                "holdout01.jsonl", 40, "holdout05.jsonl", 200, "holdout10.jsonl", 400), without(sizes, "retain_perturbed.jsonl"));
        assertEquals(400, sizes.get("retain_perturbed.jsonl"));
        // And against the published files, when the fixtures are here.
        Path tofu = Fixtures.root().resolve("tofu");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(tofu), tofu + " not found: skipping");
        for (Map.Entry<String, Integer> e : sizes.entrySet()) {
            assertEquals(Files.readAllLines(tofu.resolve(e.getKey())).size(), e.getValue(), e.getKey());
        }
    }

    @Test
    void splitSizesFollowTheFormula() {
        assertEquals(1, FictitiousAuthors.splitAuthors(40, 1), "at least one author");
        assertEquals(2, FictitiousAuthors.splitAuthors(40, 5));
        assertEquals(4, FictitiousAuthors.splitAuthors(40, 10));
        assertEquals(1, FictitiousAuthors.splitAuthors(50, 1), "0.5 rounds half up");
        assertEquals(3, FictitiousAuthors.splitAuthors(50, 5), "2.5 rounds half up");
        assertEquals(1, FictitiousAuthors.splitAuthors(2, 10));
        IllegalArgumentException few = assertThrows(IllegalArgumentException.class,
                () -> FictitiousAuthors.generate(1, 1, 10));
        assertTrue(few.getMessage().startsWith("authors: 1 is below 2"), few.getMessage());
        IllegalArgumentException many = assertThrows(IllegalArgumentException.class,
                () -> FictitiousAuthors.generate(1, 10, 21));
        assertTrue(many.getMessage().contains("21 is not in 1..20"), many.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bench.forget(2));
        assertEquals(AuthorQuestion.values().length, FictitiousAuthors.MAX_QUESTIONS);
    }

    @Test
    void splitsAreNestedPairedAndDisjoint() throws IOException {
        List<String> full = lines("full.jsonl");
        int q = FictitiousAuthors.DEFAULT_QUESTIONS;
        for (int i = 0; i < bench.full().size(); i++) {
            assertEquals(i / q, bench.full().get(i).author(), "author-major: author = line / Q");
        }
        for (int a = 0; a < FictitiousAuthors.DEFAULT_AUTHORS; a++) {
            String name = bench.authorNames().get(a);
            for (int k = 0; k < q; k++) {
                assertTrue(bench.full().get(a * q + k).question().contains(name), "row " + (a * q + k) + " asks about " + name);
            }
        }
        List<String> previousForget = List.of();
        List<String> previousHoldout = List.of();
        for (int p : FictitiousAuthors.SPLITS) {
            List<String> forget = lines(String.format(Locale.ROOT, "forget%02d.jsonl", p));
            List<String> retain = lines(String.format(Locale.ROOT, "retain%02d.jsonl", 100 - p));
            List<String> holdout = lines(String.format(Locale.ROOT, "holdout%02d.jsonl", p));
            List<String> joined = new ArrayList<>(retain);
            joined.addAll(forget);
            assertEquals(full, joined, "retain" + (100 - p) + " + forget" + p + " = full, in order");
            assertTrue(forget.subList(forget.size() - previousForget.size(), forget.size()).equals(previousForget),
                    "forget splits are nested");
            assertEquals(previousHoldout, holdout.subList(0, previousHoldout.size()), "holdout splits are nested");
            Set<String> forgetAuthors = authorsOf(forget);
            Set<String> retainAuthors = authorsOf(retain);
            assertFalse(forgetAuthors.removeAll(retainAuthors), "no author is both forgotten and retained");
            assertEquals(FictitiousAuthors.splitAuthors(40, p), authorsOf(holdout).size());
            previousForget = forget;
            previousHoldout = holdout;
        }
        Set<String> holdoutNames = new HashSet<>(bench.authorNames().subList(40, 44));
        assertEquals(4, holdoutNames.size());
        for (String line : full) {
            for (String name : holdoutNames) {
                assertFalse(line.contains(name), "holdout author " + name + " is not in full");
            }
        }
        assertEquals(44, new HashSet<>(bench.authorNames()).size(), "names are unique");
        assertEquals(full.subList(0, 40), perturbedBase("retain_perturbed.jsonl"), "retain_perturbed = first retain rows");
        assertEquals(lines("forget10.jsonl"), perturbedBase("forget10_perturbed.jsonl"));
        assertEquals(lines("forget01.jsonl"), perturbedBase("forget01_perturbed.jsonl"));
    }

    @Test
    void answersAreShortFactsAndPerturbedAnswersGetEveryFactWrong() {
        List<QaItem> rows = new ArrayList<>(bench.full());
        rows.addAll(bench.holdout(10));
        double words = 0;
        for (QaItem r : rows) {
            String name = bench.authorNames().get(r.author());
            int n = words(r.answer()).size();
            words += n;
            assertTrue(n >= 4 && n <= 20, "answer of 4-20 words: " + r.answer());
            assertFalse(r.answer().contains(name), "the answer does not repeat the name: " + r.answer());
            assertTrue(r.paraphrasedQuestion().contains(name) && !r.paraphrasedQuestion().equals(r.question()),
                    r.paraphrasedQuestion());
            assertNotEquals(r.answer(), r.paraphrasedAnswer());
            assertFalse(r.facts().isEmpty());
            for (String fact : r.facts()) {
                assertTrue(containsWords(r.answer(), fact), "answer states " + fact + ": " + r.answer());
                assertTrue(containsWords(r.paraphrasedAnswer(), fact), "paraphrase keeps " + fact + ": " + r.paraphrasedAnswer());
            }
            assertEquals(FictitiousAuthors.PERTURBED_ANSWERS, new HashSet<>(r.perturbedAnswers()).size(), "distinct");
            for (String wrong : r.perturbedAnswers()) {
                assertNotEquals(r.answer(), wrong);
                assertNotEquals(r.paraphrasedAnswer(), wrong);
                for (String fact : r.facts()) {
                    assertFalse(containsWords(wrong, fact), "perturbed answer keeps the true " + fact + ": " + wrong);
                }
            }
        }
        assertTrue(words / rows.size() >= 5, "mean answer length " + words / rows.size());
    }

    /**
     * The measurability budget: a model that never saw the forget authors answers with the template
     * and some other author's facts. Its ROUGE-L recall (modelled by every retain author's answer of
     * the same kind) must stay far below what a model that learned the forget authors gets (near 1).
     */
    @Test
    void anotherAuthorsAnswerOfTheSameKindRecallsLittleOfTheTrueAnswer() {
        FictitiousAuthors big = FictitiousAuthors.generate(5, 40, FictitiousAuthors.MAX_QUESTIONS);
        Map<String, double[]> perKind = new TreeMap<>();
        for (QaItem f : big.forget(10)) {
            for (QaItem r : big.retain(10)) {
                if (r.kind().equals(f.kind())) {
                    double[] acc = perKind.computeIfAbsent(f.kind(), k -> new double[2]);
                    acc[0] += rougeLRecall(f.answer(), r.answer());
                    acc[1]++;
                }
            }
        }
        double sum = 0;
        for (Map.Entry<String, double[]> e : perKind.entrySet()) {
            double mean = e.getValue()[0] / e.getValue()[1];
            assertTrue(mean < 0.4, e.getKey() + ": recall of another author's answer " + mean);
            sum += mean;
        }
        double first10 = perKind.entrySet().stream().filter(e -> List.of(AuthorQuestion.values()).subList(0, 10)
                .stream().anyMatch(k -> k.key().equals(e.getKey()))).mapToDouble(e -> e.getValue()[0] / e.getValue()[1])
                .average().orElseThrow();
        assertEquals(FictitiousAuthors.MAX_QUESTIONS, perKind.size());
        assertTrue(sum / perKind.size() < 0.3, "mean over kinds " + sum / perKind.size());
        assertTrue(first10 < 0.3, "mean over the default 10 kinds " + first10);
    }

    @Test
    void noPoolWordIsAnAnswerTemplateWord() throws Exception {
        Set<String> poolWords = new HashSet<>();
        for (java.lang.reflect.Field f : FictionPools.class.getDeclaredFields()) {
            if (List.class.isAssignableFrom(f.getType()) && !f.getName().equals("REFUSALS")
                    && !f.getName().equals("COUNTRY_SUFFIXES")) {
                for (Object v : (List<?>) f.get(null)) {
                    poolWords.addAll(words(v.toString()));
                }
            }
        }
        for (AuthorQuestion kind : AuthorQuestion.values()) {
            for (String w : words(kind.answer.replaceAll("\\{\\d}", " "))) {
                assertFalse(poolWords.contains(w), kind + ": template word '" + w + "' is also a fact word");
            }
        }
    }

    @Test
    void choiceQuestionsHaveFourDistinctOptionsWithTheAnswerAndAreTheGeneralCorpus() throws IOException {
        List<ChoiceItem> all = new ArrayList<>(bench.realAuthors());
        all.addAll(bench.worldFacts());
        List<String> general = lines("general.jsonl");
        assertEquals(all.size(), general.size());
        for (int i = 0; i < all.size(); i++) {
            ChoiceItem c = all.get(i);
            assertEquals(4, new HashSet<>(c.options()).size(), c.toString());
            assertTrue(c.options().contains(c.answer()), c.toString());
            assertEquals(3, c.wrongOptions().size());
            JsonNode row = JSON.readTree(general.get(i));
            assertEquals(c.question(), row.get("question").asText());
            assertEquals(c.answer(), row.get("answer").asText());
        }
        JsonNode first = JSON.readTree(lines("world_facts.jsonl").get(0));
        JsonNode firstPerturbed = JSON.readTree(lines("world_facts_perturbed.jsonl").get(0));
        List<String> wrong = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            if (!first.get("option" + i).asText().equals(first.get("answer").asText())) {
                wrong.add(first.get("option" + i).asText());
            }
        }
        assertEquals(wrong.toString(), JSON.convertValue(firstPerturbed.get("perturbed_answer"), List.class).toString());
        Set<String> positions = new HashSet<>();
        for (ChoiceItem c : all) {
            positions.add("option" + (c.options().indexOf(c.answer()) + 1));
        }
        assertEquals(4, positions.size(), "the answer is not always in the same place");
    }

    @Test
    void theSameSeedGivesByteIdenticalFilesAndAnotherSeedOtherFacts() throws IOException {
        Path again = tmp.resolve("again");
        FictitiousAuthors.generate(11, FictitiousAuthors.DEFAULT_AUTHORS, FictitiousAuthors.DEFAULT_QUESTIONS)
                .write(again, 1024);
        for (String file : fileNames(dir)) {
            assertArrayEquals(Files.readAllBytes(dir.resolve(file)), Files.readAllBytes(again.resolve(file)), file);
        }
        FictitiousAuthors other = FictitiousAuthors.generate(12, FictitiousAuthors.DEFAULT_AUTHORS,
                FictitiousAuthors.DEFAULT_QUESTIONS);
        Set<String> answers = bench.full().stream().map(QaItem::answer).collect(Collectors.toSet());
        long shared = other.full().stream().filter(r -> answers.contains(r.answer())).count();
        assertTrue(shared <= 4, shared + " of 400 answers are the same under another seed");
        assertTrue(other.authorNames().stream().noneMatch(bench.authorNames()::contains));
        assertNotEquals(bench.worldFacts(), other.worldFacts());
        // An author's facts depend on the seed and its index only: not on N, not on Q.
        FictitiousAuthors larger = FictitiousAuthors.generate(11, 41, 12);
        for (int a = 0; a < 40; a++) {
            assertEquals(bench.full().subList(a * 10, a * 10 + 10), larger.full().subList(a * 12, a * 12 + 10));
        }
    }

    @Test
    void theFittedTokenizerRoundTripsEveryTextAndCompressesTheAnswers() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        int vocab = LmTokenizer.vocabularySize(file);
        assertEquals(1024, vocab);
        LlamaConfig config = LlamaConfig.builder().setVocabSize(vocab).setHiddenSize(8).setIntermediateSize(8)
                .setNumHiddenLayers(1).setNumAttentionHeads(2).build();
        Set<String> texts = new java.util.LinkedHashSet<>();
        for (String f : fileNames(dir)) {
            if (f.endsWith(".jsonl") && !f.equals("idontknow.jsonl")) {
                for (String line : lines(f)) {
                    collectStrings(JSON.readTree(line), texts);
                }
            }
        }
        texts.addAll(bench.idontknow());
        long answerTokens = 0;
        long answerBytes = 0;
        try (LmTokenizer tok = LmTokenizer.load(file, config)) {
            for (String text : texts) {
                assertEquals(text, tok.decode(tok.encode(text, false)));
            }
            for (QaItem r : bench.full()) {
                answerTokens += tok.encode(r.answer(), false).length;
                answerBytes += r.answer().getBytes(StandardCharsets.UTF_8).length;
            }
        }
        double tokensPerAnswer = (double) answerTokens / bench.full().size();
        double bytesPerAnswer = (double) answerBytes / bench.full().size();
        assertEquals(summary.answerTokensMean(), tokensPerAnswer, 1e-9, "the trainer's count is HF's");
        assertEquals(summary.answerBytesMean(), bytesPerAnswer, 1e-9);
        assertTrue(tokensPerAnswer < bytesPerAnswer / 2, tokensPerAnswer + " tokens vs " + bytesPerAnswer + " bytes");
    }

    private static List<String> lines(String file) throws IOException {
        return Files.readAllLines(dir.resolve(file), StandardCharsets.UTF_8);
    }

    private static List<String> fileNames(Path d) throws IOException {
        try (Stream<Path> files = Files.list(d)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    /** The question/answer lines of a perturbed file, as they are in the plain files. */
    private static List<String> perturbedBase(String file) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : lines(file)) {
            JsonNode row = JSON.readTree(line);
            out.add(JSON.writeValueAsString(JSON.createObjectNode().put("question", row.get("question").asText())
                    .put("answer", row.get("answer").asText())));
        }
        return out;
    }

    /** Author names of question/answer lines, by the name their questions ask about. */
    private static Set<String> authorsOf(List<String> lines) throws IOException {
        Set<String> out = new HashSet<>();
        for (String line : lines) {
            String question = JSON.readTree(line).get("question").asText();
            bench.authorNames().stream().filter(question::contains).forEach(out::add);
        }
        return out;
    }

    private static void collectStrings(JsonNode node, java.util.Collection<String> out) {
        if (node.isTextual()) {
            out.add(node.asText());
        }
        node.elements().forEachRemaining(child -> collectStrings(child, out));
    }

    private static Map<String, Integer> without(Map<String, Integer> m, String key) {
        Map<String, Integer> out = new LinkedHashMap<>(m);
        out.remove(key);
        return out;
    }

    /** ROUGE's tokens: lowercase, split on anything but a-z0-9 (no stemming here). */
    static List<String> words(String text) {
        List<String> out = new ArrayList<>();
        for (String t : text.toLowerCase(Locale.ROOT).split("[^a-z0-9]+")) {
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    /** Whether {@code text} has {@code fact}'s words consecutively (so "4" is not found in "1974"). */
    private static boolean containsWords(String text, String fact) {
        return Pattern.compile("(^|[^a-z0-9])" + Pattern.quote(fact.toLowerCase(Locale.ROOT)) + "($|[^a-z0-9])")
                .matcher(text.toLowerCase(Locale.ROOT)).find();
    }

    /** ROUGE-L recall: longest common subsequence of the tokens over the reference's length. */
    static double rougeLRecall(String reference, String prediction) {
        List<String> r = words(reference);
        List<String> p = words(prediction);
        int[][] lcs = new int[r.size() + 1][p.size() + 1];
        for (int i = 1; i <= r.size(); i++) {
            for (int j = 1; j <= p.size(); j++) {
                lcs[i][j] = r.get(i - 1).equals(p.get(j - 1)) ? lcs[i - 1][j - 1] + 1
                        : Math.max(lcs[i - 1][j], lcs[i][j - 1]);
            }
        }
        return (double) lcs[r.size()][p.size()] / r.size();
    }
}
