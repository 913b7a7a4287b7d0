package org.lethe.stats;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import org.lethe.eval.MembershipScores;
import org.lethe.model.Autograd;
import org.lethe.model.Batch;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTrainer;
import org.lethe.model.Scalars;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Per-sample loss statistics and per-sample gradients of a right-padded batch from ONE forward
 * pass: each row's loss (its mean answer-token NLL) is backpropagated on its own through the
 * shared graph (kept between rows), so row i's gradient is exactly the gradient of sample i alone
 * (rows never see each other: attention masks the padding, nothing normalizes over the batch).
 */
public final class PerSampleGradients {

    /** One sample's statistics; {@code gradient} is over the selected parameters, in their order. */
    public record Sample(int answerTokens, double meanNll, double minLogProb, double minK, double meanEntropy,
            double gradNorm, float[] gradient) {}

    private PerSampleGradients() {}

    /**
     * Statistics and gradients of every row.
     *
     * @param names trainable parameters (HF names, PEFT names with LoRA) whose gradient is taken
     * @param ids token ids per row
     * @param labels per row, as {@link LmTrainer#accumulate}: the token at each position, -100 where not a target
     * @param k the Min-K% fraction
     */
    public static List<Sample> compute(LanguageModel lm, List<String> names, List<long[]> ids, List<long[]> labels,
            double k) {
        int rows = ids.size();
        if (rows == 0) {
            return List.of();
        }
        Map<String, Parameter> trainable = lm.block().trainableParameters();
        for (String n : names) {
            if (!trainable.containsKey(n)) {
                throw new IllegalArgumentException("parameter '" + n + "' is not a trainable parameter of the model");
            }
        }
        int width = 0;
        for (int r = 0; r < rows; r++) {
            if (labels.get(r).length != ids.get(r).length) {
                throw new IllegalArgumentException("row " + r + ": " + labels.get(r).length + " labels for "
                        + ids.get(r).length + " tokens");
            }
            width = Math.max(width, ids.get(r).length);
        }
        Batch idb = Batch.rightPadded(ids, width, lm.config().eosTokenId());
        Batch lab = Batch.rightPadded(labels, width, LmTrainer.IGNORE_INDEX);
        int w = width;
        return Autograd.exclusive(() -> {
            zero(trainable);
            try (NDManager m = lm.manager().newSubManager();
                    GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
                NDArray idArr = m.create(idb.ids(), new Shape(rows, w));
                NDArray mask = m.create(idb.mask(), new Shape(rows, w));
                NDArray positions = m.arange(0, w, 1, DataType.INT64).expandDims(0).broadcast(rows, w);
                NDArray targets = m.create(lab.ids(), new Shape(rows, w)).get(":, 1:");
                NDArray valid = targets.neq(LmTrainer.IGNORE_INDEX);
                NDArray safe = targets.mul(valid.toType(DataType.INT64, false));
                NDArray logits = lm.block().logits(lm.parameterStore(), idArr, positions, mask, null, true);
                NDArray logp = logits.get(":, :{}, :", w - 1).logSoftmax(-1);
                NDArray target = logp.gather(safe.expandDims(-1), -1).squeeze(-1);
                NDArray validF = valid.toType(DataType.FLOAT32, false);
                float[] counts = validF.sum(new int[] {1}).toFloatArray();
                for (int r = 0; r < rows; r++) {
                    if (counts[r] == 0) {
                        throw new IllegalArgumentException("row " + r + " has no answer (target) token");
                    }
                }
                // A torch-owned copy: autograd keeps the divisor for backward (see DEVELOPERS.md, Scalars).
                NDArray divisor = m.create(counts, new Shape(rows)).duplicate();
                NDArray rowNll = target.mul(validF).sum(new int[] {1}).neg().div(divisor);
                // Statistics from detached copies, so they add nothing to the graph.
                NDArray detached = logp.stopGradient();
                float[] tokenLp = target.stopGradient().toFloatArray();
                float[] entropy = detached.exp().mul(detached).sum(new int[] {-1}).neg().toFloatArray();
                float[] nll = rowNll.stopGradient().toFloatArray();
                long[] labelArr = lab.ids();

                List<Sample> out = new ArrayList<>(rows);
                NDArray one = Scalars.like(rowNll, 1.0);
                for (int r = 0; r < rows; r++) {
                    try (NDArray loss = rowNll.get(r)) {
                        // keep the graph for the next rows; the last row frees it.
                        JniUtils.backward((PtNDArray) loss, (PtNDArray) one, r < rows - 1, false);
                    }
                    float[] g = flatten(trainable, names);
                    zero(trainable);
                    double sq = 0;
                    for (float v : g) {
                        sq += (double) v * v;
                    }
                    int n = (int) counts[r];
                    double[] lp = new double[n];
                    double minLp = Double.POSITIVE_INFINITY;
                    double ent = 0;
                    int j = 0;
                    for (int t = 0; t < w - 1; t++) {
                        if (labelArr[r * w + t + 1] != LmTrainer.IGNORE_INDEX) {
                            int flat = r * (w - 1) + t;
                            lp[j++] = tokenLp[flat];
                            minLp = Math.min(minLp, tokenLp[flat]);
                            ent += entropy[flat];
                        }
                    }
                    out.add(new Sample(n, nll[r], minLp, MembershipScores.minK(lp, k), ent / n, Math.sqrt(sq), g));
                }
                return out;
            } finally {
                zero(trainable);
            }
        });
    }

    private static float[] flatten(Map<String, Parameter> trainable, List<String> names) {
        long size = 0;
        for (String n : names) {
            size += trainable.get(n).getArray().size();
        }
        float[] flat = new float[Math.toIntExact(size)];
        int offset = 0;
        for (String n : names) {
            NDArray a = trainable.get(n).getArray();
            int len = Math.toIntExact(a.size());
            if (a.hasGradient()) {
                try (NDArray g = a.getGradient()) {
                    System.arraycopy(g.toFloatArray(), 0, flat, offset, len);
                }
            }
            offset += len;
        }
        return flat;
    }

    private static void zero(Map<String, Parameter> trainable) {
        for (Parameter p : trainable.values()) {
            NDArray a = p.getArray();
            if (a.hasGradient()) {
                JniUtils.zeroGrad((PtNDArray) a);
            }
        }
    }
}
