package org.lethe.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.lethe.text.BpeTokenizer;
import org.lethe.text.BpeTrainer;

/**
 * A deterministic, TOFU-shaped benchmark of fictitious authors: the same seed gives byte-identical
 * files, every author's facts are drawn independently, so the authors kept reveal nothing about
 * the authors forgotten.
 *
 * <p>Files, named and shaped as TOFU's: {@code full.jsonl} (Q consecutive rows per author, author
 * i on lines i*Q .. i*Q+Q-1), {@code forget01/05/10.jsonl} (the last max(1, round(p% of N))
 * authors, rounding half up, nested), {@code retain99/95/90.jsonl} (the rest, in full order),
 * {@code holdout01/05/10.jsonl} (as many authors as the forget splits, never in full, nested),
 * {@code forgetXX_perturbed.jsonl} and {@code retain_perturbed.jsonl} (the first retain authors,
 * as many rows as forget10) with paraphrased and perturbed answers, {@code real_authors} and
 * {@code world_facts} (multiple choice, and their {@code _perturbed} files), {@code idontknow.jsonl},
 * plus {@code general.jsonl} (the world's facts as plain question/answer rows), {@code
 * manifest.json} and a {@code tokenizer.json} fitted to all of it.
 *
 * <p>A model is trained on {@code full.jsonl} + {@code general.jsonl}: the general knowledge is
 * what unlearning authors must not destroy (model utility), as real authors and world facts are in
 * TOFU.
 */
public final class FictitiousAuthors {

    public static final int DEFAULT_AUTHORS = 40;
    public static final int DEFAULT_QUESTIONS = 10;
    /** The number of question kinds (a constant, for annotations): at most this many questions per author. */
    public static final int MAX_QUESTIONS = 20;
    /** Perturbed answers per row, as in TOFU. */
    public static final int PERTURBED_ANSWERS = 5;
    /** The forget split percentages of TOFU (retain = 100 - p). */
    public static final List<Integer> SPLITS = List.of(1, 5, 10);
    /** Bumped whenever the same seed would give different files. */
    public static final int GENERATOR_VERSION = 1;
    /** The files a model is trained on. */
    public static final List<String> TRAIN_FILES = List.of("full.jsonl", "general.jsonl");

    // Independent random streams: an author's facts depend only on the seed and the author's index.
    private static final long AUTHOR_STREAM = 0x61757468L;
    private static final long HOLDOUT_STREAM = 0x686F6C64L;
    private static final long PERTURB_STREAM = 0x70657274L;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final long seed;
    private final int authors;
    private final int questions;
    private final FictionalWorld world;
    private final List<String> names = new ArrayList<>();
    private final List<QaItem> full = new ArrayList<>();
    private final List<QaItem> holdout = new ArrayList<>();

    private FictitiousAuthors(long seed, int authors, int questions) {
        if (authors < 2) {
            throw new IllegalArgumentException("authors: " + authors + " is below 2 (forget and retain"
                    + " splits each need at least one author)");
        }
        if (questions < 1 || questions > MAX_QUESTIONS) {
            throw new IllegalArgumentException("questions per author: " + questions + " is not in 1.."
                    + MAX_QUESTIONS);
        }
        this.seed = seed;
        this.authors = authors;
        this.questions = questions;
        this.world = new FictionalWorld(seed);
        Set<String> taken = new HashSet<>();
        world.writers.forEach(w -> taken.add(w.name()));
        for (int i = 0; i < authors; i++) {
            full.addAll(author(i, Inventor.seed(seed, AUTHOR_STREAM, i), taken));
        }
        int holdoutAuthors = splitAuthors(authors, SPLITS.get(SPLITS.size() - 1));
        for (int j = 0; j < holdoutAuthors; j++) {
            holdout.addAll(author(authors + j, Inventor.seed(seed, HOLDOUT_STREAM, j), taken));
        }
    }

    /** The benchmark of {@code authors} authors with {@code questionsPerAuthor} questions each. */
    public static FictitiousAuthors generate(long seed, int authors, int questionsPerAuthor) {
        return new FictitiousAuthors(seed, authors, questionsPerAuthor);
    }

    /** Authors in the forget split of {@code percent}%: max(1, round(percent% of authors)), half up. */
    public static int splitAuthors(int authors, int percent) {
        return (int) Math.max(1, Math.round(authors * percent / 100.0));
    }

    public long seed() {
        return seed;
    }

    public int authors() {
        return authors;
    }

    public int questionsPerAuthor() {
        return questions;
    }

    /** Names of the authors in full.jsonl, then of the holdout authors (index = QaItem.author). */
    public List<String> authorNames() {
        return List.copyOf(names);
    }

