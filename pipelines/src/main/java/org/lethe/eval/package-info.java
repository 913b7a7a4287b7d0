/**
 * The {@code evaluate} job and its metrics: per-sample metrics on executors (probability, truth
 * ratio, ROUGE, entropy, memorization, membership-inference scores, judge-model similarity, MUSE
 * and multiple-choice sets) into {@code eval_samples}, and their aggregates (forget quality by the
 * KS test, model utility, PrivLeak, per-set means) into {@code eval_summary}; importing TOFU's
 * evaluation logs; the relearning attack.
 */
package org.lethe.eval;
