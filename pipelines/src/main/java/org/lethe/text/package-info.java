/**
 * Text processing: the byte-level BPE tokenizer files and a BPE trainer, raw corpora (txt,
 * JSONL) to documents and rejects, Spark NLP markup cleanup and sentence splitting, passages of at
 * most N model tokens, and ROUGE exactly as the {@code rouge_score} package computes it.
 */
package org.lethe.text;
