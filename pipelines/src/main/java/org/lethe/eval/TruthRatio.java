package org.lethe.eval;

/**
 * TOFU's truth ratio R = P(perturbed) / P(paraphrased) with length-normalized probabilities, and
 * its two aggregates: closeness to 1 on the forget set, preference for the true answer elsewhere.
 */
public final class TruthRatio {

    private TruthRatio() {}

    /**
     * R = exp(meanNll(paraphrased) - mean_j meanNll(perturbed_j)): the geometric-mean token
     * probability of the perturbed (wrong) answers over that of the paraphrased answer.
     * open-unlearning adds 1e-10 to the denominator probability; that is left out here.
     *
     * @param paraphrasedMeanNll mean per-token NLL of the paraphrased answer
     * @param perturbedMeanNlls mean per-token NLL of each perturbed answer
     */
    public static double of(double paraphrasedMeanNll, double[] perturbedMeanNlls) {
        Args.finite(paraphrasedMeanNll, "paraphrasedMeanNll");
        double perturbed = Aggregates.mean(checked(perturbedMeanNlls));
        return Math.exp(paraphrasedMeanNll - perturbed);
    }

    private static double[] checked(double[] perturbedMeanNlls) {
        Args.finite(perturbedMeanNlls, "perturbedMeanNlls");
        return perturbedMeanNlls;
    }

    /**
     * The forget-set aggregate mean(min(R, 1/R)): 1 when the model cannot tell the paraphrased
     * answer from the perturbed ones, as a model that never saw the forget set.
     */
    public static double forgetAggregate(double[] ratios) {
        check(ratios);
        double sum = 0.0;
        for (double r : ratios) {
            sum += Math.min(r, 1 / r);
        }
        return sum / ratios.length;
    }

    /** The aggregate on retain, real-author and world-fact sets: mean(max(0, 1 - R)), higher is better. */
    public static double retainAggregate(double[] ratios) {
        check(ratios);
        double sum = 0.0;
        for (double r : ratios) {
            sum += Math.max(0, 1 - r);
        }
        return sum / ratios.length;
    }

    private static void check(double[] ratios) {
        Args.notNaN(ratios, "ratios");
        for (int i = 0; i < ratios.length; i++) {
            if (ratios[i] < 0) {
                throw new IllegalArgumentException("ratios[" + i + "] must be >= 0, got " + ratios[i]);
            }
        }
    }
}