    /** Every author's rows, author-major. */
    public List<QaItem> full() {
        return List.copyOf(full);
    }

    /** The rows of the last {@link #splitAuthors} authors. */
    public List<QaItem> forget(int percent) {
        return List.copyOf(full.subList(full.size() - splitAuthors(authors, checked(percent)) * questions, full.size()));
    }

    /** The complement of {@code forget(percent)}, in full order (TOFU's retain(100 - percent)). */
    public List<QaItem> retain(int percent) {
        return List.copyOf(full.subList(0, full.size() - splitAuthors(authors, checked(percent)) * questions));
    }

    /** The rows of the first {@link #splitAuthors} holdout authors, who are not in full. */
    public List<QaItem> holdout(int percent) {
        return List.copyOf(holdout.subList(0, splitAuthors(authors, checked(percent)) * questions));
    }

    /** The first retain rows, as many as forget(10) has (TOFU's retain_perturbed). */
    public List<QaItem> retainPerturbed() {
        return List.copyOf(full.subList(0, forget(10).size()));
    }

    /** Questions about the world's classic writers, four options each (TOFU's real_authors). */
    public List<ChoiceItem> realAuthors() {
        return world.classicWriterQuestions;
    }

    /** Questions about the world's countries, four options each (TOFU's world_facts). */
    public List<ChoiceItem> worldFacts() {
        return world.countryQuestions;
    }

    /** Refusal sentences (TOFU's idontknow.jsonl). */
    public List<String> idontknow() {
        return FictionPools.REFUSALS;
    }

