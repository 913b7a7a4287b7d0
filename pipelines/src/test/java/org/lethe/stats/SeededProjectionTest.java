package org.lethe.stats;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.lethe.distributed.DataParallelTrainer;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTrainer;
import org.lethe.model.ModelSettings;
import org.lethe.testing.Fixtures;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The block-generated projection: what it computes, and how well it keeps inner products. */
class SeededProjectionTest {

    @Test
    void blockwiseProjectionEqualsTheDenseMatrixItDefines() {
        int p = 1000;
        int k = 16;
        SeededProjection proj = new SeededProjection(5, k, 400); // blocks of 400, 400, 200
        SplittableRandom rng = new SplittableRandom(1);
        float[][] x = new float[3][p];
        for (float[] row : x) {
            for (int i = 0; i < p; i++) {
                row[i] = (float) rng.nextGaussian();
            }
        }
        float[][] y;
        try (NDManager m = NDManager.newBaseManager()) {
            y = proj.project(m, x);
            // Projecting rows one at a time or together gives the same vectors (to float rounding).
            float[] alone = proj.project(m, new float[][] {x[1]})[0];
            for (int c = 0; c < k; c++) {
                assertEquals(y[1][c], alone[c], 1e-4);
            }
        }
        double plus = 0;
        for (int r = 0; r < k; r++) {
            for (int j = 0; j < p; j++) {
                float e = proj.entry(r, j);
                assertEquals(1 / Math.sqrt(k), Math.abs(e), 1e-7);
                plus += e > 0 ? 1 : 0;
            }
        }
        assertEquals(0.5, plus / (k * p), 0.02, "signs are balanced");
        for (int n = 0; n < 3; n++) {
            for (int r = 0; r < k; r++) {
                double dense = 0;
                for (int j = 0; j < p; j++) {
                    dense += (double) proj.entry(r, j) * x[n][j];
                }
                assertEquals(dense, y[n][r], 1e-4 * Math.max(1, Math.abs(dense)));
            }
        }
        // The last, shorter block is a prefix of the full block; other seeds give other matrices.
        float[] full = proj.blockMatrix(2, 400);
        assertArrayEquals(Arrays.copyOf(full, 200 * k), proj.blockMatrix(2, 200));
        assertFalse(Arrays.equals(full, new SeededProjection(6, k, 400).blockMatrix(2, 400)));
        assertFalse(Arrays.equals(full, proj.blockMatrix(1, 400)));
    }

    /** Short stories for real per-sample gradients of the pretrained TinyStories model. */
    private static final String[] STORIES = {
        "Once upon a time, there was a little girl named Lily. She loved to play in the park.",
        "Tom had a red ball. He threw it to his dog, and the dog ran very fast.",
        "The sun was hot. Mia went to the lake with her mom to swim and eat ice cream.",
        "One day, a big bird flew over the tree. The cat looked up and was scared.",
        "Ben wanted to build a tower of blocks. It fell down, but he tried again and again.",
        "Sara found a shiny stone in the garden. She showed it to her brother, who smiled.",
        "The little boat sailed on the sea. A kind fish helped it find the way home.",
        "Anna and her friend baked a cake. They put many berries on top and shared it.",
        "A small dog was lost in the rain. A nice man gave him food and a warm bed.",
        "Tim liked to draw. He drew a big green frog and gave the picture to his mom.",
        "The bunny hopped in the snow. It was cold, so it went back to its hole to sleep.",
        "Max saw a spider on the wall. He was not afraid. He said hello to the spider.",
        "The old owl told the children a story about the moon and the stars at night.",
        "Lucy lost her teddy bear at school. Her teacher helped her look, and they found it.",
        "A bee flew to a flower. It was happy because the flower had lots of sweet honey.",
        "Jack and Jill went up the hill to get water. They laughed all the way down.",
    };

    @Test
    void projectedInnerProductsOfRealGradientsAreAccurateAndImproveAsOneOverSqrtK() {
        int[] ks = {64, 128, 256, 512, 1024};
        double[] median = new double[ks.length];
        try (LanguageModel lm = LanguageModel.load(Fixtures.stories260k(), ModelSettings.defaults())) {
            List<long[]> ids = new ArrayList<>();
            List<long[]> labels = new ArrayList<>();
            for (String s : STORIES) {
                long[] e = lm.tokenizer().encode(s, true);
                ids.add(e);
                long[] l = e.clone();
                l[0] = LmTrainer.IGNORE_INDEX;
                labels.add(l);
            }
            List<String> names = DataParallelTrainer.select(lm, List.of());
            float[][] g = PerSampleGradients.compute(lm, names, ids, labels, 0.4).stream()
                    .map(PerSampleGradients.Sample::gradient).toArray(float[][]::new);
            int n = g.length;
            double[][] exact = new double[n][n];
            for (int a = 0; a < n; a++) {
                for (int b = 0; b < n; b++) {
                    exact[a][b] = dot(g[a], g[b]);
                }
            }
            StringBuilder table = new StringBuilder("| k | median rel. error | max | x sqrt(k) |\n|---|---|---|---|\n");
            for (int i = 0; i < ks.length; i++) {
                List<Double> errors = new ArrayList<>();
                for (long seed = 0; seed < 3; seed++) {
                    float[][] pg;
                    try (NDManager m = NDManager.newBaseManager()) {
                        pg = new SeededProjection(seed, ks[i], 4096).project(m, g);
                    }
                    for (int a = 0; a < n; a++) {
                        for (int b = a + 1; b < n; b++) {
                            errors.add(Math.abs(dot(pg[a], pg[b]) - exact[a][b])
                                    / Math.sqrt(exact[a][a] * exact[b][b]));
                        }
                    }
                }
                errors.sort(Double::compare);
                median[i] = errors.get(errors.size() / 2);
                table.append(String.format("| %d | %.4f | %.4f | %.3f |%n", ks[i], median[i],
                        errors.get(errors.size() - 1), median[i] * Math.sqrt(ks[i])));
            }
            System.err.println("stories260K, " + g[0].length + " parameters, " + n + " per-sample gradients, "
                    + (n * (n - 1) / 2) + " pairs x 3 seeds:\n" + table);
        }
        assertTrue(median[3] < 0.05, "k = 512: median " + median[3]);
        for (int i = 1; i < ks.length; i++) {
            assertTrue(median[i] < median[i - 1], "error falls with k: " + Arrays.toString(median));
        }
        // 1/sqrt(k): 16x the dimensions, 4x less error (within a factor of 1.5 either way).
        double ratio = median[0] / median[4];
        assertTrue(ratio > 4 / 1.5 && ratio < 4 * 1.5, "median(64) / median(1024) = " + ratio);
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }
}
