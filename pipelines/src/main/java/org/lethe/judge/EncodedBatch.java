package org.lethe.judge;

/**
 * A right-padded batch of tokenized inputs, row-major {@code (batch, length)}: token ids (padding
 * is the model's pad_token_id), token type ids and the attention mask (1 real, 0 padding).
 */
record EncodedBatch(int batch, int length, long[] ids, long[] typeIds, long[] mask) {

    /** Number of real (non-padding) tokens of row {@code i}. */
    int realTokens(int i) {
        int n = 0;
        for (int t = 0; t < length; t++) {
            n += (int) mask[i * length + t];
        }
        return n;
    }
}
