package org.lethe.model;

import java.util.Arrays;
import java.util.List;

/** Token ids of several sequences packed into one rectangle with a 1/0 attention mask. */
public record Batch(long[] ids, long[] mask, int rows, int columns) {

    /** Sequences left-aligned, padding after them (scoring, training). */
    public static Batch rightPadded(List<long[]> sequences, int columns, long padId) {
        return pack(sequences, columns, padId, false);
    }

    /** Sequences right-aligned, padding before them (batched generation). */
    public static Batch leftPadded(List<long[]> sequences, int columns, long padId) {
        return pack(sequences, columns, padId, true);
    }

    private static Batch pack(List<long[]> sequences, int columns, long padId, boolean padLeft) {
        int rows = sequences.size();
        long[] ids = new long[rows * columns];
        long[] mask = new long[rows * columns];
        Arrays.fill(ids, padId);
        for (int r = 0; r < rows; r++) {
            long[] s = sequences.get(r);
            if (s.length > columns) {
                throw new IllegalArgumentException("sequence " + r + " has " + s.length
                        + " tokens, more than the batch width " + columns);
            }
            int start = r * columns + (padLeft ? columns - s.length : 0);
            System.arraycopy(s, 0, ids, start, s.length);
            Arrays.fill(mask, start, start + s.length, 1L);
        }
        return new Batch(ids, mask, rows, columns);
    }
}
