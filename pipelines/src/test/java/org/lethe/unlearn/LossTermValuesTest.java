package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every loss term on a 2 x 4 x 3 batch with explicit logits, against plain double arithmetic; row 1
 * is right-padded and its padding logits are huge, so a masking mistake changes the value.
 */
class LossTermValuesTest {

    private static final double TOL = 2e-5;

    // Forget (or retain) batch: row 0 answer targets at t=1 (token 2) and t=2 (token 1);
    // row 1 answer targets at t=0 (token 1) and t=1 (token 0), its last column is padding.
    static final double[][][] LOGITS = {
        {{0.5, -1.0, 2.0}, {1.0, 0.2, -0.3}, {-0.7, 1.5, 0.1}, {2.0, 0.0, -1.0}},
        {{0.3, 0.9, -0.4}, {-1.2, 0.4, 0.8}, {0.0, 2.2, -0.5}, {50.0, -50.0, 9.0}}};
    static final double[][][] REF = {
        {{0.1, 0.4, 1.0}, {0.6, -0.2, 0.3}, {0.2, 0.8, -0.6}, {1.0, 1.0, 1.0}},
        {{-0.5, 1.3, 0.2}, {0.7, 0.1, -0.9}, {0.4, 0.4, 0.4}, {-40.0, 30.0, 0.0}}};
    static final long[][] LABELS = {{-100, -100, 2, 1}, {-100, 1, 0, -100}};
    static final long[][] MASK = {{1, 1, 1, 1}, {1, 1, 1, 0}};

    // Alternative (refusal) batch: row 0 targets at t=0 (0), t=1 (0), t=2 (2); row 1 at t=1 (2).
    static final double[][][] ALT = {
        {{1.1, 0.0, -0.2}, {0.3, 0.3, 0.9}, {-0.4, 0.2, 1.6}, {0.0, 0.0, 0.0}},
        {{0.8, -0.8, 0.0}, {0.5, 1.0, 1.5}, {1.0, 2.0, 3.0}, {-30.0, 60.0, 2.0}}};
    static final double[][][] ALT_REF = {
        {{0.0, 0.5, 0.5}, {1.2, -0.4, 0.0}, {0.3, 0.3, 0.1}, {9.0, 9.0, 9.0}},
        {{0.2, 0.2, -1.0}, {-0.3, 0.6, 0.9}, {0.0, 0.0, 0.0}, {70.0, 0.0, -70.0}}};
    static final long[][] ALT_LABELS = {{-100, 0, 0, 2}, {-100, -100, 2, -100}};
    static final long[][] ALT_MASK = {{1, 1, 1, 1}, {1, 1, 1, 0}};

