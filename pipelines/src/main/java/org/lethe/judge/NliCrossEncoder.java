package org.lethe.judge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.lethe.model.ModelSettings;
import org.lethe.model.io.ModelFormatException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;

/**
 * A natural-language-inference judge: a BERT-family sequence classifier reading a (premise,
 * hypothesis) pair through its tokenizer's pair template, whose softmax over config.json's
 * id2label gives P(entailment); a pair is entailed when entailment is the most probable label.
 *
 * <p>Heads: BertForSequenceClassification (pooler {@code tanh(dense)} on [CLS], then
 * {@code classifier}) and RobertaForSequenceClassification / XLMRobertaForSequenceClassification
 * ({@code classifier.dense}, tanh, {@code classifier.out_proj} on {@code <s>}).
 */
public final class NliCrossEncoder implements AutoCloseable {

    /** Pairs per forward pass unless told otherwise. */
    public static final int DEFAULT_BATCH_SIZE = 16;

    /**
     * One pair's verdict.
     *
     * @param probabilities softmax over the labels, in id2label order
     * @param labelIndex the most probable label (the first of equals)
     * @param label its name
     * @param entailmentProbability P(entailment)
     * @param entailed whether the most probable label is entailment
     */
    public record Prediction(float[] probabilities, int labelIndex, String label,
            float entailmentProbability, boolean entailed) {}

    private final BertEncoder encoder;
    private final int batchSize;
    private final int entailmentIndex;
    /** Full names of the first (dense + tanh) and second (to labels) head projections. */
    private final String hidden;
    private final String out;

    private NliCrossEncoder(BertEncoder encoder, int batchSize, int entailmentIndex, String hidden, String out) {
        this.encoder = encoder;
        this.batchSize = batchSize;
        this.entailmentIndex = entailmentIndex;
        this.hidden = hidden;
        this.out = out;
    }

    /** Loads a model directory with {@link #DEFAULT_BATCH_SIZE}. */
    public static NliCrossEncoder load(Path dir, ModelSettings settings) {
        return load(dir, settings, DEFAULT_BATCH_SIZE);
    }

    /**
     * Loads a *ForSequenceClassification directory; the device and dtype come from
     * {@code settings}. config.json's id2label must name exactly one "entailment" label
     * (case-insensitive), and the classifier must have one output per label.
     */
    public static NliCrossEncoder load(Path dir, ModelSettings settings, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        BertConfig config = BertConfig.read(dir);
        int entailment = entailmentIndex(config);
        long h = config.hiddenSize();
        long labels = config.id2label().size();
        LinkedHashMap<String, Shape> head = new LinkedHashMap<>();
        boolean bert = config.family() == BertConfig.Family.BERT;
        // BERT's first projection is its pooler (under the base prefix): BertEncoder loads it.
        String out = bert ? "classifier" : "classifier.out_proj";
        if (!bert) {
            BertEncoder.linear(head, "classifier.dense", h, h);
        }
        BertEncoder.linear(head, out, labels, h);
        BertEncoder encoder = BertEncoder.load(dir, settings, Integer.MAX_VALUE, bert, head);
        String hidden = bert ? encoder.tensorPrefix() + "pooler.dense" : "classifier.dense";
        return new NliCrossEncoder(encoder, batchSize, entailment, hidden, out);
    }

    private static int entailmentIndex(BertConfig config) {
        List<String> labels = config.id2label();
        if (labels.isEmpty()) {
            throw new ModelFormatException(config.file() + ": missing key 'id2label': an NLI judge"
                    + " needs label names to find 'entailment'");
        }
        int found = -1;
        for (int i = 0; i < labels.size(); i++) {
            if (labels.get(i).toLowerCase(Locale.ROOT).equals("entailment")) {
                if (found >= 0) {
                    throw new ModelFormatException(config.file() + ": id2label names 'entailment' twice"
                            + " (ids " + found + " and " + i + ")");
                }
                found = i;
            }
        }
        if (found < 0) {
            throw new ModelFormatException(config.file() + ": id2label " + labels + " has no"
                    + " 'entailment' label (case-insensitive); not an NLI model?");
        }
        return found;
    }

    /** The encoder underneath (its config, device, maximal length). */
    public BertEncoder encoder() {
        return encoder;
    }

    /** The label names, by class index. */
    public List<String> labels() {
        return encoder.config().id2label();
    }

    /** The class index of the entailment label. */
    public int entailmentIndex() {
        return entailmentIndex;
    }

    /** Label probabilities and verdict for every (premises_i, hypotheses_i), in batches. */
    public List<Prediction> predict(List<String> premises, List<String> hypotheses) {
        if (premises.size() != hypotheses.size()) {
            throw new IllegalArgumentException(premises.size() + " premises but " + hypotheses.size()
                    + " hypotheses");
        }
        List<Prediction> result = new ArrayList<>(premises.size());
        for (int from = 0; from < premises.size(); from += batchSize) {
            int to = Math.min(premises.size(), from + batchSize);
            result.addAll(predictBatch(premises.subList(from, to), hypotheses.subList(from, to)));
        }
        return result;
    }

    private List<Prediction> predictBatch(List<String> premises, List<String> hypotheses) {
        EncodedBatch b = encoder.tokenizer().encodePairs(premises, hypotheses);
        int n = labels().size();
        float[] flat;
        try (NDManager m = encoder.manager().newSubManager()) {
            NDArray first = encoder.lastHiddenState(m, b).get(":, 0, :");
            NDArray logits = encoder.linearFull(encoder.linearFull(first, hidden).tanh(), out);
            flat = logits.toType(DataType.FLOAT32, false).softmax(-1).toFloatArray();
        }
        List<Prediction> predictions = new ArrayList<>(b.batch());
        for (int i = 0; i < b.batch(); i++) {
            float[] p = new float[n];
            System.arraycopy(flat, i * n, p, 0, n);
            int best = 0;
            for (int j = 1; j < n; j++) {
                if (p[j] > p[best]) {
                    best = j;
                }
            }
            predictions.add(new Prediction(p, best, labels().get(best), p[entailmentIndex],
                    best == entailmentIndex));
        }
        return predictions;
    }

    /** P(entailment) for every pair. */
    public float[] entailmentProbabilities(List<String> premises, List<String> hypotheses) {
        List<Prediction> p = predict(premises, hypotheses);
        float[] out = new float[p.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = p.get(i).entailmentProbability();
        }
        return out;
    }

    /** Whether entailment is the most probable label, for every pair. */
    public boolean[] entailed(List<String> premises, List<String> hypotheses) {
        List<Prediction> p = predict(premises, hypotheses);
        boolean[] out = new boolean[p.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = p.get(i).entailed();
        }
        return out;
    }

    /** Whether the premise entails the hypothesis (entailment is the most probable label). */
    public boolean entailed(String premise, String hypothesis) {
        return entailed(Collections.singletonList(premise), Collections.singletonList(hypothesis))[0];
    }

    @Override
    public void close() {
        encoder.close();
    }
}
