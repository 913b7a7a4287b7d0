package org.lethe.model;

import java.util.List;

/** Token ids of several sequences packed into one rectangle with a 1/0 attention mask. */
public record Batch(long[] ids, long[] mask, int rows, int columns) {

    /** Sequences left-aligned, padding after them (scoring, training). */
    public static Batch rightPadded(List<long[]> sequences, int columns, long padId) {
        int rows = sequences.size();
        long[] ids = new long[rows * columns];
        long[] mask = new long[rows * columns];
        java.util.Arrays.fill(ids, padId);
        for (int r = 0; r < rows; r++) {
            long[] s = sequences.get(r);
            if (s.length > columns) {
                throw new IllegalArgumentException("sequence " + r + " has " + s.length
                        + " tokens, more than the batch width " + columns);
            }
            System.arraycopy(s, 0, ids, r * columns, s.length);
            java.util.Arrays.fill(mask, r * columns, r * columns + s.length, 1L);
        }
        return new Batch(ids, mask, rows, columns);
    }

    /** Sequences right-aligned, padding before them (batched generation). */
    public static Batch leftPadded(List<long[]> sequences, int columns, long padId) {
        int rows = sequences.size();
        long[] ids = new long[rows * columns];
        long[] mask = new long[rows * columns];
        java.util.Arrays.fill(ids, padId);
        for (int r = 0; r < rows; r++) {
            long[] s = sequences.get(r);
            if (s.length > columns) {
                throw new IllegalArgumentException("sequence " + r + " has " + s.length
                        + " tokens, more than the batch width " + columns);
            }
            int start = r * columns + columns - s.length;
            System.arraycopy(s, 0, ids, start, s.length);
            java.util.Arrays.fill(mask, start, start + s.length, 1L);
        }
        return new Batch(ids, mask, rows, columns);
    }
}
