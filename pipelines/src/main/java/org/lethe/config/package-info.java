/**
 * The configuration: {@code reference.conf}, then an experiment file, then {@code --set}
 * overrides, resolved into a typed, validated {@link org.lethe.config.LetheConfig} whose JSON and
 * SHA-256 are a run's provenance. Unknown keys and wrong types are errors naming the key.
 *
 * <p>The config is read only here and in the static {@code of(LetheConfig, ...)} factories of
 * the jobs' typed requests; jobs themselves never see it (the architecture test checks both).
 */
package org.lethe.config;
