package org.lethe.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.lethe.data.PromptTemplate;
import org.lethe.model.AdamW;
import org.lethe.model.Autograd;
import org.lethe.model.Batch;
import org.lethe.model.LanguageModel;
import org.lethe.model.GreedyDecoder;
import org.lethe.model.LmScorer;
import org.lethe.model.LmTrainer;
import org.lethe.model.LmTokenizer;
import org.lethe.judge.NliCrossEncoder;
import org.lethe.judge.SentenceEncoder;
import org.lethe.text.Rouge;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The per-sample metrics of one batch of evaluation items on one model (an executor's cached
 * copy): teacher-forced answer statistics (probability, memorization, membership-inference
 * scores), paraphrased / perturbed answer likelihoods (truth ratio), and a greedy generation
 * (ROUGE-L, token entropy). Metric names are those of the {@code eval_samples} table.
 */
public final class SampleMetrics {

    /** One item to evaluate; {@code paraphrased}, {@code perturbed} and {@code paraphrasedQuestion} may be null. */
    public record Item(String split, String sampleId, String question, String answer, String paraphrased,
            List<String> perturbed, String paraphrasedQuestion) implements Serializable {}

    /**
     * @param k Min-K% / Min-K%++ fraction
     * @param normalizedProbability splits whose {@code probability} is p(a) / (p(a) + sum p(perturbed))
     * @param plainAnswerTruthRatio splits whose truth ratio uses the answer in place of a paraphrase
     * @param gradientNorm whether to compute {@code mia_gradient_norm} (one backward pass per sample)
     */
    public record Settings(PromptTemplate template, int maxNewTokens, double k, boolean stem,
            List<String> normalizedProbability, List<String> plainAnswerTruthRatio, boolean gradientNorm)
            implements Serializable {}

    /** One {@code eval_samples} value; {@code value} null means not computable for this item. */
    public record Value(String split, String sampleId, String metric, Double value, String generation)
            implements Serializable {}

    /** Teacher-forced statistics of one answer: per answer token log p, argmax, vocabulary moments. */
    private record Forced(double[] logp, long[] argmax, long[] labels, double[] mu, double[] sigma) {
        double meanNll() {
            double s = 0;
            for (double v : logp) {
                s -= v;
            }
            return s / logp.length;
        }
    }

    private SampleMetrics() {}

    /**
     * The judge models (each nullable): a sentence encoder for {@code cosine_similarity} and an NLI
     * cross-encoder for {@code entailment}; without one the metric's values are NULL.
     */
    public record Judges(SentenceEncoder encoder, NliCrossEncoder nli) {
        public static final Judges NONE = new Judges(null, null);
    }

    /** Splits whose NLI premise is the generation (closer-look: forget sets); elsewhere it is the answer. */
    public static final List<String> GENERATION_PREMISE = List.of("forget");

    /** Below this ROUGE-L recall a generation counts as not entailed without asking the NLI model (closer-look). */
    public static final double ENTAILMENT_MIN_ROUGE = 0.1;

    /** Every metric of every item of {@code items}; {@code reference} (nullable) gives mia_reference. */
    public static List<Value> compute(LanguageModel lm, LanguageModel reference, List<Item> items, Settings s) {
        return compute(lm, reference, items, s, Judges.NONE);
    }

