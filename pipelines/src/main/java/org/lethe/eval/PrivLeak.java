package org.lethe.eval;

import java.util.Arrays;

/**
 * MUSE's privacy leakage: AUC' of a membership-inference score separating forget from holdout
 * samples, and PrivLeak, its relative difference to a retrained model's AUC' in percent
 * (open-unlearning's {@code privleak}, which works on 1 - roc_auc_score(forget = 0, holdout = 1)).
 */
public final class PrivLeak {

    /** The AUC' of a model that never saw the forget set, used when no retain model is at hand. */
    public static final double DEFAULT_RETAIN_AUC = 0.5;

    private PrivLeak() {}

    /**
     * AUC' = P(a holdout sample scores more member-like than a forget sample), ties counted 1/2,
     * for scores where higher means LESS likely a member (see {@link MembershipScores}). Near 0
     * for a model that memorized the forget set, near 0.5 for one that never saw it.
     */
    public static double aucPrime(double[] forgetScores, double[] holdoutScores) {
        Args.notNaN(forgetScores, "forgetScores");
        Args.notNaN(holdoutScores, "holdoutScores");
        int nf = forgetScores.length;
        int nh = holdoutScores.length;
        // Mann-Whitney: the mid-rank sum of the forget scores in the pooled ascending order counts
        // the pairs with holdout < forget, plus 1/2 per tie, plus nf (nf + 1) / 2
        double[] pooled = new double[nf + nh];
        System.arraycopy(forgetScores, 0, pooled, 0, nf);
        System.arraycopy(holdoutScores, 0, pooled, nf, nh);
        Integer[] order = new Integer[pooled.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        // Numeric order (-0.0 == 0.0), ties grouped
        Arrays.sort(order, (x, y) -> pooled[x] < pooled[y] ? -1 : (pooled[x] > pooled[y] ? 1 : 0));
        double forgetRankSum = 0.0;
        int i = 0;
        while (i < order.length) {
            int j = i;
            while (j + 1 < order.length && pooled[order[j + 1]] == pooled[order[i]]) {
                j++;
            }
            // Ranks i+1 .. j+1 share their mean
            double midRank = (i + j + 2) / 2.0;
            for (int t = i; t <= j; t++) {
                if (order[t] < nf) {
                    forgetRankSum += midRank;
                }
            }
            i = j + 1;
        }
        double pairs = forgetRankSum - nf * (nf + 1.0) / 2;
        return pairs / ((double) nf * nh);
    }

    /**
     * PrivLeak = (AUC'_model - AUC'_retain) / AUC'_retain * 100: 0 matches a retrained model,
     * negative means the forget set is still recognizable (under-unlearning), positive means it
     * now looks less member-like than unseen data (over-unlearning).
     */
    public static double privLeak(double modelAucPrime, double retainAucPrime) {
        checkAuc(modelAucPrime, "modelAucPrime");
        checkAuc(retainAucPrime, "retainAucPrime");
        if (retainAucPrime == 0) {
            throw new IllegalArgumentException("retainAucPrime must be > 0");
        }
        return (modelAucPrime - retainAucPrime) / retainAucPrime * 100;
    }

    /** PrivLeak against the ideal retain AUC' of {@value #DEFAULT_RETAIN_AUC}. */
    public static double privLeak(double modelAucPrime) {
        return privLeak(modelAucPrime, DEFAULT_RETAIN_AUC);
    }

    private static void checkAuc(double auc, String name) {
        if (!(auc >= 0 && auc <= 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1], got " + auc);
        }
    }
}