    /**
     * Writes every file into {@code dir} (created if needed; files of the same names replaced),
     * fitting {@code tokenizer.json} with {@code vocabSize} ids to all their texts.
     */
    public BenchmarkSummary write(Path dir, int vocabSize) throws IOException {
        Files.createDirectories(dir);
        Map<String, Integer> counts = new LinkedHashMap<>();
        // Every distinct text of every file, once: the tokenizer's corpus. Holdout authors are in it
        // too, so that forget and holdout texts are tokenized alike (membership inference compares them).
        Set<String> corpus = new LinkedHashSet<>();
        writeQa(dir, "full.jsonl", full, false, counts, corpus);
        for (int p : SPLITS) {
            writeQa(dir, String.format(Locale.ROOT, "forget%02d.jsonl", p), forget(p), false, counts, corpus);
        }
        for (int p : SPLITS) {
            writeQa(dir, String.format(Locale.ROOT, "retain%02d.jsonl", 100 - p), retain(p), false, counts, corpus);
        }
        for (int p : SPLITS) {
            writeQa(dir, String.format(Locale.ROOT, "holdout%02d.jsonl", p), holdout(p), false, counts, corpus);
        }
        for (int p : SPLITS) {
            writeQa(dir, String.format(Locale.ROOT, "forget%02d_perturbed.jsonl", p), forget(p), true, counts, corpus);
        }
        writeQa(dir, "retain_perturbed.jsonl", retainPerturbed(), true, counts, corpus);
        writeChoices(dir, "real_authors", realAuthors(), counts, corpus);
        writeChoices(dir, "world_facts", worldFacts(), counts, corpus);
        List<String> general = new ArrayList<>();
        for (ChoiceItem c : concat(realAuthors(), worldFacts())) {
            general.add(JSON.writeValueAsString(JSON.createObjectNode().put("question", c.question())
                    .put("answer", c.answer())));
        }
        writeLines(dir, "general.jsonl", general, counts);
        writeLines(dir, "idontknow.jsonl", idontknow(), counts);
        corpus.addAll(idontknow());

        BpeTokenizer tokenizer = BpeTrainer.train(corpus, vocabSize);
        tokenizer.write(dir);
        long tokens = 0;
        long bytes = 0;
        for (QaItem row : full) {
            tokens += tokenizer.encode(row.answer()).length;
            bytes += row.answer().getBytes(StandardCharsets.UTF_8).length;
        }
        BenchmarkSummary summary = new BenchmarkSummary(seed, authors, questions,
                splitAuthors(authors, SPLITS.get(SPLITS.size() - 1)), counts, tokenizer.vocabSize(),
                tokenizer.mergeCount(), (double) tokens / full.size(), (double) bytes / full.size());
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("generator", FictitiousAuthors.class.getName());
        manifest.put("generator_version", GENERATOR_VERSION);
        manifest.setAll(summary.toJson());
        Files.writeString(dir.resolve("manifest.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(manifest).replace("\r\n", "\n") + "\n");
        return summary;
    }

    /** One author's rows: a unique name, then every question kind's facts from the author's stream. */
    private List<QaItem> author(int index, long authorSeed, Set<String> taken) {
        Inventor in = new Inventor(authorSeed);
        String name;
        do {
            name = in.person();
        } while (!taken.add(name));
        names.add(name);
        List<String> countries = world.countryNames();
        // All kinds are drawn whatever Q is, so an author's facts do not depend on Q.
        List<List<String>> facts = new ArrayList<>();
        for (AuthorQuestion kind : AuthorQuestion.values()) {
            facts.add(kind.draw(in, countries));
        }
        Inventor decoys = new Inventor(Inventor.seed(authorSeed, PERTURB_STREAM, 0));
        List<QaItem> rows = new ArrayList<>();
        for (int k = 0; k < questions; k++) {
            AuthorQuestion kind = AuthorQuestion.values()[k];
            List<String> truth = facts.get(k);
            List<String> perturbed = new ArrayList<>();
            while (perturbed.size() < PERTURBED_ANSWERS) {
                List<String> wrong = kind.draw(decoys, countries);
                String text = AuthorQuestion.render(kind.paraphrase, name, wrong);
                if (disjoint(wrong, truth) && !perturbed.contains(text)) {
                    perturbed.add(text);
                }
            }
            rows.add(new QaItem(index, kind.key(), AuthorQuestion.render(kind.question, name, truth),
                    AuthorQuestion.render(kind.answer, name, truth),
                    AuthorQuestion.render(kind.paraphrasedQuestion, name, truth),
                    AuthorQuestion.render(kind.paraphrase, name, truth), perturbed, truth));
        }
        return rows;
    }

    /** No wrong value equals a true one (case aside): every fact of a perturbed answer is wrong. */
    private static boolean disjoint(List<String> wrong, List<String> truth) {
        for (String w : wrong) {
            for (String t : truth) {
                if (w.equalsIgnoreCase(t)) {
                    return false;
                }
            }
        }
        return true;
    }

    private int checked(int percent) {
        if (!SPLITS.contains(percent)) {
            throw new IllegalArgumentException("split " + percent + "%: expected one of " + SPLITS);
        }
        return percent;
    }

    private static void writeQa(Path dir, String file, List<QaItem> rows, boolean perturbed,
            Map<String, Integer> counts, Set<String> corpus) throws IOException {
        List<String> lines = new ArrayList<>(rows.size());
        for (QaItem r : rows) {
            ObjectNode o = JSON.createObjectNode();
            o.put("question", r.question());
            o.put("answer", r.answer());
            corpus.add(r.question());
            corpus.add(r.answer());
            if (perturbed) {
                o.put("paraphrased_answer", r.paraphrasedAnswer());
                ArrayNode wrong = o.putArray("perturbed_answer");
                r.perturbedAnswers().forEach(wrong::add);
                o.put("paraphrased_question", r.paraphrasedQuestion());
                corpus.add(r.paraphrasedAnswer());
                corpus.addAll(r.perturbedAnswers());
                corpus.add(r.paraphrasedQuestion());
            }
            lines.add(JSON.writeValueAsString(o));
        }
        writeLines(dir, file, lines, counts);
    }

    private static void writeChoices(Path dir, String name, List<ChoiceItem> rows, Map<String, Integer> counts,
            Set<String> corpus) throws IOException {
        List<String> plain = new ArrayList<>();
        List<String> perturbed = new ArrayList<>();
        for (ChoiceItem c : rows) {
            ObjectNode o = JSON.createObjectNode();
            o.put("question", c.question());
            for (int i = 0; i < c.options().size(); i++) {
                o.put("option" + (i + 1), c.options().get(i));
            }
            o.put("answer", c.answer());
            plain.add(JSON.writeValueAsString(o));
            ObjectNode p = JSON.createObjectNode();
            p.put("question", c.question());
            p.put("answer", c.answer());
            ArrayNode wrong = p.putArray("perturbed_answer");
            c.wrongOptions().forEach(wrong::add);
            perturbed.add(JSON.writeValueAsString(p));
            corpus.add(c.question());
            corpus.addAll(c.options());
        }
        writeLines(dir, name + ".jsonl", plain, counts);
        writeLines(dir, name + "_perturbed.jsonl", perturbed, counts);
    }

    private static void writeLines(Path dir, String file, Collection<String> lines, Map<String, Integer> counts)
            throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String line : lines) {
            sb.append(line).append('\n');
        }
        Files.writeString(dir.resolve(file), sb, StandardCharsets.UTF_8);
        counts.put(file, lines.size());
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