    // Hidden states (B, T, H = 3); answer tokens (labels != -100, no shift): (0,2), (0,3), (1,1), (1,2).
    static final double[][][] HIDDEN = {
        {{0.2, -0.1, 0.4}, {1.0, 0.5, -0.5}, {0.3, 0.9, -0.2}, {-0.6, 0.1, 0.7}},
        {{0.0, 0.0, 0.0}, {0.4, 0.4, 0.1}, {-0.3, 1.2, 0.5}, {99.0, -99.0, 99.0}}};
    static final double[][][] REF_HIDDEN = {
        {{0.1, 0.1, 0.1}, {0.9, 0.6, -0.4}, {0.5, 0.7, 0.0}, {-0.6, -0.2, 0.3}},
        {{1.0, 1.0, 1.0}, {0.1, 0.4, 0.3}, {-0.1, 1.0, 0.2}, {-99.0, 99.0, -99.0}}};

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager("PyTorch");
    }

    @AfterEach
    void close() {
        manager.close();
    }

    // ---------- plain-Java helpers ----------

    static double[] logSoftmax(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            max = Math.max(max, v);
        }
        double s = 0;
        for (double v : z) {
            s += Math.exp(v - max);
        }
        double lse = max + Math.log(s);
        double[] out = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            out[i] = z[i] - lse;
        }
        return out;
    }

    static double[] softmax(double[] z) {
        double[] l = logSoftmax(z);
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            p[i] = Math.exp(l[i]);
        }
        return p;
    }

    /** Answer positions as {row, t, target}: position t predicts labels[row][t + 1]. */
    static List<int[]> targets(long[][] labels) {
        List<int[]> out = new ArrayList<>();
        for (int b = 0; b < labels.length; b++) {
            for (int t = 0; t + 1 < labels[b].length; t++) {
                if (labels[b][t + 1] != -100) {
                    out.add(new int[] {b, t, (int) labels[b][t + 1]});
                }
            }
        }
        return out;
    }

    static double logp(double[][][] logits, int[] pos) {
        return logSoftmax(logits[pos[0]][pos[1]])[pos[2]];
    }

    static double[] seqLogp(double[][][] logits, long[][] labels) {
        double[] s = new double[labels.length];
        for (int[] pos : targets(labels)) {
            s[pos[0]] += logp(logits, pos);
        }
        return s;
    }

    static double negLogSigmoid(double x) {
        return Math.log1p(Math.exp(-x));
    }

    // ---------- NDArray construction ----------

    NDArray arr(double[][][] x) {
        int b = x.length;
        int t = x[0].length;
        int v = x[0][0].length;
        float[] flat = new float[b * t * v];
        int i = 0;
        for (double[][] r : x) {
            for (double[] c : r) {
                for (double e : c) {
                    flat[i++] = (float) e;
                }
            }
        }
        return manager.create(flat, new Shape(b, t, v));
    }

    NDArray arr(long[][] x) {
        long[] flat = new long[x.length * x[0].length];
        int i = 0;
        for (long[] r : x) {
            for (long e : r) {
                flat[i++] = e;
            }
        }
        return manager.create(flat, new Shape(x.length, x[0].length));
    }

    BatchView batch() {
        return BatchView.of(arr(LOGITS), arr(LABELS), arr(MASK)).withRefLogits(arr(REF))
                .withHidden(arr(HIDDEN), arr(REF_HIDDEN));
    }

    BatchView alternative() {
        return BatchView.of(arr(ALT), arr(ALT_LABELS), arr(ALT_MASK)).withRefLogits(arr(ALT_REF));
    }

    static LossTerm forget(String name, Map<String, Double> params) {
        return LossTerms.forget(name, params);
    }

    static LossTerm retain(String name, Map<String, Double> params) {
        return LossTerms.retain(name, params);
    }

    TermValue value(LossTerm term) {
        return term.compute(new TermInputs(batch(), alternative()));
    }

    /** The normalized loss the objective takes from a value: sum / count, a zero count leaving the (zero) sum. */
    static double mean(TermValue v) {
        double sum = v.sum().getFloat();
        return v.count() == 0 ? sum : sum / v.count();
    }

    /** The term's value on the batch is {@code sum} over {@code count}, and {@code basis} is what it counts. */
    void check(double sum, long count, CountBasis basis, LossTerm term) {
        TermValue v = value(term);
        assertEquals(sum, v.sum().getFloat(), TOL * Math.max(1, Math.abs(sum)), "sum");
        assertEquals(count, v.count(), "count");
        assertEquals(basis, term.countBasis(), "count basis");
        assertEquals(sum / count, mean(v), TOL * Math.max(1, Math.abs(sum / count)), "mean");
    }

    // ---------- forget terms ----------

    @Test
    void gaIsTheSummedAnswerLogProbOverAnswerTokens() {
        // Four answer tokens: (0,1)->2, (0,2)->1, (1,0)->1, (1,1)->0.
        double s = logSoftmax(LOGITS[0][1])[2] + logSoftmax(LOGITS[0][2])[1]
                + logSoftmax(LOGITS[1][0])[1] + logSoftmax(LOGITS[1][1])[0];
        check(s, 4, CountBasis.ANSWER_TARGETS, forget("ga", Map.of()));
    }

    @Test
    void npoPerSequence() {
        double beta = 0.1;
        double[] theta = seqLogp(LOGITS, LABELS);
        double[] ref = seqLogp(REF, LABELS);
        double s = 0;
        for (int b = 0; b < 2; b++) {
            double nllTheta = -theta[b];
            double nllRef = -ref[b];
            s += -(2 / beta) * Math.log(1 / (1 + Math.exp(-beta * (nllTheta - nllRef))));
        }
        check(s, 2, CountBasis.ROWS, forget("npo", Map.of()));
        // A larger beta is honoured.
        double s2 = 0;
        for (int b = 0; b < 2; b++) {
            s2 += (2 / 2.0) * negLogSigmoid(2.0 * (ref[b] - theta[b]));
        }
        check(s2, 2, CountBasis.ROWS, forget("npo", Map.of("beta", 2.0)));
    }

    @Test
    void simnpoUsesLengthNormalizedNll() {
        double beta = 4.5;
        double[] theta = seqLogp(LOGITS, LABELS);
        // Both rows have 2 answer tokens.
        double s = 0;
        for (int b = 0; b < 2; b++) {
            double x = -theta[b] / 2 - 0.0;
            s += -(2 / beta) * Math.log(1 / (1 + Math.exp(-beta * x)));
        }
        check(s, 2, CountBasis.ROWS, forget("simnpo", Map.of()));
        double s2 = 0;
        for (int b = 0; b < 2; b++) {
            s2 += (2 / beta) * negLogSigmoid(beta * (-theta[b] / 2 - 0.7));
        }
        check(s2, 2, CountBasis.ROWS, forget("simnpo", Map.of("delta", 0.7)));
    }

    @Test
    void dpoPrefersTheRefusalRelativeToTheReference() {
        double beta = 0.1;
        double[] a = seqLogp(LOGITS, LABELS);
        double[] aRef = seqLogp(REF, LABELS);
        double[] idk = seqLogp(ALT, ALT_LABELS);
        double[] idkRef = seqLogp(ALT_REF, ALT_LABELS);
        double s = 0;
        for (int b = 0; b < 2; b++) {
            double margin = (idk[b] - a[b]) - (idkRef[b] - aRef[b]);
            s += -(2 / beta) * Math.log(1 / (1 + Math.exp(-beta * margin)));
        }
        check(s, 2, CountBasis.ROWS, forget("dpo", Map.of()));
    }

    @Test
    void idkIsCrossEntropyOnTheRefusalAnswerTokens() {
        // Refusal targets: (0,0)->0, (0,1)->0, (0,2)->2, (1,1)->2.
        double s = -(logSoftmax(ALT[0][0])[0] + logSoftmax(ALT[0][1])[0] + logSoftmax(ALT[0][2])[2]
                + logSoftmax(ALT[1][1])[2]);
        check(s, 4, CountBasis.ANSWER_TARGETS, forget("idk", Map.of()));
    }

    static double klUniform(double[] z) {
        double[] l = logSoftmax(z);
        double mean = (l[0] + l[1] + l[2]) / 3;
        return -Math.log(3) - mean;
    }

    @Test
    void meOnAnswerPositionsAndOnAllPositions() {
        double answer = klUniform(LOGITS[0][1]) + klUniform(LOGITS[0][2]) + klUniform(LOGITS[1][0])
                + klUniform(LOGITS[1][1]);
        check(answer, 4, CountBasis.ANSWER_TARGETS, forget("me", Map.of()));
        // All non-padding next tokens: row 0 t=0,1,2; row 1 t=0,1 (t=2 predicts padding).
        double all = answer + klUniform(LOGITS[0][0]);
        check(all, 5, CountBasis.PREDICTING_POSITIONS, forget("me", Map.of("all_positions", 1.0)));
    }

    @Test
    void rmuPullsAnswerHiddenStatesToTheScaledSeededDirection() {
        double[] u = Rmu.direction(0, 3);
        double norm = Math.sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
        assertEquals(1.0, norm, 1e-12);
        Random r = new Random(0);
        double first = r.nextDouble();
        double second = r.nextDouble();
        assertEquals(first / second, u[0] / u[1], 1e-12, "u is the seeded U[0,1) draw, normalized");
        double s = 0;
        int[][] tokens = {{0, 2}, {0, 3}, {1, 1}, {1, 2}};
        for (int[] tok : tokens) {
            for (int k = 0; k < 3; k++) {
                double d = HIDDEN[tok[0]][tok[1]][k] - 2 * u[k];
                s += d * d;
            }
        }
        check(s, 4 * 3, CountBasis.LABEL_TOKENS_TIMES_HIDDEN, forget("rmu", Map.of()));
    }

    @Test
    void undialTargetsTheReferenceWithTheTrueTokenPushedDown() {
        double beta = 10;
        double s = 0;
        for (int[] pos : targets(LABELS)) {
            double[] z = REF[pos[0]][pos[1]].clone();
            z[pos[2]] -= beta;
            double[] q = softmax(z);
            double[] l = logSoftmax(LOGITS[pos[0]][pos[1]]);
            s += -(q[0] * l[0] + q[1] * l[1] + q[2] * l[2]);
        }
        check(s, 4, CountBasis.ANSWER_TARGETS, forget("undial", Map.of()));
    }

    @Test
    void wgaWeightsEachTokenByItsProbability() {
        double s = 0;
        for (int[] pos : targets(LABELS)) {
            double ce = -logp(LOGITS, pos);
            double p = Math.exp(-ce);
            s += -(p * ce);
        }
        check(s, 4, CountBasis.ANSWER_TARGETS, forget("wga", Map.of()));
        double s2 = 0;
        for (int[] pos : targets(LABELS)) {
            double ce = -logp(LOGITS, pos);
            s2 += -(Math.pow(Math.exp(-ce), 3) * ce);
        }
        check(s2, 4, CountBasis.ANSWER_TARGETS, forget("wga", Map.of("beta", 3.0)));
    }

    @Test
    void satimpWeightsByPToTheFiveTimesOneMinusP() {
        double s = 0;
        for (int[] pos : targets(LABELS)) {
            double ce = -logp(LOGITS, pos);
            double p = Math.exp(-ce);
            s += -(Math.pow(p, 5) * (1 - p) * ce);
        }
        check(s, 4, CountBasis.ANSWER_TARGETS, forget("satimp", Map.of()));
    }

    @Test
    void ceuSkipsTheFirstAnswerTokenAndExcludesTheTrueToken() {
        // Kept: (0,2)->1 and (1,1)->0; (0,1) and (1,0) are the first answer tokens of their rows.
        int[][] kept = {{0, 2, 1}, {1, 1, 0}};
        double s = 0;
        for (int[] pos : kept) {
            double[] z = LOGITS[pos[0]][pos[1]];
            // Target: softmax over the two other tokens only.
            double[] q = new double[3];
            double denom = 0;
            for (int k = 0; k < 3; k++) {
                if (k != pos[2]) {
                    denom += Math.exp(z[k]);
                }
            }
            for (int k = 0; k < 3; k++) {
                q[k] = k == pos[2] ? 0 : Math.exp(z[k]) / denom;
            }
            double[] l = logSoftmax(z);
            s += -(q[0] * l[0] + q[1] * l[1] + q[2] * l[2]);
        }
        check(s, 2, CountBasis.ANSWER_TARGETS_AFTER_FIRST, forget("ce_u", Map.of()));
    }

    // ---------- retain terms ----------

    @Test
    void noneIsZero() {
        TermValue v = value(retain("none", Map.of()));
        assertEquals(0.0, v.sum().getFloat());
        assertEquals(0, v.count());
        assertEquals(0.0, mean(v));
    }

    @Test
    void nllIsCrossEntropyOnRetainAnswerTokens() {
        double s = 0;
        for (int[] pos : targets(LABELS)) {
            s += -logp(LOGITS, pos);
        }
        check(s, 4, CountBasis.ANSWER_TARGETS, retain("nll", Map.of()));
    }

    static double klRefTheta(double[] ref, double[] theta) {
        double[] lr = logSoftmax(ref);
        double[] lt = logSoftmax(theta);
        double kl = 0;
        for (int k = 0; k < 3; k++) {
            kl += Math.exp(lr[k]) * (lr[k] - lt[k]);
        }
        return kl;
    }

    @Test
    void klFromReferenceToPolicyOnAnswerAndAllPositions() {
        double answer = klRefTheta(REF[0][1], LOGITS[0][1]) + klRefTheta(REF[0][2], LOGITS[0][2])
                + klRefTheta(REF[1][0], LOGITS[1][0]) + klRefTheta(REF[1][1], LOGITS[1][1]);
        check(answer, 4, CountBasis.ANSWER_TARGETS, retain("kl", Map.of()));
        double all = answer + klRefTheta(REF[0][0], LOGITS[0][0]);
        check(all, 5, CountBasis.PREDICTING_POSITIONS, retain("kl", Map.of("all_positions", 1.0)));
    }

    @Test
    void apPrefersTheAnswerOverTheRefusal() {
        double beta = 0.1;
        double[] a = seqLogp(LOGITS, LABELS);
        double[] idk = seqLogp(ALT, ALT_LABELS);
        double s = 0;
        for (int b = 0; b < 2; b++) {
            double x = (-idk[b]) - (-a[b]);
            s += -(1 / beta) * Math.log(1 / (1 + Math.exp(-beta * x)));
        }
        check(s, 2, CountBasis.ROWS, retain("ap", Map.of()));
    }

    @Test
    void embedDiffIsSquaredDistanceToReferenceHiddenStatesAtAnswerTokens() {
        double s = 0;
        int[][] tokens = {{0, 2}, {0, 3}, {1, 1}, {1, 2}};
        for (int[] tok : tokens) {
            for (int k = 0; k < 3; k++) {
                double d = HIDDEN[tok[0]][tok[1]][k] - REF_HIDDEN[tok[0]][tok[1]][k];
                s += d * d;
            }
        }
        check(s, 12, CountBasis.LABEL_TOKENS_TIMES_HIDDEN, retain("embed_diff", Map.of()));
    }

    @Test
    void mismatchIsCrossEntropyOnTheAlternativeBatch() {
        double s = 0;
        for (int[] pos : targets(ALT_LABELS)) {
            s += -logp(ALT, pos);
        }
        check(s, 4, CountBasis.ANSWER_TARGETS, retain("mismatch", Map.of()));
    }

    // ---------- composition ----------

    static double[][][] row(double[][][] x, int b) {
        return new double[][][] {x[b]};
    }

    static long[][] row(long[][] x, int b) {
        return new long[][] {x[b]};
    }

    BatchView rowBatch(int b) {
        return BatchView.of(arr(row(LOGITS, b)), arr(row(LABELS, b)), arr(row(MASK, b)))
                .withRefLogits(arr(row(REF, b))).withHidden(arr(row(HIDDEN, b)), arr(row(REF_HIDDEN, b)));
    }

    BatchView rowAlternative(int b) {
        return BatchView.of(arr(row(ALT, b)), arr(row(ALT_LABELS, b)), arr(row(ALT_MASK, b)))
                .withRefLogits(arr(row(ALT_REF, b)));
    }

    @Test
    void splittingTheBatchIntoPartitionsAndAddingSumsAndCountsGivesTheSameLoss() {
        List<LossTerm> terms = new ArrayList<>();
        LossTerms.forgetNames().forEach(n -> terms.add(LossTerms.forget(n, Map.of())));
        LossTerms.retainNames().stream().filter(n -> !n.equals("none"))
                .forEach(n -> terms.add(LossTerms.retain(n, Map.of())));
        for (LossTerm term : terms) {
            TermValue whole = term.compute(new TermInputs(batch(), alternative()));
            TermValue a = term.compute(new TermInputs(rowBatch(0), rowAlternative(0)));
            TermValue b = term.compute(new TermInputs(rowBatch(1), rowAlternative(1)));
            double sum = a.sum().getFloat() + b.sum().getFloat();
            long count = a.count() + b.count();
            assertEquals(whole.count(), count, term.name());
            assertEquals(whole.sum().getFloat(), sum, TOL * Math.max(1, Math.abs(sum)), term.name());
        }
    }

    @Test
    void objectiveWeighsEachTermsMean() {
        LossTerm ga = LossTerms.forget("ga", Map.of());
        LossTerm nll = LossTerms.retain("nll", Map.of());
        LossTerm kl = LossTerms.retain("kl", Map.of());
        TermInputs in = new TermInputs(batch(), alternative());
        TermValue f = ga.compute(in);
        TermValue r1 = nll.compute(in);
        TermValue r2 = kl.compute(in);
        LossObjective objective = new LossObjective(List.of(LossObjective.Part.of(true, "ga", 0.5, Map.of()),
                LossObjective.Part.of(false, "nll", 2.0, Map.of()),
                LossObjective.Part.of(false, "kl", 3.0, Map.of())), 0,
                new long[] {f.count(), r1.count(), r2.count()});
        // The per-term values a step reports are the terms' means (sum over the step's count).
        double[] means = {mean(f), mean(r1), mean(r2)};
        double want = 0.5 * f.sum().getFloat() / 4 + 2.0 * r1.sum().getFloat() / 4 + 3.0 * r2.sum().getFloat() / 4;
        assertEquals(want, objective.total(means), 1e-5);
        assertEquals(f.sum().getFloat() / 4, objective.forgetLoss(means), 1e-5);
        assertEquals(2.0 * r1.sum().getFloat() / 4 + 3.0 * r2.sum().getFloat() / 4, objective.retainLoss(means), 1e-5);
    }
}
