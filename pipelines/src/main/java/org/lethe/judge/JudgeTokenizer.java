package org.lethe.judge;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.util.PairList;
import org.lethe.model.LmTokenizer;
import org.lethe.model.io.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A judge model's tokenizer: the directory's {@code tokenizer.json} through DJL's Hugging Face
 * tokenizers binding (a local file, never the hub), adding the special tokens of its post-processor
 * template ({@code [CLS] A [SEP] B [SEP]}, {@code <s> A </s></s> B </s>}) and truncating to what
 * the model's position table holds (longest sequence first for pairs, as transformers does).
 */
final class JudgeTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private final BertConfig config;
    private final int maxLength;

    private JudgeTokenizer(HuggingFaceTokenizer tokenizer, Path file, BertConfig config, int maxLength) {
        this.tokenizer = tokenizer;
        this.file = file;
        this.config = config;
        this.maxLength = maxLength;
    }

    /**
     * Loads {@code tokenizer.json} from {@code dir}, checking that every id it produces fits
     * the model's vocab_size; sequences are truncated to {@code maxLength} tokens (specials included).
     */
    static JudgeTokenizer load(Path dir, BertConfig config, int maxLength) {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file + ": not found (a judge model directory needs the"
                    + " Hugging Face tokenizer.json of its model)");
        }
        int vocab = LmTokenizer.vocabularySize(file);
        if (vocab > config.vocabSize()) {
            throw new ModelFormatException(file + ": the tokenizer produces ids up to " + (vocab - 1)
                    + " but " + config.file() + " has vocab_size " + config.vocabSize()
                    + " (tokenizer and model do not belong together)");
        }
        try {
            HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(file, Map.of(
                    "addSpecialTokens", "true",
                    "truncation", "true",
                    "padding", "false",
                    "maxLength", Integer.toString(maxLength),
                    "modelMaxLength", Integer.toString(maxLength)));
            return new JudgeTokenizer(tok, file, config, maxLength);
        } catch (IOException | RuntimeException e) {
            throw new ModelFormatException(file + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    /** The longest sequence, in tokens, that inputs are truncated to. */
    int maxLength() {
        return maxLength;
    }

    /** Single texts, each as {@code [CLS] text [SEP]} (or the tokenizer's own single template). */
    EncodedBatch encode(List<String> texts) {
        for (int i = 0; i < texts.size(); i++) {
            requireText(texts.get(i), "text", i);
        }
        return pad(tokenizer.batchEncode(texts, true, false));
    }

    /** (premise, hypothesis) pairs through the tokenizer's pair template. */
    EncodedBatch encodePairs(List<String> first, List<String> second) {
        if (first.size() != second.size()) {
            throw new IllegalArgumentException(first.size() + " premises but " + second.size() + " hypotheses");
        }
        PairList<String, String> pairs = new PairList<>(first.size());
        for (int i = 0; i < first.size(); i++) {
            pairs.add(requireText(first.get(i), "premise", i), requireText(second.get(i), "hypothesis", i));
        }
        return pad(tokenizer.batchEncode(pairs, true, false));
    }

    private static String requireText(String text, String what, int index) {
        if (text == null) {
            throw new IllegalArgumentException(what + " " + index + " is null");
        }
        return text;
    }

    private EncodedBatch pad(Encoding[] encodings) {
        int batch = encodings.length;
        int length = 0;
        for (Encoding e : encodings) {
            length = Math.max(length, e.getIds().length);
        }
        long[] ids = new long[batch * length];
        long[] types = new long[batch * length];
        long[] mask = new long[batch * length];
        Arrays.fill(ids, config.padTokenId());
        for (int i = 0; i < batch; i++) {
            long[] tokenIds = encodings[i].getIds();
            long[] tokenTypes = encodings[i].getTypeIds();
            long[] attention = encodings[i].getAttentionMask();
            if (tokenIds.length > maxLength) {
                throw new IllegalStateException(file + ": input " + i + " has " + tokenIds.length
                        + " tokens after truncation to " + maxLength);
            }
            for (int t = 0; t < tokenIds.length; t++) {
                int at = i * length + t;
                ids[at] = tokenIds[t];
                mask[at] = attention[t];
                // RoBERTa has one token type; its tokenizer's type ids are not used by the model.
                types[at] = config.typeVocabSize() == 1 ? 0 : tokenTypes[t];
                if (types[at] >= config.typeVocabSize()) {
                    throw new ModelFormatException(file + ": the tokenizer's template gives type id "
                            + types[at] + " but " + config.file() + " has type_vocab_size "
                            + config.typeVocabSize());
                }
            }
        }
        return new EncodedBatch(batch, length, ids, types, mask);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
