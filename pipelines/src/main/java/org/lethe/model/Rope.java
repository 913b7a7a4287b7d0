package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Rotary position embedding in the Hugging Face "rotate_half" layout, with the default and the
 * Llama 3 frequency schedules.
 */
public final class Rope {

    private Rope() {}

    /**
     * The inverse frequencies {@code 1 / theta^(2i/d)}, rescaled as HF's {@code
     * _compute_llama3_parameters} does when the config carries llama3 scaling.
     */
    public static float[] inverseFrequencies(LlamaConfig config) {
        int dim = config.headDim();
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            // HF computes base ** (arange(0, dim, 2).float() / dim) in float32.
            float exponent = (float) (2 * i) / (float) dim;
            inv[i] = (float) (1.0 / Math.pow(config.ropeTheta(), exponent));
        }
        LlamaConfig.Llama3Scaling s = config.llama3Scaling();
        if (s == null) {
            return inv;
        }
        double lowFreqWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
        double highFreqWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            double scaled;
            if (wavelen > lowFreqWavelen) {
                scaled = inv[i] / s.factor();
            } else if (wavelen < highFreqWavelen) {
                scaled = inv[i];
            } else {
                double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                        / (s.highFreqFactor() - s.lowFreqFactor());
                scaled = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
            }
            inv[i] = (float) scaled;
        }
        return inv;
    }

    /**
     * cos and sin tables for the given positions, shaped (batch, 1, seq, headDim) so they broadcast
     * over heads; computed in float32 and cast to {@code dtype}.
     *
     * @param positions (batch, seq) int64 position ids
     * @param invFreq (headDim / 2) float32 inverse frequencies
     */
    public static NDList cosSin(NDArray positions, NDArray invFreq, DataType dtype) {
        NDArray freqs = positions.toType(DataType.FLOAT32, false).expandDims(-1).mul(invFreq);
        NDArray emb = freqs.concat(freqs, 2).expandDims(1);
        return new NDList(emb.cos().toType(dtype, false), emb.sin().toType(dtype, false));
    }

    /** Applies the rotation to (batch, heads, seq, headDim) queries or keys. */
    public static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        int last = x.getShape().dimension() - 1; // DJL's split wants a non-negative axis
        NDList halves = x.split(2, last);
        NDArray rotated = halves.get(1).neg().concat(halves.get(0), last);
        return x.mul(cos).add(rotated.mul(sin));
    }

    /** Creates the inverse-frequency array on a manager (and so on its device). */
    public static NDArray inverseFrequencies(NDManager manager, LlamaConfig config) {
        return manager.create(inverseFrequencies(config));
    }
}
