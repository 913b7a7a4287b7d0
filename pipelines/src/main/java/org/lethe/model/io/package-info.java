/**
 * Checkpoint files: a streaming, memory-mapped safetensors reader and writer (every dtype the
 * model hubs publish, BF16 widened while reading), and sharded checkpoints with their index.
 */
package org.lethe.model.io;
