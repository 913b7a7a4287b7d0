package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

import java.util.Random;

/**
 * rmu: squared distance of the policy's hidden states at the forget answer tokens (labels != -100,
 * no shift) to c * u, u a seeded unit vector of U[0,1) entries; counted per token x hidden unit.
 */
public final class Rmu implements LossTerm {

    private final double coeff;
    private final long seed;

    public Rmu(double coeff, long seed) {
        this.coeff = coeff;
        this.seed = seed;
    }

    @Override
    public String name() {
        return "rmu";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.LABEL_TOKENS_TIMES_HIDDEN;
    }

    @Override
    public boolean needsHiddenLayer() {
        return true;
    }

    /** The unit control vector for a hidden size: same seed, same vector. */
    public static double[] direction(long seed, int hidden) {
        Random random = new Random(seed);
        double[] u = new double[hidden];
        double norm = 0;
        for (int i = 0; i < hidden; i++) {
            u[i] = random.nextDouble();
            norm += u[i] * u[i];
        }
        norm = Math.sqrt(norm);
        for (int i = 0; i < hidden; i++) {
            u[i] /= norm;
        }
        return u;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        NDArray h = b.requireHidden(name());
        int hidden = (int) h.getShape().get(2);
        double[] u = direction(seed, hidden);
        float[] target = new float[hidden];
        for (int i = 0; i < hidden; i++) {
            target[i] = (float) (coeff * u[i]);
        }
        // duplicate(): a torch-owned copy, not a view of the Java array's buffer.
        NDArray control = h.getManager().create(target, new Shape(1, 1, hidden)).duplicate()
                .toType(h.getDataType(), false);
        return LossMath.maskedSquaredError(h, control, b.labels());
    }
}
