/**
 * The causal language model: a Llama-architecture decoder written with DJL blocks on the PyTorch
 * engine ({@link org.lethe.model.LlamaBlock}: embedding, decoder layers with grouped-query
 * attention and rotary positions, RMSNorm, SwiGLU MLP, LM head), the loaded model with its device,
 * tokenizer and Hugging Face directory IO ({@link org.lethe.model.LanguageModel}), LoRA adapters
 * (frozen base, PEFT adapter directories, merge), batched padding-aware scoring, greedy decoding
 * with a KV cache, and one AdamW training step ({@link org.lethe.model.LmTrainer}).
 *
 * <p>Owns: everything that touches model weights on one device. Knows nothing of Spark or tables.
 */
package org.lethe.model;
