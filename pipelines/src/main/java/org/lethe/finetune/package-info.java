/**
 * The {@code finetune} job: language modeling on the answer tokens of ingested samples,
 * data-parallel on Spark through {@code org.lethe.distributed}; it trains the target model and the
 * retain-only models forget quality is measured against.
 */
package org.lethe.finetune;
