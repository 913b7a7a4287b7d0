package org.lethe.eval;

/**
 * A 64-bit linear congruential generator (Knuth's MMIX constants) whose uniforms are easy to
 * regenerate in Python for reference values:
 * {@code s = (s * 6364136223846793005 + 1442695040888963407) % 2**64; u = (s >> 11) * 2.0**-53}.
 */
final class Lcg {

    private long state;

    Lcg(long seed) {
        this.state = seed;
    }

    double next() {
        state = state * 6364136223846793005L + 1442695040888963407L;
        return (state >>> 11) * 0x1.0p-53;
    }

    /** n uniforms on [shift, 1 + shift). */
    double[] uniforms(int n, double shift) {
        double[] u = new double[n];
        for (int i = 0; i < n; i++) {
            u[i] = next() + shift;
        }
        return u;
    }
}
