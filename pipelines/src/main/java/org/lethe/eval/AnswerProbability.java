package org.lethe.eval;

/** TOFU's answer probabilities from mean per-token NLLs: plain, and normalized against perturbed answers. */
public final class AnswerProbability {

    private AnswerProbability() {}

    /** exp(-meanNll): the geometric-mean token probability (TOFU's "Prob." on retain and forget sets). */
    public static double fromMeanNll(double meanNll) {
        Args.finite(meanNll, "meanNll");
        return Math.exp(-meanNll);
    }

    /**
     * p(a) / (p(a) + sum_j p(perturbed_j)) with p = exp(-meanNll), length-normalized as TOFU's
     * aggregate_stat.py does on the real-author and world-fact sets (open-unlearning's
     * probability_w_options adds 1e-10 to the denominator; left out here).
     */
    public static double normalized(double answerMeanNll, double[] perturbedMeanNlls) {
        double p = fromMeanNll(answerMeanNll);
        Args.finite(perturbedMeanNlls, "perturbedMeanNlls");
        // numpy sums [p, q_1, ..., q_k] left to right for these few terms
        double all = p;
        for (double q : perturbedMeanNlls) {
            all += Math.exp(-q);
        }
        return p / all;
    }
}
