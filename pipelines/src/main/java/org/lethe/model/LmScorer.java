package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.List;

/** Batched, padding-aware teacher-forced scoring: the log-probability of every next token. */
public final class LmScorer {

    private LmScorer() {}

    /**
     * Log-probability of each token given its prefix, for sequences of different lengths scored in
     * one right-padded batch; element {@code i} has {@code length(seq_i) - 1} values.
     */
    public static List<float[]> tokenLogProbs(LanguageModel lm, List<long[]> sequences) {
        if (sequences.isEmpty()) {
            return List.of();
        }
        int batch = sequences.size();
        int maxLen = 0;
        for (int i = 0; i < batch; i++) {
            if (sequences.get(i).length < 2) {
                throw new IllegalArgumentException("sequence " + i + " has " + sequences.get(i).length
                        + " token(s); scoring needs at least 2 (BOS + one predicted token)");
            }
            maxLen = Math.max(maxLen, sequences.get(i).length);
        }
        Batch padded = Batch.rightPadded(sequences, maxLen, lm.config().eosTokenId());
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray ids = m.create(padded.ids(), new Shape(batch, maxLen));
            NDArray mask = m.create(padded.mask(), new Shape(batch, maxLen));
            NDArray positions = m.arange(0, maxLen, 1, DataType.INT64)
                    .expandDims(0).broadcast(batch, maxLen);
            NDArray logits = lm.block().logits(lm.parameterStore(), ids, positions, mask, null, false);
            float[] flat = targetLogProbs(logits, ids).toFloatArray();
            List<float[]> out = new ArrayList<>(batch);
            for (int i = 0; i < batch; i++) {
                float[] row = new float[sequences.get(i).length - 1];
                System.arraycopy(flat, i * (maxLen - 1), row, 0, row.length);
                out.add(row);
            }
            return out;
        }
    }

    /**
     * log p(ids[:, t+1] | ids[:, :t+1]) from float32 logits (batch, seq, vocab): a (batch, seq - 1)
     * array. Positions whose target is padding hold meaningless values; callers mask them.
     */
    public static NDArray targetLogProbs(NDArray logits, NDArray ids) {
        long seq = ids.getShape().get(1);
        NDArray predicting = logits.get(":, :{}, :", seq - 1);
        NDArray targets = ids.get(":, 1:").expandDims(-1);
        return predicting.logSoftmax(-1).gather(targets, -1).squeeze(-1);
    }
}
