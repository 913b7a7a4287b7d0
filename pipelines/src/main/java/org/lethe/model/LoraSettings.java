package org.lethe.model;

import org.lethe.config.LetheConfig;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Low-rank adapter hyper-parameters as PEFT's {@code LoraConfig} names them: rank {@code r},
 * {@code lora_alpha}, the targeted projections, and the seed that draws the initial A matrices.
 *
 * @param rank the adapter rank r (> 0)
 * @param alpha lora_alpha (> 0); the update is scaled by alpha / rank
 * @param targetModules projection names among {@link #PROJECTIONS}, no duplicates
 * @param seed draws every A matrix; the same seed gives the same adapters
 */
public record LoraSettings(int rank, double alpha, List<String> targetModules, long seed)
        implements java.io.Serializable {

    /** The Llama projections an adapter can target, in PEFT's state-dict order within a layer. */
    public static final List<String> PROJECTIONS =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    public LoraSettings {
        if (rank <= 0) {
            throw new IllegalArgumentException("LoRA rank must be > 0, got " + rank);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("LoRA alpha must be a finite number > 0, got " + alpha);
        }
        if (targetModules == null || targetModules.isEmpty()) {
            throw new IllegalArgumentException("LoRA targetModules must name at least one of " + PROJECTIONS);
        }
        Set<String> seen = new HashSet<>();
        for (String m : targetModules) {
            if (!PROJECTIONS.contains(m)) {
                throw new IllegalArgumentException("LoRA targetModules: unknown module '" + m
                        + "' (expected among " + String.join(", ", PROJECTIONS) + ")");
            }
            if (!seen.add(m)) {
                throw new IllegalArgumentException("LoRA targetModules: '" + m + "' is listed twice");
            }
        }
        targetModules = List.copyOf(targetModules);
    }

    /**
     * The settings of {@code lethe.lora}, or null when its rank is 0 (full-parameter training);
     * invalid settings fail naming {@code lethe.lora}.
     */
    public static LoraSettings of(LetheConfig config) {
        int rank = config.getInt("lora.rank");
        if (rank == 0) {
            return null;
        }
        try {
            return new LoraSettings(rank, config.getDouble("lora.alpha"), config.getStringList("lora.target_modules"),
                    config.getLong("lora.seed"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("lethe.lora: " + e.getMessage(), e);
        }
    }

    /** The factor of the low-rank update, {@code alpha / rank} (PEFT's {@code scaling}). */
    public double scale() {
        return alpha / rank;
    }

    /** Whether the adapter targets projection {@code name} (q_proj, ...). */
    public boolean targets(String name) {
        return targetModules.contains(name);
    }
}
