/**
 * Judge models for evaluation, loaded from local Hugging Face directories: a BERT / RoBERTa /
 * XLM-R encoder in DJL, a mean-pooling sentence encoder (cosine similarity) and an NLI
 * cross-encoder (P(entailment)).
 */
package org.lethe.judge;
