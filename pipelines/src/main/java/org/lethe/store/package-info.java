/**
 * Tables: Lethe's tables under one root with atomic, idempotent per-run commits
 * ({@link org.lethe.store.TableStore}), the catalogue of their names ({@link org.lethe.store.Tables}),
 * run ids, fingerprints, and the {@code runs} table of every job's provenance and status.
 */
package org.lethe.store;
