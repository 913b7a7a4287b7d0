import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.lethe.config.LetheConfig;
import org.lethe.data.PromptTemplate;
import org.lethe.model.LanguageModel;
import org.lethe.model.LlamaConfig;
import org.lethe.model.LmScorer;
import org.lethe.model.LmTokenizer;
import org.lethe.model.ModelSettings;

import java.io.BufferedReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * TOFU's answer probability of a model on a benchmark's forget10, retain90 and general sets:
 * per sample p = exp(-mean NLL over the answer tokens + EOS) in the training encoding
 * ({@code PromptTemplate}, {@code lethe.data.template.*} defaults), averaged per set.
 *
 * <p>Usage: bench/run ForgetRetainProbe MODEL_DIR BENCH_DIR [RETAIN_N=400] [BATCH=32] [--no-header]
 *
 * <p>Prints CSV (header unless --no-header): model, forget_probability, retain_probability,
 * general_probability, forget_mean_nll, retain_mean_nll, general_mean_nll, forget_n, retain_n,
 * general_n. general is general.jsonl (the world facts trained alongside full), empty if absent.
 */
public final class ForgetRetainProbe {

    private static final ObjectMapper JSON = new ObjectMapper();

    record SetScore(double probability, double meanNll, int n) {}

    public static void main(String[] args) throws Exception {
        List<String> pos = new ArrayList<>();
        boolean header = true;
        for (String a : args) {
            if (a.equals("--no-header")) {
                header = false;
            } else {
                pos.add(a);
            }
        }
        if (pos.size() < 2) {
            System.err.println("usage: bench/run ForgetRetainProbe MODEL_DIR BENCH_DIR [RETAIN_N=400] [BATCH=32] [--no-header]");
            System.exit(2);
        }
        Path model = Paths.get(pos.get(0));
        Path bench = Paths.get(pos.get(1));
        int retainN = pos.size() > 2 ? Integer.parseInt(pos.get(2)) : 400;
        int batch = pos.size() > 3 ? Integer.parseInt(pos.get(3)) : 32;
        PromptTemplate template = PromptTemplate.of(LetheConfig.defaults());

        long start = System.nanoTime();
        try (LanguageModel lm = LanguageModel.load(model, ModelSettings.defaults());
                LmTokenizer ownTok = lm.tokenizer() == null ? loadTokenizer(bench, lm.config()) : null) {
            LmTokenizer tok = ownTok != null ? ownTok : lm.tokenizer();
            SetScore forget = score(lm, tok, template, readQa(bench.resolve("forget10.jsonl"), Integer.MAX_VALUE), batch);
            SetScore retain = score(lm, tok, template, readQa(bench.resolve("retain90.jsonl"), retainN), batch);
            Path generalFile = bench.resolve("general.jsonl");
            SetScore general = Files.exists(generalFile)
                    ? score(lm, tok, template, readQa(generalFile, Integer.MAX_VALUE), batch) : null;
            if (header) {
                System.out.println("model,forget_probability,retain_probability,general_probability,"
                        + "forget_mean_nll,retain_mean_nll,general_mean_nll,forget_n,retain_n,general_n");
            }
            System.out.println(String.join(",", model.toString(),
                    f(forget.probability()), f(retain.probability()), general == null ? "" : f(general.probability()),
                    f(forget.meanNll()), f(retain.meanNll()), general == null ? "" : f(general.meanNll()),
                    Integer.toString(forget.n()), Integer.toString(retain.n()),
                    general == null ? "" : Integer.toString(general.n())));
        }
        System.err.printf(Locale.ROOT, "probed %s in %.1f s%n", model, (System.nanoTime() - start) / 1e9);
    }

    private static LmTokenizer loadTokenizer(Path bench, LlamaConfig config) {
        return LmTokenizer.load(bench.resolve("tokenizer.json"), config);
    }

    /** The (question, answer) pairs of the first {@code limit} lines of a JSONL file. */
    private static List<String[]> readQa(Path file, int limit) throws Exception {
        List<String[]> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file)) {
            for (String line; out.size() < limit && (line = r.readLine()) != null; ) {
                if (!line.isBlank()) {
                    JsonNode n = JSON.readTree(line);
                    out.add(new String[] {n.get("question").asText(), n.get("answer").asText()});
                }
            }
        }
        return out;
    }

    /** Mean over samples of exp(-mean answer NLL), and of the mean answer NLL itself. */
    private static SetScore score(LanguageModel lm, LmTokenizer tok, PromptTemplate template, List<String[]> qa, int batch) {
        double sumP = 0;
        double sumNll = 0;
        for (int from = 0; from < qa.size(); from += batch) {
            List<PromptTemplate.Encoded> enc = new ArrayList<>();
            List<long[]> ids = new ArrayList<>();
            for (String[] p : qa.subList(from, Math.min(qa.size(), from + batch))) {
                PromptTemplate.Encoded e = template.encode(tok, p[0], p[1]);
                enc.add(e);
                ids.add(e.ids());
            }
            // LmScorer scores one right-padded batch in its own sub-manager, closed before returning.
            List<float[]> logProbs = LmScorer.tokenLogProbs(lm, ids);
            for (int i = 0; i < enc.size(); i++) {
                // logProbs[t] = log p(ids[t+1] | ids[..t]); the labels are ids[promptTokens..].
                float[] lp = logProbs.get(i);
                PromptTemplate.Encoded e = enc.get(i);
                double nll = 0;
                for (int t = e.promptTokens() - 1; t < lp.length; t++) {
                    nll -= lp[t];
                }
                nll /= e.answerTokens();
                sumNll += nll;
                sumP += Math.exp(-nll);
            }
        }
        return new SetScore(sumP / qa.size(), sumNll / qa.size(), qa.size());
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