    /** As {@link #compute(LanguageModel, LanguageModel, List, Settings)}, with judge models. */
    public static List<Value> compute(LanguageModel lm, LanguageModel reference, List<Item> items, Settings s, Judges judges) {
        LmTokenizer tok = lm.tokenizer();
        List<PromptTemplate.Encoded> answers = new ArrayList<>();
        for (Item it : items) {
            answers.add(s.template().encode(tok, it.question(), it.answer()));
        }
        List<Forced> forced = forced(lm, answers);
        double[] referenceNll = reference == null ? null : meanNlls(reference, answers);

        // Alternative answers: paraphrase and every perturbation, scored in one batch.
        List<PromptTemplate.Encoded> alternatives = new ArrayList<>();
        for (Item it : items) {
            if (it.paraphrased() != null) {
                alternatives.add(s.template().encode(tok, it.question(), it.paraphrased()));
            }
            if (it.perturbed() != null) {
                for (String p : it.perturbed()) {
                    alternatives.add(s.template().encode(tok, it.question(), p));
                }
            }
        }
        double[] altNll = meanNlls(lm, alternatives);

        List<long[]> prompts = new ArrayList<>();
        for (Item it : items) {
            prompts.add(tok.encode(s.template().generationPrompt(it.question()), true));
        }
        List<long[]> generated = GreedyDecoder.generate(lm, prompts, s.maxNewTokens(), true);

        // Robustness: the same answers asked with the paraphrased question.
        List<PromptTemplate.Encoded> rephrased = new ArrayList<>();
        List<long[]> rephrasedPrompts = new ArrayList<>();
        for (Item it : items) {
            if (it.paraphrasedQuestion() != null) {
                rephrased.add(s.template().encode(tok, it.paraphrasedQuestion(), it.answer()));
                rephrasedPrompts.add(tok.encode(s.template().generationPrompt(it.paraphrasedQuestion()), true));
            }
        }
        double[] rephrasedNll = meanNlls(lm, rephrased);
        List<long[]> rephrasedGenerated = GreedyDecoder.generate(lm, rephrasedPrompts, s.maxNewTokens(), true);
        int rq = 0;

        // Judges: max(0, cos) of generation and answer; entailment in closer-look's order.
        List<String> texts = new ArrayList<>();
        for (long[] g : generated) {
            texts.add(tok.decode(g).strip());
        }
        List<String> answerTexts = items.stream().map(Item::answer).toList();
        float[] similarity = judges.encoder() == null ? null : judges.encoder().similarity(texts, answerTexts);
        boolean[] entailed = null;
        if (judges.nli() != null) {
            List<String> premises = new ArrayList<>();
            List<String> hypotheses = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                boolean generationFirst = GENERATION_PREMISE.contains(items.get(i).split());
                premises.add(generationFirst ? texts.get(i) : answerTexts.get(i));
                hypotheses.add(generationFirst ? answerTexts.get(i) : texts.get(i));
            }
            entailed = judges.nli().entailed(premises, hypotheses);
        }

