/**
 * The {@code stats} job: per-sample loss statistics and gradients of a model on executors
 * (padded batches fixed by sample id, per-row backward through one graph), gradients projected by
 * a seeded block-generated Rademacher projection, and a block-wise top-m influence search into
 * {@code influence_pairs}; read by {@code unlearn} (entangled retain selection, skip_forgotten).
 */
package org.lethe.stats;
