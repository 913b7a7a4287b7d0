/**
 * Continual unlearning: forget selectors, the {@code requests} queue, and the {@code continual}
 * job, which applies due requests one after the other from the previous request's checkpoint,
 * evaluates after each against a retain-only model of the cumulative forget set, and records the
 * lineage. It composes the finetune, unlearn and evaluate jobs through their typed requests.
 */
package org.lethe.continual;
