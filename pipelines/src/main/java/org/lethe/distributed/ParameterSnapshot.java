package org.lethe.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import org.lethe.model.CausalLm;

import java.io.Serializable;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.function.Function;

/**
 * All parameters of a model as one flat float32 vector in Hugging Face parameter order, with the
 * version (optimizer step) it belongs to: what the driver broadcasts after each update.
 */
public record ParameterSnapshot(long version, float[] values) implements Serializable {

    /** The current parameters of {@code lm}. */
    public static ParameterSnapshot of(CausalLm lm, long version) {
        Map<String, Parameter> params = lm.block().hfParameters();
        return new ParameterSnapshot(version, flatten(lm, name -> params.get(name).getArray()));
    }

    /**
     * One flat float32 vector of per-parameter arrays (values, gradients) in the model's Hugging
     * Face parameter order: the layout snapshots and gradient sums share.
     */
    public static float[] flatten(CausalLm lm, Function<String, NDArray> arrayOf) {
        float[] flat = new float[Math.toIntExact(lm.block().parameterCount())];
        int offset = 0;
        for (String name : lm.block().hfParameters().keySet()) {
            float[] v = arrayOf.apply(name).toFloatArray();
            System.arraycopy(v, 0, flat, offset, v.length);
            offset += v.length;
        }
        return flat;
    }

    /** Copies these values into {@code lm}'s parameters, in place (grad mode off). */
    public void loadInto(CausalLm lm) {
        if (values.length != lm.block().parameterCount()) {
            throw new IllegalArgumentException("snapshot of " + values.length + " values for a model of "
                    + lm.block().parameterCount() + " parameters");
        }
        int offset = 0;
        for (Parameter p : lm.block().hfParameters().values()) {
            NDArray a = p.getArray();
            int n = Math.toIntExact(a.size());
            a.set(FloatBuffer.wrap(values, offset, n).slice());
            offset += n;
        }
    }
}
