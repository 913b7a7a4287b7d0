package org.lethe.stats;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.io.Serializable;
import java.util.SplittableRandom;

/**
 * A seeded random projection of P-dimensional vectors to {@code dim} dimensions, {@code x -> R x / sqrt(dim)}
 * with Rademacher (+-1) entries, that is never materialized whole: the columns of R for
 * coordinates {@code [b * block, (b + 1) * block)} are generated from (seed, b) alone, one block at
 * a time, so every executor holds the same projection in {@code block x dim} floats of memory.
 * Column j of R depends only on (seed, j), not on P or on how vectors are batched.
 */
public final class SeededProjection implements Serializable {

    private static final long serialVersionUID = 1L;

    private final long seed;
    private final int dim;
    private final int block;

    /**
     * @param dim the projected dimension k
     * @param block coordinates per generated block (memory: block x dim floats)
     */
    public SeededProjection(long seed, int dim, int block) {
        if (dim <= 0 || block <= 0) {
            throw new IllegalArgumentException("projection dimension (" + dim + ") and block (" + block
                    + ") must be > 0");
        }
        this.seed = seed;
        this.dim = dim;
        this.block = block;
    }

    public int dim() {
        return dim;
    }

    /**
     * Block {@code b}'s first {@code columns} columns of R, as a (columns x dim) row-major array of
     * +-1: column j of the block is the generator's j-th group of {@code dim} signs, so a shorter
     * last block is a prefix of the full one.
     */
    float[] blockMatrix(long b, int columns) {
        SplittableRandom rng = new SplittableRandom(mix(seed, b));
        float[] out = new float[columns * dim];
        long bits = 0;
        int left = 0;
        for (int i = 0; i < out.length; i++) {
            if (left == 0) {
                bits = rng.nextLong();
                left = 64;
            }
            out[i] = (bits & 1) == 0 ? 1f : -1f;
            bits >>>= 1;
            left--;
        }
        return out;
    }

    /** R[row][coordinate] / sqrt(dim): one entry, for tests and for checking other implementations. */
    public float entry(int row, long coordinate) {
        long b = coordinate / block;
        int j = (int) (coordinate % block);
        return (float) (blockMatrix(b, j + 1)[j * dim + row] / Math.sqrt(dim));
    }

    /**
     * The projections of {@code vectors} (n rows of equal length P): an (n x dim) array, computed
     * block by block on {@code manager}'s device (float32 matrix products, summed over blocks in
     * block order, so the same rows give bitwise the same result).
     */
    public float[][] project(NDManager manager, float[][] vectors) {
        int n = vectors.length;
        if (n == 0) {
            return new float[0][];
        }
        int p = vectors[0].length;
        for (float[] v : vectors) {
            if (v.length != p) {
                throw new IllegalArgumentException("vectors of different lengths: " + p + " and " + v.length);
            }
        }
        try (NDManager m = manager.newSubManager()) {
            NDArray acc = m.zeros(new Shape(n, dim));
            for (long b = 0; (long) b * block < p; b++) {
                int from = Math.toIntExact(b * block);
                int columns = Math.min(block, p - from);
                float[] g = new float[n * columns];
                for (int r = 0; r < n; r++) {
                    System.arraycopy(vectors[r], from, g, r * columns, columns);
                }
                NDArray gb = m.create(g, new Shape(n, columns));
                NDArray rb = m.create(blockMatrix(b, columns), new Shape(columns, dim));
                NDArray next = acc.add(gb.matMul(rb));
                acc.close();
                gb.close();
                rb.close();
                acc = next;
            }
            float[] flat = acc.toFloatArray();
            float scale = (float) (1.0 / Math.sqrt(dim));
            float[][] out = new float[n][dim];
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < dim; c++) {
                    out[r][c] = flat[r * dim + c] * scale;
                }
            }
            return out;
        }
    }

    /**
     * A hashed 64-bit start for block {@code b}'s stream (murmur3's finalizer over seed and b), so
     * that streams of different blocks do not overlap in practice.
     */
    private static long mix(long seed, long b) {
        long z = seed * 0xBF58476D1CE4E5B9L + b * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }
}
