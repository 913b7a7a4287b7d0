package org.lethe.model;

import org.lethe.config.LetheConfig;

/**
 * How {@code lethe generate} decodes: the model settings and the number of new tokens.
 *
 * @param maxNewTokens new tokens to generate unless EOS comes first, at least 0
 */
public record GenerateSettings(ModelSettings model, int maxNewTokens) {

    /**
     * The {@code lethe.model.*} settings and {@code maxNewTokens} (the command's {@code
     * --max-new-tokens}), or {@code lethe.generate.max_new_tokens} when it is null.
     */
    public static GenerateSettings of(LetheConfig config, Integer maxNewTokens) {
        int n = maxNewTokens != null ? maxNewTokens : config.generateMaxNewTokens();
        if (n < 0) {
            throw new IllegalArgumentException("--max-new-tokens must be >= 0, got " + n);
        }
        return new GenerateSettings(ModelSettings.of(config), n);
    }
}