        List<Value> out = new ArrayList<>();
        int alt = 0;
        for (int i = 0; i < items.size(); i++) {
            Item it = items.get(i);
            Forced f = forced.get(i);
            String split = it.split();
            String id = it.sampleId();
            double meanNll = f.meanNll();
            Double paraphrasedNll = null;
            if (it.paraphrased() != null) {
                paraphrasedNll = altNll[alt++];
            }
            double[] perturbedNll = null;
            if (it.perturbed() != null && !it.perturbed().isEmpty()) {
                perturbedNll = Arrays.copyOfRange(altNll, alt, alt + it.perturbed().size());
                alt += it.perturbed().size();
            }
            out.add(new Value(split, id, "mean_nll", meanNll, null));
            Double probability = AnswerProbability.fromMeanNll(meanNll);
            if (s.normalizedProbability().contains(split)) {
                probability = perturbedNll == null ? null : AnswerProbability.normalized(meanNll, perturbedNll);
            }
            out.add(new Value(split, id, "probability", probability, null));
            if (paraphrasedNll != null) {
                out.add(new Value(split, id, "paraphrased_mean_nll", paraphrasedNll, null));
            }
            if (perturbedNll != null) {
                out.add(new Value(split, id, "perturbed_mean_nll", Arrays.stream(perturbedNll).average().orElseThrow(),
                        null));
                Double stand = s.plainAnswerTruthRatio().contains(split) ? Double.valueOf(meanNll) : paraphrasedNll;
                out.add(new Value(split, id, "truth_ratio", stand == null ? null : TruthRatio.of(stand, perturbedNll),
                        null));
            }
            out.add(new Value(split, id, "exact_memorization", Memorization.exactMemorization(f.argmax(), f.labels()),
                    null));
            out.add(new Value(split, id, "extraction_strength", Memorization.extractionStrength(f.argmax(), f.labels()),
                    null));
            out.add(new Value(split, id, "mia_loss", MembershipScores.loss(meanNll), null));
            out.add(new Value(split, id, "mia_zlib", MembershipScores.zlib(meanNll, it.answer()), null));
            out.add(new Value(split, id, "mia_min_k", MembershipScores.minK(f.logp(), s.k()), null));
            out.add(new Value(split, id, "mia_min_k_plus_plus", MembershipScores.minKPlusPlus(f.logp(), f.mu(),
                    f.sigma(), s.k()), null));
            if (referenceNll != null) {
                out.add(new Value(split, id, "mia_reference", meanNll - referenceNll[i], null));
            }
            if (s.gradientNorm()) {
                out.add(new Value(split, id, "mia_gradient_norm", gradientNorm(lm, answers.get(i)), null));
            }
            String text = texts.get(i);
            Rouge.Scores rouge = Rouge.rougeL(it.answer(), text, s.stem());
            out.add(new Value(split, id, EvalTables.COSINE_SIMILARITY,
                    similarity == null ? null : Double.valueOf(similarity[i]), null));
            out.add(new Value(split, id, EvalTables.ENTAILMENT, entailed == null ? null
                    : rouge.recall() < ENTAILMENT_MIN_ROUGE ? 0.0 : entailed[i] ? 1.0 : 0.0, null));
            out.add(new Value(split, id, "rouge_l_recall", rouge.recall(), text));
            out.add(new Value(split, id, "rouge_l_f1", rouge.f1(), null));
            out.add(new Value(split, id, "token_entropy", TokenEntropy.normalized(generated.get(i)), null));
            if (perturbedNll != null) {
                out.add(new Value(split, id, EvalTables.MCQ_ACCURACY, mcqAccuracy(meanNll, perturbedNll), null));
            }
            if (it.paraphrasedQuestion() != null) {
                String rtext = tok.decode(rephrasedGenerated.get(rq)).strip();
                out.add(new Value(split, id, EvalTables.PARAPHRASED_QUESTION_PROBABILITY,
                        AnswerProbability.fromMeanNll(rephrasedNll[rq]), null));
                out.add(new Value(split, id, EvalTables.PARAPHRASED_QUESTION_ROUGE_L_RECALL,
                        Rouge.rougeL(it.answer(), rtext, s.stem()).recall(), rtext));
                rq++;
            }
        }
        return out;
    }

    /**
     * Multiple-choice accuracy of one question: 1 when the answer's mean NLL is strictly below every
     * wrong option's (a tie is not a win), else 0.
     */
    public static double mcqAccuracy(double answerNll, double[] wrongNlls) {
        double best = Arrays.stream(wrongNlls).min().orElseThrow(
                () -> new IllegalArgumentException("a multiple-choice question needs at least one wrong option"));
        return answerNll < best ? 1.0 : 0.0;
    }

    /**
     * {@code mcq_accuracy} of each item of a multiple-choice set (question, answer, wrong options in
     * {@code perturbed}): every option's mean answer-token NLL under {@code template}, all options of
     * the batch in one scoring pass; NULL for an item without wrong options.
     */
    public static List<Value> mcq(LanguageModel lm, List<Item> items, PromptTemplate template) {
        LmTokenizer tok = lm.tokenizer();
        List<PromptTemplate.Encoded> options = new ArrayList<>();
        for (Item it : items) {
            options.add(template.encode(tok, it.question(), it.answer()));
            if (it.perturbed() != null) {
                for (String p : it.perturbed()) {
                    options.add(template.encode(tok, it.question(), p));
                }
            }
        }
        double[] nll = meanNlls(lm, options);
        List<Value> out = new ArrayList<>();
        int at = 0;
        for (Item it : items) {
            double answer = nll[at++];
            int wrong = it.perturbed() == null ? 0 : it.perturbed().size();
            Double value = wrong == 0 ? null : mcqAccuracy(answer, Arrays.copyOfRange(nll, at, at + wrong));
            at += wrong;
            out.add(new Value(it.split(), it.sampleId(), EvalTables.MCQ_ACCURACY, value, null));
        }
        return out;
    }

    /** Teacher-forced answer statistics of a batch, one forward pass. */
    private static List<Forced> forced(LanguageModel lm, List<PromptTemplate.Encoded> encoded) {
        int rows = encoded.size();
        int width = encoded.stream().mapToInt(e -> e.ids().length).max().orElse(0);
        List<long[]> ids = encoded.stream().map(PromptTemplate.Encoded::ids).toList();
        Batch padded = Batch.rightPadded(ids, width, lm.config().eosTokenId());
        List<Forced> out = new ArrayList<>();
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray idArr = m.create(padded.ids(), new Shape(rows, width));
            NDArray mask = m.create(padded.mask(), new Shape(rows, width));
            NDArray positions = m.arange(0, width, 1, DataType.INT64).expandDims(0).broadcast(rows, width);
            NDArray logits = lm.block().logits(lm.parameterStore(), idArr, positions, mask, null, false);
            NDArray logp = logits.get(":, :{}, :", width - 1).logSoftmax(-1);
            float[] target = logp.gather(idArr.get(":, 1:").expandDims(-1), -1).squeeze(-1).toFloatArray();
            long[] argmax = logp.argMax(-1).toLongArray();
            NDArray p = logp.exp();
            NDArray mu = p.mul(logp).sum(new int[] {-1});
            NDArray second = p.mul(logp.square()).sum(new int[] {-1});
            float[] muArr = mu.toFloatArray();
            float[] varArr = second.sub(mu.square()).toFloatArray();
            for (int r = 0; r < rows; r++) {
                PromptTemplate.Encoded e = encoded.get(r);
                int from = e.promptTokens() - 1; // position t predicts token t + 1
                int to = e.ids().length - 1;
                int n = to - from;
                double[] lp = new double[n];
                long[] am = new long[n];
                long[] labels = new long[n];
                double[] mus = new double[n];
                double[] sig = new double[n];
                for (int j = 0; j < n; j++) {
                    int flat = r * (width - 1) + from + j;
                    lp[j] = target[flat];
                    am[j] = argmax[flat];
                    labels[j] = e.ids()[from + j + 1];
                    mus[j] = muArr[flat];
                    sig[j] = Math.sqrt(Math.max(varArr[flat], MembershipScores.MIN_VARIANCE));
                }
                out.add(new Forced(lp, am, labels, mus, sig));
            }
        }
        return out;
    }

    /** Mean answer-token NLL of each encoded pair, batched. */
    private static double[] meanNlls(LanguageModel lm, List<PromptTemplate.Encoded> encoded) {
        double[] out = new double[encoded.size()];
        if (encoded.isEmpty()) {
            return out;
        }
        List<float[]> logps = LmScorer.tokenLogProbs(lm, encoded.stream().map(PromptTemplate.Encoded::ids).toList());
        for (int i = 0; i < out.length; i++) {
            float[] row = logps.get(i);
            int from = encoded.get(i).promptTokens() - 1;
            double sum = 0;
            for (int t = from; t < row.length; t++) {
                sum -= row[t];
            }
            out[i] = sum / (row.length - from);
        }
        return out;
    }

    /** L2 norm of the gradient of the answer's mean NLL with respect to every trainable parameter. */
    private static double gradientNorm(LanguageModel lm, PromptTemplate.Encoded e) {
        return Autograd.exclusive(() -> {
            try (LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 0)) {
                trainer.zeroGradients();
                trainer.accumulate(List.of(e.ids()), List.of(e.labels()));
                Map<String, NDArray> grads = trainer.gradients();
                double squares = 0;
                try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
                    scope.suppressNotUsedWarning();
                    // The intermediates would attach to the parameters' manager: the scope frees them.
                    for (NDArray g : grads.values()) {
                        squares += g.toType(DataType.FLOAT64, false).square().sum().getDouble();
                    }
                } finally {
                    grads.values().forEach(NDArray::close);
                    trainer.zeroGradients();
                }
                return Math.sqrt(squares);
            }
        });
    }
}
