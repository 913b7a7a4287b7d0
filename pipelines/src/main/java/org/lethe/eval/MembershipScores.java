package org.lethe.eval;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.Deflater;

/**
 * Per-sample membership-inference scores as open-unlearning computes them (LOSS, ZLib, Min-K%,
 * Min-K%++), all oriented so that a higher score means LESS likely a training member.
 */
public final class MembershipScores {

    /** open-unlearning's k for Min-K% and Min-K%++ in its TOFU and MUSE configs. */
    public static final double DEFAULT_K = 0.4;

    /** The floor open-unlearning puts under the vocabulary variance before its square root. */
    public static final double MIN_VARIANCE = 1e-6;

    private MembershipScores() {}

    /** The LOSS attack: the answer's mean per-token NLL. */
    public static double loss(double meanNll) {
        Args.finite(meanNll, "meanNll");
        return meanNll;
    }

    /** The ZLib attack: mean NLL over the zlib-compressed byte length of the text. */
    public static double zlib(double meanNll, String text) {
        Args.finite(meanNll, "meanNll");
        return meanNll / zlibLength(text);
    }

    /**
     * {@code len(zlib.compress(text.encode("utf-8")))}: zlib format (2-byte header, Adler-32
     * trailer) at Z_DEFAULT_COMPRESSION, which zlib maps to level 6; never 0 (an empty text is 8 bytes).
     */
    public static int zlibLength(String text) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION);
        try {
            deflater.setInput(text.getBytes(StandardCharsets.UTF_8));
            deflater.finish();
            byte[] buffer = new byte[4096];
            int length = 0;
            while (!deflater.finished()) {
                length += deflater.deflate(buffer);
            }
            return length;
        } finally {
            deflater.end();
        }
    }

    /**
     * Min-K% Prob: minus the mean of the lowest max(1, floor(n k)) token log-probabilities
     * ({@code int(len(lp) * k)} in open-unlearning, so 10 tokens at k = 0.4 use 4, 9 use 3).
     *
     * @param tokenLogProbs log p(y_t | y_<t) of each answer token
     * @param k the fraction of tokens, in (0, 1]
     */
    public static double minK(double[] tokenLogProbs, double k) {
        Args.finite(tokenLogProbs, "tokenLogProbs");
        return minusMeanOfLowest(tokenLogProbs.clone(), k);
    }

    /**
     * Min-K%++: Min-K% over the standardized scores (log p(y_t) - mu_t) / sigma_t, where mu_t and
     * sigma_t are the mean and standard deviation of log p under the model's own next-token
     * distribution at step t (see {@link #vocabularyMoments}). Computed in double precision, where
     * open-unlearning standardizes in float32.
     */
    public static double minKPlusPlus(double[] tokenLogProbs, double[] mu, double[] sigma, double k) {
        Args.finite(tokenLogProbs, "tokenLogProbs");
        Args.finite(mu, "mu");
        Args.finite(sigma, "sigma");
        Args.sameLength(tokenLogProbs.length, "tokenLogProbs", mu.length, "mu");
        Args.sameLength(tokenLogProbs.length, "tokenLogProbs", sigma.length, "sigma");
        double[] scores = new double[tokenLogProbs.length];
        for (int t = 0; t < scores.length; t++) {
            if (!(sigma[t] > 0)) {
                throw new IllegalArgumentException("sigma[" + t + "] must be > 0, got " + sigma[t]);
            }
            scores[t] = (tokenLogProbs[t] - mu[t]) / sigma[t];
        }
        return minusMeanOfLowest(scores, k);
    }

    /** Mean and standard deviation of log p under p at one position, for {@link #minKPlusPlus}. */
    public record Moments(double mu, double sigma) {}

    /**
     * mu = sum_v p_v log p_v and sigma = sqrt(max(sum_v p_v (log p_v)^2 - mu^2, {@value #MIN_VARIANCE}))
     * from one position's full vocabulary log-probabilities, as open-unlearning's min_k_plus_plus.
     */
    public static Moments vocabularyMoments(double[] vocabLogProbs) {
        Args.notNaN(vocabLogProbs, "vocabLogProbs");
        double mu = 0.0;
        double second = 0.0;
        for (double lp : vocabLogProbs) {
            if (lp > 0) {
                throw new IllegalArgumentException("vocabLogProbs must be log-probabilities (<= 0), got " + lp);
            }
            if (lp == Double.NEGATIVE_INFINITY) {
                // p log p -> 0 as p -> 0 (torch's 0 * -inf would give NaN)
                continue;
            }
            double p = Math.exp(lp);
            mu += p * lp;
            second += p * lp * lp;
        }
        double variance = Math.max(second - mu * mu, MIN_VARIANCE);
        return new Moments(mu, Math.sqrt(variance));
    }

    private static double minusMeanOfLowest(double[] values, double k) {
        if (!(k > 0 && k <= 1)) {
            throw new IllegalArgumentException("k must be in (0, 1], got " + k);
        }
        int count = Math.max(1, (int) (values.length * k));
        Arrays.sort(values);
        double sum = 0.0;
        for (int i = 0; i < count; i++) {
            sum += values[i];
        }
        return -(sum / count);
    }
}
