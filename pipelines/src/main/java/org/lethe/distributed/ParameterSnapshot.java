package org.lethe.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import org.lethe.model.LanguageModel;

import java.io.Serializable;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.function.Function;

/**
 * The trained parameters of a model (all of them, or the configured trainable subset) as one flat
 * float32 vector in the order of {@code names}, with the version (optimizer step) it belongs to:
 * what the driver broadcasts after each update. Parameters not named stay as loaded from the
 * model directory on every executor. Under a local master the driver broadcasts only a handle
 * ({@code values} null): tasks in its JVM copy the values from the master model through
 * {@link LocalExchange}.
 */
public record ParameterSnapshot(long version, List<String> names, float[] values) implements Serializable {

    public ParameterSnapshot {
        names = List.copyOf(names);
    }

    /** A handle to version {@code version} of {@code names} held by the driver's master model, in this JVM. */
    static ParameterSnapshot local(List<String> names, long version) {
        return new ParameterSnapshot(version, names, null);
    }

    /** Whether this is a handle to the master model in this JVM rather than the values. */
    boolean isLocal() {
        return values == null;
    }

    /** The current values of {@code names} (Hugging Face parameter names) of {@code lm}. */
    public static ParameterSnapshot of(LanguageModel lm, List<String> names, long version) {
        return new ParameterSnapshot(version, names, flatten(lm, names, name -> parameter(lm, name).getArray()));
    }

    /** A parameter by its Hugging Face name, or its PEFT name when LoRA adapters are attached. */
    static Parameter parameter(LanguageModel lm, String name) {
        Parameter p = lm.block().trainableParameters().get(name);
        if (p == null) {
            p = lm.block().hfParameters().get(name);
        }
        if (p == null) {
            throw new IllegalArgumentException("the model has no parameter " + name);
        }
        return p;
    }

    /** Every parameter of {@code lm}, in Hugging Face order. */
    public static ParameterSnapshot of(LanguageModel lm, long version) {
        return of(lm, List.copyOf(lm.block().hfParameters().keySet()), version);
    }

    /**
     * One flat float32 vector of per-parameter arrays (values, gradients) in the order of
     * {@code names}: the layout snapshots and gradient sums share.
     */
    public static float[] flatten(LanguageModel lm, List<String> names, Function<String, NDArray> arrayOf) {
        long size = 0;
        for (String name : names) {
            size += parameter(lm, name).getShape().size();
        }
        float[] flat = new float[Math.toIntExact(size)];
        int offset = 0;
        for (String name : names) {
            NDArray a = arrayOf.apply(name);
            float[] v = a == null ? new float[Math.toIntExact(parameter(lm, name).getShape().size())] : a.toFloatArray();
            System.arraycopy(v, 0, flat, offset, v.length);
            offset += v.length;
        }
        return flat;
    }

    /** Copies these values into {@code lm}'s parameters of the same names, in place (grad mode off). */
    public void loadInto(LanguageModel lm) {
        if (values == null) {
            throw new IllegalStateException("parameter version " + version + " is a handle to the driver's model, not"
                    + " values; it cannot be loaded outside the driver's JVM");
        }
        int offset = 0;
        for (String name : names) {
            NDArray a = parameter(lm, name).getArray();
            int n = Math.toIntExact(a.size());
            if (offset + n > values.length) {
                throw new IllegalArgumentException("snapshot of " + values.length + " values is too short for " + name);
            }
            a.set(FloatBuffer.wrap(values, offset, n).slice());
            offset += n;
        }
        if (offset != values.length) {
            throw new IllegalArgumentException("snapshot of " + values.length + " values for parameters of "
                    + offset + " values");
        }
    }
}
