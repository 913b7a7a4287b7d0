/**
 * Data in: the {@code ingest} job (TOFU layout, QA files, raw text) into {@code examples},
 * {@code memberships}, {@code rejects} and {@code refusals}; TOFU's prompt encoding; the
 * fictitious-author benchmark generator; and {@link org.lethe.data.IngestedDataset}, the one
 * accessor every other job reads ingested data through.
 */
package org.lethe.data;
