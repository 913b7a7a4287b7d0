/**
 * The data-parallel training step on Spark: the executor model cache, versioned parameter
 * broadcasts, micro-batch gradients reduced in id order (bitwise the same for any partitioning) or
 * by tree, the epoch plan and learning-rate schedule, the training loop with checkpoints and
 * resume, and the settings {@code finetune} and {@code unlearn} share. It knows objectives only
 * through {@link org.lethe.distributed.MicroObjective} and
 * {@link org.lethe.distributed.TrainingObjective}.
 */
package org.lethe.distributed;
